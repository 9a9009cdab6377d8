"""Output serializers of the read API."""

from rest_framework import serializers

from .models import CustomerAnalytics, OrderDetails, OrderSummary


class OrderSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderSummary
        fields = [
            "order_id",
            "customer_id",
            "customer_name",
            "order_date",
            "total_amount",
            "status",
            "item_count",
            "version",
            "projected_at",
        ]


class OrderDetailsSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderDetails
        fields = [
            "order_id",
            "customer_id",
            "customer_name",
            "customer_email",
            "order_date",
            "status",
            "total_amount",
            "payment_method",
            "items",
            "shipping_address",
            "billing_address",
            "status_history",
            "version",
            "projected_at",
        ]


class CustomerAnalyticsSerializer(serializers.ModelSerializer):
    class Meta:
        model = CustomerAnalytics
        fields = [
            "customer_id",
            "customer_name",
            "customer_email",
            "total_orders",
            "total_spent",
            "average_order_value",
            "favorite_category",
            "category_units",
            "last_order_date",
            "customer_segment",
            "version",
            "projected_at",
        ]


class PopularProductSerializer(serializers.Serializer):
    product_id = serializers.UUIDField()
    product_name = serializers.CharField()
    category = serializers.CharField()
    units_sold = serializers.IntegerField()
    order_count = serializers.IntegerField()
    revenue = serializers.DecimalField(max_digits=16, decimal_places=2)


class PopularProductsQuery(serializers.Serializer):
    days = serializers.IntegerField(
        min_value=1, max_value=366, default=30, help_text="Window in days (default 30)."
    )

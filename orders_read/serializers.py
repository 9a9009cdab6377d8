"""Output serializers of the read API."""

from rest_framework import serializers
from rest_framework.reverse import reverse

from .models import CustomerAnalytics, OrderDetails, OrderSummary


def order_link() -> serializers.HyperlinkedIdentityField:
    return serializers.HyperlinkedIdentityField(
        view_name="order-detail", lookup_field="order_id", lookup_url_kwarg="pk"
    )


def analytics_link() -> serializers.HyperlinkedIdentityField:
    return serializers.HyperlinkedIdentityField(
        view_name="customer-analytics", lookup_field="customer_id", lookup_url_kwarg="pk"
    )


class OrderSummarySerializer(serializers.ModelSerializer):
    url = order_link()
    customer_url = analytics_link()

    class Meta:
        model = OrderSummary
        fields = [
            "url",
            "customer_url",
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
    url = order_link()
    customer_url = analytics_link()
    status_url = serializers.HyperlinkedIdentityField(
        view_name="order-status", lookup_field="order_id", lookup_url_kwarg="pk"
    )

    class Meta:
        model = OrderDetails
        fields = [
            "url",
            "customer_url",
            "status_url",
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
    url = analytics_link()
    orders_url = serializers.SerializerMethodField()

    class Meta:
        model = CustomerAnalytics
        fields = [
            "url",
            "orders_url",
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

    def get_orders_url(self, row: CustomerAnalytics) -> str:
        url = reverse("orders", request=self.context.get("request"))
        return f"{url}?customer_id={row.customer_id}"


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

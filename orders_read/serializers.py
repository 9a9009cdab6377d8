"""Output serializers of the read API."""

from rest_framework import serializers
from rest_framework.reverse import reverse

from orders_write.api_fields import MoneyField, PaymentMethodField, StatusField

from .models import CustomerAnalytics, OrderDetails, OrderSummary


class OrderItemOutput(serializers.Serializer):
    product_id = serializers.UUIDField()
    product_name = serializers.CharField()
    category = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = MoneyField(help_text="The product's price when the order was placed.")
    line_total = MoneyField(help_text="quantity x unit_price")


class AddressOutput(serializers.Serializer):
    line1 = serializers.CharField()
    line2 = serializers.CharField(default="")
    city = serializers.CharField()
    postal_code = serializers.CharField()
    country = serializers.CharField()


class StatusChangeOutput(serializers.Serializer):
    status = StatusField()
    changed_by = serializers.CharField()
    changed_at = serializers.DateTimeField()
    reason = serializers.CharField()
    version = serializers.IntegerField(help_text="The order's version this change made.")


def order_link() -> serializers.HyperlinkedIdentityField:
    return serializers.HyperlinkedIdentityField(view_name="order-detail", lookup_field="order_id")


def analytics_link() -> serializers.HyperlinkedIdentityField:
    return serializers.HyperlinkedIdentityField(
        view_name="customer-analytics", lookup_field="customer_id"
    )


class OrderSummarySerializer(serializers.ModelSerializer):
    url = order_link()
    customer_url = analytics_link()
    status = StatusField()
    total_amount = MoneyField()

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
        view_name="order-status", lookup_field="order_id"
    )
    status = StatusField()
    total_amount = MoneyField()
    payment_method = PaymentMethodField()
    items = OrderItemOutput(many=True)
    shipping_address = AddressOutput()
    billing_address = AddressOutput()
    status_history = StatusChangeOutput(many=True)

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
    total_spent = MoneyField()
    average_order_value = MoneyField()
    category_units = serializers.DictField(
        child=serializers.IntegerField(), help_text="Units bought per category (counted orders)."
    )

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
    revenue = MoneyField()


class PopularProductsQuery(serializers.Serializer):
    days = serializers.IntegerField(
        min_value=1, max_value=366, default=30, help_text="Window in days (default 30)."
    )

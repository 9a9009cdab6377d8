"""Output serializers of the read API, and the query parameters of its plain views."""

import copy
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

from django.utils import timezone
from rest_framework import ISO_8601, serializers
from rest_framework.reverse import reverse
from rest_framework.settings import api_settings

from config.api.fields import MoneyField, PaymentMethodField, RowLink, StatusField
from config.api.privacy import MASKED_HELP, masked, may_see_personal_data
from orders_read.models import (
    MONEY_SUM_DIGITS,
    CustomerAnalytics,
    OrderDetails,
    OrderStatusChange,
    OrderSummary,
    ProductSales,
)


class ReadModelSerializer(serializers.ModelSerializer):
    """A model serializer for read rows that works out its fields once per class, not once
    per response, and shows plain columns (ids, text, numbers, times, decimals) without DRF's
    per-field machinery: the same output for a fraction of the time (most of a list page's
    cost was serializing it)."""

    def get_fields(self) -> dict[str, Any]:
        cls = type(self)
        if "_fields_once" not in cls.__dict__:
            cls._fields_once = super().get_fields()
        return copy.deepcopy(cls._fields_once)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        cls = type(self)
        if "_plain" not in cls.__dict__:
            cls._plain = {name: shown_by(field) for name, field in self.fields.items()}
        shown = {}
        for field in self._readable_fields:
            show = cls._plain[field.field_name]
            if show is None:
                value = field.get_attribute(instance)
                shown[field.field_name] = None if value is None else field.to_representation(value)
            else:
                value = getattr(instance, field.source)
                shown[field.field_name] = None if value is None else show(value)
        return shown


def shown_by(field: serializers.Field) -> Callable[[Any], Any] | None:
    """Return a function that shows a plain column as `field` does, or None for the others
    (links, nested data, fields of our own), which the field itself shows."""
    kind = type(field)
    if "." in field.source or field.source == "*":
        return None
    if kind is serializers.UUIDField and field.uuid_format == "hex_verbose":
        return str
    if kind in (serializers.IntegerField, serializers.CharField):
        return partial(kind.to_representation, field)
    if kind is serializers.DateTimeField and field_format(field) == ISO_8601:
        return _iso_time
    if kind is serializers.DecimalField and _plain_decimal(field):
        return partial(_fixed_point, Decimal(1).scaleb(-field.decimal_places))
    return None


def field_format(field: serializers.DateTimeField) -> str | None:
    return getattr(field, "format", api_settings.DATETIME_FORMAT)


def _plain_decimal(field: serializers.DecimalField) -> bool:
    as_string = getattr(field, "coerce_to_string", api_settings.COERCE_DECIMAL_TO_STRING)
    return as_string and field.decimal_places is not None and not field.localize


def _iso_time(value: datetime) -> str:
    if value.tzinfo is None:
        value = timezone.make_aware(value)
    text = value.astimezone(timezone.get_current_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _fixed_point(exponent: Decimal, value: Decimal) -> str:
    return format(value.quantize(exponent), "f")


class MoneySumField(MoneyField):
    """A sum of money over many orders, as wide as the read columns that hold such sums."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_digits=MONEY_SUM_DIGITS, **kwargs)


class OrderItemOutput(serializers.Serializer):
    product_id = serializers.UUIDField()
    product_name = serializers.CharField()
    category = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = MoneyField(help_text="The product's price when the order was placed.")
    line_total = MoneyField(help_text="quantity x unit_price")


class AddressOutput(serializers.Serializer):
    """A postal address; every line is empty once its customer is forgotten."""

    line1 = serializers.CharField(allow_blank=True)
    line2 = serializers.CharField(default="", allow_blank=True)
    city = serializers.CharField(allow_blank=True)
    postal_code = serializers.CharField(allow_blank=True)
    country = serializers.CharField(allow_blank=True)


class MasksPersonalData:
    """Show e-mail and postal addresses masked to users without view_personal_data."""

    context: dict[str, Any]

    def to_representation(self, instance: Any) -> dict[str, Any]:
        shown = super().to_representation(instance)
        return shown if self._may_see_personal_data() else masked(shown)

    def _may_see_personal_data(self) -> bool:
        # Asked once per response: the context is shared by every row of a list.
        if "may_see_personal_data" not in self.context:
            request = self.context.get("request")
            user = getattr(request, "user", None)
            self.context["may_see_personal_data"] = may_see_personal_data(user)
        return self.context["may_see_personal_data"]


def personal_email() -> serializers.CharField:
    return serializers.CharField(
        allow_blank=True, help_text=f"Empty once the customer is forgotten. {MASKED_HELP}"
    )


class StatusChangeOutput(serializers.Serializer):
    status = StatusField()
    changed_by = serializers.CharField()
    changed_at = serializers.DateTimeField()
    reason = serializers.CharField()
    version = serializers.IntegerField(help_text="The order's version this change made.")


def order_link() -> RowLink:
    return RowLink(view_name="order-detail", lookup_field="order_id")


def analytics_link() -> RowLink:
    return RowLink(view_name="customer-analytics", lookup_field="customer_id")


class OrderSummarySerializer(ReadModelSerializer):
    url = order_link()
    customer_analytics_url = analytics_link()
    status = StatusField()
    total_amount = MoneyField()

    class Meta:
        model = OrderSummary
        fields = [
            "url",
            "customer_analytics_url",
            "order_id",
            "customer_id",
            "customer_name",
            "order_date",
            "total_amount",
            "status",
            "item_count",
            "unit_count",
            "version",
            "projected_at",
        ]


class OrderDetailsSerializer(MasksPersonalData, ReadModelSerializer):
    url = order_link()
    customer_analytics_url = analytics_link()
    status_url = RowLink(view_name="order-status", lookup_field="order_id")
    status = StatusField()
    total_amount = MoneyField()
    payment_method = PaymentMethodField()
    items = OrderItemOutput(many=True)
    customer_email = personal_email()
    shipping_address = AddressOutput(help_text=MASKED_HELP)
    billing_address = AddressOutput(help_text=MASKED_HELP)
    status_history = StatusChangeOutput(many=True)

    class Meta:
        model = OrderDetails
        fields = [
            "url",
            "customer_analytics_url",
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


class CustomerAnalyticsSerializer(MasksPersonalData, ReadModelSerializer):
    url = analytics_link()
    customer_email = personal_email()
    orders_url = serializers.SerializerMethodField()
    total_spent = MoneySumField()
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
        if "orders_url" not in self.context:
            self.context["orders_url"] = reverse("orders", request=self.context.get("request"))
        return f"{self.context['orders_url']}?customer_id={row.customer_id}"


class CustomerOrdersPageSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="The customer's orders in all.")
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = OrderSummarySerializer(many=True)


class OrderStatusChangeSerializer(ReadModelSerializer):
    status = StatusField()

    class Meta:
        model = OrderStatusChange
        fields = ["order_id", "status", "changed_by", "changed_at", "reason", "version"]


class ProductSalesSerializer(ReadModelSerializer):
    total_revenue = MoneySumField()

    class Meta:
        model = ProductSales
        fields = [
            "product_id",
            "product_name",
            "category",
            "sale_date",
            "total_quantity",
            "total_orders",
            "total_revenue",
            "version",
            "projected_at",
        ]


class PopularProductSerializer(serializers.Serializer):
    product_id = serializers.UUIDField()
    product_name = serializers.CharField()
    category = serializers.CharField()
    total_quantity = serializers.IntegerField(help_text="Units sold in the window.")
    total_orders = serializers.IntegerField(help_text="Orders with the product in the window.")
    total_revenue = MoneySumField()


# -- query parameters ---------------------------------------------------------------------


class CustomerOrdersQuery(serializers.Serializer):
    page = serializers.IntegerField(min_value=1, default=1, help_text="Page number (from 1).")
    size = serializers.IntegerField(
        min_value=1, max_value=100, default=10, help_text="Orders per page, 1 to 100."
    )


class PopularProductsQuery(serializers.Serializer):
    days = serializers.IntegerField(
        min_value=1, max_value=366, default=30, help_text="Window in days (default 30)."
    )


class ProductSalesQuery(serializers.Serializer):
    date_from = serializers.DateField(required=False, help_text="First day (YYYY-MM-DD).")
    date_to = serializers.DateField(required=False, help_text="Last day (YYYY-MM-DD).")

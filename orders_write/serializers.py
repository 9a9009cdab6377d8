"""Input and output serializers of the command API: they check shapes and types only."""

from typing import Any

from django.http import QueryDict
from rest_framework import serializers

from config.api.fields import MoneyField, PaymentMethodField, PriceField, StatusField, TextField

from .commands import Address, CreateOrder, OrderLine
from .services import MAX_ORDER_LINES, MAX_QUANTITY

# The JSON types a JSON body may use per kind of field (DRF would coerce e.g. 5 to "5");
# PriceField says itself that money is a string.
JSON_TYPES: tuple[tuple[type, tuple[type, ...], str], ...] = (
    (serializers.IntegerField, (int,), "a whole number"),
    (serializers.CharField, (str,), "a string"),
    (serializers.UUIDField, (str,), "a UUID string"),
    (serializers.ChoiceField, (str,), "a string"),
)


class StrictSerializer(serializers.Serializer):
    """Refuse fields the command does not know, so a typo is an error, not a no-op."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, dict):
            # The browsable API's HTML forms carry their CSRF token in the body.
            form_fields = {"csrfmiddlewaretoken"} if isinstance(data, QueryDict) else set()
            unknown = sorted(set(data) - set(self.fields) - form_fields)
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        if isinstance(data, dict) and not isinstance(data, QueryDict):
            mistyped = {name: _type_error(self.fields[name], value) for name, value in data.items()}
            if any(mistyped.values()):
                raise serializers.ValidationError({k: [v] for k, v in mistyped.items() if v})
        return super().to_internal_value(data)


def _type_error(field: serializers.Field, value: Any) -> str:
    """Name the JSON type `field` needs if `value` is not of it (null is left to the field)."""
    for kind, types, noun in JSON_TYPES:
        if isinstance(field, kind) and value is not None:
            fits = isinstance(value, types) and not isinstance(value, bool)
            return "" if fits else f"Expected {noun}."
    return ""


class CustomerInput(StrictSerializer):
    name = TextField(max_length=200)
    email = serializers.EmailField(max_length=254)


class CommittedOutput(serializers.Serializer):
    """A command's result, with the position of its last event: pass it to a read as
    `min_position` (or `X-Min-Position`) to read your own write."""

    position = serializers.SerializerMethodField(
        help_text="Position of the command's last event in the event store."
    )

    def get_position(self, obj: object) -> int:
        return self.context["position"]


class CustomerOutput(CommittedOutput):
    customer_id = serializers.UUIDField(source="id")
    name = serializers.CharField()
    email = serializers.EmailField()
    version = serializers.IntegerField()


class ProductInput(StrictSerializer):
    name = TextField(max_length=200)
    category = TextField(max_length=100)
    unit_price = PriceField()


class ProductOutput(CommittedOutput):
    product_id = serializers.UUIDField(source="id")
    name = serializers.CharField()
    category = serializers.CharField()
    unit_price = MoneyField()
    version = serializers.IntegerField()


class AddressInput(StrictSerializer):
    line1 = TextField(max_length=200)
    line2 = TextField(max_length=200, required=False, allow_blank=True)
    city = TextField(max_length=200)
    postal_code = TextField(max_length=200)
    country = TextField(max_length=200)


class OrderItemInput(StrictSerializer):
    product_id = serializers.UUIDField()
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)


class CreateOrderInput(StrictSerializer):
    order_id = serializers.UUIDField(required=False)
    customer_id = serializers.UUIDField()
    items = OrderItemInput(many=True, allow_empty=False, max_length=MAX_ORDER_LINES)
    shipping_address = AddressInput()
    billing_address = AddressInput(required=False)
    payment_method = PaymentMethodField()

    def to_command(self) -> CreateOrder:
        """Build the CreateOrder command from validated data."""
        data = self.validated_data
        billing = data.get("billing_address")
        return CreateOrder(
            order_id=data.get("order_id"),
            customer_id=data["customer_id"],
            items=tuple(OrderLine(**item) for item in data["items"]),
            shipping_address=Address(**data["shipping_address"]),
            billing_address=Address(**billing) if billing else None,
            payment_method=data["payment_method"],
        )


class OrderCreatedOutput(CommittedOutput):
    order_id = serializers.UUIDField(source="id")
    status = StatusField()
    version = serializers.IntegerField()
    total_amount = MoneyField()


class UpdateOrderStatusInput(StrictSerializer):
    status = StatusField()
    reason = TextField(max_length=500, required=False, allow_blank=True, default="")
    expected_version = serializers.IntegerField(min_value=1, required=False)


class OrderStatusOutput(CommittedOutput):
    order_id = serializers.UUIDField()
    status = StatusField()
    version = serializers.IntegerField()


class ForgetCustomerInput(StrictSerializer):
    reason = TextField(
        max_length=500, help_text="Why (e.g. a ticket number); it must not name the customer."
    )


class CustomerForgottenOutput(CommittedOutput):
    customer_id = serializers.UUIDField(source="id")
    forgotten_at = serializers.DateTimeField()
    version = serializers.IntegerField()


class ExportedCustomer(serializers.Serializer):
    customer_id = serializers.UUIDField()
    name = serializers.CharField()
    email = serializers.EmailField(allow_null=True, help_text="Null once forgotten.")
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    forgotten_at = serializers.DateTimeField(allow_null=True)


class ExportedAddress(serializers.Serializer):
    line1 = serializers.CharField(allow_blank=True)
    line2 = serializers.CharField(allow_blank=True, default="")
    city = serializers.CharField(allow_blank=True)
    postal_code = serializers.CharField(allow_blank=True)
    country = serializers.CharField(allow_blank=True)


class ExportedItem(serializers.Serializer):
    product_id = serializers.UUIDField()
    product_name = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = MoneyField()


class ExportedStatusChange(serializers.Serializer):
    status = StatusField()
    changed_by = serializers.CharField()
    changed_at = serializers.DateTimeField()
    reason = serializers.CharField(allow_blank=True)


class ExportedOrder(serializers.Serializer):
    order_id = serializers.UUIDField()
    status = StatusField()
    order_date = serializers.DateTimeField()
    total_amount = MoneyField()
    payment_method = PaymentMethodField()
    version = serializers.IntegerField()
    shipping_address = ExportedAddress()
    billing_address = ExportedAddress()
    items = ExportedItem(many=True)
    status_history = ExportedStatusChange(many=True)


class ExportedEvent(serializers.Serializer):
    position = serializers.IntegerField()
    stream_type = serializers.CharField()
    stream_id = serializers.UUIDField()
    version = serializers.IntegerField()
    event_type = serializers.CharField()
    data = serializers.DictField(help_text="The event's data, personal fields in clear.")
    metadata = serializers.DictField()
    recorded_at = serializers.DateTimeField()


class CustomerExportOutput(serializers.Serializer):
    """Everything held about one customer, in clear (placeholders once they are forgotten)."""

    exported_at = serializers.DateTimeField()
    customer = ExportedCustomer()
    orders = ExportedOrder(many=True)
    events = ExportedEvent(many=True)

"""Serializer fields and schema types the whole API shares: one Status, one PaymentMethod,
money as decimal strings."""

import re
from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from orders_write import domain
from orders_write.plain_text import PlainTextValidator

# What a money amount looks like in JSON and in query strings: digits, at most 2 decimals.
MONEY_PATTERN = r"^\d{1,12}(\.\d{1,2})?$"
MONEY_STRING: dict[str, Any] = {
    "type": "string",
    "format": "decimal",
    "pattern": MONEY_PATTERN,
    "example": "24.90",
}


class StatusField(serializers.ChoiceField):
    """An order status (the `Status` enum)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=domain.STATUSES, **kwargs)


class PaymentMethodField(serializers.ChoiceField):
    """A payment method (the `PaymentMethod` enum)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=domain.PAYMENT_METHODS, **kwargs)


class TextField(serializers.CharField):
    """Free text (a name, an address line, a reason) under the rule of `plain_text`: not blank
    once invisible characters are set aside (unless `allow_blank`), no bidirectional controls."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        required = not self.allow_blank
        self.validators.append(PlainTextValidator(required=required))


class MoneyField(serializers.DecimalField):
    """An amount of money, given out as a decimal string with 2 places (`max_digits` in all)."""

    def __init__(self, *, max_digits: int = 16, **kwargs: Any) -> None:
        super().__init__(max_digits=max_digits, decimal_places=2, **kwargs)


PRICE_PATTERN = r"^\d{1,10}(\.\d{1,2})?$"


@extend_schema_field({**MONEY_STRING, "pattern": PRICE_PATTERN})
class PriceField(serializers.DecimalField):
    """A unit price: a decimal string (never a JSON number), 0 or more, 2 decimal places at most."""

    default_error_messages = {
        "not_a_string": 'Send the amount as a decimal string, e.g. "24.90", not a JSON number.',
        "not_an_amount": 'Enter an amount like "24.90": digits, at most 2 decimal places.',
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_digits=12, decimal_places=2, min_value=domain.money(0), **kwargs)

    def to_internal_value(self, data: Any) -> Decimal:
        if not isinstance(data, str):
            self.fail("not_a_string")
        if not re.fullmatch(PRICE_PATTERN, data):
            self.fail("not_an_amount")
        return super().to_internal_value(data)


# What a row's own id is replaced with to reverse its view's URL once.
_ANY_ID = "00000000-0000-0000-0000-000000000000"


@extend_schema_field({"type": "string", "format": "uri"})
class RowLink(serializers.Field):
    """The absolute URL of a row's own resource (as DRF's HyperlinkedIdentityField gives it),
    built by formatting: the view's URL is reversed once per response, not for every row."""

    def __init__(self, view_name: str, lookup_field: str, **kwargs: Any) -> None:
        self.view_name, self.lookup_field = view_name, lookup_field
        super().__init__(read_only=True, source="*", **kwargs)

    def to_representation(self, row: Any) -> str:
        templates = self.context.setdefault("row_link_templates", {})
        template = templates.get(self.view_name)
        if template is None:
            request = self.context.get("request")
            url = reverse(self.view_name, kwargs={self.lookup_field: _ANY_ID}, request=request)
            template = templates[self.view_name] = url.replace(_ANY_ID, "{}")
        return template.format(getattr(row, self.lookup_field))

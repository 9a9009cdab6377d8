"""The order search's query parameters: parsed and validated here, applied by
`queries.search_orders`."""

import re
from decimal import Decimal
from typing import Any

import django_filters
from django import forms
from django.http import QueryDict
from django_filters.utils import translate_validation
from drf_spectacular.utils import extend_schema_field

from config.api.fields import MONEY_PATTERN, MONEY_STRING
from orders_read.models import STATUS_CHOICES, OrderSummary


class MoneyFormField(forms.DecimalField):
    """An amount in a query string, written as the API writes money: "24.90"."""

    def to_python(self, value: Any) -> Decimal | None:
        if value not in self.empty_values and not re.fullmatch(MONEY_PATTERN, str(value)):
            raise forms.ValidationError(
                'Enter an amount like "24.90": digits, at most 2 decimal places.', code="invalid"
            )
        return super().to_python(value)


@extend_schema_field(MONEY_STRING)
class MoneyFilter(django_filters.NumberFilter):
    field_class = MoneyFormField


class OrderSummaryFilter(django_filters.FilterSet):
    """Parse the criteria of an order search: customer, status, order days, total amount."""

    customer_id = django_filters.UUIDFilter(
        label="Customer id", help_text="Only this customer's orders."
    )
    status = django_filters.ChoiceFilter(
        choices=STATUS_CHOICES, label="Status", help_text="Current status."
    )
    date_from = django_filters.DateFilter(
        label="Placed from",
        help_text="Placed on or after this day (YYYY-MM-DD).",
    )
    date_to = django_filters.DateFilter(
        label="Placed until",
        help_text="Placed on or before this day (YYYY-MM-DD).",
    )
    min_amount = MoneyFilter(
        field_name="total_amount",
        lookup_expr="gte",
        label="Total at least",
        help_text="Total at least this amount.",
    )
    max_amount = MoneyFilter(
        field_name="total_amount",
        lookup_expr="lte",
        label="Total at most",
        help_text="Total at most this amount.",
    )

    class Meta:
        model = OrderSummary
        fields = ["customer_id", "status", "date_from", "date_to", "min_amount", "max_amount"]

    @classmethod
    def parser(cls) -> type:
        """Return the form that parses the criteria, built once: building its fields takes
        longer than parsing a query."""
        if "_parser" not in cls.__dict__:
            cls._parser = cls(queryset=OrderSummary.objects.none()).get_form_class()
        return cls._parser


def search_criteria(params: QueryDict) -> dict[str, Any]:
    """Return the criteria given in `params`, by name; raise ValidationError for bad values."""
    if params.keys().isdisjoint(OrderSummaryFilter.base_filters):
        return {}  # a plain list page: nothing to parse
    parsed = OrderSummaryFilter.parser()(params)
    if not parsed.is_valid():
        raise translate_validation(parsed.errors)
    return {name: value for name, value in parsed.cleaned_data.items() if value not in (None, "")}

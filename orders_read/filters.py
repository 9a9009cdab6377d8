"""FilterSets of the read API."""

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema_field

from orders_write.api_fields import MONEY_PATTERN, MONEY_STRING

from .models import STATUS_CHOICES, OrderSummary
from .queries import start_of_day


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
    """Filter order summaries by customer, status, order day and total amount."""

    customer_id = django_filters.UUIDFilter(
        label="Customer id", help_text="Only this customer's orders."
    )
    status = django_filters.ChoiceFilter(
        choices=STATUS_CHOICES, label="Status", help_text="Current status."
    )
    date_from = django_filters.DateFilter(
        method="filter_date_from",
        label="Placed from",
        help_text="Placed on or after this day (YYYY-MM-DD).",
    )
    date_to = django_filters.DateFilter(
        method="filter_date_to",
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

    def filter_date_from(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        return queryset.filter(order_date__gte=start_of_day(value))

    def filter_date_to(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        if value == date.max:
            return queryset
        return queryset.filter(order_date__lt=start_of_day(value + timedelta(days=1)))

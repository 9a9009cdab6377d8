"""The admin dashboard's figures, aggregated from the read tables only (and cached briefly).

Revenue per day sums the per-product daily rows of `product_sales_summary`; order counts read
the summary table's `(order_date, order_id)` and `(status, order_date)` indexes only.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from orders_read import queries
from orders_read.models import (
    SEGMENT_CHOICES,
    STATUS_CHOICES,
    CustomerAnalytics,
    OrderSummary,
    ProductSales,
)
from orders_read.queries import start_of_day

WINDOWS = (30, 90)
TOP_CUSTOMERS = 5
CACHE_SECONDS = 60


@dataclass(frozen=True)
class Dashboard:
    days: int
    first_day: date
    revenue_per_day: list[tuple[date, Decimal]]
    orders_per_day: list[tuple[date, int]]
    orders_by_status: list[tuple[str, int]]
    top_products: list[dict[str, Any]]
    top_customers: dict[str, list[CustomerAnalytics]]

    @property
    def revenue(self) -> Decimal:
        return sum((amount for _, amount in self.revenue_per_day), Decimal(0))

    @property
    def orders(self) -> int:
        return sum(count for _, count in self.orders_per_day)


def dashboard(days: int) -> Dashboard:
    """Return the dashboard's figures over the last `days` days (computed at most once a minute)."""
    first_day = timezone.localdate() - timedelta(days=days - 1)
    key = f"orders-dashboard:{days}:{first_day.isoformat()}"
    figures = cache.get(key)
    if figures is None:
        figures = _figures(days, first_day)
        cache.set(key, figures, CACHE_SECONDS)
    return figures


def _figures(days: int, first_day: date) -> Dashboard:
    return Dashboard(
        days=days,
        first_day=first_day,
        revenue_per_day=_every_day(first_day, days, _revenue_by_day(first_day), Decimal(0)),
        orders_per_day=_every_day(first_day, days, _orders_by_day(first_day), 0),
        orders_by_status=_orders_by_status(first_day),
        top_products=queries.get_popular_products(days=days),
        top_customers={segment: _top_customers(segment) for segment, _ in SEGMENT_CHOICES},
    )


def _revenue_by_day(first_day: date) -> dict[date, Decimal]:
    rows = (
        ProductSales.objects.filter(sale_date__gte=first_day)
        .values("sale_date")
        .annotate(revenue=Sum("total_revenue"))
        .values_list("sale_date", "revenue")
    )
    return dict(rows)


def _orders_by_day(first_day: date) -> dict[date, int]:
    rows = (
        OrderSummary.objects.filter(order_date__gte=start_of_day(first_day))
        .annotate(day=TruncDate("order_date"))
        .values("day")
        .annotate(orders=Count("order_id"))
        .values_list("day", "orders")
        .order_by()
    )
    return dict(rows)


def _orders_by_status(first_day: date) -> list[tuple[str, int]]:
    # One range count per status reads only that status's part of the (status, order_date)
    # index; a GROUP BY would read every order of the window.
    since = start_of_day(first_day)
    statuses = [value for value, _ in STATUS_CHOICES]
    orders = OrderSummary.objects.filter(order_date__gte=since)
    return [(status, orders.filter(status=status).count()) for status in statuses]


def _top_customers(segment: str) -> list[CustomerAnalytics]:
    rows = CustomerAnalytics.objects.filter(customer_segment=segment).order_by("-total_spent")
    return list(rows[:TOP_CUSTOMERS])


def _every_day(first_day: date, days: int, values: dict[date, Any], zero: Any) -> list:
    """List every day of the window with its value, the days without any included."""
    return [
        (day, values.get(day, zero))
        for day in (first_day + timedelta(days=offset) for offset in range(days))
    ]

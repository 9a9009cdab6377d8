"""The admin dashboard's figures, aggregated from the read tables only (and cached briefly).

Every figure covers the period the page names (a preset of the last days, or any from/to
range) and the same number of days just before it, for comparison. Revenue sums the
per-product daily rows of `product_sales_summary` (cancelled orders are taken out there);
order counts and the top customers read the summary table's indexed `order_date`.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.core.cache import cache
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from orders_read import queries
from orders_read.models import STATUS_CHOICES, CustomerAnalytics, OrderSummary, ProductSales
from orders_read.projections.product_sales import WINDOWS as SALES_WINDOWS
from orders_read.queries import start_of_day

PRESETS = (7, 30, 90, 365)
LONGEST_PERIOD = 731  # days: two years, one column each
TOP_CUSTOMERS = 10
CACHE_SECONDS = 60


@dataclass(frozen=True)
class Period:
    """Whole days from `first_day` to `last_day`, both included."""

    first_day: date
    last_day: date

    @classmethod
    def last_days(cls, days: int) -> "Period":
        today = timezone.localdate()
        return cls(today - timedelta(days=days - 1), today)

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @property
    def previous(self) -> "Period":
        """Return the period of as many days that ends the day before this one starts."""
        last = self.first_day - timedelta(days=1)
        return Period(last - timedelta(days=self.days - 1), last)

    @property
    def every_day(self) -> list[date]:
        return [self.first_day + timedelta(days=n) for n in range(self.days)]

    @property
    def preset(self) -> int | None:
        """Return the number of days when this is one of the presets ending today."""
        ends_today = self.last_day == timezone.localdate()
        return self.days if ends_today and self.days in PRESETS else None

    def orders(self) -> Any:
        """Return the summary rows of the orders placed in the period."""
        end = start_of_day(self.last_day + timedelta(days=1))
        return OrderSummary.objects.filter(
            order_date__gte=start_of_day(self.first_day), order_date__lt=end
        )

    def sales(self) -> Any:
        """Return the daily product sales rows of the period."""
        return ProductSales.objects.filter(sale_date__range=(self.first_day, self.last_day))


@dataclass(frozen=True)
class Totals:
    """A period's revenue and orders: placed (all of them) and counted (not cancelled)."""

    revenue: Decimal
    orders: int
    counted_orders: int

    @property
    def average_order(self) -> Decimal | None:
        if not self.counted_orders:
            return None
        return (self.revenue / self.counted_orders).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class TopCustomer:
    customer_id: UUID
    customer_name: str
    orders: int
    spent: Decimal
    segment: str


@dataclass(frozen=True)
class Dashboard:
    period: Period
    totals: Totals
    previous: Totals
    revenue_per_day: list[tuple[date, Decimal]]
    orders_per_day: list[tuple[date, int]]
    orders_by_status: list[tuple[str, int]]
    top_products: list[dict[str, Any]]
    top_customers: list[TopCustomer]


def dashboard(period: Period) -> Dashboard:
    """Return the dashboard's figures over `period` (computed at most once a minute)."""
    key = f"orders-dashboard:{period.first_day}:{period.last_day}:{timezone.localdate()}"
    figures = cache.get(key)
    if figures is None:
        figures = _figures(period)
        cache.set(key, figures, CACHE_SECONDS)
    return figures


def _figures(period: Period) -> Dashboard:
    revenue = _revenue_by_day(period)
    orders = _orders_by_day(period)
    return Dashboard(
        period=period,
        totals=totals(period),
        previous=totals(period.previous),
        revenue_per_day=[(day, revenue.get(day, Decimal(0))) for day in period.every_day],
        orders_per_day=[(day, orders.get(day, 0)) for day in period.every_day],
        orders_by_status=_orders_by_status(period),
        top_products=_top_products(period),
        top_customers=_top_customers(period),
    )


def totals(period: Period) -> Totals:
    """Return the period's revenue and order counts."""
    counts = period.orders().aggregate(
        orders=Count("order_id"), counted=Count("order_id", filter=~Q(status="cancelled"))
    )
    revenue = period.sales().aggregate(revenue=Sum("total_revenue"))["revenue"]
    return Totals(revenue or Decimal(0), counts["orders"], counts["counted"])


def _revenue_by_day(period: Period) -> dict[date, Decimal]:
    rows = period.sales().values("sale_date").annotate(revenue=Sum("total_revenue"))
    return dict(rows.values_list("sale_date", "revenue"))


def _orders_by_day(period: Period) -> dict[date, int]:
    rows = (
        period.orders()
        .annotate(day=TruncDate("order_date"))
        .values("day")
        .annotate(orders=Count("order_id"))
        .values_list("day", "orders")
        .order_by()
    )
    return dict(rows)


def _orders_by_status(period: Period) -> list[tuple[str, int]]:
    # One range count per status reads only that status's part of the (status, order_date)
    # index; a GROUP BY would read every order of the period.
    orders = period.orders()
    return [(status, orders.filter(status=status).count()) for status, _ in STATUS_CHOICES]


def _top_products(period: Period) -> list[dict[str, Any]]:
    if period.preset in SALES_WINDOWS:
        return queries.get_popular_products(days=period.days)
    return queries.get_popular_products_between(period.first_day, period.last_day)


def _top_customers(period: Period) -> list[TopCustomer]:
    """Rank the customers by what they spent on the period's orders, cancelled ones left out."""
    rows = (
        period.orders()
        .exclude(status="cancelled")
        .values("customer_id", "customer_name")
        .annotate(spent=Sum("total_amount"), orders=Count("order_id"))
        .order_by("-spent", "customer_id")[:TOP_CUSTOMERS]
    )
    rows = list(rows)
    segments = dict(
        CustomerAnalytics.objects.filter(
            customer_id__in=[row["customer_id"] for row in rows]
        ).values_list("customer_id", "customer_segment")
    )
    return [TopCustomer(**row, segment=segments.get(row["customer_id"], "")) for row in rows]

"""The query handler: one function per query of the tutorial's handler, reading the read tables
only. Each read endpoint of the API calls exactly one of these."""

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.core.paginator import Page, Paginator
from django.db.models import Exists, QuerySet, Sum
from django.utils import timezone

from .cache import cached_popular_products
from .models import (
    CustomerAnalytics,
    OrderDetails,
    OrderStatusChange,
    OrderSummary,
    ProductSales,
    ProductSalesWindow,
)
from .projections.product_sales import WINDOWS, days_since, window_totals
from .running.standing import reflected_position, standing

POPULAR_LIMIT = 10
ORDERINGS = ("order_date", "-order_date", "total_amount", "-total_amount")
NEWEST_FIRST = ("-order_date",)


def get_orders_by_customer(customer_id: UUID, page: int = 1, size: int = 10) -> Page:
    """Return page `page` (of `size` orders, newest first) of a customer's order summaries.

    Raises django.core.paginator.EmptyPage for a page past the last one.
    """
    orders = OrderSummary.objects.filter(customer_id=customer_id).order_by(
        "-order_date", "-order_id"
    )
    return Paginator(orders, size).page(page)


def search_orders(
    *,
    customer_id: UUID | None = None,
    status: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    min_amount: Decimal | None = None,
    max_amount: Decimal | None = None,
    ordering: Sequence[str] = NEWEST_FIRST,
) -> QuerySet[OrderSummary]:
    """Return the order summaries matching every criterion given, in `ordering` (then by id).

    Dates are whole days in the current time zone, both ends included.
    """
    orders = OrderSummary.objects.all()
    if customer_id is not None:
        orders = orders.filter(customer_id=customer_id)
    if status:
        orders = orders.filter(status=status)
    if date_from is not None:
        orders = orders.filter(order_date__gte=start_of_day(date_from))
    if date_to is not None and date_to < date.max:
        orders = orders.filter(order_date__lt=start_of_day(date_to + timedelta(days=1)))
    if min_amount is not None:
        orders = orders.filter(total_amount__gte=min_amount)
    if max_amount is not None:
        orders = orders.filter(total_amount__lte=max_amount)
    ordering = [field for field in ordering if field in ORDERINGS] or NEWEST_FIRST
    return orders.order_by(*ordering, "-order_id")


def get_order_details(order_id: UUID) -> OrderDetails | None:
    """Return an order's details with its items and status history, or None."""
    return OrderDetails.objects.filter(order_id=order_id).first()


def get_order_history(order_id: UUID) -> list[OrderStatusChange]:
    """Return an order's status changes, oldest first (none for an unknown order)."""
    return list(OrderStatusChange.objects.filter(order_id=order_id).order_by("version"))


def get_customer_analytics(customer_id: UUID) -> CustomerAnalytics | None:
    """Return a customer's analytics row, or None."""
    return CustomerAnalytics.objects.filter(customer_id=customer_id).first()


def get_product_sales(
    product_id: UUID, *, date_from: date | None = None, date_to: date | None = None
) -> QuerySet[ProductSales]:
    """Return a product's daily sales rows between two days (both included), oldest first."""
    days = ProductSales.objects.filter(product_id=product_id)
    if date_from is not None:
        days = days.filter(sale_date__gte=date_from)
    if date_to is not None:
        days = days.filter(sale_date__lte=date_to)
    return days.order_by("sale_date")


SALES = ("product_sales",)


def get_popular_products(days: int = 30, *, position: int | None = None) -> list[dict[str, Any]]:
    """Return the top products by units sold over the last `days` days, today included.

    Ties go to the product name, then its id. Cached under the position the sales projection
    reflects (`position`, if the caller has read it already), so that no process answers from
    a cache older than that position.
    """
    today = timezone.now().date()
    if position is None:
        position = reflected_position(standing(SALES))
    return cached_popular_products(
        f"{days}:{today.isoformat()}", lambda: _popular_products(days, today), position=position
    )


def _popular_products(days: int, today: date) -> list[dict[str, Any]]:
    if days in WINDOWS:
        ranked = _popular_from_windows(days, today)
        if ranked is not None:
            return ranked
    return _popular_from_daily_rows(today - timedelta(days=days - 1))


CANDIDATES = 4 * POPULAR_LIMIT
TOTALS = tuple(window_totals({}))
RANKED = ("product_id", "product_name", "category", "last_day", *TOTALS)


def _rank(product: dict[str, Any]) -> tuple:
    return -product["total_quantity"], product["product_name"], product["product_id"]


def _popular_from_windows(days: int, today: date) -> list[dict[str, Any]] | None:
    """Rank the products' windows, or None when a window ends after today (a clock set back).

    A window ends on its product's last day sold: when that is today it is the asked window;
    otherwise its totals still count days that have left the asked one, so they only bound
    the product's real totals from above. Read in order of those totals, the leaders are
    exact once no unread window's bound reaches the tenth leader's real total.
    """
    windows = ProductSalesWindow.objects.filter(window_days=days, total_quantity__gt=0)
    ahead = Exists(ProductSalesWindow.objects.filter(window_days=days, last_day__gt=today))
    rows = list(
        windows.annotate(ahead=ahead)
        .order_by("-total_quantity")
        .values(*RANKED, "ahead")[:CANDIDATES]
    )
    if rows and rows[0]["ahead"]:
        return None
    first_day = today - timedelta(days=days - 1)
    leaders = sorted(_in_window(rows, days, first_day, today), key=_rank)
    enough = len(leaders) >= POPULAR_LIMIT
    floor = leaders[POPULAR_LIMIT - 1]["total_quantity"] if enough else 1
    if len(rows) == CANDIDATES and rows[-1]["total_quantity"] >= floor:
        seen = [row["product_id"] for row in rows]
        more = windows.filter(total_quantity__gte=floor).exclude(product_id__in=seen)
        leaders += _in_window(list(more.values(*RANKED)), days, first_day, today)
    return sorted(leaders, key=_rank)[:POPULAR_LIMIT]


def _in_window(
    rows: list[dict[str, Any]], days: int, first_day: date, today: date
) -> list[dict[str, Any]]:
    """Return the rows' products with their totals over the asked window, leaving out those
    with nothing sold in it; a window that ended before today is read again, day by day."""
    behind = [row["product_id"] for row in rows if row["last_day"] != today]
    by_day = dict(
        ProductSalesWindow.objects.filter(window_days=days, product_id__in=behind).values_list(
            "product_id", "days"
        )
        if behind
        else ()
    )
    products = []
    for row in rows:
        if row["product_id"] in by_day:
            totals = window_totals(days_since(by_day[row["product_id"]], first_day))
        else:
            totals = {name: row[name] for name in TOTALS}
        if totals["total_quantity"] > 0:
            products.append(
                {name: row[name] for name in ("product_id", "product_name", "category")} | totals
            )
    return products


def get_popular_products_between(first_day: date, last_day: date) -> list[dict[str, Any]]:
    """Return the top products by units sold from `first_day` to `last_day`, both included."""
    return _popular_from_daily_rows(first_day, last_day)


def _popular_from_daily_rows(first_day: date, last_day: date | None = None) -> list[dict[str, Any]]:
    days = {"sale_date__gte": first_day} | ({"sale_date__lte": last_day} if last_day else {})
    return list(
        ProductSales.objects.filter(**days, total_quantity__gt=0)
        .values("product_id", "product_name", "category")
        .annotate(
            total_quantity=Sum("total_quantity"),
            total_orders=Sum("total_orders"),
            total_revenue=Sum("total_revenue"),
        )
        .order_by("-total_quantity", "product_name", "product_id")[:POPULAR_LIMIT]
    )


def start_of_day(day: date) -> datetime:
    """Return midnight at the start of `day` in the current time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))

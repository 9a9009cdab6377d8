"""The query handler: plain functions that answer every read from the read tables only."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db.models import QuerySet, Sum
from django.utils import timezone

from .cache import cached_popular_products
from .models import CustomerAnalytics, OrderDetails, OrderSummary, ProductSales

POPULAR_LIMIT = 10


def orders_of_customer(
    customer_id: UUID, *, page: int = 1, page_size: int = 10
) -> list[OrderSummary]:
    """Return one page of a customer's orders, newest first."""
    start = (page - 1) * page_size
    return list(
        OrderSummary.objects.filter(customer_id=customer_id).order_by("-order_date", "-order_id")[
            start : start + page_size
        ]
    )


def order_details(order_id: UUID) -> OrderDetails | None:
    """Return an order's details with its items and status history, or None."""
    return OrderDetails.objects.filter(order_id=order_id).first()


def search_orders(
    *,
    status: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    min_amount: Decimal | None = None,
    max_amount: Decimal | None = None,
) -> QuerySet[OrderSummary]:
    """Return the order summaries matching every given criterion, newest first."""
    orders = OrderSummary.objects.order_by("-order_date", "-order_id")
    if status:
        orders = orders.filter(status=status)
    if date_from:
        orders = orders.filter(order_date__gte=start_of_day(date_from))
    if date_to and date_to < date.max:
        orders = orders.filter(order_date__lt=start_of_day(date_to + timedelta(days=1)))
    if min_amount is not None:
        orders = orders.filter(total_amount__gte=min_amount)
    if max_amount is not None:
        orders = orders.filter(total_amount__lte=max_amount)
    return orders


def popular_products(*, days: int = 30) -> list[dict[str, Any]]:
    """Return the top products by units sold over the last `days` days (cached)."""
    first_day = timezone.now().date() - timedelta(days=days - 1)
    return cached_popular_products(
        f"{days}:{first_day.isoformat()}", lambda: _popular_products_since(first_day)
    )


def _popular_products_since(first_day: date) -> list[dict[str, Any]]:
    return list(
        ProductSales.objects.filter(sale_date__gte=first_day, total_quantity__gt=0)
        .values("product_id", "product_name", "category")
        .annotate(
            units_sold=Sum("total_quantity"),
            order_count=Sum("total_orders"),
            revenue=Sum("total_revenue"),
        )
        .order_by("-units_sold", "product_name", "product_id")[:POPULAR_LIMIT]
    )


def customer_analytics(customer_id: UUID) -> CustomerAnalytics | None:
    """Return a customer's analytics row, or None."""
    return CustomerAnalytics.objects.filter(customer_id=customer_id).first()


def start_of_day(day: date) -> datetime:
    """Return midnight at the start of `day` in the current time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))

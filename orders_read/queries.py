"""The query handler: the read API's query functions, reading the read tables only.

The order list and customer analytics endpoints read through DRF's generic views instead.
"""

from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from django.db.models import Sum
from django.utils import timezone

from .cache import cached_popular_products
from .models import OrderDetails, ProductSales

POPULAR_LIMIT = 10


def order_details(order_id: UUID) -> OrderDetails | None:
    """Return an order's details with its items and status history, or None."""
    return OrderDetails.objects.filter(order_id=order_id).first()


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


def start_of_day(day: date) -> datetime:
    """Return midnight at the start of `day` in the current time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))

"""Projections: receivers, named for their effect, that keep each read table current from the
events alone (never the write model). Every receiver is idempotent: applying an event twice
changes nothing, guarded by the stream versions stored on the rows or by a per-order ledger."""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db import connection
from django.db.models import F, Max, Model
from django.utils import timezone

from orders_write.event_store import RecordedEvent

from .cache import forget_popular_products
from .models import (
    CustomerAnalytics,
    CustomerOrderContribution,
    OrderDetails,
    OrderStatusChange,
    OrderSummary,
    ProductSaleLine,
    ProductSales,
)

CENTS = Decimal("0.01")
VIP_SPENDING = Decimal("1000.00")


@dataclass(frozen=True)
class ReadTables:
    """The models the receivers write through: the live tables, or a rebuild's new ones."""

    summary: type[OrderSummary] = OrderSummary
    details: type[OrderDetails] = OrderDetails
    history: type[OrderStatusChange] = OrderStatusChange
    analytics: type[CustomerAnalytics] = CustomerAnalytics
    contributions: type[CustomerOrderContribution] = CustomerOrderContribution
    sales: type[ProductSales] = ProductSales
    sale_lines: type[ProductSaleLine] = ProductSaleLine


LIVE = ReadTables()
Handler = Callable[[RecordedEvent, ReadTables], None]


# -- new rows: what an event puts in each table (the batch replay builds the same) ------


def summary_row(event: RecordedEvent) -> dict[str, Any]:
    """Return the order_summary_view row an OrderCreated starts."""
    data = event.data
    return {
        "order_id": event.stream_id,
        "customer_id": UUID(data["customer_id"]),
        "customer_name": data["customer_name"],
        "customer_version": data["customer_version"],
        "order_date": _time(data["order_date"]),
        "total_amount": Decimal(data["total_amount"]),
        "status": data["status"],
        "item_count": sum(item["quantity"] for item in data["items"]),
        "version": event.version,
    }


def details_row(event: RecordedEvent) -> dict[str, Any]:
    """Return the order_details_view row an OrderCreated starts."""
    data = event.data
    return {
        "order_id": event.stream_id,
        "customer_id": UUID(data["customer_id"]),
        "customer_name": data["customer_name"],
        "customer_email": data["customer_email"],
        "customer_version": data["customer_version"],
        "order_date": _time(data["order_date"]),
        "items": data["items"],
        "shipping_address": data["shipping_address"],
        "billing_address": data["billing_address"],
        "payment_method": data["payment_method"],
        "status": data["status"],
        "status_history": [_placed_entry(event)],
        "total_amount": Decimal(data["total_amount"]),
        "version": event.version,
    }


def history_row(event: RecordedEvent) -> dict[str, Any]:
    """Return the order_status_history row of an OrderCreated or OrderStatusUpdated."""
    created = event.event_type == "OrderCreated"
    entry = _placed_entry(event) if created else _status_entry(event)
    return {**entry, "order_id": event.stream_id, "changed_at": _time(entry["changed_at"])}


def analytics_row(event: RecordedEvent) -> dict[str, Any]:
    """Return the customer_analytics_view row a CustomerRegistered starts."""
    return {
        "customer_id": event.stream_id,
        "customer_name": event.data["name"],
        "customer_email": event.data["email"],
        "total_orders": 0,
        "total_spent": Decimal("0.00"),
        "average_order_value": Decimal("0.00"),
        "favorite_category": "",
        "category_units": {},
        "last_order_date": None,
        "customer_segment": "new",
        "version": event.version,
    }


def contribution_row(event: RecordedEvent) -> dict[str, Any]:
    """Return what an OrderCreated adds to its customer's analytics."""
    data = event.data
    units: Counter[str] = Counter()
    for item in data["items"]:
        units[item["category"]] += item["quantity"]
    return {
        "order_id": event.stream_id,
        "customer_id": UUID(data["customer_id"]),
        "order_date": _time(data["order_date"]),
        "total_amount": Decimal(data["total_amount"]),
        "category_units": dict(units),
        "counted": True,
    }


def sale_line_rows(event: RecordedEvent) -> list[dict[str, Any]]:
    """Return what each line of an OrderCreated adds to its product's daily sales."""
    sale_date = _time(event.data["order_date"]).date()
    return [
        {
            "order_id": event.stream_id,
            "product_id": UUID(item["product_id"]),
            "sale_date": sale_date,
            "quantity": item["quantity"],
            "revenue": Decimal(item["line_total"]),
            "counted": True,
        }
        for item in event.data["items"]
    ]


def daily_sales_row(item: dict[str, Any], line: dict[str, Any]) -> dict[str, Any]:
    """Return the product_sales_summary row a product's first sale of a day starts."""
    return {
        "product_id": line["product_id"],
        "product_name": item["product_name"],
        "category": item["category"],
        "sale_date": line["sale_date"],
        "total_quantity": line["quantity"],
        "total_orders": 1,
        "total_revenue": line["revenue"],
        "version": item["product_version"],
    }


# -- order_summary -----------------------------------------------------------------------


def add_order_to_summary(event: RecordedEvent, tables: ReadTables) -> None:
    insert_once(tables.summary, **summary_row(event), projected_at=timezone.now())


def change_status_in_summary(event: RecordedEvent, tables: ReadTables) -> None:
    tables.summary.objects.filter(order_id=event.stream_id, version__lt=event.version).update(
        status=event.data["new_status"], version=event.version, projected_at=timezone.now()
    )


def rename_customer_in_summary(event: RecordedEvent, tables: ReadTables) -> None:
    tables.summary.objects.filter(
        customer_id=event.stream_id, customer_version__lt=event.version
    ).update(
        customer_name=event.data["name"],
        customer_version=event.version,
        projected_at=timezone.now(),
    )


# -- order_details -----------------------------------------------------------------------


def add_order_to_details(event: RecordedEvent, tables: ReadTables) -> None:
    insert_once(tables.details, **details_row(event), projected_at=timezone.now())


def add_status_change_to_details(event: RecordedEvent, tables: ReadTables) -> None:
    details = (
        tables.details.objects.select_for_update()
        .filter(order_id=event.stream_id, version__lt=event.version)
        .only("status_history")
        .first()
    )
    if details is None:
        return
    tables.details.objects.filter(order_id=event.stream_id).update(
        status=event.data["new_status"],
        status_history=[*details.status_history, _status_entry(event)],
        version=event.version,
        projected_at=timezone.now(),
    )


def rename_customer_in_details(event: RecordedEvent, tables: ReadTables) -> None:
    tables.details.objects.filter(
        customer_id=event.stream_id, customer_version__lt=event.version
    ).update(
        customer_name=event.data["name"],
        customer_email=event.data["email"],
        customer_version=event.version,
        projected_at=timezone.now(),
    )


# -- order_status_history ----------------------------------------------------------------


def record_status_in_history(event: RecordedEvent, tables: ReadTables) -> None:
    insert_once(tables.history, **history_row(event), projected_at=timezone.now())


# -- customer_analytics ------------------------------------------------------------------


def add_customer_to_analytics(event: RecordedEvent, tables: ReadTables) -> None:
    insert_once(tables.analytics, **analytics_row(event), projected_at=timezone.now())


def update_customer_in_analytics(event: RecordedEvent, tables: ReadTables) -> None:
    tables.analytics.objects.filter(customer_id=event.stream_id, version__lt=event.version).update(
        customer_name=event.data["name"],
        customer_email=event.data["email"],
        version=event.version,
        projected_at=timezone.now(),
    )


def count_order_in_analytics(event: RecordedEvent, tables: ReadTables) -> None:
    contribution = contribution_row(event)
    if insert_once(tables.contributions, **contribution):
        analytics = _locked_analytics(tables, contribution["customer_id"])
        analytics.total_orders += 1
        analytics.total_spent += contribution["total_amount"]
        units = Counter(contribution["category_units"]) + Counter(analytics.category_units)
        analytics.category_units = dict(units)
        dates = [analytics.last_order_date, contribution["order_date"]]
        analytics.last_order_date = max(filter(None, dates))
        _save_analytics(analytics)


def take_cancelled_order_out_of_analytics(event: RecordedEvent, tables: ReadTables) -> None:
    if event.data["new_status"] != "cancelled":
        return
    contributions = tables.contributions.objects.filter(order_id=event.stream_id, counted=True)
    contribution = contributions.first()
    if contribution is None or not contributions.update(counted=False):
        return
    analytics = _locked_analytics(tables, contribution.customer_id)
    analytics.total_orders -= 1
    analytics.total_spent -= contribution.total_amount
    remaining = Counter(analytics.category_units)
    remaining.subtract(contribution.category_units)
    analytics.category_units = {category: n for category, n in remaining.items() if n > 0}
    analytics.last_order_date = tables.contributions.objects.filter(
        customer_id=contribution.customer_id, counted=True
    ).aggregate(last=Max("order_date"))["last"]
    _save_analytics(analytics)


def _locked_analytics(tables: ReadTables, customer_id: UUID) -> CustomerAnalytics:
    return tables.analytics.objects.select_for_update().get(customer_id=customer_id)


def _save_analytics(analytics: CustomerAnalytics) -> None:
    orders, spent = analytics.total_orders, analytics.total_spent
    analytics.average_order_value = (spent / orders).quantize(CENTS) if orders else Decimal("0.00")
    analytics.favorite_category = favorite_category(analytics.category_units)
    analytics.customer_segment = customer_segment(orders, spent)
    analytics.projected_at = timezone.now()
    analytics.save()


def favorite_category(category_units: dict[str, int]) -> str:
    """Return the category with the most units, ties broken alphabetically ('' if none)."""
    ranked = sorted((-units, category) for category, units in category_units.items() if units > 0)
    return ranked[0][1] if ranked else ""


def customer_segment(counted_orders: int, total_spent: Decimal) -> str:
    """Classify a customer: new (at most 1 order), vip (spent at least 1000.00), regular."""
    if counted_orders <= 1:
        return "new"
    return "vip" if total_spent >= VIP_SPENDING else "regular"


# -- product_sales -----------------------------------------------------------------------


def count_order_in_sales(event: RecordedEvent, tables: ReadTables) -> None:
    for item, line in zip(event.data["items"], sale_line_rows(event), strict=True):
        if insert_once(tables.sale_lines, **line):
            _add_to_daily_sales(tables, item, line)
    forget_popular_products()


def _add_to_daily_sales(tables: ReadTables, item: dict[str, Any], line: dict[str, Any]) -> None:
    day = tables.sales.objects.filter(product_id=line["product_id"], sale_date=line["sale_date"])
    added = day.update(
        total_quantity=F("total_quantity") + line["quantity"],
        total_orders=F("total_orders") + 1,
        total_revenue=F("total_revenue") + line["revenue"],
        projected_at=timezone.now(),
    )
    if not added:
        tables.sales.objects.create(**daily_sales_row(item, line), projected_at=timezone.now())


def take_cancelled_order_out_of_sales(event: RecordedEvent, tables: ReadTables) -> None:
    if event.data["new_status"] != "cancelled":
        return
    counted_lines = tables.sale_lines.objects.filter(order_id=event.stream_id, counted=True)
    lines = list(counted_lines)
    if not lines or not counted_lines.update(counted=False):
        return
    for line in lines:
        tables.sales.objects.filter(product_id=line.product_id, sale_date=line.sale_date).update(
            total_quantity=F("total_quantity") - line.quantity,
            total_orders=F("total_orders") - 1,
            total_revenue=F("total_revenue") - line.revenue,
            projected_at=timezone.now(),
        )
    forget_popular_products()


def rename_product_in_sales(event: RecordedEvent, tables: ReadTables) -> None:
    renamed = tables.sales.objects.filter(
        product_id=event.stream_id, version__lt=event.version
    ).update(
        product_name=event.data["name"],
        category=event.data["category"],
        version=event.version,
        projected_at=timezone.now(),
    )
    if renamed:
        forget_popular_products()


# -- shared --------------------------------------------------------------------------------


def insert_once(model: type[Model], **values: Any) -> bool:
    """Insert a row unless one with the same unique key exists; tell whether it was inserted."""
    fields = [model._meta.get_field(name) for name in values]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    params = [field.get_db_prep_save(values[field.name], connection) for field in fields]
    placeholders = ", ".join(["%s"] * len(fields))
    table = connection.ops.quote_name(model._meta.db_table)
    # Table and column names come from the model, never from input.
    sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) ON CONFLICT DO NOTHING"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount == 1


def _placed_entry(event: RecordedEvent) -> dict[str, Any]:
    """Return the first status-history entry: the order placed, as pending."""
    return {
        "status": event.data["status"],
        "changed_by": event.metadata.get("actor", ""),
        "changed_at": event.data["order_date"],
        "reason": "",
        "version": event.version,
    }


def _status_entry(event: RecordedEvent) -> dict[str, Any]:
    return {
        "status": event.data["new_status"],
        "changed_by": event.data["changed_by"],
        "changed_at": event.data["changed_at"],
        "reason": event.data["reason"],
        "version": event.version,
    }


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


# The handler table: which event feeds which projection, read top to bottom.
HANDLERS: list[tuple[str, str, Handler]] = [
    # event type              projection              receiver
    ("OrderCreated", "order_summary", add_order_to_summary),
    ("OrderStatusUpdated", "order_summary", change_status_in_summary),
    ("CustomerUpdated", "order_summary", rename_customer_in_summary),
    ("OrderCreated", "order_details", add_order_to_details),
    ("OrderStatusUpdated", "order_details", add_status_change_to_details),
    ("CustomerUpdated", "order_details", rename_customer_in_details),
    ("OrderCreated", "order_status_history", record_status_in_history),
    ("OrderStatusUpdated", "order_status_history", record_status_in_history),
    ("CustomerRegistered", "customer_analytics", add_customer_to_analytics),
    ("CustomerUpdated", "customer_analytics", update_customer_in_analytics),
    ("OrderCreated", "customer_analytics", count_order_in_analytics),
    ("OrderStatusUpdated", "customer_analytics", take_cancelled_order_out_of_analytics),
    ("OrderCreated", "product_sales", count_order_in_sales),
    ("OrderStatusUpdated", "product_sales", take_cancelled_order_out_of_sales),
    ("ProductUpdated", "product_sales", rename_product_in_sales),
]

# The tables (fields of ReadTables) each projection owns, and rebuilds and verifies as one.
TABLES: dict[str, tuple[str, ...]] = {
    "order_summary": ("summary",),
    "order_details": ("details",),
    "order_status_history": ("history",),
    "customer_analytics": ("analytics", "contributions"),
    "product_sales": ("sales", "sale_lines"),
}


def models_of(projection: str, tables: ReadTables = LIVE) -> list[type[Model]]:
    """Return the models of the tables `projection` owns."""
    return [getattr(tables, name) for name in TABLES[projection]]

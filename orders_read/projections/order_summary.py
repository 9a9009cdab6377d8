"""order_summary_view: one row per order, for lists and searches."""

from decimal import Decimal
from typing import Any

from orders_write.event_store import RecordedEvent
from orders_write.events import CustomerForgotten, CustomerUpdated, OrderCreated, OrderStatusUpdated
from orders_write.personal_data import FORGOTTEN_NAME

from ..models import OrderSummary
from .rows import Projection, RowStore, Table, stream_row
from .values import moment, uuid

SUMMARY = Table(OrderSummary, key=("order_id",), lookups=("customer_id",))


def summary_row(event: RecordedEvent) -> dict[str, Any]:
    """Return the row an OrderCreated starts."""
    data = event.data
    return {
        "order_id": event.stream_id,
        "customer_id": uuid(data["customer_id"]),
        "customer_name": data["customer_name"],
        "customer_version": data["customer_version"],
        "order_date": moment(data["order_date"]),
        "total_amount": Decimal(data["total_amount"]),
        "status": data["status"],
        "item_count": len(data["items"]),
        "unit_count": sum(item["quantity"] for item in data["items"]),
        "version": event.version,
    }


def add_order_to_summary(event: RecordedEvent, rows: RowStore) -> None:
    rows.add(SUMMARY, summary_row(event))


def change_status_in_summary(event: RecordedEvent, rows: RowStore) -> None:
    summary = rows.get(SUMMARY, event.stream_id)
    rows.change_if_newer(SUMMARY, summary, event.version, status=event.data["new_status"])


def rename_customer_in_summary(event: RecordedEvent, rows: RowStore) -> None:
    rows.update_all(
        SUMMARY,
        {"customer_id": event.stream_id},
        newer=("customer_version", event.version),
        customer_name=event.data["name"],
    )


def forget_customer_in_summary(event: RecordedEvent, rows: RowStore) -> None:
    rows.update_all(
        SUMMARY,
        {"customer_id": event.stream_id},
        newer=("customer_version", event.version),
        customer_name=FORGOTTEN_NAME,
    )


PROJECTION = Projection(
    name="order_summary",
    tables=(SUMMARY,),
    rules={
        OrderCreated: add_order_to_summary,
        OrderStatusUpdated: change_status_in_summary,
        CustomerUpdated: rename_customer_in_summary,
        CustomerForgotten: forget_customer_in_summary,
    },
    reads={OrderStatusUpdated: stream_row(SUMMARY)},
    adds={OrderCreated: stream_row(SUMMARY)},
)

"""order_details_view: one row per order with its items, addresses and status history."""

from decimal import Decimal
from typing import Any

from orders_write.event_store import RecordedEvent
from orders_write.events import CustomerForgotten, CustomerUpdated, OrderCreated, OrderStatusUpdated
from orders_write.personal_data import FORGOTTEN_ADDRESS, FORGOTTEN_EMAIL, FORGOTTEN_NAME

from ..models import OrderDetails
from .rows import Projection, RowStore, Table, stream_row
from .values import moment, placed_entry, status_entry, uuid

DETAILS = Table(OrderDetails, key=("order_id",), lookups=("customer_id",))


def details_row(event: RecordedEvent) -> dict[str, Any]:
    """Return the row an OrderCreated starts."""
    data = event.data
    return {
        "order_id": event.stream_id,
        "customer_id": uuid(data["customer_id"]),
        "customer_name": data["customer_name"],
        "customer_email": data["customer_email"],
        "customer_version": data["customer_version"],
        "order_date": moment(data["order_date"]),
        "items": data["items"],
        "shipping_address": data["shipping_address"],
        "billing_address": data["billing_address"],
        "payment_method": data["payment_method"],
        "status": data["status"],
        "status_history": [placed_entry(event)],
        "total_amount": Decimal(data["total_amount"]),
        "version": event.version,
    }


def add_order_to_details(event: RecordedEvent, rows: RowStore) -> None:
    rows.add(DETAILS, details_row(event))


def add_status_change_to_details(event: RecordedEvent, rows: RowStore) -> None:
    details = rows.get(DETAILS, event.stream_id)
    if details is not None:
        rows.change_if_newer(
            DETAILS,
            details,
            event.version,
            status=event.data["new_status"],
            status_history=[*details["status_history"], status_entry(event)],
        )


def rename_customer_in_details(event: RecordedEvent, rows: RowStore) -> None:
    rows.update_all(
        DETAILS,
        {"customer_id": event.stream_id},
        newer=("customer_version", event.version),
        customer_name=event.data["name"],
        customer_email=event.data["email"],
    )


def forget_customer_in_details(event: RecordedEvent, rows: RowStore) -> None:
    rows.update_all(
        DETAILS,
        {"customer_id": event.stream_id},
        newer=("customer_version", event.version),
        customer_name=FORGOTTEN_NAME,
        customer_email=FORGOTTEN_EMAIL,
        shipping_address=FORGOTTEN_ADDRESS,
        billing_address=FORGOTTEN_ADDRESS,
    )


PROJECTION = Projection(
    name="order_details",
    tables=(DETAILS,),
    rules={
        OrderCreated: add_order_to_details,
        OrderStatusUpdated: add_status_change_to_details,
        CustomerUpdated: rename_customer_in_details,
        CustomerForgotten: forget_customer_in_details,
    },
    reads={OrderStatusUpdated: stream_row(DETAILS)},
    adds={OrderCreated: stream_row(DETAILS)},
    replay_cost=2,
)

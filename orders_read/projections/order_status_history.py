"""order_status_history: one row per status an order has had, the placed one first."""

from collections.abc import Iterator
from typing import Any

from orders_write.event_store import RecordedEvent
from orders_write.events import OrderCreated, OrderStatusUpdated

from ..models import OrderStatusChange
from .rows import Need, Projection, RowStore, Table, key
from .values import moment, placed_entry, status_entry

HISTORY = Table(OrderStatusChange, key=("order_id", "version"))


def history_row(event: RecordedEvent) -> dict[str, Any]:
    """Return the row of an OrderCreated or OrderStatusUpdated."""
    created = event.event_type == OrderCreated.__name__
    entry = placed_entry(event) if created else status_entry(event)
    return {**entry, "order_id": event.stream_id, "changed_at": moment(entry["changed_at"])}


def record_status_in_history(event: RecordedEvent, rows: RowStore) -> None:
    rows.add(HISTORY, history_row(event))


def the_entry(event: RecordedEvent, rows: RowStore) -> Iterator[Need]:
    yield key(HISTORY, event.stream_id, event.version)


PROJECTION = Projection(
    name="order_status_history",
    tables=(HISTORY,),
    rules={
        OrderCreated: record_status_in_history,
        OrderStatusUpdated: record_status_in_history,
    },
    reads={},
    adds={OrderCreated: the_entry, OrderStatusUpdated: the_entry},
    replay_cost=2,
)

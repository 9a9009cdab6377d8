"""Values read from event data the same way by several projections."""

from datetime import datetime
from functools import lru_cache
from typing import Any
from uuid import UUID

from orders_write.event_store import RecordedEvent


def moment(value: str) -> datetime:
    """Return the time an event recorded as ISO 8601 text."""
    return datetime.fromisoformat(value)


@lru_cache(maxsize=100_000)
def uuid(text: str) -> UUID:
    """Return the id an event recorded as text (cached: the same customers and products recur)."""
    return UUID(text)


def placed_entry(event: RecordedEvent) -> dict[str, Any]:
    """Return the first status-history entry of an OrderCreated: the order placed."""
    return {
        "status": event.data["status"],
        "changed_by": event.metadata.get("actor", ""),
        "changed_at": event.data["order_date"],
        "reason": "",
        "version": event.version,
    }


def status_entry(event: RecordedEvent) -> dict[str, Any]:
    """Return the status-history entry of an OrderStatusUpdated."""
    data = event.data
    return {
        "status": data["new_status"],
        "changed_by": data["changed_by"],
        "changed_at": data["changed_at"],
        "reason": data["reason"],
        "version": event.version,
    }

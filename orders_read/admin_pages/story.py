"""An order's story: its events, the commands behind them, and what each read table shows now."""

import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.urls import reverse

from config.api import display
from config.api.privacy import masked
from orders_read.models import (
    CustomerAnalytics,
    CustomerOrderContribution,
    OrderDetails,
    OrderStatusChange,
    OrderSummary,
    ProductSaleLine,
)
from orders_write.event_reader import correlated_events, stream_events
from orders_write.event_store import RecordedEvent


@dataclass(frozen=True)
class StoryEvent:
    event: RecordedEvent
    # Whether e-mail and postal addresses show masked (the viewer may not see them).
    masked: bool = True

    @property
    def data_json(self) -> str:
        data = masked(self.event.data) if self.masked else self.event.data
        return json.dumps(data, indent=2, sort_keys=True)

    @property
    def occurred_at(self) -> str | None:
        """Return when it happened in the business (a seeded or back-dated command differs)."""
        return self.event.data.get("changed_at") or self.event.data.get("order_date")

    @property
    def meta(self) -> dict[str, Any]:
        return self.event.metadata

    @property
    def trace_url(self) -> str:
        return f"{reverse('event-trace')}?correlation_id={self.meta.get('correlation_id', '')}"


@dataclass(frozen=True)
class ReadRow:
    """One read table's row for the order: the version it shows, and whether that is current."""

    table: str
    url: str
    shows: str
    current: bool


@dataclass(frozen=True)
class Story:
    order_id: UUID
    customer_id: UUID
    events: list[StoryEvent]
    read_rows: list[ReadRow]

    @property
    def version(self) -> int:
        return self.events[-1].event.version


def order_story(order_id: UUID, *, masked: bool = True) -> Story | None:
    """Tell an order's story from its event stream and its read rows, or None if it has none;
    `masked` hides e-mail and postal addresses in the events' data."""
    events = stream_events(order_id)
    if not events or events[0].stream_type != "order":
        return None
    customer_id = UUID(str(events[0].data["customer_id"]))
    version = events[-1].version
    return Story(
        order_id=order_id,
        customer_id=customer_id,
        events=[StoryEvent(e, masked) for e in events],
        read_rows=_read_rows(order_id, customer_id, version),
    )


def traced_events(correlation_id: UUID, *, masked: bool = True) -> list[StoryEvent]:
    """Return every event recorded under one correlation id, oldest first."""
    return [StoryEvent(e, masked) for e in correlated_events(correlation_id)]


def _read_rows(order_id: UUID, customer_id: UUID, version: int) -> list[ReadRow]:
    rows = [
        _versioned("order summary", OrderSummary, order_id, version),
        _versioned("order details", OrderDetails, order_id, version),
        _history(order_id, version),
        _analytics(order_id, customer_id),
    ]
    return [*rows, _sales(order_id)]


def _sales(order_id: UUID) -> ReadRow:
    lines = list(ProductSaleLine.objects.filter(order_id=order_id))
    counted = sum(line.counted for line in lines)
    url = display.admin_url("orders_read.productsales")
    if lines:
        products = ",".join(str(line.product_id) for line in lines)
        url = display.admin_url(
            "orders_read.productsales", sale_date=lines[0].sale_date, product_id__in=products
        )
    return ReadRow("product sales", url, f"{counted} of {len(lines)} line(s) counted", True)


def _versioned(table: str, model: type, order_id: UUID, version: int) -> ReadRow:
    row = model.objects.filter(pk=order_id).values("version").first()
    url = display.admin_url(f"orders_read.{model._meta.model_name}", order_id)
    if row is None:
        return ReadRow(table, url, "no row yet", False)
    return ReadRow(table, url, f"version {row['version']}", row["version"] == version)


def _history(order_id: UUID, version: int) -> ReadRow:
    changes = OrderStatusChange.objects.filter(order_id=order_id).order_by("-version")
    latest = changes.values_list("version", flat=True).first()
    url = display.admin_url("orders_read.orderstatuschange", order_id=order_id)
    shows = f"{changes.count()} status change(s), up to version {latest}" if latest else "no rows"
    return ReadRow("order status history", url, shows, (latest or 1) == version)


def _analytics(order_id: UUID, customer_id: UUID) -> ReadRow:
    url = display.admin_url("orders_read.customeranalytics", customer_id)
    contribution = CustomerOrderContribution.objects.filter(pk=order_id).first()
    analytics = CustomerAnalytics.objects.filter(pk=customer_id).values("version").first()
    if contribution is None or analytics is None:
        return ReadRow("customer analytics", url, "no row yet", False)
    counted = "counts this order" if contribution.counted else "does not count it (cancelled)"
    return ReadRow(
        "customer analytics", url, f"customer version {analytics['version']}, {counted}", True
    )

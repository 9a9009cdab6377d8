"""Gather everything the system holds about one customer, in clear (the right of access)."""

from typing import Any
from uuid import UUID

from django.utils import timezone

from .event_reader import recorded_events
from .event_store import RecordedEvent
from .exceptions import NotFound
from .models import Customer, Event, Order


def customer_export(customer_id: UUID) -> dict[str, Any]:
    """Return the customer record, every order with its items and status history, and every
    event about them, with their personal fields opened."""
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(f"Unknown customer {customer_id}.")
    orders = list(
        Order.objects.filter(customer_id=customer_id)
        .prefetch_related("items__product")
        .order_by("order_date", "id")
    )
    streams = [customer_id, *(order.id for order in orders)]
    events = recorded_events(Event.objects.filter(stream_id__in=streams).order_by("position"))
    return {
        "exported_at": timezone.now(),
        "customer": _customer(customer),
        "orders": [_order(order, events) for order in orders],
        "events": [_event(event) for event in events],
    }


def _customer(customer: Customer) -> dict[str, Any]:
    fields = ("name", "email", "version", "created_at", "updated_at", "forgotten_at")
    return {"customer_id": customer.id} | {name: getattr(customer, name) for name in fields}


def _order(order: Order, events: list[RecordedEvent]) -> dict[str, Any]:
    fields = ("status", "order_date", "total_amount", "payment_method", "version")
    return (
        {"order_id": order.id}
        | {name: getattr(order, name) for name in fields}
        | {
            "shipping_address": order.shipping_address,
            "billing_address": order.billing_address,
            "items": [_item(item) for item in order.items.all()],
            "status_history": _status_history(order.id, events),
        }
    )


def _item(item: Any) -> dict[str, Any]:
    return {
        "product_id": item.product_id,
        "product_name": item.product.name,
        "quantity": item.quantity,
        "unit_price": item.unit_price,
    }


def _status_history(order_id: UUID, events: list[RecordedEvent]) -> list[dict[str, Any]]:
    return [_status_entry(event) for event in events if event.stream_id == order_id]


def _status_entry(event: RecordedEvent) -> dict[str, Any]:
    data = event.data
    if event.event_type == "OrderCreated":
        by, at, reason = event.metadata.get("actor", ""), data["order_date"], ""
        return {"status": data["status"], "changed_by": by, "changed_at": at, "reason": reason}
    return {
        "status": data["new_status"],
        "changed_by": data["changed_by"],
        "changed_at": data["changed_at"],
        "reason": data["reason"],
    }


def _event(event: RecordedEvent) -> dict[str, Any]:
    return {
        "position": event.position,
        "stream_type": event.stream_type,
        "stream_id": event.stream_id,
        "version": event.version,
        "event_type": event.event_type,
        "data": event.data,
        "metadata": event.metadata,
        "recorded_at": event.recorded_at,
    }

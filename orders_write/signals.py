"""Signals sent by the command services, one per event type, each carrying the recorded event."""

from django.dispatch import Signal

# Every signal is sent with `event=RecordedEvent` inside the command's transaction.
customer_registered = Signal()
customer_updated = Signal()
customer_forgotten = Signal()
product_added = Signal()
product_updated = Signal()
order_created = Signal()
order_status_updated = Signal()

SIGNAL_FOR_EVENT_TYPE: dict[str, Signal] = {
    "CustomerRegistered": customer_registered,
    "CustomerUpdated": customer_updated,
    "CustomerForgotten": customer_forgotten,
    "ProductAdded": product_added,
    "ProductUpdated": product_updated,
    "OrderCreated": order_created,
    "OrderStatusUpdated": order_status_updated,
}

"""The Order aggregate and its status rules."""

from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

import pytest

from orders_write import domain
from orders_write.exceptions import InvalidTransition

ALLOWED = {
    ("pending", "confirmed"),
    ("pending", "cancelled"),
    ("confirmed", "paid"),
    ("confirmed", "cancelled"),
    ("paid", "shipped"),
    ("paid", "cancelled"),
    ("shipped", "delivered"),
}
ALL_PAIRS = [(old, new) for old in domain.STATUSES for new in domain.STATUSES]
PATH_TO = {
    "pending": [],
    "confirmed": ["confirmed"],
    "paid": ["confirmed", "paid"],
    "shipped": ["confirmed", "paid", "shipped"],
    "delivered": ["confirmed", "paid", "shipped", "delivered"],
    "cancelled": ["cancelled"],
}
AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def new_order() -> domain.Order:
    line = domain.PricedLine(uuid4(), "Pen", "office", 3, Decimal("2.50"))
    other = domain.PricedLine(uuid4(), "Ink", "office", 1, Decimal("0.99"))
    return domain.Order.create(
        order_id=uuid4(),
        customer_id=uuid4(),
        customer_name="Ann",
        customer_email="ann@example.com",
        customer_version=1,
        lines=[line, other],
        shipping_address={"line1": "1 Main", "city": "Lyon", "postal_code": "1", "country": "FR"},
        billing_address={"line1": "1 Main", "city": "Lyon", "postal_code": "1", "country": "FR"},
        payment_method="card",
        at=AT,
    )


def order_in(status: str) -> domain.Order:
    order = new_order()
    for step in PATH_TO[status]:
        order.change_status(step, changed_by="test", reason="", at=AT)
    return order


def test_new_order_is_pending_at_version_1_with_total_of_lines():
    order = new_order()

    assert order.status == "pending"
    assert order.version == 1
    assert order.total_amount == Decimal("8.49")
    assert [e.event_type for e in order.pending_events] == ["OrderCreated"]


@pytest.mark.parametrize(("old", "new"), sorted(ALLOWED))
def test_allowed_transition_records_status_updated(old, new):
    order = order_in(old)

    order.change_status(new, changed_by="clerk", reason="why", at=AT)

    assert order.status == new
    event = order.pending_events[-1]
    assert (event.event_type, event.old_status, event.new_status) == (
        "OrderStatusUpdated",
        old,
        new,
    )
    assert (event.changed_by, event.reason) == ("clerk", "why")


@pytest.mark.parametrize(("old", "new"), [p for p in ALL_PAIRS if p not in ALLOWED])
def test_refused_transition_raises_and_changes_nothing(old, new):
    order = order_in(old)
    version, events = order.version, len(order.pending_events)

    with pytest.raises(InvalidTransition):
        order.change_status(new, changed_by="clerk", reason="", at=AT)

    assert (order.status, order.version, len(order.pending_events)) == (old, version, events)


def test_replaying_recorded_events_gives_the_same_order():
    order = order_in("shipped")

    replayed = domain.Order.from_events([(e.event_type, e.data()) for e in order.pending_events])

    assert replayed == order
    assert replayed.version == 4


def test_money_always_has_two_places():
    assert str(domain.money("3")) == "3.00"
    assert str(domain.money(Decimal("2.5"))) == "2.50"

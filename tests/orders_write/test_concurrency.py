"""Concurrent commands on PostgreSQL: real threads, each with its own connection."""

import threading
from collections.abc import Callable
from uuid import uuid4

import pytest
from django.db import connection, connections

from orders_write import services
from orders_write.commands import RegisterCustomer, UpdateOrderStatus
from orders_write.exceptions import ConcurrencyConflict, DomainError
from orders_write.models import Customer, Event, Order
from tests.conftest import make_customer, make_order, make_product

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs concurrent connections to PostgreSQL (SQLite serializes every writer)",
    ),
    pytest.mark.django_db(transaction=True),
]


def run_together(*commands: Callable[[], object]) -> list[object]:
    """Start each command in its own thread at the same moment; return results or errors."""
    barrier = threading.Barrier(len(commands))
    outcomes: list[object] = [None] * len(commands)

    def run(index: int, command: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes[index] = command()
        except Exception as error:
            outcomes[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(commands)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a command never finished"
    return outcomes


def change_status(order_id, status: str, expected_version: int) -> Callable[[], object]:
    return lambda: services.update_order_status(
        UpdateOrderStatus(order_id=order_id, status=status, expected_version=expected_version)
    )


@pytest.mark.parametrize("attempt", range(3))
def test_two_writers_from_the_same_version_one_wins_the_other_conflicts(attempt):
    order = make_order(make_customer(), [(make_product(), 1)])

    outcomes = run_together(
        change_status(order.id, "confirmed", expected_version=1),
        change_status(order.id, "cancelled", expected_version=1),
    )

    conflicts = [o for o in outcomes if isinstance(o, ConcurrencyConflict)]
    winners = [o for o in outcomes if not isinstance(o, Exception)]
    assert (len(winners), len(conflicts)) == (1, 1), outcomes
    events = list(Event.objects.filter(stream_id=order.id).order_by("version"))
    assert [(e.version, e.event_type) for e in events] == [
        (1, "OrderCreated"),
        (2, "OrderStatusUpdated"),
    ]
    row = Order.objects.get(pk=order.id)
    assert (row.status, row.version) == (winners[0].status, 2)
    assert events[1].data["new_status"] == winners[0].status


def test_many_writers_placing_orders_for_different_customers_all_succeed():
    product = make_product(unit_price="3.00")
    customers = [make_customer() for _ in range(8)]

    outcomes = run_together(
        *(lambda c=customer: make_order(c, [(product, 2)]) for customer in customers)
    )

    assert all(isinstance(o, Order) for o in outcomes), outcomes
    orders = Order.objects.filter(pk__in=[o.pk for o in outcomes])
    assert sorted(o.customer_id for o in orders) == sorted(c.id for c in customers)
    created = Event.objects.filter(event_type="OrderCreated")
    assert sorted(created.values_list("stream_id", flat=True)) == sorted(o.pk for o in outcomes)
    assert set(created.values_list("version", flat=True)) == {1}


def test_two_clients_resending_the_same_order_at_once_get_one_order():
    customer, product = make_customer(), make_product()
    order_id = uuid4()

    outcomes = run_together(
        *(lambda: make_order(customer, [(product, 1)], order_id=order_id) for _ in range(2))
    )

    assert [getattr(o, "pk", o) for o in outcomes] == [order_id, order_id]
    assert Event.objects.filter(stream_id=order_id).count() == 1
    assert Order.objects.filter(pk=order_id).count() == 1


def test_two_registrations_with_the_same_email_at_once_leave_one_customer():
    outcomes = run_together(
        *(
            lambda name=name: services.register_customer(
                RegisterCustomer(name=name, email="ann@example.com")
            )
            for name in ("Ann", "Other Ann")
        )
    )

    assert sum(isinstance(o, Customer) for o in outcomes) == 1
    assert sum(isinstance(o, DomainError) for o in outcomes) == 1
    assert Customer.objects.filter(email="ann@example.com").count() == 1
    assert Event.objects.filter(event_type="CustomerRegistered").count() == 1

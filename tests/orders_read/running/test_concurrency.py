"""Projections under concurrent commands on PostgreSQL: real threads, each with its own
connection, holding transactions open to force the interleavings that matter."""

import threading
import time
from datetime import UTC, datetime

import pytest
from django.db import connection, connections, transaction

from orders_read.models import CustomerAnalytics, ProductSales, ProjectionFailure
from orders_read.rebuild.replay import verify
from orders_write import services
from orders_write.commands import CommandContext, UpdateCustomer
from tests.conftest import make_customer, make_order, make_product, set_status

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs concurrent connections to PostgreSQL (SQLite serializes every writer)",
    ),
    pytest.mark.django_db(transaction=True),
]

EARLIER = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
LATER = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)


def in_thread(work) -> threading.Thread:
    def run() -> None:
        try:
            work()
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_cancelling_while_the_customer_places_an_order_keeps_both_in_the_analytics():
    ann, pen = make_customer(), make_product(unit_price="10.00")
    earlier = make_order(ann, [(pen, 1)], context=CommandContext(occurred_at=EARLIER))
    placed, release = threading.Event(), threading.Event()

    def place_an_order_and_wait() -> None:
        with transaction.atomic():
            make_order(ann, [(pen, 2)], context=CommandContext(occurred_at=LATER))
            placed.set()
            release.wait(10)

    placing = in_thread(place_an_order_and_wait)
    assert placed.wait(10)
    # The cancellation reads the customer's orders while the new one is not committed yet;
    # it must wait for it on the analytics row and count it.
    cancelling = in_thread(lambda: set_status(earlier.id, "cancelled"))
    time.sleep(0.5)
    release.set()
    placing.join(10)
    cancelling.join(10)

    analytics = CustomerAnalytics.objects.get(customer_id=ann.id)
    assert (analytics.total_orders, analytics.total_spent) == (1, 20)
    assert analytics.last_order_date == LATER
    assert ProductSales.objects.get(product_id=pen.id, sale_date=LATER.date()).total_quantity == 2
    assert verify(["customer_analytics", "product_sales"]) == []


def run_together(*commands) -> None:
    barrier = threading.Barrier(len(commands))

    def run(command) -> None:
        barrier.wait(10)
        command()

    threads = [in_thread(lambda c=command: run(c)) for command in commands]
    for thread in threads:
        thread.join(30)


@pytest.mark.parametrize("attempt", range(3))
def test_cancellations_and_a_rename_of_one_customer_at_once_never_deadlock(attempt):
    ann, pen, ink = make_customer(), make_product(), make_product()
    orders = [make_order(ann, [(pen, 1), (ink, n)]) for n in range(1, 5)]

    run_together(
        *(lambda o=order: set_status(o.id, "cancelled") for order in orders),
        lambda: services.update_customer(UpdateCustomer(customer_id=ann.id, name="Ann Renamed")),
    )

    assert not ProjectionFailure.objects.exists()
    analytics = CustomerAnalytics.objects.get(customer_id=ann.id)
    assert (analytics.total_orders, analytics.customer_name) == (0, "Ann Renamed")
    assert verify(["order_summary", "customer_analytics", "product_sales"]) == []

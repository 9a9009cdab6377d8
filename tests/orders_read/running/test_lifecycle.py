"""Projection lifecycle: failure isolation, catch-up, skipping, gap safety."""

import threading
import time

import pytest
from django.db import connections, transaction

from orders_read.models import (
    CustomerAnalytics,
    OrderSummary,
    ProjectionFailure,
    ProjectionState,
)
from orders_read.projections import NAMES
from orders_read.rebuild.replay import verify
from orders_read.running.catch_up import catch_up, skip_failure
from orders_read.running.status import projection_statuses
from orders_write.models import Event, Order
from tests.conftest import make_customer, make_order, make_product, on_postgresql, set_status

# Transactional: on PostgreSQL catch-up and replays read only committed events.
pytestmark = pytest.mark.django_db(transaction=True)


def status_of(name: str):
    return next(s for s in projection_statuses() if s.name == name)


def break_analytics_of(customer) -> dict:
    """Lose a customer's analytics row (as a bad manual fix would); return it for repair."""
    row = CustomerAnalytics.objects.filter(customer_id=customer.id)
    saved = row.values()[0]
    row.delete()
    return saved


def test_failing_receiver_never_fails_the_command_and_catch_up_repairs_it(analytics_schema):
    ann, pen = make_customer(), make_product(unit_price="5.00")
    analytics_schema.break_column("total_orders")

    order = make_order(ann, [(pen, 2)])
    set_status(order.id, "confirmed")

    assert Order.objects.filter(pk=order.id, status="confirmed").exists()
    assert OrderSummary.objects.get(order_id=order.id).status == "confirmed"
    status = status_of("customer_analytics")
    assert (status.state, status.open_failures) == ("stalled", 1)
    assert status.lag == 2  # the order placed and its status change
    assert "total_orders" in status.last_error
    assert status_of("order_summary").state == "current"
    failure = ProjectionFailure.objects.get()
    assert (failure.projection, failure.event_type) == ("customer_analytics", "OrderCreated")

    analytics_schema.repair()
    result = catch_up("customer_analytics")

    assert (result.failed_at, status_of("customer_analytics").state) == (None, "current")
    assert CustomerAnalytics.objects.get(customer_id=ann.id).total_orders == 1
    assert ProjectionFailure.objects.get().resolution == "retried"
    assert verify(list(NAMES)) == []


def test_stalled_projection_does_not_apply_later_events_of_the_stream_out_of_order():
    ann = make_customer()
    saved_row = break_analytics_of(ann)
    order = make_order(ann, [(make_product(), 1)])

    set_status(order.id, "cancelled")
    CustomerAnalytics.objects.create(**saved_row)

    assert CustomerAnalytics.objects.get(customer_id=ann.id).total_orders == 0
    catch_up("customer_analytics")
    analytics = CustomerAnalytics.objects.get(customer_id=ann.id)
    assert (analytics.total_orders, analytics.customer_segment) == (0, "new")
    assert verify(["customer_analytics"]) == []


def test_catch_up_stops_again_at_an_event_that_still_fails(analytics_schema):
    ann = make_customer()
    analytics_schema.break_column("total_orders")
    make_order(ann, [(make_product(), 1)])

    result = catch_up("customer_analytics")
    analytics_schema.repair()

    # On PostgreSQL the checkpoint may sit a little earlier (below every running
    # transaction), so catch-up may stop at the customer's registration instead.
    order_created = Event.objects.get(event_type="OrderCreated").position
    assert result.failed_at is not None and result.failed_at <= order_created
    assert status_of("customer_analytics").state == "stalled"
    assert ProjectionFailure.objects.filter(resolution="", event_position=result.failed_at).exists()


def test_skipping_a_failed_event_is_recorded_and_lets_the_projection_move_on(analytics_schema):
    ann = make_customer()
    analytics_schema.break_column("total_orders")
    make_order(ann, [(make_product(), 1)])
    analytics_schema.repair()
    failure = ProjectionFailure.objects.get()

    with pytest.raises(ValueError):
        skip_failure(failure, by="ops", reason=" ")
    result = skip_failure(failure, by="ops", reason="order counted by hand")

    failure.refresh_from_db()
    assert (failure.resolution, failure.resolved_by) == ("skipped", "ops")
    assert failure.reason == "order counted by hand"
    assert result.failed_at is None
    assert status_of("customer_analytics").state == "current"
    assert CustomerAnalytics.objects.get(customer_id=ann.id).total_orders == 0


@on_postgresql
def test_catch_up_applies_an_event_that_commits_after_a_later_one():
    """Gap safety: T1 writes position p1 but commits after T2's p2 > p1 is visible."""
    ann, bob, pen, ink = make_customer(), make_customer(), make_product(), make_product()
    ProjectionState.objects.filter(name="order_summary").update(
        stalled=True, transaction_id=0, position=Event.objects.latest("position").position
    )
    t1_written, release_t1 = threading.Event(), threading.Event()

    def slow_writer():
        with transaction.atomic():
            make_order(ann, [(pen, 1)])
            t1_written.set()
            release_t1.wait(10)
        connections.close_all()

    t1 = threading.Thread(target=slow_writer)
    t1.start()
    assert t1_written.wait(10)
    make_order(bob, [(ink, 1)])  # commits while T1, at a lower position, is still open
    threading.Timer(0.5, release_t1.set).start()

    started = time.monotonic()
    catch_up("order_summary")
    t1.join(10)

    assert time.monotonic() - started < 5  # it waited for T1, not for a time-out

    assert OrderSummary.objects.count() == 2
    assert status_of("order_summary").state == "current"
    assert verify(["order_summary"]) == []

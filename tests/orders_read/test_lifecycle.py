"""Projection lifecycle: failure isolation, catch-up, gap safety, rebuild, verify."""

import threading
import time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction

from orders_read.models import (
    CustomerAnalytics,
    OrderSummary,
    ProjectionFailure,
    ProjectionState,
)
from orders_read.projections import NAMES, models_of
from orders_read.projector import catch_up, skip_failure
from orders_read.rebuild import rebuild, table_rows, verify
from orders_read.status import projection_statuses
from orders_write import services
from orders_write.commands import UpdateCustomer, UpdateProduct
from orders_write.models import Event, Order
from tests.conftest import make_customer, make_order, make_product, set_status

# Transactional: on PostgreSQL catch-up and replays read only committed events.
pytestmark = pytest.mark.django_db(transaction=True)
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs concurrent PostgreSQL transactions"
)


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
    assert status.lag >= 2
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


def live_rows() -> dict:
    return {p: [table_rows(m) for m in models_of(p)] for p in NAMES}


def place_some_orders(count: int = 6) -> None:
    customers = [make_customer() for _ in range(3)]
    products = [make_product(category=c) for c in ("books", "toys", "garden", "books")]
    for n in range(count):
        order = make_order(customers[n % 3], [(products[n % 3], n + 1), (products[3], 1)])
        if n % 2:
            set_status(order.id, "confirmed", "cancelled")


def test_rebuild_gives_exactly_the_live_rows():
    place_some_orders()
    before = live_rows()

    rebuild(list(NAMES), batch_size=7)

    assert live_rows() == before
    assert all(s.state == "current" for s in projection_statuses())


@pytest.mark.parametrize(("batch_size", "keep_rows"), [(1, 100_000), (3, 100_000), (2, 0), (4, 3)])
def test_a_replay_in_batches_equals_the_live_rows_whatever_rows_it_keeps(batch_size, keep_rows):
    """Rows of shared tables kept between batches, and dropped when too many, give the rows
    that reading them back would give: across renames, cancellations and days sold again."""
    place_some_orders(8)
    ann, pen = make_customer(), make_product(category="toys")
    first = make_order(ann, [(pen, 2)])
    services.update_customer(UpdateCustomer(customer_id=ann.id, name="Ann Renamed"))
    services.update_product(UpdateProduct(product_id=pen.id, name="Pen", category="art"))
    second = make_order(ann, [(pen, 1)])
    set_status(first.id, "confirmed", "cancelled")
    set_status(second.id, "confirmed")

    assert verify(list(NAMES), batch_size=batch_size, keep_rows=keep_rows) == []


@on_postgresql
def test_rebuild_in_several_processes_gives_exactly_the_live_rows():
    place_some_orders()
    before = live_rows()
    shown = []

    replayed = rebuild(
        list(NAMES), batch_size=4, processes=3, progress=lambda d, t: shown.append(d)
    )

    assert live_rows() == before
    assert shown[-1] == replayed == Event.objects.count()
    assert all(s.state == "current" for s in projection_statuses())
    assert verify(list(NAMES), processes=2) == []


@pytest.mark.parametrize("processes", [1, pytest.param(2, marks=on_postgresql)])
def test_interrupted_rebuild_stops_its_processes_and_leaves_the_old_tables_serving(processes):
    place_some_orders()
    before = live_rows()

    def interrupt(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rebuild(list(NAMES), batch_size=2, processes=processes, progress=interrupt)

    assert live_rows() == before
    assert not [t for t in connection.introspection.table_names() if t.endswith("__rebuild")]
    rebuild(list(NAMES), processes=processes)
    assert live_rows() == before


def test_commands_accepted_during_a_rebuild_are_kept():
    place_some_orders()
    customer, product = make_customer(), make_product()
    placed = []

    def place_order_meanwhile(done: int, total: int) -> None:
        if not placed:
            placed.append(make_order(customer, [(product, 3)]))

    rebuild(list(NAMES), batch_size=5, progress=place_order_meanwhile)

    assert OrderSummary.objects.filter(order_id=placed[0].id).exists()
    assert CustomerAnalytics.objects.get(customer_id=customer.id).total_orders == 1
    assert verify(list(NAMES)) == []


def test_verify_projections_reports_a_corrupted_row_and_exits_1():
    place_some_orders(2)
    order = OrderSummary.objects.first()
    OrderSummary.objects.filter(order_id=order.order_id).update(total_amount="999.99")
    out = StringIO()

    with pytest.raises(CommandError, match="1 row"):
        call_command("verify_projections", stdout=out)

    assert str(order.order_id) in out.getvalue()
    assert "total_amount" in out.getvalue()


def test_verify_projections_passes_on_equal_tables():
    place_some_orders(2)
    out = StringIO()

    call_command("verify_projections", stdout=out)

    assert "identical" in out.getvalue()


def test_rebuilt_tables_keep_their_indexes():
    place_some_orders(2)

    rebuild(list(NAMES))

    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "order_summary_view")
    indexed = [c["columns"] for c in constraints.values() if c["index"]]
    assert ["customer_id", "order_date"] in indexed
    assert ["status", "order_date"] in indexed
    assert ["total_amount"] in indexed

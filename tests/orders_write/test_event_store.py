"""Reading the event store as the read side does: gap-safe order, checkpoints, lag."""

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders_read.running.runner import active_runner
from orders_write.event_reader import (
    NO_HORIZON,
    Checkpoint,
    Head,
    Lag,
    checkpoint_before,
    count_events,
    head,
    horizon,
    lag,
    last_position_at_or_before,
    read_events,
    recorded_events,
    wait_for_event_writers,
)
from orders_write.event_store import RecordedEvent, begin_writing_and_read
from orders_write.models import Customer, Event, Product
from tests.conftest import make_customer, make_order, make_product, on_postgresql, set_status

# On PostgreSQL only committed events are read, so commands commit, each in its own
# transaction (and their events carry different transaction ids).
pytestmark = pytest.mark.django_db(transaction=True)


def record_some_events() -> list[RecordedEvent]:
    """Run a few real commands; return their events as the ORM reads them, in reading order."""
    ann, pen = make_customer(), make_product(unit_price="2.50")
    order = make_order(ann, [(pen, 3)])
    set_status(order.id, "confirmed", "paid")
    return recorded_events(Event.objects.order_by("transaction_id", "position"))


def read_all(after: Checkpoint = Checkpoint.START, *, batch: int) -> list[RecordedEvent]:
    """Read every event after `after`, `batch` at a time, as catch-up and rebuild do."""
    events: list[RecordedEvent] = []
    while page := read_events(after, limit=batch):
        events += page
        after = Checkpoint.of(page[-1])
    return events


@contextmanager
def command_left_open() -> Iterator[tuple[threading.Event, list[RecordedEvent]]]:
    """Run, in another connection, a command that writes an event and waits before committing.

    Yield an event to set to let it write a second event and commit, and the events it wrote.
    """
    written, release, done = threading.Event(), threading.Event(), []

    def writer() -> None:
        try:
            with transaction.atomic():
                first = make_customer()
                written.set()
                release.wait(10)
                second = make_customer()
            done.extend(_events_of(first.id, second.id))
        finally:
            connections.close_all()

    thread = threading.Thread(target=writer)
    thread.start()
    assert written.wait(10), "the writer never wrote"
    try:
        yield release, done
    finally:
        release.set()
        thread.join(10)


def _events_of(*stream_ids) -> list[RecordedEvent]:
    return recorded_events(Event.objects.filter(stream_id__in=stream_ids).order_by("position"))


# -- Checkpoint ----------------------------------------------------------------------------


def test_checkpoints_are_ordered_by_transaction_then_position():
    assert Checkpoint(0, 0) == Checkpoint.START
    assert Checkpoint(1, 900) < Checkpoint(2, 5) < Checkpoint(2, 6)
    assert sorted([Checkpoint(3, 1), Checkpoint(0, 7), Checkpoint(1, 2)])[0] == Checkpoint(0, 7)


def test_checkpoint_of_an_event_is_its_transaction_and_position():
    [event, *_] = record_some_events()

    assert Checkpoint.of(event) == Checkpoint(event.transaction_id, event.position)


# -- read_events ---------------------------------------------------------------------------


def test_read_events_returns_every_event_as_stored_in_reading_order():
    events = record_some_events()

    read = read_events(Checkpoint.START, limit=100)

    assert read == events
    assert [e.event_type for e in read] == [
        "CustomerRegistered",
        "ProductAdded",
        "OrderCreated",
        "OrderStatusUpdated",
        "OrderStatusUpdated",
    ]
    created = read[2]
    assert created.data["items"][0]["quantity"] == 3
    assert created.data["total_amount"] == "7.50"
    assert created.recorded_at.tzinfo is not None


@pytest.mark.parametrize("batch", [1, 2, 3, 100])
def test_read_events_in_batches_reads_each_event_once(batch):
    events = record_some_events()

    assert read_all(batch=batch) == events


def test_read_events_returns_at_most_limit_events_after_the_checkpoint():
    events = record_some_events()

    assert read_events(Checkpoint.START, limit=2) == events[:2]
    assert read_events(Checkpoint.of(events[1]), limit=2) == events[2:4]
    assert read_events(Checkpoint.of(events[-1]), limit=2) == []


def test_read_events_returns_nothing_at_or_above_below():
    events = record_some_events()

    assert read_events(Checkpoint.START, below=events[0].transaction_id, limit=100) == []
    assert read_events(Checkpoint.START, below=NO_HORIZON, limit=100) == events


def test_a_checkpoint_before_an_event_reads_that_event_first():
    events = record_some_events()
    order_created = next(e for e in events if e.event_type == "OrderCreated")

    checkpoint = checkpoint_before(order_created)

    assert checkpoint < Checkpoint.of(order_created)
    assert read_events(checkpoint, limit=1) == [order_created]
    assert last_position_at_or_before(checkpoint) == order_created.position - 1


@pytest.mark.parametrize("enabled", [True, False])
def test_read_events_leaves_the_garbage_collector_as_it_found_it(enabled):
    record_some_events()
    (gc.enable if enabled else gc.disable)()
    try:
        read_events(Checkpoint.START, limit=100)
        assert gc.isenabled() is enabled
    finally:
        gc.enable()


def test_read_events_on_an_empty_store_returns_nothing():
    assert read_events(Checkpoint.START, limit=10) == []
    assert count_events() == 0


# -- the horizon: commands still writing (PostgreSQL) ----------------------------------------


def test_the_horizon_lies_above_every_committed_event():
    events = record_some_events()

    assert all(event.transaction_id < horizon() for event in events)
    if connection.vendor != "postgresql":
        assert horizon() == NO_HORIZON


@on_postgresql
def test_read_events_stops_below_a_command_still_writing_then_reads_its_events_first():
    before = record_some_events()

    with command_left_open() as (release, open_events):
        later = make_customer()  # commits while the open command's transaction runs
        [later_event] = _events_of(later.id)
        gap_safe = checkpoint_before(later_event)

        assert read_events(Checkpoint.START, limit=100) == before
        assert count_events() == len(before)
        assert wait_for_event_writers(timeout=0.05) is False
        release.set()
        assert wait_for_event_writers(timeout=10) is True

    first, second = open_events
    assert first.position < later_event.position < second.position
    assert read_events(Checkpoint.of(before[-1]), limit=100) == [first, second, later_event]
    assert read_events(gap_safe, limit=1) == [first]


def test_waiting_for_event_writers_returns_at_once_when_there_are_none():
    record_some_events()

    assert wait_for_event_writers(timeout=0) is True


# -- counting, lag and head ----------------------------------------------------------------


def test_count_events_counts_the_events_after_a_checkpoint():
    events = record_some_events()

    assert count_events() == len(events)
    assert count_events(Checkpoint.of(events[1])) == len(events) - 2
    assert count_events(Checkpoint.of(events[-1])) == 0
    assert count_events(below=events[0].transaction_id) == 0


def test_last_position_at_or_before_a_checkpoint():
    events = record_some_events()

    assert last_position_at_or_before(Checkpoint.START) == 0
    assert last_position_at_or_before(Checkpoint.of(events[2])) == events[2].position
    assert last_position_at_or_before(Checkpoint(NO_HORIZON, 0)) == events[-1].position


def test_lag_counts_events_not_applied_and_the_age_of_the_oldest(monkeypatch):
    events = record_some_events()
    later = events[1].recorded_at + timedelta(seconds=90)
    monkeypatch.setattr(timezone, "now", lambda: later)

    behind = lag(Checkpoint.of(events[0]))

    assert behind == Lag(len(events) - 1, 90.0)
    oldest = min(e.recorded_at for e in events)
    assert lag(Checkpoint.START) == Lag(len(events), (later - oldest).total_seconds())


def test_lag_at_the_last_event_is_nothing():
    events = record_some_events()

    assert lag(Checkpoint.of(events[-1])) == Lag(0, 0.0)


def test_head_is_the_latest_event_and_when_it_was_recorded():
    assert head() == Head(0, None)
    events = record_some_events()

    latest = max(events, key=lambda e: e.position)
    assert head() == Head(latest.position, latest.recorded_at)


def test_reads_taken_with_the_stream_locks_return_what_the_orm_would():
    ann, pen, book = make_customer(), make_product(unit_price="2.50"), make_product()
    reads = [
        Customer.objects.filter(pk=ann.id),
        Product.objects.filter(pk__in=[pen.id, book.id]).order_by("unit_price"),
        Product.objects.filter(pk__in=[]),
        Product.objects.filter(pk=pen.id).values_list("name", "unit_price"),
    ]

    with transaction.atomic():
        stream, results = begin_writing_and_read([ann.id], reading=ann.id, reads=reads)

    assert [event_type for event_type, _, _ in stream] == ["CustomerRegistered"]
    assert results == [list(qs) for qs in reads]
    [customer] = results[0]
    assert (customer.name, customer.email, customer.version) == (ann.name, ann.email, 1)
    assert [p.unit_price for p in results[1]] == [Decimal("2.50"), Decimal("10.00")]
    assert results[3] == [(pen.name, Decimal("2.50"))]


@on_postgresql
def test_an_order_is_placed_in_as_many_statements_as_plain_crud():
    ann, pen = make_customer(), make_product()

    with CaptureQueriesContext(connection) as statements:
        make_order(ann, [(pen, 1)])

    # BEGIN, the locks with every read, the order, its items, its event, COMMIT; inline, the
    # projections' three round trips too (savepoint and stalled check, reads, writes).
    projections = 0 if active_runner().uses_workers else 3
    assert len(statements.captured_queries) == 6 + projections

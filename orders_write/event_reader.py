"""Read the event store in a gap-safe order: the read side's only way to events.

Events are read in (transaction_id, position) order. On PostgreSQL `transaction_id` is the
writing transaction's id, and only events below the horizon (the oldest command still
writing events) are read, so an event that commits late is never skipped. SQLite has one
writer at a time, so there `transaction_id` is 0 and the order is simply `position`.
"""

import gc
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, ClassVar, NamedTuple
from uuid import UUID

import orjson
import psycopg
from django.db import connection
from django.db.models import Value
from django.db.models.fields.json import KT
from django.db.models.lookups import Exact
from django.utils import timezone

from .event_store import RecordedEvent
from .models import Event
from .personal_data import open_all
from .upcasting import UPCASTERS, upcast

NO_HORIZON = 2**63 - 1
TABLE = Event._meta.db_table


@dataclass(frozen=True, order=True)
class Checkpoint:
    """A place in the reading order: a projection there has applied every event up to it."""

    transaction_id: int
    position: int

    START: ClassVar["Checkpoint"]

    @classmethod
    def of(cls, event: RecordedEvent) -> "Checkpoint":
        """Return the checkpoint just after `event` has been applied."""
        return cls(event.transaction_id, event.position)


Checkpoint.START = Checkpoint(0, 0)


@dataclass(frozen=True)
class Lag:
    """How far a projection is behind: events not applied, and the age of the oldest."""

    events: int
    seconds: float


class Head(NamedTuple):
    """The store's latest event: its position and when it was recorded."""

    position: int
    recorded_at: datetime | None


def _is_postgresql() -> bool:
    return connection.vendor == "postgresql"


# -- reading -----------------------------------------------------------------------------

# The row comparison lets the (transaction_id, position) index serve both range and order.
READ_SQL = f"""
    SELECT position, stream_type, stream_id, version, event_type, {{data}}, {{metadata}},
           recorded_at, transaction_id, schema_version
    FROM {TABLE}
    WHERE transaction_id < %s AND (transaction_id, position) > (%s, %s)
    ORDER BY transaction_id, position
    LIMIT %s
"""  # noqa: S608 (no user input: the table name is the model's)
POSTGRESQL_READ_SQL = READ_SQL.format(data="data::text", metadata="metadata::text")
SQLITE_READ_SQL = READ_SQL.format(data="data", metadata="metadata")


def read_events(after: Checkpoint, *, below: int | None = None, limit: int) -> list[RecordedEvent]:
    """Return up to `limit` events after `after`, below transaction `below` (or the horizon)."""
    params = [horizon() if below is None else below, after.transaction_id, after.position, limit]
    with cyclic_gc_paused():
        if _is_postgresql():
            events = _postgresql_events(_fetch_binary(POSTGRESQL_READ_SQL, params))
        else:
            with connection.cursor() as cursor:
                cursor.execute(SQLITE_READ_SQL, params)
                events = _sqlite_events(cursor.fetchall())
        # One query for the batch's keys, one decryption per event.
        open_all(event.data for event in events)
    return _upcast(events) if UPCASTERS else events


def _upcast(events: list[RecordedEvent]) -> list[RecordedEvent]:
    """Return the events with their data in its current shape."""
    return [
        _upcast_one(event) if (event.event_type, event.schema_version) in UPCASTERS else event
        for event in events
    ]


def _upcast_one(event: RecordedEvent) -> RecordedEvent:
    version, data = upcast(event.event_type, event.schema_version, event.data)
    return replace(event, schema_version=version, data=data)


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector (not reference counting) while a batch is built."""
    # A batch allocates hundreds of thousands of dicts and lists, none in a cycle; collecting
    # while they were built took a third of the reading time.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _fetch_binary(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    """Run a query on PostgreSQL and return its rows, transferred in binary."""
    # Binary rows need no parsing of numbers, ids or times; Django's cursors only read text.
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, binary=True, prepare=False)
        return cursor.fetchall()


def _postgresql_events(rows: list[tuple[Any, ...]]) -> list[RecordedEvent]:
    """Build events from PostgreSQL rows, where only the JSON columns are left to decode."""
    loads = orjson.loads
    return [
        RecordedEvent(p, st, sid, v, et, loads(d), loads(m), at, tx, sv)
        for p, st, sid, v, et, d, m, at, tx, sv in rows
    ]


def _sqlite_events(rows: list[tuple[Any, ...]]) -> list[RecordedEvent]:
    """Build events from SQLite rows, where ids are hex text and times naive UTC text."""
    loads = orjson.loads
    return [
        RecordedEvent(p, st, UUID(sid), v, et, loads(d), loads(m), _sqlite_datetime(at), tx, sv)
        for p, st, sid, v, et, d, m, at, tx, sv in rows
    ]


def _sqlite_datetime(value: str | datetime | None) -> datetime | None:
    """Convert a datetime column read from SQLite as Django does."""
    return connection.ops.convert_datetimefield_value(value, None, connection)


# -- the horizon -------------------------------------------------------------------------


def horizon() -> int:
    """Return the transaction id below which no event can still appear."""
    # On PostgreSQL: the lowest transaction id among the commands now writing events (each
    # announces itself before its first write, see `begin_writing`), else the next id.
    if not _is_postgresql():
        return NO_HORIZON
    next_id = settled_below()
    writers = [_full_transaction_id(xid, next_id) for _, xid in _event_writers()]
    return min([next_id, *writers])


def settled_below() -> int:
    """Return the next transaction id to be assigned (NO_HORIZON on SQLite)."""
    if not _is_postgresql():
        return NO_HORIZON
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint")
        return cursor.fetchone()[0]


def _full_transaction_id(xid: str, next_id: int) -> int:
    """Widen a 32-bit xid to the 64-bit id of the current epoch (it precedes `next_id`)."""
    return next_id - ((next_id - int(xid)) % 2**32)


def checkpoint_before(event: RecordedEvent) -> Checkpoint:
    """Return a checkpoint below `event` and below every event still being written."""
    if not _is_postgresql():
        return Checkpoint(0, event.position - 1)
    return Checkpoint(min(horizon(), event.transaction_id) - 1, NO_HORIZON)


EVENT_WRITERS_SQL = """
    SELECT activity.pid, activity.backend_xid::text
    FROM pg_locks AS lock JOIN pg_stat_activity AS activity ON activity.pid = lock.pid
    WHERE lock.locktype = 'relation' AND lock.relation = %s::regclass
      AND lock.mode = 'RowExclusiveLock'
      AND lock.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND activity.backend_xid IS NOT NULL AND activity.pid <> pg_backend_pid()
"""


def wait_for_event_writers(timeout: float = 60) -> bool:
    """Wait until the transactions now writing events have ended; False on time-out."""
    if not _is_postgresql():
        return True
    writers = _event_writers()
    deadline = time.monotonic() + timeout
    while writers and time.monotonic() < deadline:
        time.sleep(0.005)
        writers &= _event_writers()
    return not writers


def _event_writers() -> set[tuple[int, str]]:
    with connection.cursor() as cursor:
        cursor.execute(EVENT_WRITERS_SQL, [TABLE])
        return set(cursor.fetchall())


# -- counting ----------------------------------------------------------------------------


def count_events(after: Checkpoint = Checkpoint.START, *, below: int | None = None) -> int:
    """Count the events `read_events` would return after `after` (below the horizon)."""
    below = horizon() if below is None else below
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM {TABLE}"  # noqa: S608 (the model's table name)
            " WHERE transaction_id < %s AND (transaction_id, position) > (%s, %s)",
            [below, after.transaction_id, after.position],
        )
        return cursor.fetchone()[0]


def lag(checkpoint: Checkpoint) -> Lag:
    """Return how far behind the store a projection standing at `checkpoint` is."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*), MIN(recorded_at) FROM {TABLE}"  # noqa: S608 (the model's table)
            " WHERE (transaction_id, position) > (%s, %s)",
            [checkpoint.transaction_id, checkpoint.position],
        )
        events, oldest = cursor.fetchone()
    oldest = oldest if _is_postgresql() else _sqlite_datetime(oldest)
    seconds = (timezone.now() - oldest).total_seconds() if oldest else 0.0
    return Lag(events, max(seconds, 0.0))


def last_position_at_or_before(checkpoint: Checkpoint) -> int:
    """Return the position of the last event at or before `checkpoint` (0 if none)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT position FROM {TABLE}"  # noqa: S608 (the model's table name)
            " WHERE (transaction_id, position) <= (%s, %s)"
            " ORDER BY transaction_id DESC, position DESC LIMIT 1",
            [checkpoint.transaction_id, checkpoint.position],
        )
        row = cursor.fetchone()
    return row[0] if row else 0


def checkpoint_at(position: int) -> Checkpoint:
    """Return the checkpoint just after the last event at or before `position` (the start of
    the store if there is none)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT transaction_id, position FROM {TABLE}"  # noqa: S608 (the model's table)
            " WHERE position <= %s ORDER BY position DESC LIMIT 1",
            [position],
        )
        row = cursor.fetchone()
    return Checkpoint(*row) if row else Checkpoint.START


def position_of(checkpoint: Checkpoint) -> int:
    """Return the position of the last event at or before `checkpoint`."""
    if checkpoint.position < NO_HORIZON:
        return checkpoint.position
    return last_position_at_or_before(checkpoint)


# The store's latest position (NULL when empty), for queries that read it with other rows.
HEAD_SQL = f"SELECT position FROM {TABLE} ORDER BY position DESC LIMIT 1"  # noqa: S608 (the model's table name)


def head() -> Head:
    """Return the position and time of the store's latest event (0 and None when empty)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT position, recorded_at FROM {TABLE}"  # noqa: S608 (the model's table)
            " ORDER BY position DESC LIMIT 1"
        )
        row = cursor.fetchone()
    if row is None:
        return Head(0, None)
    position, at = row
    return Head(position, at if _is_postgresql() else _sqlite_datetime(at))


def stream_events(stream_id: UUID) -> list[RecordedEvent]:
    """Return one stream's events in version order."""
    return recorded_events(Event.objects.filter(stream_id=stream_id).order_by("version"))


def correlated_events(correlation_id: UUID, *, limit: int = 1000) -> list[RecordedEvent]:
    """Return the events recorded under one correlation id (one request's flow), oldest first."""
    rows = (
        # A plain text comparison, so PostgreSQL can use the index on the same expression.
        Event.objects.filter(
            Exact(KT("metadata__correlation_id"), Value(str(correlation_id)))
        ).order_by("position")[:limit]
    )
    return recorded_events(rows)


def recorded_events(rows: Iterable[Event]) -> list[RecordedEvent]:
    """Return the rows' events as every reader sees them: personal fields opened, upcast."""
    events = [RecordedEvent.from_row(row) for row in rows]
    open_all(event.data for event in events)
    return _upcast(events)

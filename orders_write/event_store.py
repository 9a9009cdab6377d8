"""Append events to the store, read streams back, and lock streams for writing."""

from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import QuerySet
from django.db.models.query import ModelIterable
from django.utils import timezone

from .events import DomainEvent
from .models import Event
from .personal_data import KeyRing, open_all, personal_fields, seal
from .signals import SIGNAL_FOR_EVENT_TYPE
from .upcasting import upcast

TABLE = Event._meta.db_table


@dataclass(frozen=True)
class RecordedEvent:
    """An event as stored: what the signals carry and what replays read."""

    position: int
    stream_type: str
    stream_id: UUID
    version: int
    event_type: str
    data: dict[str, Any]
    metadata: dict[str, Any]
    recorded_at: datetime
    transaction_id: int = 0
    schema_version: int = 1

    @classmethod
    def from_row(cls, row: Event, data: dict[str, Any] | None = None) -> "RecordedEvent":
        """Return the event a row holds, with `data` instead of the row's (sealed) data."""
        return cls(
            position=row.position,
            stream_type=row.stream_type,
            stream_id=row.stream_id,
            version=row.version,
            event_type=row.event_type,
            data=row.data if data is None else data,
            metadata=row.metadata,
            recorded_at=row.recorded_at,
            transaction_id=row.transaction_id,
            schema_version=row.schema_version,
        )


BEGIN_WRITING_SQL = f"""
    LOCK TABLE {TABLE} IN ROW EXCLUSIVE MODE;
    SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k
"""  # noqa: S608 (no user input: the table name is the model's)


STREAM_SQL = f"""
    SELECT event_type, schema_version, data::text, metadata::text FROM {TABLE}
    WHERE stream_id = %s ORDER BY version
"""  # noqa: S608 (no user input: the table name is the model's)
Stream = list[tuple[str, dict[str, Any], dict[str, Any]]]


def begin_writing(stream_ids: Iterable[UUID], *, reading: UUID | None = None) -> Stream:
    """Start a command: announce it as an event writer and lock the streams it touches;
    with `reading`, return that stream's `(event_type, data, metadata)` read after the locks.

    All of it happens before the command's first write, in one round trip on PostgreSQL.
    The table lock (which conflicts with no other writer) lets the read side see every
    transaction that may still append events; the advisory locks serialize commands on the
    same streams, so their transaction ids follow their commit order. SQLite serializes
    every writer anyway.
    """
    return begin_writing_and_read(stream_ids, reading=reading, reads=())[0]


def begin_writing_and_read(
    stream_ids: Iterable[UUID], *, reading: UUID | None, reads: Sequence[QuerySet]
) -> tuple[Stream, list[list[Any]]]:
    """`begin_writing`, and the rows of `reads` (querysets of model rows, or of value
    tuples) read after the locks, in the same round trip on PostgreSQL."""
    if connection.vendor != "postgresql":
        return ([] if reading is None else _stream(reading)), [list(qs) for qs in reads]
    keys = sorted({_lock_key(stream_id) for stream_id in stream_ids})
    statements = [(BEGIN_WRITING_SQL, [keys])]
    if reading is not None:
        statements.append((STREAM_SQL, [reading]))
    compiled = [_compiled(qs) for qs in reads]
    statements += [(sql, params) for sql, params, _ in compiled if sql]
    with connection.cursor() as cursor:
        cursor.execute(
            ";".join(sql for sql, _ in statements), [p for _, ps in statements for p in ps]
        )
        cursor.nextset()  # the table lock's result is the first, the stream locks' the second
        rows = []
        if reading is not None:
            cursor.nextset()
            rows = [(t, v, orjson.loads(data), orjson.loads(meta)) for t, v, data, meta in cursor]
        results = []
        for sql, _, rows_of in compiled:
            results.append(rows_of(cursor.fetchall()) if sql and cursor.nextset() else [])
    return _opened(rows), results


def _compiled(qs: QuerySet) -> tuple[str, list[Any], Callable[[list[tuple]], list[Any]]]:
    """Return a queryset's SQL and parameters ("" when it can match nothing), and what turns
    its result rows into what the queryset yields (model instances or value tuples)."""
    compiler = qs.query.get_compiler(using=connection.alias)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        return "", [], list

    def rows_of(rows: list[tuple]) -> list[Any]:
        converted = list(compiler.results_iter(results=[rows], tuple_expected=True))
        if qs._iterable_class is not ModelIterable:
            return converted
        fields = compiler.klass_info["select_fields"]
        start, end = fields[0], fields[-1] + 1
        names = [compiler.select[i][0].target.attname for i in range(start, end)]
        return [qs.model.from_db(connection.alias, names, row[start:end]) for row in converted]

    return sql, list(params), rows_of


def _stream(stream_id: UUID) -> Stream:
    rows = Event.objects.filter(stream_id=stream_id).order_by("version")
    return _opened(list(rows.values_list("event_type", "schema_version", "data", "metadata")))


def _opened(rows: list[tuple[str, int, dict[str, Any], dict[str, Any]]]) -> Stream:
    open_all(data for _, _, data, _ in rows)
    return [(t, _current(t, v, data), meta) for t, v, data, meta in rows]


def _current(event_type: str, schema_version: int, data: dict[str, Any]) -> dict[str, Any]:
    return upcast(event_type, schema_version, data)[1]


def _lock_key(stream_id: UUID) -> int:
    return (stream_id.int >> 64) - (1 << 63)


def load_stream(stream_id: UUID) -> list[tuple[str, dict[str, Any]]]:
    """Return `(event_type, data)` of a stream's events in version order, data upcast."""
    return [(event_type, data) for event_type, data, _ in _stream(stream_id)]


_last_appended: ContextVar[int | None] = ContextVar("last_appended_position", default=None)


def forget_appended() -> None:
    """Start a command: no event appended yet in this context."""
    _last_appended.set(None)


def last_appended_position() -> int | None:
    """Return the position of the last event appended in this context since `forget_appended`."""
    return _last_appended.get()


def event_row(
    event: DomainEvent, *, version: int, metadata: dict[str, Any], recorded_at: datetime
) -> dict[str, Any]:
    """Return the columns (by attribute name) of the row that stores `event` at `version`
    of its stream; the database sets the position and the transaction id."""
    return {
        "stream_type": event.stream_type,
        "stream_id": event.stream_id,
        "version": version,
        "event_type": event.event_type,
        "schema_version": event.schema_version,
        "data": event.data(),
        "metadata": metadata,
        "recorded_at": recorded_at,
    }


def seal_rows(rows: list[dict[str, Any]], ring: KeyRing | None = None) -> list[dict[str, Any]]:
    """Return event rows (`event_row`'s) with their personal fields sealed under their
    customers' keys: those of `ring`, or read in one query."""
    personal = [row for row in rows if personal_fields(row["event_type"], row["data"])]
    ring = ring or KeyRing.of(row["data"]["customer_id"] for row in personal)
    sealed = {id(row): seal(row["event_type"], row["data"], ring) for row in personal}
    return [{**row, "data": sealed[id(row)]} if id(row) in sealed else row for row in rows]


def append(
    events: list[DomainEvent],
    *,
    after_version: int,
    metadata: dict[str, Any],
    keys: KeyRing | None = None,
) -> list[RecordedEvent]:
    """Append one stream's new events after `after_version` and send their signals; personal
    fields are stored sealed under their customer's key (from `keys`, or read), and the
    signals carry them in clear."""
    now = timezone.now()
    clear = [
        event_row(event, version=version, metadata=metadata, recorded_at=now)
        for version, event in enumerate(events, start=after_version + 1)
    ]
    rows = Event.objects.bulk_create([Event(**row) for row in seal_rows(clear, keys)])
    recorded = [
        RecordedEvent.from_row(row, fields["data"]) for row, fields in zip(rows, clear, strict=True)
    ]
    _last_appended.set(recorded[-1].position)
    for event in recorded:
        SIGNAL_FOR_EVENT_TYPE[event.event_type].send(sender=Event, event=event)
    return recorded

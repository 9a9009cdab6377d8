"""The two backends that run the projection rules on a batch of events.

*live* (commands and catch-up, which share the tables with other writers): rows read with
row locks, new rows inserted and changed columns updated, all writes sent in one round trip
on PostgreSQL. *bulk* (rebuild and verify, into new tables nobody else writes): rows read
without locks, changed rows replaced and new rows written with COPY.
"""

import itertools
import logging
from collections.abc import Sequence
from typing import Any

from django.db import models
from django.utils import timezone

from orders_write.event_reader import cyclic_gc_paused
from orders_write.event_store import RecordedEvent

from ..database import read_connection
from ..models import ProjectionState
from .bulk_copy import copy_rows
from .rows import Projection, RowStore, Table, TableRows, matching
from .sql import (
    Statement,
    delete_rows,
    execute_together,
    fetch_together,
    guarded_update,
    insert_rows,
    release,
    roll_back_to,
    savepoint,
    update_row,
)

logger = logging.getLogger(__name__)
INSERT_CHUNK = 500
# Rows of a shared table a replay keeps between batches, at most (see BulkReplay).
KEEP_ROWS = 100_000
_savepoints = itertools.count(1)


Skipped = dict[str, set[int]]


def project_live(
    events: list[RecordedEvent],
    projections: list[Projection],
    skipped: Skipped | None = None,
    *,
    events_are_new: bool = False,
    unless_stalled: bool = False,
) -> list[Projection]:
    """Apply `events` to `projections` in a savepoint of the current transaction, idempotently,
    and return the projections applied; on failure nothing is written and the error is raised.

    `events_are_new`: the events are the running command's own, so no projection has
    applied them yet (and nobody else can before the command commits).
    `unless_stalled`: leave out the projections waiting for catch-up.
    """
    store = RowStore(projections, lock=True, events_are_new=events_are_new)
    name = f"projections_{next(_savepoints)}"
    released = False
    try:
        # One round trip opens the savepoint and tells which projections are stalled, one
        # reads their rows, one writes them and releases the savepoint.
        _, *stalled = fetch_together([savepoint(name), *([_stalled()] if unless_stalled else [])])
        store.leave_out({projection for rows in stalled for (projection,) in rows})
        store.load(events, skipped)
        store.apply(events, skipped)
        write_live(store, last=[release(name)])
        released = True
    finally:
        if not released:
            roll_back_to(name)
    after_write(store.written_projections())
    return store.applied()


def _stalled() -> Statement:
    quote, meta = read_connection.ops.quote_name, ProjectionState._meta
    column = quote(meta.get_field("stalled").column)
    return f"SELECT {quote(meta.pk.column)} FROM {quote(meta.db_table)} WHERE {column}", []  # noqa: S608 (names from the model)


def project_bulk(
    events: list[RecordedEvent],
    projections: list[Projection],
    models_by_table: dict[Table, type[models.Model]],
    skipped: Skipped | None = None,
    *,
    events_are_new: bool = False,
) -> None:
    """Apply `events` to `projections` written through other models (a rebuild's tables).

    `events_are_new`: the batch replays the store from its start into empty tables.
    """
    store = RowStore(projections, models_by_table=models_by_table, events_are_new=events_are_new)
    store.load(events, skipped)
    store.apply(events, skipped)
    write_bulk(store)


class BulkReplay:
    """Replays batches of events, in order, into tables that only it writes while it runs (a
    rebuild's new tables, or live tables a worker holds the right to write).

    The rows of shared tables (a customer's analytics, a product's days and windows), which
    most batches touch again, are kept from one batch to the next instead of read back: as
    nothing else writes these tables, the rows kept are the rows written. `from_start`: the
    tables start empty and the first batch starts from the store's first event, so while no
    row has been dropped a row not kept does not exist, and rows to add are not looked for;
    otherwise a row is read the first time a batch needs it, then kept. A table's rows are
    dropped once more than `keep_rows` are kept, and read again when needed.
    """

    def __init__(
        self,
        projections: list[Projection],
        models_by_table: dict[Table, type[models.Model]],
        skipped: Skipped | None = None,
        *,
        keep_rows: int = KEEP_ROWS,
        from_start: bool = True,
    ) -> None:
        self.projections, self.models_by_table = projections, models_by_table
        self.skipped, self.keep_rows, self.from_start = skipped, keep_rows, from_start
        self.kept: dict[Table, TableRows] = {}
        for projection in projections if from_start else ():
            for table in projection.tables:
                if table.shared:
                    self.kept[table] = TableRows(table, models_by_table.get(table, table.model))
                    self.kept[table].complete = True

    def apply(self, events: list[RecordedEvent]) -> None:
        """Apply a batch of events that follows the ones applied before (from the start: the
        first batch starts from the first event, into empty tables). After a failure nothing
        is kept and rows are looked for again, as the failed batch may have changed them."""
        store = RowStore(
            self.projections,
            models_by_table=self.models_by_table,
            events_are_new=self.from_start,
            carried=self.kept,
        )
        self.kept = {}
        skipped = self.skipped
        try:
            # The rows kept make the heap large, so a collection while the batch allocates
            # its many (acyclic) rows and tuples scanned them all again and again.
            with cyclic_gc_paused():
                store.load(events, skipped)
                store.apply(events, skipped)
                write_bulk(store)
        except BaseException:
            self.from_start = False
            raise
        self.kept = {
            table: rows.carried()
            for table, rows in store.tables.items()
            if table.shared and len(rows.rows) <= self.keep_rows
        }


def write_live(store: RowStore, *, last: Sequence[Statement] = ()) -> None:
    """Insert new rows, update the changed columns of changed rows, then run the guarded
    updates and the `last` statements, all in one round trip on PostgreSQL."""
    now = timezone.now()
    statements: list[Statement] = []
    for rows in store.tables.values():
        new = list(rows.new.values())
        for start in range(0, len(new), INSERT_CHUNK):
            statements.append(insert_rows(rows.model, new[start : start + INSERT_CHUNK], now))
        statements += [
            update_row(rows.model, rows.table.key, rows.changed_columns, row, now)
            for row in rows.changed.values()
        ]
    execute_together([*statements, *_guarded_updates(store, now), *last])


def write_bulk(store: RowStore) -> None:
    """Replace changed rows and COPY new ones, then run the guarded updates."""
    now = timezone.now()
    changed = [rows for rows in store.tables.values() if rows.changed]
    if read_connection.vendor == "postgresql":
        execute_together([delete_rows(r.model, r.table.key, set(r.changed)) for r in changed])
    else:
        for rows in changed:
            rows.model.objects.filter(matching(rows.table, rows.changed, set())).delete()
    for rows in store.tables.values():
        written = [*rows.changed.values(), *rows.new.values()]
        for row in written:
            row["projected_at"] = now
        copy_rows(rows.model, written)
    execute_together(_guarded_updates(store, now))


def _guarded_updates(store: RowStore, now: Any) -> list[Statement]:
    return [
        guarded_update(store.model(u.table), u.where, u.newer, u.values, now) for u in store.updates
    ]


def after_write(projections: list[Projection]) -> None:
    """Run the projections' hooks for changed tables (cache invalidation); a failing hook
    is logged: the rows are written and the command must commit."""
    for projection in projections:
        if projection.after_write:
            try:
                projection.after_write()
            except Exception:
                logger.exception("After-write hook of %s failed", projection.name)

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

from orders_write.event_store import RecordedEvent

from ..bulk_copy import copy_rows
from ..database import read_connection
from ..models import ProjectionState
from .rows import Projection, RowStore, Table, matching
from .sql import (
    Statement,
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
    # Names come from the model, never from input.
    return f"SELECT {quote(meta.pk.column)} FROM {quote(meta.db_table)} WHERE {column}", []  # noqa: S608


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
    for rows in store.tables.values():
        if rows.changed:
            rows.model.objects.filter(matching(rows.table, rows.changed, set())).delete()
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

"""Rebuild projections from the event store into new tables, swap them in atomically, and
verify live tables against a fresh replay."""

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.apps.registry import Apps
from django.db import models
from django.utils import timezone

from orders_read.cache import forget_popular_products
from orders_read.database import read_atomic, read_connection
from orders_read.progress import Progress
from orders_read.projections import BY_NAME, NAMES, shared_out
from orders_read.projections.backends import KEEP_ROWS, BulkReplay
from orders_read.projections.rows import Table
from orders_read.running.catch_up import catch_up, locked_state
from orders_read.running.failures import skipped_positions
from orders_write.event_reader import Checkpoint, count_events, horizon, read_events

from .processes import in_processes

IGNORED_COLUMNS = {"projected_at"}
# Events a replay applies together: larger batches write the rows that many events change
# (a product's sales windows, say) fewer times, and take more memory.
REPLAY_BATCH_SIZE = 10_000


def shadow_model(
    model: type[models.Model], table: str, token: str, indexes: list[models.Index]
) -> type[models.Model]:
    """Return a model like `model` over another table, with uniquely named constraints and
    the given indexes."""
    meta = type(
        "Meta",
        (),
        {
            "app_label": model._meta.app_label,
            "db_table": table,
            # Managed within its own registry only, so the schema editor makes its indexes.
            "managed": True,
            "apps": Apps(),
            "indexes": indexes,
            "constraints": [_renamed(c, token) for c in model._meta.constraints],
        },
    )
    attrs: dict[str, Any] = {"__module__": model.__module__, "Meta": meta}
    attrs.update({f.name: f.clone() for f in model._meta.local_fields})
    return type(f"{model.__name__}_{token}", (models.Model,), attrs)


def _renamed(index_or_constraint: Any, token: str) -> Any:
    renamed = index_or_constraint.clone()
    renamed.name = f"{index_or_constraint.name[:20]}_{token}"
    return renamed


@dataclass
class Scratch:
    """New tables for some projections, filled by replaying the event store."""

    projections: list[str]
    suffix: str
    keep_rows: int = KEEP_ROWS
    token: str = field(default_factory=lambda: secrets.token_hex(3))
    tables: dict[Table, type[models.Model]] = field(default_factory=dict)
    later: dict[type[models.Model], list[models.Index]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in self.projections:
            for table in BY_NAME[name].tables:
                self._add(table)

    def _add(self, table: Table) -> None:
        """Plan a scratch table with the indexes the replay reads by; the others come after
        it is filled (cheaper than keeping them up to date row by row)."""
        found_by = {*table.key[:1], table.group_by, *table.lookups}
        indexes = [_renamed(index, self.token) for index in table.model._meta.indexes]
        scratch = shadow_model(
            table.model,
            f"{table.model._meta.db_table}__{self.suffix}",
            self.token,
            [index for index in indexes if index.fields[0] in found_by],
        )
        self.tables[table] = scratch
        self.later[scratch] = [index for index in indexes if index.fields[0] not in found_by]

    def pairs(self) -> Iterator[tuple[type[models.Model], type[models.Model]]]:
        """Yield (live model, scratch model) pairs."""
        for table, scratch in self.tables.items():
            yield table.model, scratch

    def scratch_of(self, projection: str) -> Iterator[tuple[Table, type[models.Model]]]:
        """Yield (table, scratch model) pairs of one projection's tables."""
        for table in BY_NAME[projection].tables:
            yield table, self.tables[table]

    def create(self) -> None:
        """Create the scratch tables, dropping leftovers of an interrupted run first."""
        existing = set(read_connection.introspection.table_names())
        with read_connection.cursor() as cursor:
            for _, scratch in self.pairs():
                if scratch._meta.db_table in existing:
                    cursor.execute(f"DROP TABLE {_quoted(scratch)}")
                for statement in _create_table_sql(scratch):
                    cursor.execute(statement)

    def drop(self) -> None:
        """Drop the scratch tables."""
        with read_connection.cursor() as cursor:
            for _, scratch in self.pairs():
                cursor.execute(f"DROP TABLE IF EXISTS {_quoted(scratch)}")

    def fill(
        self, *, batch_size: int, progress: Progress | None = None, processes: int = 1
    ) -> Checkpoint:
        """Replay every settled event into the scratch tables; return the last one applied.

        With several processes (PostgreSQL only), each replays some of the projections.
        """
        below = horizon()
        total = count_events(below=below)
        parts = shared_out(self.projections, processes if _can_fork() else 1)

        def replay(names: list[str], on_batch: Callable[[int], None]) -> Checkpoint:
            return self.replay(names, below=below, batch_size=batch_size, on_batch=on_batch)

        last_applied = in_processes(replay, parts, total, progress)
        self.finish()
        return last_applied

    def replay(
        self, names: list[str], *, below: int, batch_size: int, on_batch: Callable[[int], None]
    ) -> Checkpoint:
        """Replay the events below `below` into the named projections' scratch tables."""
        skipped = {name: skipped_positions(name) for name in names}
        projections = [BY_NAME[name] for name in names]
        replay = BulkReplay(projections, self.tables, skipped, keep_rows=self.keep_rows)
        checkpoint = Checkpoint.START
        while batch := read_events(checkpoint, below=below, limit=batch_size):
            with read_atomic():
                replay.apply(batch)
            checkpoint = Checkpoint.of(batch[-1])
            on_batch(len(batch))
        return checkpoint

    def finish(self) -> None:
        """Create the remaining indexes and give the planner statistics for the new tables
        before readers get them."""
        editor = read_connection.schema_editor(collect_sql=True)
        with read_connection.cursor() as cursor:
            for scratch, indexes in self.later.items():
                for index in indexes:
                    cursor.execute(str(index.create_sql(scratch, editor)))
                if read_connection.vendor == "postgresql":
                    cursor.execute(f"ANALYZE {_quoted(scratch)}")


def _can_fork() -> bool:
    """Tell whether other processes can write the scratch tables: a server database, and
    tables committed (not created in a transaction still open)."""
    return read_connection.vendor == "postgresql" and not read_connection.in_atomic_block


def _create_table_sql(model: type[models.Model]) -> list[str]:
    """Return the CREATE TABLE and CREATE INDEX statements of `model`.

    Collected rather than run by the schema editor, which SQLite refuses to use inside a
    transaction.
    """
    editor = read_connection.schema_editor(collect_sql=True)
    editor.deferred_sql = []
    editor.create_model(model)
    return [*editor.collected_sql, *(str(sql) for sql in editor.deferred_sql)]


def _quoted(model: type[models.Model]) -> str:
    return read_connection.ops.quote_name(model._meta.db_table)


def rebuild(
    projections: list[str],
    *,
    batch_size: int = REPLAY_BATCH_SIZE,
    progress: Progress | None = None,
    processes: int = 1,
) -> int:
    """Rebuild projections into new tables, swap them in, then catch up; return events replayed.

    Readers keep the old tables until the swap; commands accepted meanwhile are applied to
    the new tables by the catch-up that follows it.
    """
    scratch = Scratch(projections, suffix="rebuild")
    scratch.create()
    try:
        last_applied = scratch.fill(batch_size=batch_size, progress=progress, processes=processes)
        _swap_in(scratch, last_applied)
    except BaseException:
        scratch.drop()
        raise
    forget_popular_products()
    for projection in projections:
        catch_up(projection, batch_size=batch_size)
    return count_events()


def _swap_in(scratch: Scratch, last_applied: Checkpoint) -> None:
    with read_atomic():
        for projection in scratch.projections:
            state = locked_state(projection)
            state.stalled = True
            state.checkpoint = last_applied
            state.last_advanced_at = timezone.now()
            state.save()
        with read_connection.cursor() as cursor:
            for live, new in scratch.pairs():
                retired = read_connection.ops.quote_name(f"{live._meta.db_table}__retired")
                cursor.execute(f"ALTER TABLE {_quoted(live)} RENAME TO {retired}")
                cursor.execute(f"ALTER TABLE {_quoted(new)} RENAME TO {_quoted(live)}")
                cursor.execute(f"DROP TABLE {retired}")


@dataclass
class Difference:
    projection: str
    table: str
    key: tuple
    live: dict[str, Any] | None
    replayed: dict[str, Any] | None


def verify(
    projections: list[str],
    *,
    batch_size: int = REPLAY_BATCH_SIZE,
    processes: int = 1,
    keep_rows: int = KEEP_ROWS,
) -> list[Difference]:
    """Replay the store into scratch tables and return how the live tables differ.

    `keep_rows`: the rows of a shared table the replay keeps between batches, at most.
    """
    scratch = Scratch(projections, suffix="verify", keep_rows=keep_rows)
    scratch.create()
    try:
        scratch.fill(batch_size=batch_size, processes=processes)
        return [
            difference
            for projection in projections
            for table, new in scratch.scratch_of(projection)
            for difference in _compare(projection, table, new)
        ]
    finally:
        scratch.drop()


def table_rows(
    table: Table, model: type[models.Model] | None = None
) -> dict[tuple, dict[str, Any]]:
    """Return a table's rows (read through `model`, by default its own) by the table's
    natural key, without bookkeeping columns."""
    model = model or table.model
    columns = [
        f.attname
        for f in model._meta.local_fields
        if f.attname not in IGNORED_COLUMNS and not isinstance(f, models.AutoField)
    ]
    return {table.key_of(row): row for row in model.objects.values(*columns)}


def projection_rows(projection: str) -> list[dict[tuple, dict[str, Any]]]:
    """Return the rows of each of the projection's tables (see `table_rows`)."""
    return [table_rows(table) for table in BY_NAME[projection].tables]


def _compare(projection: str, table: Table, new: type[models.Model]) -> list[Difference]:
    live_rows, replayed_rows = table_rows(table), table_rows(table, new)
    return [
        Difference(
            projection, table.model._meta.db_table, key, live_rows.get(key), replayed_rows.get(key)
        )
        for key in sorted(set(live_rows) | set(replayed_rows), key=str)
        if live_rows.get(key) != replayed_rows.get(key)
    ]


def projection_names(names: list[str] | None) -> list[str]:
    """Return the named projections (all when none), refusing unknown names."""
    unknown = sorted(set(names or []) - set(NAMES))
    if unknown:
        raise ValueError(f"Unknown projection(s): {', '.join(unknown)}. Known: {', '.join(NAMES)}.")
    return list(names or NAMES)

"""The row store the projection rules are written against, and the shape of a projection.

A rule reads and changes rows of its projection's tables through a `RowStore` only; the store
loads what a batch of events needs up front and writes every change back when the batch ends.
The same rules thus run on two backends that differ only in how rows are read and written:
`live` (inside a command's transaction: locked reads, inserts and column updates) and `bulk`
(rebuilds into new tables, with COPY).
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import reduce
from operator import itemgetter, or_
from typing import Any, NamedTuple

from django.db import models
from django.db.models import Q, QuerySet

from orders_write.event_store import RecordedEvent
from orders_write.events import DomainEvent

from ..database import read_connection
from .sql import decoded, fetch_together, select_rows

Row = dict[str, Any]


@dataclass(frozen=True, eq=False)
class Table:
    """A read table as the rules see it: its model, the natural key of its rows, the column
    by which a rule may read rows together (an order's sale lines, say), and other columns
    rules find rows by (in guarded updates)."""

    model: type[models.Model]
    key: tuple[str, ...]
    group_by: str | None = None
    lookups: tuple[str, ...] = ()
    # Rows that commands on different streams change (a customer's analytics: orders and
    # cancellations); they are locked before any other row, in key order, so that commands
    # never wait for each other in a cycle.
    shared: bool = False
    key_of: Callable[[Row], tuple] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        getter = itemgetter(*self.key)
        key_of = (lambda row: (getter(row),)) if len(self.key) == 1 else getter
        object.__setattr__(self, "key_of", key_of)


class Need(NamedTuple):
    """Rows a rule will read: one row by key, or every row of a group."""

    table: Table
    key: tuple | None = None
    group: Any = None


def key(table: Table, *values: Any) -> Need:
    """Say that a rule reads the row of `table` with this natural key."""
    return Need(table, key=values)


def stream_row(table: Table) -> "Reads":
    """Return the reads of the row of `table` keyed by the event's stream (an order's row)."""

    def reads(event: RecordedEvent, rows: "RowStore") -> list[Need]:
        return [Need(table, key=(event.stream_id,))]

    return reads


def group(table: Table, value: Any) -> Need:
    """Say that a rule reads every row of `table` whose group column equals `value`."""
    return Need(table, group=value)


Rule = Callable[[RecordedEvent, "RowStore"], None]
Reads = Callable[[RecordedEvent, "RowStore"], Iterable[Need]]
EventClass = type[DomainEvent]


@dataclass(frozen=True, eq=False)
class Projection:
    """One read model: its tables, its handler table (event class -> rule), and, by event
    class, the rows its rule reads and the rows it adds unless they exist, so that a batch
    reads them all up front (on PostgreSQL, every table in one round trip).

    When no event of a batch was applied before (a command's own events, a replay from
    the start), the rows to add are known to be absent and are not read.
    """

    name: str
    tables: tuple[Table, ...]
    rules: dict[EventClass, Rule]
    reads: dict[EventClass, Reads]
    adds: dict[EventClass, Reads]
    after_write: Callable[[], None] | None = None
    # How long a replay of it takes, relative to the others, to share them among processes.
    replay_cost: int = 1
    # The same tables by the `event_type` that recorded events carry (the class's name).
    by_type: dict[str, tuple[Rule, Reads | None, Reads | None]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        by_type = {
            event_class.__name__: (rule, self.reads.get(event_class), self.adds.get(event_class))
            for event_class, rule in self.rules.items()
        }
        object.__setattr__(self, "by_type", by_type)

    def feeds_on(self, event_type: str) -> bool:
        """Tell whether the projection has a rule for events of `event_type`."""
        return event_type in self.by_type


Work = tuple[Projection, RecordedEvent]


@dataclass(frozen=True)
class GuardedUpdate:
    """A change to every row matching `where` whose `newer` column is below a version."""

    table: Table
    where: dict[str, Any]
    newer: tuple[str, int]
    values: dict[str, Any]


class TableRows:
    """The rows of one table that a batch has read or written."""

    def __init__(self, table: Table, model: type[models.Model]) -> None:
        self.table, self.model = table, model
        self.rows: dict[tuple, Row] = {}
        self.absent: set[tuple] = set()
        self.new: dict[int, Row] = {}  # by id(): new rows are never looked up by key here
        self.changed: dict[tuple, Row] = {}
        self.changed_columns: set[str] = set()
        self.groups: defaultdict[Any, list[tuple]] = defaultdict(list)
        self.loaded_groups: set[Any] = set()
        # Every row of the table is here (a replay's table it has filled from empty).
        self.complete = False

    def keep(self, row: Row, row_key: tuple | None = None) -> tuple:
        row_key = row_key or self.table.key_of(row)
        if row_key not in self.rows:
            self.rows[row_key] = row
            if self.absent:
                self.absent.discard(row_key)
            if self.table.group_by:
                self.groups[row[self.table.group_by]].append(row_key)
        return row_key

    def wants(self, need: Need, keys: set[tuple], groups: set[Any]) -> None:
        """Add `need` to the keys or groups to read, unless it has been read already."""
        if need.key is not None:
            if need.key not in self.rows and need.key not in self.absent and not self.complete:
                keys.add(need.key)
        elif need.group not in self.loaded_groups and not self.complete:
            groups.add(need.group)

    def query(self, keys: set[tuple], groups: set[Any], *, lock: bool) -> QuerySet:
        """Return a query for the rows with these keys and the rows of these groups."""
        rows = self.model.objects.filter(matching(self.table, keys, groups))
        return rows.select_for_update() if lock else rows

    def loaded(self, rows: Iterable[Row], keys: set[tuple], groups: set[Any]) -> None:
        """Keep the rows a query returned; the keys it did not return are absent."""
        for row in rows:
            self.keep(row)
        self.absent |= keys - self.rows.keys()
        self.loaded_groups |= groups

    def members(self, value: Any) -> list[Row]:
        """Return the rows read or added so far whose group column equals `value`."""
        return [self.rows[row_key] for row_key in self.groups.get(value, ())]

    def written(self) -> bool:
        return bool(self.new or self.changed)

    def carried(self) -> "TableRows":
        """Return these rows for the next batch, once written: nothing new or changed."""
        self.new, self.changed, self.changed_columns = {}, {}, set()
        return self


def matching(table: Table, keys: Iterable[tuple], groups: set[Any]) -> Q:
    """Return a filter for rows with any of `keys` or in any of `groups`."""
    wanted = _with_keys(table.key, list(keys)) if keys else Q(pk__in=[])
    if groups:
        wanted |= Q(**{f"{table.group_by}__in": list(groups)})
    return wanted


def _with_keys(names: tuple[str, ...], keys: list[tuple]) -> Q:
    if len(names) == 1:
        return Q(**{f"{names[0]}__in": [k[0] for k in keys]})
    # One condition per value of the column with the fewest distinct values.
    split = min(range(len(names)), key=lambda i: len({k[i] for k in keys}))
    rest: defaultdict[Any, list[tuple]] = defaultdict(list)
    for k in keys:
        rest[k[split]].append(k[:split] + k[split + 1 :])
    others = names[:split] + names[split + 1 :]
    return reduce(or_, (Q(**{names[split]: v}) & _with_keys(others, ks) for v, ks in rest.items()))


def load_together(wanted: dict[TableRows, tuple[set[tuple], set[Any]]], *, lock: bool) -> None:
    """Read the wanted rows of several tables, in one round trip on PostgreSQL.

    Keyed rows come first, shared tables' rows before the others (the lock order), then
    groups, unlocked: every writer of a group also locks a keyed row (a customer's orders,
    its analytics row), so a group read once that row is ours includes all its writers added.
    """
    keyed = [(rows, keys, set()) for rows, (keys, _) in wanted.items() if keys]
    keyed.sort(key=lambda read: not read[0].table.shared)
    grouped = [(rows, set(), groups) for rows, (_, groups) in wanted.items() if groups]
    reads = [(*read, lock) for read in keyed] + [(*read, False) for read in grouped]
    if read_connection.vendor == "postgresql":
        statements = [
            select_rows(r.model, r.table.key, keys, r.table.group_by, groups, lock=locked)
            for r, keys, groups, locked in reads
        ]
        results = fetch_together(statements)
        found = [decoded(r[0].model, rows) for r, rows in zip(reads, results, strict=True)]
    else:
        found = [list(r.query(k, g, lock=locked).values()) for r, k, g, locked in reads]
    for (rows, keys, groups, _), rows_found in zip(reads, found, strict=True):
        rows.loaded(rows_found, keys, groups)


class RowStore:
    """Rows of some projections' tables for one batch of events: read up front, changed in
    memory by the rules, written back together by the backend's writer. `carried`: tables'
    rows kept from the batch before (a replay's)."""

    def __init__(
        self,
        projections: Iterable[Projection],
        *,
        models_by_table: dict[Table, type[models.Model]] | None = None,
        lock: bool = False,
        events_are_new: bool = False,
        carried: dict[Table, TableRows] | None = None,
    ) -> None:
        self.projections = list(projections)
        self.lock, self.events_are_new = lock, events_are_new
        self.by_event_type: defaultdict[str, list[Projection]] = defaultdict(list)
        for projection in self.projections:
            for event_type in projection.by_type:
                self.by_event_type[event_type].append(projection)
        overrides, carried = models_by_table or {}, carried or {}
        self.tables = {
            table: carried.get(table) or TableRows(table, overrides.get(table, table.model))
            for projection in self.projections
            for table in projection.tables
        }
        self.updates: list[GuardedUpdate] = []
        self._peeked = False
        self._reads: dict[tuple[Projection, str], list[Reads]] = {}
        self.left_out: set[str] = set()

    # -- what the rules call ------------------------------------------------------------------

    def get(self, table: Table, *row_key: Any) -> Row | None:
        """Return the row with this natural key, or None."""
        rows = self.tables[table]
        if row_key not in rows.rows and row_key not in rows.absent and not rows.complete:
            load_together({rows: ({row_key}, set())}, lock=self.lock)
        return rows.rows.get(row_key)

    def group(self, table: Table, value: Any) -> list[Row]:
        """Return every row whose group column equals `value`."""
        rows = self.tables[table]
        if value not in rows.loaded_groups and not rows.complete:
            load_together({rows: (set(), {value})}, lock=self.lock)
        return rows.members(value)

    def add(self, table: Table, row: Row) -> bool:
        """Insert `row` unless a row with its key exists (known absent when the events are
        new); tell whether it was inserted."""
        rows, row_key = self.tables[table], table.key_of(row)
        if row_key in rows.rows:
            return False
        if not self.events_are_new and self.get(table, *row_key) is not None:
            return False
        rows.keep(row, row_key)
        rows.new[id(row)] = row
        return True

    def change(self, table: Table, row: Row, **values: Any) -> None:
        """Change columns of a row that `get`, `group` or `add` returned."""
        row.update(values)
        rows = self.tables[table]
        rows.changed_columns.update(values)
        if id(row) not in rows.new:
            rows.changed[table.key_of(row)] = row

    def change_if_newer(
        self, table: Table, row: Row | None, version: int, *, column: str = "version", **values: Any
    ) -> bool:
        """Change a row's columns and its `column` to `version` if the row exists and is at
        an older version (an event applied twice changes nothing); tell whether it changed."""
        if row is None or row[column] >= version:
            return False
        self.change(table, row, **values, **{column: version})
        return True

    def update_all(
        self, table: Table, where: dict[str, Any], newer: tuple[str, int], **values: Any
    ) -> None:
        """Change every row matching `where` whose `newer` column is below the given version,
        in memory now and in the table when the batch is written."""
        column, version = newer
        for row in self.tables[table].rows.values():
            if row[column] < version and all(row[k] == v for k, v in where.items()):
                self.change(table, row, **values, **{column: version})
        self.updates.append(GuardedUpdate(table, where, newer, {**values, column: version}))

    def peek_group(self, table: Table, value: Any) -> list[Row]:
        """Return the rows of a group read already (for `reads` functions)."""
        self._peeked = True
        return self.tables[table].members(value)

    def model(self, table: Table) -> type[models.Model]:
        """Return the model the store writes `table` through."""
        return self.tables[table].model

    # -- what the backends call -----------------------------------------------------------------

    def load(self, events: list[RecordedEvent], skipped: dict[str, set[int]] | None = None) -> None:
        """Read every row the rules will read for `events`, in a few queries per table."""
        needs, again = self._unknown_needs(self._work(events, skipped or {}))
        if needs:
            load_together(needs, lock=self.lock)
        # Reads that looked at rows just read may want more rows (a cancelled order's days).
        while needs and again:
            needs, again = self._unknown_needs(again)
            if needs:
                load_together(needs, lock=self.lock)

    def leave_out(self, names: set[str]) -> None:
        """Read and apply nothing for the named projections."""
        self.left_out |= names
        for event_type, projections in self.by_event_type.items():
            self.by_event_type[event_type] = [p for p in projections if p.name not in names]

    def applied(self) -> list[Projection]:
        """Return the projections whose rules the store applied."""
        return [p for p in self.projections if p.name not in self.left_out]

    def _unknown_needs(
        self, work: list[Work]
    ) -> tuple[dict[TableRows, tuple[set, set]], list[Work]]:
        """Return the rows `work` needs that are not read yet, and the work whose reads
        peeked at rows (and may need more once those are read)."""
        wanted: defaultdict[TableRows, tuple[set, set]] = defaultdict(lambda: (set(), set()))
        peeked = []
        for projection, event in work:
            self._peeked = False
            for reads in self._reads_of(projection, event.event_type):
                for need in reads(event, self):
                    rows = self.tables[need.table]
                    rows.wants(need, *wanted[rows])
            if self._peeked:
                peeked.append((projection, event))
        return {rows: want for rows, want in wanted.items() if want[0] or want[1]}, peeked

    def _reads_of(self, projection: Projection, event_type: str) -> list[Reads]:
        reads = self._reads.get((projection, event_type))
        if reads is None:
            _, reads_rows, adds_rows = projection.by_type[event_type]
            wanted = [reads_rows] if self.events_are_new else [reads_rows, adds_rows]
            reads = self._reads[projection, event_type] = [r for r in wanted if r is not None]
        return reads

    def apply(
        self, events: list[RecordedEvent], skipped: dict[str, set[int]] | None = None
    ) -> None:
        """Run every rule of the store's projections on `events`, in order."""
        for projection, event in self._work(events, skipped or {}):
            projection.by_type[event.event_type][0](event, self)

    def _work(self, events: list[RecordedEvent], skipped: dict[str, set[int]]) -> list[Work]:
        by_type = self.by_event_type
        work = [(p, e) for e in events for p in by_type.get(e.event_type, ())]
        if any(skipped.values()):
            work = [(p, e) for p, e in work if e.position not in skipped.get(p.name, ())]
        return work

    def written_projections(self) -> list[Projection]:
        """Return the projections whose tables the batch changed."""
        changed_tables = {u.table for u in self.updates}
        changed_tables |= {t for t, rows in self.tables.items() if rows.written()}
        return [p for p in self.projections if changed_tables & set(p.tables)]

"""The two backends that run the projection rules on a batch of events.

*live* (commands and catch-up, which share the tables with other writers): rows read with
row locks, changes upserted, one statement per table, all sent in one round trip on
PostgreSQL. *bulk* (rebuild and verify, into new tables nobody else writes): rows read
without locks, changed rows replaced and new rows written with COPY.
"""

from typing import Any

from django.db import connection, models
from django.utils import timezone

from orders_write.event_store import RecordedEvent

from ..bulk_copy import copy_rows
from .rows import GuardedUpdate, Projection, RowStore, Table, TableRows, matching

Statement = tuple[str, list[Any]]
UPSERT_CHUNK = 500


Skipped = dict[str, set[int]]


def project_live(
    events: list[RecordedEvent], projections: list[Projection], skipped: Skipped | None = None
) -> None:
    """Apply `events` to `projections` in the current transaction, idempotently."""
    store = RowStore(projections, lock=True)
    store.load(events, skipped)
    store.apply(events, skipped)
    write_live(store)


def project_bulk(
    events: list[RecordedEvent],
    projections: list[Projection],
    models_by_table: dict[Table, type[models.Model]],
    skipped: Skipped | None = None,
    *,
    from_start: bool = False,
) -> None:
    """Apply `events` to `projections` written through other models (a rebuild's tables).

    `from_start`: every event is applied once, in order, from the first, so the rows that
    rules add are known to be new.
    """
    store = RowStore(projections, models_by_table=models_by_table, rows_to_add_are_new=from_start)
    store.load(events, skipped)
    store.apply(events, skipped)
    write_bulk(store)


def write_live(store: RowStore) -> None:
    """Upsert every new and changed row, then run the guarded updates."""
    now = timezone.now()
    statements: list[Statement] = []
    for rows in store.tables.values():
        changed = [rows.rows[k] for k in (*rows.new, *rows.changed)]
        for start in range(0, len(changed), UPSERT_CHUNK):
            statements.append(_upsert(rows, changed[start : start + UPSERT_CHUNK], now))
    statements += [_guarded_update(store.model(u.table), u, now) for u in store.updates]
    _execute(statements)
    _after_write(store)


def write_bulk(store: RowStore) -> None:
    """Replace changed rows and COPY new ones, then run the guarded updates."""
    now = timezone.now()
    for rows in store.tables.values():
        if rows.changed:
            rows.model.objects.filter(matching(rows.table, rows.changed, set())).delete()
        written = [rows.rows[k] for k in (*rows.changed, *rows.new)]
        for row in written:
            row["projected_at"] = now
        copy_rows(rows.model, [_without_auto_key(rows.model, row) for row in written])
    _execute([_guarded_update(store.model(u.table), u, now) for u in store.updates])
    _after_write(store)


def _after_write(store: RowStore) -> None:
    for projection in store.written_projections():
        if projection.after_write:
            projection.after_write()


def _without_auto_key(model: type[models.Model], row: dict[str, Any]) -> dict[str, Any]:
    pk = model._meta.pk
    if isinstance(pk, models.AutoField) and pk.attname in row:
        row = {k: v for k, v in row.items() if k != pk.attname}
    return row


def _upsert(rows: TableRows, written: list[dict[str, Any]], now: Any) -> Statement:
    model, quote = rows.model, connection.ops.quote_name
    fields = [f for f in model._meta.local_fields if not isinstance(f, models.AutoField)]
    key_columns = {model._meta.get_field(name).column for name in rows.table.key}
    columns = ", ".join(quote(f.column) for f in fields)
    updates = ", ".join(
        f"{quote(f.column)} = EXCLUDED.{quote(f.column)}"
        for f in fields
        if f.column not in key_columns
    )
    one_row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    params = [
        f.get_db_prep_save(now if f.attname == "projected_at" else row[f.attname], connection)
        for row in written
        for f in fields
    ]
    conflict = ", ".join(quote(c) for c in sorted(key_columns))
    # Names come from the models, never from input; values are parameters.
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({columns}) "  # noqa: S608
        f"VALUES {', '.join([one_row] * len(written))} "
        f"ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
    )
    return sql, params


def _guarded_update(model: type[models.Model], update: GuardedUpdate, now: Any) -> Statement:
    quote = connection.ops.quote_name
    values = {**update.values, "projected_at": now}
    fields = {name: model._meta.get_field(name) for name in [*values, *update.where]}
    column, version = update.newer
    assignments = ", ".join(f"{quote(fields[n].column)} = %s" for n in values)
    conditions = " AND ".join(f"{quote(fields[n].column)} = %s" for n in update.where)
    params = [fields[n].get_db_prep_save(v, connection) for n, v in values.items()]
    params += [fields[n].get_db_prep_save(v, connection) for n, v in update.where.items()]
    sql = (
        f"UPDATE {quote(model._meta.db_table)} SET {assignments} "  # noqa: S608
        f"WHERE {conditions} AND {quote(model._meta.get_field(column).column)} < %s"
    )
    return sql, [*params, version]


def _execute(statements: list[Statement]) -> None:
    """Run the statements, in one round trip where the database allows it."""
    if not statements:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Django's psycopg cursor binds on the client, so several statements can go together.
            cursor.execute(
                ";\n".join(sql for sql, _ in statements), [p for _, ps in statements for p in ps]
            )
        else:
            for sql, params in statements:
                cursor.execute(sql, params)

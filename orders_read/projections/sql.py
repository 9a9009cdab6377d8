"""The SQL the live backend sends: reads, inserts, column updates and guarded updates of
read-table rows, several statements per round trip on PostgreSQL."""

from collections.abc import Callable
from functools import partial
from typing import Any

import orjson
from django.db import models
from psycopg.types.json import Jsonb

from ..database import read_connection
from .bulk_copy import json_text

Statement = tuple[str, list[Any]]


def select_rows(
    model: type[models.Model],
    key: tuple[str, ...],
    keys: set[tuple],
    group_by: str | None,
    groups: set[Any],
    *,
    lock: bool,
) -> Statement:
    """Return a SELECT of the rows with any of `keys` or in any of `groups` (PostgreSQL)."""
    quote, meta = read_connection.ops.quote_name, model._meta
    conditions, params = [], []
    if keys:
        condition, params = _with_keys(model, key, keys)
        conditions.append(condition)
    if groups:
        conditions.append(f"{quote(meta.get_field(group_by).column)} = ANY(%s)")
        params.append(list(groups))
    sql = (
        f"SELECT {', '.join(quote(f.column) for f in meta.local_fields)} "  # noqa: S608 (names quoted from the model, values as parameters)
        f"FROM {quote(meta.db_table)} WHERE {' OR '.join(conditions)}"
    )
    if lock:
        # Locked in key order, so two commands locking the same rows never deadlock.
        order = ", ".join(quote(meta.get_field(name).column) for name in key)
        sql += f" ORDER BY {order} FOR UPDATE"
    return sql, params


def delete_rows(model: type[models.Model], key: tuple[str, ...], keys: set[tuple]) -> Statement:
    """Return a DELETE of the rows with any of `keys` (PostgreSQL)."""
    condition, params = _with_keys(model, key, keys)
    table = read_connection.ops.quote_name(model._meta.db_table)
    return f"DELETE FROM {table} WHERE {condition}", params  # noqa: S608 (names quoted from the model, values as parameters)


def _with_keys(model: type[models.Model], key: tuple[str, ...], keys: set[tuple]) -> Statement:
    """Return the condition that a row has one of `keys`, as one array per key column."""
    columns = [model._meta.get_field(name) for name in key]
    names = ", ".join(read_connection.ops.quote_name(f.column) for f in columns)
    arrays = ", ".join(f"%s::{f.db_type(read_connection)}[]" for f in columns)
    params = [list(column) for column in zip(*keys, strict=True)]
    return f"({names}) IN (SELECT * FROM unnest({arrays}))", params  # noqa: S608 (names quoted from the model, values as parameters)


def fetch_together(statements: list[Statement]) -> list[list[tuple]]:
    """Run several statements in one round trip on PostgreSQL; return each one's rows."""
    results = []
    with read_connection.cursor() as cursor:
        if read_connection.vendor == "postgresql":
            # Django's psycopg cursor binds on the client, so several statements can go together.
            cursor.execute(";\n".join(sql for sql, _ in statements), _joined(statements))
            for _ in statements:
                results.append(cursor.fetchall() if cursor.description else [])
                cursor.nextset()
        else:
            for sql, params in statements:
                cursor.execute(sql, params)
                results.append(cursor.fetchall() if cursor.description else [])
    return results


def decoded(model: type[models.Model], rows: list[tuple]) -> list[dict[str, Any]]:
    """Return rows a `select_rows` statement read, as dicts by attribute name."""
    fields = model._meta.local_fields
    # Django reads jsonb as text on PostgreSQL, leaving the decoding to the field.
    json_at = [isinstance(f, models.JSONField) for f in fields]
    names = [f.attname for f in fields]
    return [
        {
            name: orjson.loads(v) if is_json and isinstance(v, str) else v
            for name, is_json, v in zip(names, json_at, row, strict=True)
        }
        for row in rows
    ]


def insert_rows(model: type[models.Model], rows: list[dict[str, Any]], now: Any) -> Statement:
    """Return one INSERT of `rows`."""
    quote = read_connection.ops.quote_name
    fields = [f for f in model._meta.local_fields if not isinstance(f, models.AutoField)]
    one_row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    preparers = _preparers(fields)
    params = [
        prepare(now if f.attname == "projected_at" else row[f.attname])
        for row in rows
        for f, prepare in zip(fields, preparers, strict=True)
    ]
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} "  # noqa: S608 (names quoted from the model, values as parameters)
        f"({', '.join(quote(f.column) for f in fields)}) VALUES {', '.join([one_row] * len(rows))}"
    )
    return sql, params


def update_row(
    model: type[models.Model],
    key: tuple[str, ...],
    columns: set[str],
    row: dict[str, Any],
    now: Any,
) -> Statement:
    """Return an UPDATE of the `columns` of the row with `row`'s key (and of `projected_at`)."""
    quote, meta = read_connection.ops.quote_name, model._meta
    values = {name: row[name] for name in sorted(columns - set(key))}
    if any(f.attname == "projected_at" for f in meta.local_fields):
        values["projected_at"] = now
    fields = [meta.get_field(name) for name in (*values, *key)]
    params = [
        prepare(v)
        for prepare, v in zip(
            _preparers(fields), [*values.values(), *(row[k] for k in key)], strict=True
        )
    ]
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields[: len(values)])
    conditions = " AND ".join(f"{quote(f.column)} = %s" for f in fields[len(values) :])
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {conditions}"  # noqa: S608 (names quoted from the model, values as parameters)
    return sql, params


def _preparers(fields: list[models.Field]) -> list[Callable[[Any], Any]]:
    """Return, per field, how its values become parameters: psycopg adapts Python values
    itself but for JSON; elsewhere the field prepares them."""
    if read_connection.vendor == "postgresql":
        return [_jsonb if isinstance(f, models.JSONField) else _same for f in fields]
    return [partial(f.get_db_prep_save, connection=read_connection) for f in fields]


def _same(value: Any) -> Any:
    return value


def _jsonb(value: Any) -> Jsonb:
    return Jsonb(value, dumps=json_text)


def savepoint(name: str) -> Statement:
    return f"SAVEPOINT {read_connection.ops.quote_name(name)}", []


def release(name: str) -> Statement:
    return f"RELEASE SAVEPOINT {read_connection.ops.quote_name(name)}", []


def roll_back_to(name: str) -> None:
    """Undo everything since the savepoint `name`, and end it."""
    quoted = read_connection.ops.quote_name(name)
    with read_connection.cursor() as cursor:
        cursor.execute(f"ROLLBACK TO SAVEPOINT {quoted}")
        cursor.execute(f"RELEASE SAVEPOINT {quoted}")


def guarded_update(
    model: type[models.Model],
    where: dict[str, Any],
    newer: tuple[str, int],
    values: dict[str, Any],
    now: Any,
) -> Statement:
    """Return an UPDATE of the rows matching `where` whose `newer` column is below a version."""
    quote, meta = read_connection.ops.quote_name, model._meta
    values = {**values, "projected_at": now}
    column, version = newer
    assignments = ", ".join(f"{quote(meta.get_field(n).column)} = %s" for n in values)
    conditions = " AND ".join(f"{quote(meta.get_field(n).column)} = %s" for n in where)
    fields = [meta.get_field(n) for n in (*values, *where)]
    params = [
        prepare(v)
        for prepare, v in zip(_preparers(fields), [*values.values(), *where.values()], strict=True)
    ]
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {assignments} "  # noqa: S608 (names quoted from the model, values as parameters)
        f"WHERE {conditions} AND {quote(meta.get_field(column).column)} < %s"
    )
    return sql, [*params, version]


def execute_together(statements: list[Statement]) -> None:
    """Run the statements, in one round trip where the database allows it."""
    if statements:
        fetch_together(statements)


def _joined(statements: list[Statement]) -> list[Any]:
    return [param for _, params in statements for param in params]

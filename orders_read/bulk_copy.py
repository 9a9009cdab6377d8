"""Insert many rows at once: COPY on PostgreSQL, multi-row INSERTs elsewhere."""

from typing import Any

import orjson
from django.db import connection, models
from psycopg.types.json import Jsonb


def copy_rows(model: type[models.Model], rows: list[dict[str, Any]]) -> None:
    """Insert `rows` (dicts by attribute name) into `model`'s table in bulk.

    Columns missing from the rows (and auto-increment keys) take their database default.
    """
    if not rows:
        return
    fields = [
        f
        for f in model._meta.local_fields
        if f.attname in rows[0] and not isinstance(f, models.AutoField)
    ]
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            _copy(cursor, table, columns, fields, rows)
        else:
            values = [
                [f.get_db_prep_save(row[f.attname], connection) for f in fields] for row in rows
            ]
            placeholders = ", ".join(["%s"] * len(fields))
            sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608
            cursor.executemany(sql, values)


def _copy(cursor: Any, table: str, columns: str, fields: list, rows: list[dict[str, Any]]) -> None:
    # psycopg adapts Python values itself; only JSON needs saying.
    names = [f.attname for f in fields]
    json_names = {f.attname for f in fields if isinstance(f, models.JSONField)}
    with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([Jsonb(row[n], _dumps) if n in json_names else row[n] for n in names])


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=str)

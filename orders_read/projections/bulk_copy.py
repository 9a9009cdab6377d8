"""Insert many rows at once: COPY on PostgreSQL, multi-row INSERTs elsewhere."""

from operator import itemgetter
from typing import Any

import orjson
from django.db import connections, models, router


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
    connection = connections[router.db_for_write(model)]
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
            sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608 (names quoted from the model, values as parameters)
            cursor.executemany(sql, values)


def _copy(cursor: Any, table: str, columns: str, fields: list, rows: list[dict[str, Any]]) -> None:
    # psycopg adapts Python values itself; JSON goes as text, which jsonb's input parses.
    values_of = itemgetter(*(f.attname for f in fields))
    json_at = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
    with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            values = values_of(row)
            if json_at:
                values = list(values)
                for i in json_at:
                    values[i] = json_text(values[i])
            copy.write_row(values)


def json_text(value: Any) -> str:
    """Return `value` as JSON text (decimals, ids and times as strings)."""
    return orjson.dumps(value, default=str).decode()

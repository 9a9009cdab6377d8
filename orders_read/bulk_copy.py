"""The rebuild's bulk writer: many rows per statement (COPY on PostgreSQL)."""

from typing import Any

from django.db import connection, connections, models
from psycopg.types.json import Jsonb


def copy_rows(model: type[models.Model], rows: list[dict[str, Any]]) -> None:
    """Insert rows in bulk: COPY on PostgreSQL, multi-row INSERTs elsewhere.

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
            # psycopg adapts Python values itself; only JSON needs saying.
            names = [f.attname for f in fields]
            as_json = [isinstance(f, models.JSONField) for f in fields]
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(
                        [
                            Jsonb(row[n]) if j else row[n]
                            for n, j in zip(names, as_json, strict=True)
                        ]
                    )
        else:
            db = connections[connection.alias]
            values = [[f.get_db_prep_save(row[f.attname], db) for f in fields] for row in rows]
            placeholders = ", ".join(["%s"] * len(fields))
            sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608
            cursor.executemany(sql, values)

"""Scan every table of both databases for texts, as stored: what forgetting must leave behind."""

import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import connections

Hit = tuple[str, str, str]


def databases() -> list[str]:
    """Return the aliases of the distinct databases (the read one may be the write one)."""
    seen, aliases = set(), []
    for alias in connections:
        settings = connections[alias].settings_dict
        identity = (settings["ENGINE"], settings["HOST"], settings["PORT"], settings["NAME"])
        if identity not in seen:
            seen.add(identity)
            aliases.append(alias)
    return aliases


def find_texts(texts: Iterable[str]) -> list[Hit]:
    """Return (database, table, text) for every table of either database holding one of
    `texts`, case-insensitively, in any column (JSON decoded, bytes as bytes)."""
    wanted = {text.casefold() for text in texts if text}
    hits: list[Hit] = []
    for alias in databases():
        connection = connections[alias]
        for table in connection.introspection.table_names():
            quoted = connection.ops.quote_name(table)
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT * FROM {quoted}")  # noqa: S608 (introspected names)
                found = _found_in(cursor.fetchall(), wanted)
            hits += [(alias, table, text) for text in sorted(found)]
    return hits


def _found_in(rows: list[tuple], wanted: set[str]) -> set[str]:
    found: set[str] = set()
    for row in rows:
        for form in _forms(row):
            found |= {text for text in wanted if text in form}
    return found


def _forms(row: tuple) -> Iterator[str]:
    """Yield each value of `row` as text a person could read, in every form it may take."""
    for value in row:
        if isinstance(value, bytes | memoryview):
            yield bytes(value).decode("utf-8", "replace").casefold()
            continue
        if isinstance(value, dict | list):
            yield json.dumps(value, ensure_ascii=False).casefold()
            continue
        text = str(value)
        yield text.casefold()
        decoded = _json(text)
        if decoded is not None:
            yield json.dumps(decoded, ensure_ascii=False).casefold()


def _json(text: str) -> Any:
    if not text.startswith(("{", "[", '"')):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None

"""Commands that create tables need the role that owns them."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.management.base import CommandError
from django.db import ProgrammingError
from psycopg import errors


@contextmanager
def as_table_owner(command: str) -> Iterator[None]:
    """Turn PostgreSQL's "permission denied" into an error that says which role to use."""
    try:
        yield
    except ProgrammingError as error:
        if not isinstance(error.__cause__, errors.InsufficientPrivilege):
            raise
        raise CommandError(
            f"{command} creates tables, which the application's role may not do: run it with "
            f"DATABASE_URL (and READ_DATABASE_URL) of the role that owns the tables, the one "
            f"that runs migrate. ({error.__cause__.diag.message_primary})"
        ) from error

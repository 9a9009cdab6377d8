"""Where the read side lives: the read database (`READ_DATABASE_URL`, by default the write
database), which holds the read tables, the projection checkpoints and recorded failures,
and optionally a streaming replica of it (`READ_REPLICA_URL`) that serves the API's reads."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils.connection import ConnectionProxy

READ_DB: str = settings.READ_DATABASE
read_connection = ConnectionProxy(connections, READ_DB)
_from_replica: ContextVar[bool] = ContextVar("reads_from_replica", default=False)


def read_atomic() -> transaction.Atomic:
    """Return a transaction (or savepoint) on the read database."""
    return transaction.atomic(using=READ_DB)


@contextmanager
def from_replica() -> Iterator[None]:
    """Within this block (an API read), read the read side from the replica, if there is one:
    its rows and its own copy of the checkpoints, so that a read says the position it reflects."""
    token = _from_replica.set(True)
    try:
        yield
    finally:
        _from_replica.reset(token)


def reads_alias() -> str:
    """Return the database that reads of the read side go to here and now."""
    return settings.READ_REPLICA_DATABASE if _from_replica.get() else settings.READ_DATABASE


def reads_connection() -> BaseDatabaseWrapper:
    """Return the connection that reads of the read side use here and now."""
    return connections[reads_alias()]

"""Where the read side lives: the read database (`READ_DATABASE_URL`, by default the write
database), which holds the read tables, the projection checkpoints and recorded failures."""

from django.conf import settings
from django.db import connections, transaction
from django.utils.connection import ConnectionProxy

READ_DB: str = settings.READ_DATABASE
read_connection = ConnectionProxy(connections, READ_DB)


def read_atomic() -> transaction.Atomic:
    """Return a transaction (or savepoint) on the read database."""
    return transaction.atomic(using=READ_DB)

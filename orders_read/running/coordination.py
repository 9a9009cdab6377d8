"""Async mode's coordination: a committed command nudges the workers, at most one nudge
waiting at a time, and each projection is marked dirty until a worker has read past the
request (shared-cache keys); one worker at a time advances a projection (a PostgreSQL
advisory lock on the read database)."""

from collections.abc import Iterator
from contextlib import contextmanager

from orders_read.database import read_connection

NUDGE_KEY = "projections:nudge"
# A nudge whose task was lost stops suppressing new ones after this long.
NUDGE_TTL_SECONDS = 30
ADVISORY_LOCK_SPACE = 0x70726F6A  # "proj"


def dirty_key(projection: str) -> str:
    return f"projections:dirty:{projection}"


@contextmanager
def worker_lock(projection: str) -> Iterator[bool]:
    """Hold the read database's session lock on advancing `projection`, if no other worker
    does; yield whether it is held. The lock dies with the worker's connection."""
    with read_connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_try_advisory_lock(%s, hashtext(%s))", [ADVISORY_LOCK_SPACE, projection]
        )
        held = cursor.fetchone()[0]
    try:
        yield held
    finally:
        if held:
            with read_connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_unlock(%s, hashtext(%s))", [ADVISORY_LOCK_SPACE, projection]
                )

"""Async mode's coordination: a committed command nudges the workers by marking each
projection dirty until a worker has read past the request (shared-cache keys; a task is
queued only for a group with a projection newly marked); one worker at a time advances a
projection (a PostgreSQL advisory lock on the read database)."""

from collections.abc import Iterator
from contextlib import contextmanager

from orders_read.database import read_connection

# A mark stops keeping nudges from queueing a task after this long: a task that found the
# projection held by a worker that then died leaves its mark, and no task would run until the
# sweep. A holder reads to the head of the store after the marks it clears, so a request older
# than that is served by its run anyway.
NUDGE_TTL_SECONDS = 1
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

"""What async mode's periodic sweep leaves in the shared cache: the mark of a sweep waiting
for a worker, and the heartbeat of the workers (the time one last ran a sweep)."""

import time

from django.conf import settings
from django.core.cache import cache

SWEEP_TASK = "orders_read.tasks.sweep"
SWEEP_PENDING_KEY = "projections:sweep:pending"
# A sweep mark outlives a sweep lost with its message this long at most.
PENDING_SECONDS = 300
HEARTBEAT_KEY = "projections:worker:heartbeat"


def mark_swept() -> None:
    """Record that a worker runs a sweep now: the next one may be sent, the workers live."""
    cache.delete(SWEEP_PENDING_KEY)
    cache.set(HEARTBEAT_KEY, time.time(), timeout=None)


def heartbeat_age() -> float | None:
    """Return the seconds since a worker last ran a sweep (None if none ever did)."""
    beat = cache.get(HEARTBEAT_KEY)
    return None if beat is None else max(0.0, time.time() - beat)


def workers_alive() -> bool:
    """Tell whether a worker ran a sweep within three sweep periods (and a few seconds)."""
    age = heartbeat_age()
    return age is not None and age <= 3 * settings.PROJECTION_SWEEP_SECONDS + 5

"""Async mode: a committed command nudges the projection workers, at most one nudge waiting
at a time (a shared-cache key); the periodic sweep catches whatever a lost nudge missed."""

import logging

from django.core.cache import cache
from django.db import transaction

from orders_write.event_store import RecordedEvent

logger = logging.getLogger(__name__)
NUDGE_KEY = "projections:nudge"
# A nudge whose task was lost stops suppressing new ones after this long.
NUDGE_TTL_SECONDS = 30


def nudge_after_commit(sender: object, event: RecordedEvent, **kwargs: object) -> None:
    """Nudge the workers once the command's transaction has committed."""
    transaction.on_commit(nudge_workers, robust=True)


def nudge_workers() -> None:
    """Ask the workers to advance every projection, unless a nudge is already waiting."""
    from .tasks import advance_all

    try:
        if cache.add(NUDGE_KEY, 1, timeout=NUDGE_TTL_SECONDS):
            advance_all.delay()
    except Exception:
        # The command has committed; the sweep will advance the projections.
        logger.exception("Could not nudge the projection workers")


def dirty_key(projection: str) -> str:
    return f"projections:dirty:{projection}"

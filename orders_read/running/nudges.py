"""Async mode: a committed command nudges the projection workers, at most one nudge waiting
at a time (a shared-cache key); the periodic sweep catches whatever a lost nudge missed.

The nudge is sent by a thread of the process, never by the request: a command has answered
by then, so a broker that hangs or is away cannot delay or fail it. While the shared cache
is unreachable nudges are skipped (the broker is most likely away too).
"""

import logging
import os
import threading

from django.core.cache import cache
from django.db import transaction

from config.fallback_cache import shared_cache_reachable
from orders_write.event_store import RecordedEvent

logger = logging.getLogger(__name__)
NUDGE_KEY = "projections:nudge"
# A nudge whose task was lost stops suppressing new ones after this long.
NUDGE_TTL_SECONDS = 30


def nudge_after_commit(sender: object, event: RecordedEvent, **kwargs: object) -> None:
    """Nudge the workers once the command's transaction has committed."""
    transaction.on_commit(request_nudge, robust=True)


def nudge_workers() -> None:
    """Ask the workers to advance every projection, unless a nudge is already waiting."""
    from .tasks import advance_all

    try:
        if cache.add(NUDGE_KEY, 1, timeout=NUDGE_TTL_SECONDS) and shared_cache_reachable():
            advance_all.delay()
    except Exception:
        # The command has committed; the sweep will advance the projections.
        logger.warning("Could not nudge the projection workers", exc_info=True)


class Nudger:
    """One thread per process that sends the nudges asked for; asks made while one is being
    sent are answered by one more nudge."""

    def __init__(self) -> None:
        self._wanted = threading.Event()
        self._lock = threading.Lock()
        self._pid = 0

    def request(self) -> None:
        """Ask for a nudge soon, without waiting for it."""
        with self._lock:
            if self._pid != os.getpid():  # a forked server worker starts its own thread
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="nudger", daemon=True).start()
        self._wanted.set()

    def _run(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            nudge_workers()


_nudger = Nudger()


def request_nudge() -> None:
    """Have this process's nudger send a nudge soon."""
    _nudger.request()


def dirty_key(projection: str) -> str:
    return f"projections:dirty:{projection}"

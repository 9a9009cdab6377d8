"""Celery beat's scheduler for async mode: at most one sweep waits in the broker at a time.

While no worker consumes, beat would otherwise queue a sweep every `PROJECTION_SWEEP_SECONDS`
without bound, and a worker coming back would first work through all of them. The sweep
clears the mark when a worker runs it; a mark whose sweep was lost expires after
`PENDING_SECONDS`.
"""

import logging
from typing import Any

from celery.beat import PersistentScheduler
from django.core.cache import cache

from .sweeping import PENDING_SECONDS, SWEEP_PENDING_KEY, SWEEP_TASK
from .worker import RECONNECT_SECONDS

logger = logging.getLogger(__name__)


class OneSweepPendingScheduler(PersistentScheduler):
    """Send the sweep only when the one sent before has been picked up by a worker; try a
    lost broker again every `RECONNECT_SECONDS` (Celery's beat waits 2, 4, 6, ... s)."""

    def _ensure_connected(self) -> Any:
        return self.connection.ensure_connection(
            lambda error, interval: logger.warning("beat: broker unreachable: %s", error),
            self.app.conf.broker_connection_max_retries,
            interval_start=RECONNECT_SECONDS,
            interval_step=0,
            interval_max=RECONNECT_SECONDS,
        )

    def apply_async(self, entry: Any, producer: Any = None, advance: bool = True, **kwargs: Any):
        if entry.task != SWEEP_TASK:
            return super().apply_async(entry, producer, advance, **kwargs)
        if not cache.add(SWEEP_PENDING_KEY, 1, timeout=PENDING_SECONDS):
            return None
        try:
            return super().apply_async(entry, producer, advance, **kwargs)
        except Exception:
            cache.delete(SWEEP_PENDING_KEY)
            raise

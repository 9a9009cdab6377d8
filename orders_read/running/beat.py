"""Celery beat's scheduler for async mode: at most one sweep waits in the broker at a time.

While no worker consumes, beat would otherwise queue a sweep every `PROJECTION_SWEEP_SECONDS`
without bound, and a worker coming back would first work through all of them. The sweep
clears the mark when a worker runs it; a mark whose sweep was lost expires after
`PENDING_SECONDS` (`RETRY_AFTER_FAILURE_SECONDS` when sending it failed).
"""

import logging
from typing import Any

from celery.beat import Scheduler
from django.core.cache import cache

from .sweeping import PENDING_SECONDS, SWEEP_PENDING_KEY, SWEEP_TASK
from .worker import RECONNECT_SECONDS

logger = logging.getLogger(__name__)
RETRY_AFTER_FAILURE_SECONDS = 10


class OneSweepPendingScheduler(Scheduler):
    """Send the sweep only when the one sent before has been picked up by a worker; try a
    lost broker again every `RECONNECT_SECONDS` (Celery's beat waits 2, 4, 6, ... s).

    The schedule is the settings' and kept in memory: beat writes no schedule file."""

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
            # A broker that timed out may still deliver the sweep: try again a little later,
            # not at every period.
            cache.set(SWEEP_PENDING_KEY, 1, timeout=RETRY_AFTER_FAILURE_SECONDS)
            raise

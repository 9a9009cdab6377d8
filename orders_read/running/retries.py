"""When a stalled projection is retried without an operator (async mode's sweep): after
`PROJECTION_RETRY_SECONDS`, then after twice as long at each failed retry, at most
`MAX_RETRY_WAIT_SECONDS` apart. A transient cause (a restarted read database, a lock
timeout) heals by itself; one that lasts costs a retry now and then, each recorded on the
same failure (`attempts`)."""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from orders_read.models import ProjectionFailure, ProjectionState

MAX_RETRY_WAIT_SECONDS = 600


def retry_wait(attempts: int) -> timedelta:
    """Return how long to wait after a failure's `attempts`-th try before the next."""
    first = settings.PROJECTION_RETRY_SECONDS
    return timedelta(seconds=min(first * 2 ** (max(attempts, 1) - 1), MAX_RETRY_WAIT_SECONDS))


def retries_due(now: datetime | None = None) -> set[str]:
    """Return the stalled projections whose open failure has waited long enough (none when
    `PROJECTION_RETRY_SECONDS` is 0)."""
    if settings.PROJECTION_RETRY_SECONDS <= 0:
        return set()
    now = now or timezone.now()
    stalled = ProjectionState.objects.filter(stalled=True).values_list("name", flat=True)
    open_failures = ProjectionFailure.objects.filter(resolution="", projection__in=list(stalled))
    return {
        failure.projection
        for failure in open_failures.only("projection", "failed_at", "attempts")
        if failure.failed_at + retry_wait(failure.attempts) <= now
    }

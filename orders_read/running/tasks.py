"""Celery tasks of async mode: advance each projection, one worker at a time per projection.

A request to advance a projection marks it dirty (in the shared cache) and queues a task
unless one is waiting. The worker that holds the projection's lock clears the mark before it
reads, and looks at the mark again after unlocking: a request that arrived while the lock
was held, whose own task found the lock taken, is served by the holder.
"""

from celery import shared_task
from django.conf import settings
from django.core.cache import cache

from orders_read.projections import NAMES

from .catch_up import advance, catch_up, next_event_applies
from .coordination import NUDGE_KEY, NUDGE_TTL_SECONDS, dirty_key
from .failures import stalled_projections
from .retries import retries_due
from .runner import active_runner
from .sweeping import mark_swept

# The tasks' names from before they moved here, so that queued tasks still find their worker.
TASKS = "orders_read.tasks"


@shared_task(name=f"{TASKS}.advance_all", ignore_result=True)
def answer_nudge() -> None:
    """Answer a command's nudge: request every projection to advance."""
    cache.delete(NUDGE_KEY)
    for name in NAMES:
        if cache.add(dirty_key(name), 1, timeout=NUDGE_TTL_SECONDS):
            advance_projection.delay(name)


@shared_task(name=f"{TASKS}.advance_projection", ignore_result=True)
def advance_projection(name: str) -> int:
    """Advance one projection to the head of the store, unless another worker is at it;
    return the events applied."""
    applied = 0
    while True:
        with active_runner().writing(name) as held:
            if not held:
                return applied
            cache.delete(dirty_key(name))
            applied += advance(name, batch_size=settings.PROJECTION_BATCH_SIZE).applied
        if not cache.get(dirty_key(name)):
            return applied


@shared_task(name=f"{TASKS}.retry_projection", ignore_result=True)
def retry_projection(name: str, *, if_cause_gone: bool = False) -> int:
    """Retry a stalled projection from its failed event, unless another worker holds it
    (`if_cause_gone`: only if that event applies now); return the events applied (a success
    lets the workers go on from there)."""
    with active_runner().writing(name) as held:
        if not held or (if_cause_gone and not next_event_applies(name)):
            return 0
        return catch_up(name, batch_size=settings.PROJECTION_BATCH_SIZE).applied


@shared_task(name=f"{TASKS}.sweep", ignore_result=True)
def sweep() -> None:
    """Advance every projection; retry the stalled ones whose wait is over, and the others
    as soon as their failed event applies (Celery beat sends this every
    PROJECTION_SWEEP_SECONDS)."""
    mark_swept()
    due, stalled = retries_due(), stalled_projections()
    for name in NAMES:
        if name in due:
            retry_projection.delay(name)
        elif name in stalled:
            retry_projection.delay(name, if_cause_gone=True)
        else:
            advance_projection.delay(name)

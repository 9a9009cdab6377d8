"""Celery tasks of async mode: advance the projections, one worker at a time per projection.

The projections are shared out in PROJECTION_WORKER_GROUPS groups of about equal replay
cost; a task advances a group together, one read of the store per batch serving them all.
A command's nudge marks every projection dirty (in the shared cache) and queues the task of
each group with a projection newly marked. The worker that holds a projection's lock clears the
mark before it reads, and looks at the marks again after unlocking: a request that arrived
while the lock was held, whose own task found the lock taken, is served by the task the
holder queues again then.
"""

from contextlib import ExitStack

from celery import shared_task
from django.conf import settings
from django.core.cache import cache

from orders_read.projections import NAMES, shared_out

from .catch_up import advance_together, catch_up, next_event_applies
from .coordination import NUDGE_TTL_SECONDS, dirty_key
from .failures import stalled_projections
from .retries import retries_due
from .runner import active_runner
from .sweeping import mark_swept

# The tasks' names from before they moved here, so that queued tasks still find their worker.
TASKS = "orders_read.tasks"


def worker_groups() -> list[list[str]]:
    """Return the groups of projections that tasks advance together."""
    return shared_out(NAMES, settings.PROJECTION_WORKER_GROUPS)


def request_advance() -> None:
    """Mark every projection dirty and queue the task of each group with a projection newly
    marked (a group whose marks were all set has a task waiting, or running, that sees them)."""
    for group in worker_groups():
        marked = [name for name in group if cache.add(dirty_key(name), 1, NUDGE_TTL_SECONDS)]
        if marked:
            advance_projections.delay(group)


@shared_task(name=f"{TASKS}.advance_all", ignore_result=True)
def answer_nudge() -> None:
    """Request every projection to advance (nudges sent before the nudger marked them)."""
    request_advance()


# A task whose worker process dies is queued again (advancing is idempotent) instead of
# leaving its projections to the next nudge or sweep.
@shared_task(
    name=f"{TASKS}.advance_projections",
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
)
def advance_projections(names: list[str]) -> int:
    """Advance the named projections to the head of the store together, but those another
    worker is at; return the events applied. Asked again meanwhile, it queues itself again
    rather than loop, so that other groups' tasks waiting for a process go first."""
    with ExitStack() as held_locks:
        runner = active_runner()
        held = [name for name in names if held_locks.enter_context(runner.writing(name))]
        if not held:
            return 0
        cache.delete_many([dirty_key(name) for name in held])
        results = advance_together(held, batch_size=settings.PROJECTION_BATCH_SIZE)
    # The projections another worker held are its to look at again.
    if cache.get_many([dirty_key(name) for name in held]):
        advance_projections.delay(names)
    return sum(result.applied for result in results)


@shared_task(name=f"{TASKS}.advance_projection", ignore_result=True)
def advance_projection(name: str) -> int:
    """Advance one projection to the head of the store, unless another worker is at it;
    return the events applied."""
    return advance_projections([name])


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
    for group in worker_groups():
        if going := [name for name in group if name not in stalled]:
            advance_projections.delay(going)

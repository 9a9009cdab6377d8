"""Async mode (`PROJECTION_MODE=async`): commands commit only the write rows and events, and
Celery workers advance each projection from the event store in batches, into the read
database; a committed command nudges them."""

import logging
from contextlib import AbstractContextManager

from django.core.cache import cache
from django.db import transaction

from orders_read.database import READ_DB, read_atomic
from orders_read.projections.backends import project_bulk
from orders_read.projections.rows import EventClass, Projection
from orders_write.event_reader import Checkpoint
from orders_write.event_store import RecordedEvent

from .coordination import NUDGE_KEY, NUDGE_TTL_SECONDS, worker_lock
from .runner import CatchUpResult, Receiver, Runner
from .tasks import answer_nudge

logger = logging.getLogger(__name__)


def nudge_after_commit(sender: object, event: RecordedEvent, **kwargs: object) -> None:
    """Nudge the workers once the command's transaction has committed."""
    transaction.on_commit(nudge_workers, robust=True)


def nudge_workers() -> None:
    """Ask the workers to advance every projection, unless a nudge is already waiting."""
    try:
        if cache.add(NUDGE_KEY, 1, timeout=NUDGE_TTL_SECONDS):
            answer_nudge.delay()
    except Exception:
        # The command has committed; the sweep will advance the projections.
        logger.exception("Could not nudge the projection workers")


class WorkerRunner(Runner):
    """Celery workers apply every event; one worker at a time writes a projection."""

    mode = "async"
    applied_by = "worker"

    def receiver(self, event_class: EventClass) -> Receiver:
        return nudge_after_commit

    def apply_batch(
        self, batch: list[RecordedEvent], projection: Projection, skipped: set[int]
    ) -> None:
        # Only the worker holding the projection's lock writes its tables: no row locks needed.
        with read_atomic():
            project_bulk(batch, [projection], {}, {projection.name: skipped})

    def resumed(self, projection: str, batch_size: int, result: CatchUpResult) -> None:
        transaction.on_commit(nudge_workers, using=READ_DB, robust=True)

    def writing(self, projection: str) -> AbstractContextManager[bool]:
        return worker_lock(projection)

    def reflected(self, stalled: bool, checkpoint: Checkpoint) -> Checkpoint | None:
        return checkpoint

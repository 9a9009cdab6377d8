"""Async mode (`PROJECTION_MODE=async`): commands commit only the write rows and events, and
Celery workers advance each projection from the event store in batches, into the read
database; a committed command nudges them.

The nudge is sent by a thread of the process, never by the request: a command has answered
by then, so a broker that hangs or is away cannot delay or fail it. While the shared cache
is unreachable nudges are skipped (the broker is most likely away too).
"""

import logging
import os
import threading
from contextlib import AbstractContextManager

from django.db import transaction

from config.fallback_cache import shared_cache_reachable
from orders_read.database import READ_DB, read_atomic
from orders_read.projections.backends import project_bulk
from orders_read.projections.rows import EventClass, Projection
from orders_write.event_reader import Checkpoint
from orders_write.event_store import RecordedEvent

from .coordination import worker_lock
from .runner import CatchUpResult, Receiver, Runner
from .sweeping import heartbeat_age, workers_alive
from .tasks import request_advance

logger = logging.getLogger(__name__)


def nudge_after_commit(sender: object, event: RecordedEvent, **kwargs: object) -> None:
    """Nudge the workers once the command's transaction has committed."""
    transaction.on_commit(request_nudge, robust=True)


def nudge_workers() -> None:
    """Ask the workers to advance every projection: no message is sent for a group whose
    task is waiting or running already."""
    try:
        if shared_cache_reachable():
            request_advance()
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


class WorkerRunner(Runner):
    """Celery workers apply every event; one worker at a time writes a projection."""

    mode = "async"
    uses_workers = True
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
        transaction.on_commit(request_nudge, using=READ_DB, robust=True)

    def writing(self, projection: str) -> AbstractContextManager[bool]:
        return worker_lock(projection)

    def reflected(self, stalled: bool, checkpoint: Checkpoint) -> Checkpoint | None:
        return checkpoint

    def workers_heartbeat(self) -> tuple[bool, float | None]:
        return workers_alive(), heartbeat_age()

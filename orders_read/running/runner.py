"""How the projections run, decided once at start-up: `OrdersReadConfig.ready()` picks the
runner of `PROJECTION_MODE` (inline in each command's transaction, or on Celery workers) and
the rest of the read side asks that object, never the setting."""

from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from django.apps import apps

from orders_read.projections.rows import EventClass, Projection
from orders_write.event_reader import Checkpoint
from orders_write.event_store import RecordedEvent

Receiver = Callable[..., None]


@dataclass
class CatchUpResult:
    """What catch-up (or a worker's advance) applied to a projection, and where it stopped."""

    projection: str
    applied: int = 0
    failed_at: int | None = None


class Runner(ABC):
    """Owns how events reach the projections, how a stalled projection resumes, who may
    write a projection's tables, and which position a read reflects."""

    mode: str  # the PROJECTION_MODE it runs
    uses_workers: bool  # whether Celery workers (through their broker) apply the events
    applied_by: str  # who applies catch-up batches, as the metrics label it

    @abstractmethod
    def receiver(self, event_class: EventClass) -> Receiver:
        """Return the receiver of the signal of `event_class`."""

    @abstractmethod
    def apply_batch(
        self, batch: list[RecordedEvent], projection: Projection, skipped: set[int]
    ) -> None:
        """Apply a batch of events in order to a projection that catch-up moves on."""

    @abstractmethod
    def resumed(self, projection: str, batch_size: int, result: CatchUpResult) -> None:
        """Bring a projection that catch-up has just let run again up to the head."""

    @abstractmethod
    def writing(self, projection: str) -> AbstractContextManager[bool]:
        """Hold the right to advance `projection`, if free; yield whether it is held."""

    @abstractmethod
    def reflected(self, stalled: bool, checkpoint: Checkpoint) -> Checkpoint | None:
        """Return the checkpoint a read of a projection reflects (None: the store's head)."""

    @abstractmethod
    def workers_heartbeat(self) -> tuple[bool, float | None] | None:
        """Return whether the workers are alive and the seconds since one last ran a sweep
        (None if none ever did), or None when no workers apply the events."""


def active_runner() -> Runner:
    """Return the runner `OrdersReadConfig.ready()` chose."""
    return apps.get_app_config("orders_read").runner

"""Inline mode (the default): each command's receivers apply its events to the projections in
the command's own transaction, so reads are current the moment the command returns."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction

from orders_read.models import ProjectionState
from orders_read.projections import fed_by
from orders_read.projections.backends import project_live
from orders_read.projections.rows import EventClass, Projection
from orders_write.event_reader import Checkpoint, settled_below, wait_for_event_writers
from orders_write.event_store import RecordedEvent

from .catch_up import apply_events_below
from .failures import apply_isolated, stalled_projections
from .metrics import EVENTS_APPLIED
from .runner import CatchUpResult, Receiver, Runner


def inline_receiver(event_class: EventClass) -> Receiver:
    """Return the receiver that applies an event to every projection it feeds.

    All of them run in one savepoint, their rows read and written together; if that fails,
    each is applied again in a savepoint of its own, so the failure is recorded for that
    projection alone and never fails the command. Stalled projections are left to catch-up,
    which applies events in order.
    """
    event_type = event_class.__name__
    projections = fed_by(event_type)

    def receive(sender: object, event: RecordedEvent, **kwargs: object) -> None:
        try:
            applied = project_live([event], projections, events_are_new=True, unless_stalled=True)
        except Exception:
            stalled = stalled_projections()
            applied = [
                projection
                for projection in projections
                if projection.name not in stalled and apply_isolated(projection, event, new=True)
            ]
        transaction.on_commit(lambda: _count_applied(applied))

    receive.__name__ = receive.__qualname__ = f"project_{event_type}"
    return receive


def _count_applied(projections: list[Projection]) -> None:
    for projection in projections:
        EVENTS_APPLIED.labels(projection.name, "command").inc()


class InlineRunner(Runner):
    """Commands apply their own events; catch-up applies a stalled projection's backlog."""

    mode = "inline"
    uses_workers = False
    applied_by = "catch_up"

    def receiver(self, event_class: EventClass) -> Receiver:
        return inline_receiver(event_class)

    def apply_batch(
        self, batch: list[RecordedEvent], projection: Projection, skipped: set[int]
    ) -> None:
        project_live(batch, [projection], {projection.name: skipped})

    def resumed(self, projection: str, batch_size: int, result: CatchUpResult) -> None:
        """Apply the events of commands that still saw the projection stalled.

        Such a command had already appended its event when it looked, so it was holding a
        lock on the event store when the projection resumed. Wait for those commands to end,
        then re-apply (idempotently) everything after the checkpoint.
        """
        if not wait_for_event_writers():
            ProjectionState.objects.filter(name=projection).update(stalled=True)
            return
        apply_events_below(projection, settled_below(), batch_size, result)

    @contextmanager
    def writing(self, projection: str) -> Iterator[bool]:
        # Commands write under row locks: there is no one writer to elect.
        yield True

    def reflected(self, stalled: bool, checkpoint: Checkpoint) -> Checkpoint | None:
        # A projection not stalled is applied by every command: it stands at the head.
        return checkpoint if stalled else None

    def workers_heartbeat(self) -> None:
        return None

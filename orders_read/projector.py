"""Running projections: inline from the signals with failure isolation, and catching up
from the event store in its gap-safe order (see `orders_write.event_reader`).
"""

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from orders_write.event_reader import (
    Checkpoint,
    checkpoint_before,
    read_events,
    settled_below,
    wait_for_event_writers,
)
from orders_write.event_store import RecordedEvent

from .metrics import EVENTS_APPLIED, FAILURES
from .models import ProjectionFailure, ProjectionState
from .projections import BY_NAME, fed_by
from .projections.backends import project_live
from .projections.rows import Projection

logger = logging.getLogger(__name__)


def inline_receiver(event_type: str) -> Callable[..., None]:
    """Return the receiver that applies an event to every projection it feeds.

    All of them run in one savepoint, their rows read and written together; if that fails,
    each is applied again in a savepoint of its own, so the failure is recorded for that
    projection alone and never fails the command. Stalled projections are left to catch-up,
    which applies events in order.
    """
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


def apply_isolated(
    projection: Projection, event: RecordedEvent, skipped: set[int] = frozenset(), *, new: bool
) -> bool:
    """Apply one event in a savepoint; on failure record it and tell the caller."""
    try:
        project_live([event], [projection], {projection.name: skipped}, events_are_new=new)
    except Exception as error:
        logger.exception("Projection %s failed on event #%s", projection.name, event.position)
        record_failure(projection.name, event, error)
        return False
    return True


def stalled_projections() -> set[str]:
    """Return the names of the projections waiting for catch-up."""
    return set(ProjectionState.objects.filter(stalled=True).values_list("name", flat=True))


def record_failure(projection: str, event: RecordedEvent, error: Exception) -> None:
    """Record that `projection` could not apply `event`, and stop it until caught up."""
    FAILURES.labels(projection).inc()
    ProjectionFailure.objects.update_or_create(
        projection=projection,
        event_position=event.position,
        resolution="",
        defaults={
            "event_type": event.event_type,
            "stream_id": event.stream_id,
            "error": f"{type(error).__name__}: {error}"[:2000],
            "traceback": traceback.format_exc()[-10000:],
            "failed_at": timezone.now(),
        },
    )
    checkpoint = checkpoint_before(event)
    ProjectionState.objects.get_or_create(name=projection)
    ProjectionState.objects.filter(name=projection, stalled=False).update(
        stalled=True, transaction_id=checkpoint.transaction_id, position=checkpoint.position
    )


def locked_state(projection: str) -> ProjectionState:
    """Return the projection's state row, locked until the transaction ends."""
    ProjectionState.objects.get_or_create(name=projection)
    return ProjectionState.objects.select_for_update().get(name=projection)


@dataclass
class CatchUpResult:
    projection: str
    applied: int = 0
    failed_at: int | None = None


def catch_up(projection: str, *, batch_size: int = 1000) -> CatchUpResult:
    """Apply, in order, every event `projection` has not applied yet; stop at a failure."""
    result = CatchUpResult(projection)
    while True:
        with transaction.atomic():
            state = locked_state(projection)
            if not state.stalled:
                return result
            batch = read_events(state.checkpoint, limit=batch_size)
            result.failed_at = _apply_batch(projection, state, batch, result)
            state.stalled = bool(batch) or result.failed_at is not None
            state.save()
        if result.failed_at is not None:
            return result
        if not state.stalled:
            _apply_skipped_while_resuming(projection, batch_size, result)
            if result.failed_at is None:
                _resolve_open_failures(projection)
            return result


def _apply_batch(
    name: str, state: ProjectionState, batch: list[RecordedEvent], result: CatchUpResult
) -> int | None:
    """Apply a batch together; if it fails, apply its events one by one up to the failure."""
    projection, skipped = BY_NAME[name], skipped_positions(name)
    try:
        project_live(batch, [projection], {name: skipped})
    except Exception:
        return _apply_one_by_one(projection, state, batch, result, skipped)
    if batch:
        _advance(state, batch[-1], result, len(batch))
    return None


def _apply_one_by_one(
    projection: Projection,
    state: ProjectionState,
    batch: list[RecordedEvent],
    result: CatchUpResult,
    skipped: set[int],
) -> int | None:
    for event in batch:
        if not apply_isolated(projection, event, skipped, new=False):
            return event.position
        _advance(state, event, result, 1)
    return None


def _advance(state: ProjectionState, event: RecordedEvent, result: CatchUpResult, n: int) -> None:
    EVENTS_APPLIED.labels(result.projection, "catch_up").inc(n)
    state.checkpoint = Checkpoint.of(event)
    state.last_advanced_at = timezone.now()
    result.applied += n


def _resolve_open_failures(projection: str) -> None:
    ProjectionFailure.objects.filter(projection=projection, resolution="").update(
        resolution=ProjectionFailure.RETRIED, resolved_at=timezone.now(), resolved_by="catch-up"
    )


def skip_failure(failure: ProjectionFailure, *, by: str, reason: str) -> CatchUpResult:
    """Give up on a failed event (recorded with who and why), then catch up past it."""
    if not reason.strip():
        raise ValueError("Say why the event is skipped.")
    failure.resolution = ProjectionFailure.SKIPPED
    failure.resolved_at = timezone.now()
    failure.resolved_by = by
    failure.reason = reason.strip()
    failure.save()
    return catch_up(failure.projection)


def skipped_positions(projection: str) -> set[int]:
    """Return the positions of events an operator chose to skip for `projection`."""
    return set(
        ProjectionFailure.objects.filter(
            projection=projection, resolution=ProjectionFailure.SKIPPED
        ).values_list("event_position", flat=True)
    )


def _apply_skipped_while_resuming(projection: str, batch_size: int, result: CatchUpResult) -> None:
    """Apply the events of commands that still saw the projection stalled.

    Such a command had already appended its event when it looked, so it was holding a lock
    on the event store when the projection resumed. Wait for those commands to end, then
    re-apply (idempotently) everything after the checkpoint.
    """
    if not wait_for_event_writers():
        ProjectionState.objects.filter(name=projection).update(stalled=True)
        return
    below = settled_below()
    while True:
        with transaction.atomic():
            state = locked_state(projection)
            if state.stalled:
                return
            batch = read_events(state.checkpoint, below=below, limit=batch_size)
            result.failed_at = _apply_batch(projection, state, batch, result)
            state.stalled = result.failed_at is not None
            state.save()
        if not batch or result.failed_at is not None:
            return

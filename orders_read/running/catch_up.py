"""Running projections: inline from the signals with failure isolation, and catching up
from the event store in its gap-safe order (see `orders_write.event_reader`).
"""

import logging
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from orders_read.database import READ_DB, read_atomic, read_connection
from orders_read.models import ProjectionFailure, ProjectionState
from orders_read.projections import BY_NAME, fed_by
from orders_read.projections.backends import after_write, project_bulk, project_live
from orders_read.projections.rows import Projection
from orders_write.event_reader import (
    Checkpoint,
    checkpoint_before,
    read_events,
    settled_below,
    wait_for_event_writers,
)
from orders_write.event_store import RecordedEvent

from .metrics import EVENTS_APPLIED, FAILURES
from .mode import projections_are_async
from .nudges import request_nudge

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
    found = {
        "event_type": event.event_type,
        "stream_id": event.stream_id,
        "error": f"{type(error).__name__}: {error}"[:2000],
        "traceback": traceback.format_exc()[-10000:],
        "failed_at": timezone.now(),
    }
    ProjectionFailure.objects.update_or_create(
        projection=projection,
        event_position=event.position,
        resolution="",
        defaults={**found, "attempts": F("attempts") + 1},
        create_defaults=found,
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
    """Apply, in order, every event a stalled `projection` has not applied yet, then let it
    run again; stop at a failure."""
    result = CatchUpResult(projection)
    while True:
        with read_atomic():
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
            if projections_are_async():
                transaction.on_commit(request_nudge, using=READ_DB, robust=True)
            else:
                _apply_skipped_while_resuming(projection, batch_size, result)
            if result.failed_at is None:
                _resolve_open_failures(projection)
            return result


def advance(projection: str, *, batch_size: int = 1000) -> CatchUpResult:
    """Apply the events `projection` has not applied yet, a batch per read-database
    transaction that also moves its checkpoint (async mode); a stalled projection waits for
    catch-up (retry or skip)."""
    result = CatchUpResult(projection)
    while result.failed_at is None:
        with read_atomic():
            state = locked_state(projection)
            if state.stalled:
                break
            batch = read_events(state.checkpoint, limit=batch_size)
            if not batch:
                break
            result.failed_at = _apply_batch(projection, state, batch, result)
            state.stalled = result.failed_at is not None
            state.save()
        after_write([BY_NAME[projection]])
    return result


class _RolledBack(Exception):
    """Ends a trial transaction."""


def next_event_applies(projection: str) -> bool:
    """Try the next event of a stalled `projection` in a transaction that is rolled back;
    tell whether it applied (the cause of its failure is gone). Call it holding the
    projection's lock (`advancing`)."""
    state = ProjectionState.objects.filter(name=projection, stalled=True).first()
    batch = read_events(state.checkpoint, limit=1) if state else []
    if not batch:
        return False
    try:
        with read_atomic():
            _project_batch(batch, BY_NAME[projection], skipped_positions(projection))
            raise _RolledBack
    except _RolledBack:
        return True
    except Exception:
        return False


ADVISORY_LOCK_SPACE = 0x70726F6A  # "proj"


@contextmanager
def advancing(projection: str) -> Iterator[bool]:
    """Hold the read database's session lock on advancing `projection`, if no other worker
    does; yield whether it is held. The lock dies with the worker's connection."""
    with read_connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_try_advisory_lock(%s, hashtext(%s))", [ADVISORY_LOCK_SPACE, projection]
        )
        held = cursor.fetchone()[0]
    try:
        yield held
    finally:
        if held:
            with read_connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_unlock(%s, hashtext(%s))", [ADVISORY_LOCK_SPACE, projection]
                )


def _apply_batch(
    name: str, state: ProjectionState, batch: list[RecordedEvent], result: CatchUpResult
) -> int | None:
    """Apply a batch together; if it fails, apply its events one by one up to the failure."""
    projection, skipped = BY_NAME[name], skipped_positions(name)
    try:
        _project_batch(batch, projection, skipped)
    except Exception:
        return _apply_one_by_one(projection, state, batch, result, skipped)
    if batch:
        _advance(state, batch[-1], result, len(batch))
    return None


def _project_batch(batch: list[RecordedEvent], projection: Projection, skipped: set[int]) -> None:
    if not projections_are_async():
        project_live(batch, [projection], {projection.name: skipped})
        return
    # Only the worker holding the projection's lock writes its tables: no row locks needed.
    with read_atomic():
        project_bulk(batch, [projection], {}, {projection.name: skipped})


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
    source = "worker" if projections_are_async() else "catch_up"
    counter = EVENTS_APPLIED.labels(result.projection, source)
    # Counted once the batch commits: a batch rolled back (or killed) is applied again later.
    transaction.on_commit(lambda: counter.inc(n), using=READ_DB, robust=True)
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
        with read_atomic():
            state = locked_state(projection)
            if state.stalled:
                return
            batch = read_events(state.checkpoint, below=below, limit=batch_size)
            result.failed_at = _apply_batch(projection, state, batch, result)
            state.stalled = result.failed_at is not None
            state.save()
        if not batch or result.failed_at is not None:
            return

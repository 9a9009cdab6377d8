"""Running projections: inline from the signals with failure isolation, and catching up
from the event store in a gap-safe order.

Events are applied in (transaction_id, position) order. On PostgreSQL `transaction_id` is
the writing transaction's id and only events below the oldest running transaction are
read, so an event that commits late is never skipped. SQLite has one writer at a time, so
there the order is simply `position`.
"""

import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, fields

from django.db import connection, transaction
from django.utils import timezone

from orders_write.event_store import RecordedEvent
from orders_write.models import Event

from .models import ProjectionFailure, ProjectionState
from .projections import BY_NAME, fed_by
from .projections.backends import project_live
from .projections.rows import Projection

logger = logging.getLogger(__name__)

NO_HORIZON = 2**63 - 1


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
            project_live([event], projections, events_are_new=True, unless_stalled=True)
        except Exception:
            stalled = stalled_projections()
            for projection in projections:
                if projection.name not in stalled:
                    apply_isolated(projection, event, new=True)

    receive.__name__ = receive.__qualname__ = f"project_{event_type}"
    return receive


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
    transaction_id, position = _checkpoint_before(event)
    ProjectionState.objects.get_or_create(name=projection)
    ProjectionState.objects.filter(name=projection, stalled=False).update(
        stalled=True, transaction_id=transaction_id, position=position
    )


def _checkpoint_before(event: RecordedEvent) -> tuple[int, int]:
    """A checkpoint below `event` and below every event still being written."""
    if connection.vendor != "postgresql":
        return 0, event.position - 1
    return min(horizon(), event.transaction_id) - 1, NO_HORIZON


def horizon() -> int:
    """No event with a transaction id below this one can still appear.

    On PostgreSQL: the lowest transaction id among the commands now writing events
    (every command announces itself before its first write), else the next id to be
    assigned.
    """
    if connection.vendor != "postgresql":
        return NO_HORIZON
    next_id = _snapshot_bound("pg_snapshot_xmax")
    writers = [_full_transaction_id(xid, next_id) for _, xid in _event_writers()]
    return min([next_id, *writers])


def _full_transaction_id(xid: str, next_id: int) -> int:
    """Widen a 32-bit xid to the 64-bit id of the current epoch (it precedes `next_id`)."""
    return next_id - ((next_id - int(xid)) % 2**32)


def _snapshot_bound(function: str) -> int:
    if connection.vendor != "postgresql":
        return NO_HORIZON
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(pg_current_snapshot())::text::bigint")
        return cursor.fetchone()[0]


def events_after(
    transaction_id: int, position: int, *, below: int, limit: int
) -> list[RecordedEvent]:
    """Return up to `limit` events after a checkpoint, with transaction ids below `below`."""
    # A row comparison, so the (transaction_id, position) index serves range and order.
    rows = (
        Event.objects.filter(transaction_id__lt=below)
        .extra(where=["(transaction_id, position) > (%s, %s)"], params=[transaction_id, position])
        .order_by("transaction_id", "position")[:limit]
    )
    return [RecordedEvent(**values) for values in rows.values(*RECORDED_FIELDS)]


def locked_state(projection: str) -> ProjectionState:
    """Return the projection's state row, locked until the transaction ends."""
    ProjectionState.objects.get_or_create(name=projection)
    return ProjectionState.objects.select_for_update().get(name=projection)


RECORDED_FIELDS = [f.name for f in fields(RecordedEvent)]


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
            batch = events_after(
                state.transaction_id, state.position, below=horizon(), limit=batch_size
            )
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
    state.transaction_id, state.position = event.transaction_id, event.position
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
    if connection.vendor != "postgresql":
        return
    if not _wait_for_event_writers():
        ProjectionState.objects.filter(name=projection).update(stalled=True)
        return
    below = _snapshot_bound("pg_snapshot_xmax")
    while True:
        with transaction.atomic():
            state = locked_state(projection)
            if state.stalled:
                return
            batch = events_after(
                state.transaction_id, state.position, below=below, limit=batch_size
            )
            result.failed_at = _apply_batch(projection, state, batch, result)
            state.stalled = result.failed_at is not None
            state.save()
        if not batch or result.failed_at is not None:
            return


EVENT_WRITERS_SQL = """
    SELECT activity.pid, activity.backend_xid::text
    FROM pg_locks AS lock JOIN pg_stat_activity AS activity ON activity.pid = lock.pid
    WHERE lock.locktype = 'relation' AND lock.relation = %s::regclass
      AND lock.mode = 'RowExclusiveLock'
      AND lock.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND activity.backend_xid IS NOT NULL AND activity.pid <> pg_backend_pid()
"""


def _wait_for_event_writers(timeout: float = 60) -> bool:
    """Wait until the transactions now writing events have ended; False on time-out."""
    writers = _event_writers()
    deadline = time.monotonic() + timeout
    while writers and time.monotonic() < deadline:
        time.sleep(0.005)
        writers &= _event_writers()
    return not writers


def _event_writers() -> set[tuple[int, str]]:
    with connection.cursor() as cursor:
        cursor.execute(EVENT_WRITERS_SQL, [Event._meta.db_table])
        return set(cursor.fetchall())

"""Catching up: applying, in the event store's gap-safe order (see
`orders_write.event_reader`), the events a projection has not applied yet, a batch per
read-database transaction that also moves its checkpoint."""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from orders_read.database import READ_DB, read_atomic
from orders_read.models import ProjectionFailure, ProjectionState
from orders_read.projections import BY_NAME
from orders_read.projections.backends import BulkReplay, after_write
from orders_read.projections.rows import Projection
from orders_write.event_reader import Checkpoint, read_events
from orders_write.event_store import RecordedEvent

from .failures import apply_isolated, resolve_open_failures, skipped_positions
from .metrics import EVENTS_APPLIED
from .runner import CatchUpResult, active_runner


def locked_state(projection: str) -> ProjectionState:
    """Return the projection's state row, locked until the transaction ends."""
    ProjectionState.objects.get_or_create(name=projection)
    return ProjectionState.objects.select_for_update().get(name=projection)


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
            active_runner().resumed(projection, batch_size, result)
            if result.failed_at is None:
                resolve_open_failures(projection)
            return result


def advance_together(names: list[str], *, batch_size: int = 1000) -> list[CatchUpResult]:
    """Apply the events the named projections have not applied yet (async mode's workers,
    holding the right to write each of them), as a replay does: one read of the store per
    batch serves them all, each applies only the events past its checkpoint (and its rules
    only those of the types it handles), and keeps the rows of its shared tables between
    batches; a projection with empty tables at the start of the store looks for no row it
    adds. A stalled projection waits for catch-up (retry or skip)."""
    results = {name: CatchUpResult(name) for name in names}
    replays: dict[str, _Replay] = {}
    going = list(names)
    while going:
        states = {s.name: s for s in ProjectionState.objects.filter(name__in=going)}
        going = [name for name in going if name not in states or not states[name].stalled]
        start = min((_checkpoint(states.get(name)) for name in going), default=None)
        batch = read_events(start, limit=batch_size) if start is not None else []
        if not batch:
            break
        going = [name for name in going if _advance_one(name, batch, results[name], replays)]
        after_write([BY_NAME[name] for name in names])
    return list(results.values())


def _checkpoint(state: ProjectionState | None) -> Checkpoint:
    return state.checkpoint if state is not None else Checkpoint.START


@dataclass
class _Replay:
    """A worker's replay of one projection, valid while its checkpoint is where it left it."""

    replay: BulkReplay
    checkpoint: Checkpoint


def _advance_one(
    name: str, batch: list[RecordedEvent], result: CatchUpResult, replays: dict[str, _Replay]
) -> bool:
    """Apply the events of `batch` past the projection's checkpoint; tell whether it goes on."""
    with read_atomic():
        state = locked_state(name)
        if state.stalled:
            return False
        events = _past(batch, state.checkpoint)
        if not events:
            return True
        known = replays.get(name)
        if known is None or known.checkpoint != state.checkpoint:
            known = replays[name] = _Replay(_replay_of(name, state), state.checkpoint)
        skipped = skipped_positions(name)
        try:
            with read_atomic():
                known.replay.apply(events, {name: skipped})
        except Exception:
            del replays[name]
            result.failed_at = _apply_one_by_one(BY_NAME[name], state, events, result, skipped)
        else:
            _move_checkpoint(state, events[-1], result, len(events))
        state.stalled = result.failed_at is not None
        state.save()
        known.checkpoint = state.checkpoint
    return result.failed_at is None


def _past(batch: list[RecordedEvent], checkpoint: Checkpoint) -> list[RecordedEvent]:
    if Checkpoint.of(batch[0]) > checkpoint:
        return batch
    return [event for event in batch if Checkpoint.of(event) > checkpoint]


def _replay_of(name: str, state: ProjectionState) -> BulkReplay:
    """Return a replay into the projection's live tables; from the start when it has applied
    nothing and its tables are empty."""
    projection = BY_NAME[name]
    from_start = state.checkpoint == Checkpoint.START and not any(
        table.model.objects.exists() for table in projection.tables
    )
    return BulkReplay([projection], {}, from_start=from_start)


class _RolledBack(Exception):
    """Ends a trial transaction."""


def next_event_applies(projection: str) -> bool:
    """Try the next event of a stalled `projection` in a transaction that is rolled back;
    tell whether it applied (the cause of its failure is gone). Call it holding the right to
    write the projection (the runner's `writing`)."""
    state = ProjectionState.objects.filter(name=projection, stalled=True).first()
    batch = read_events(state.checkpoint, limit=1) if state else []
    if not batch:
        return False
    try:
        with read_atomic():
            active_runner().apply_batch(batch, BY_NAME[projection], skipped_positions(projection))
            raise _RolledBack
    except _RolledBack:
        return True
    except Exception:
        return False


def apply_events_below(
    projection: str, below: Checkpoint, batch_size: int, result: CatchUpResult
) -> None:
    """Apply (idempotently) the events after the projection's checkpoint and below `below`,
    unless it has stalled again."""
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


def _apply_batch(
    name: str, state: ProjectionState, batch: list[RecordedEvent], result: CatchUpResult
) -> int | None:
    """Apply a batch together; if it fails, apply its events one by one up to the failure."""
    projection, skipped = BY_NAME[name], skipped_positions(name)
    try:
        active_runner().apply_batch(batch, projection, skipped)
    except Exception:
        return _apply_one_by_one(projection, state, batch, result, skipped)
    if batch:
        _move_checkpoint(state, batch[-1], result, len(batch))
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
        _move_checkpoint(state, event, result, 1)
    return None


def _move_checkpoint(
    state: ProjectionState, event: RecordedEvent, result: CatchUpResult, n: int
) -> None:
    counter = EVENTS_APPLIED.labels(result.projection, active_runner().applied_by)
    # Counted once the batch commits: a batch rolled back (or killed) is applied again later.
    transaction.on_commit(lambda: counter.inc(n), using=READ_DB, robust=True)
    state.checkpoint = Checkpoint.of(event)
    state.last_advanced_at = timezone.now()
    result.applied += n


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

"""Catching up: applying, in the event store's gap-safe order (see
`orders_write.event_reader`), the events a projection has not applied yet, a batch per
read-database transaction that also moves its checkpoint."""

from collections import defaultdict
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
    holding the right to write each of them), as a replay does: one read of the store and
    one read-database transaction per batch serve them all; the projections that stand at
    the same checkpoint apply the batch together (their rows read and written together),
    each keeps the rows of its shared tables between batches, and those with empty tables
    at the start of the store look for no row they add. A stalled projection waits for
    catch-up (retry or skip)."""
    results = {name: CatchUpResult(name) for name in names}
    replays: dict[tuple[str, ...], _Replay] = {}
    going = list(names)
    while going:
        going, start = _lowest_checkpoint(going)
        batch = read_events(start, limit=batch_size) if going else []
        if not batch:
            break
        going = _advance_batch(going, start, batch, results, replays)
        after_write([BY_NAME[name] for name in names])
    return list(results.values())


def _lowest_checkpoint(names: list[str]) -> tuple[list[str], Checkpoint]:
    """Return the named projections not stalled, and the lowest checkpoint among them."""
    states = {s.name: s for s in ProjectionState.objects.filter(name__in=names)}
    going = [name for name in names if name not in states or not states[name].stalled]
    checkpoints = [states[n].checkpoint if n in states else Checkpoint.START for n in going]
    return going, min(checkpoints, default=Checkpoint.START)


@dataclass
class _Replay:
    """A worker's replay of projections that stand together, valid while their checkpoint is
    where it left it."""

    replay: BulkReplay
    checkpoint: Checkpoint


def _advance_batch(
    names: list[str],
    start: Checkpoint,
    batch: list[RecordedEvent],
    results: dict[str, CatchUpResult],
    replays: dict[tuple[str, ...], _Replay],
) -> list[str]:
    """Apply `batch` (read from `start`) to each projection past its checkpoint, in one
    transaction; return the projections that go on."""
    with read_atomic():
        states = _locked_states(names)
        going = [name for name in names if not states[name].stalled]
        cohorts: defaultdict[Checkpoint, list[str]] = defaultdict(list)
        for name in going:
            # One moved back (by a rebuild) is read from its own checkpoint next time.
            if states[name].checkpoint >= start:
                cohorts[states[name].checkpoint].append(name)
        for checkpoint, cohort in cohorts.items():
            if events := _past(batch, checkpoint):
                _apply_cohort(cohort, checkpoint, events, states, results, replays)
        for name in going:
            states[name].stalled = results[name].failed_at is not None
        ProjectionState.objects.bulk_update(
            [states[name] for name in going],
            ["stalled", "transaction_id", "position", "last_advanced_at"],
        )
    return [name for name in going if results[name].failed_at is None]


def _locked_states(names: list[str]) -> dict[str, ProjectionState]:
    """Return the named projections' state rows, locked (in name order) until the
    transaction ends."""
    locked = ProjectionState.objects.select_for_update().filter(name__in=names).order_by("name")
    states = {state.name: state for state in locked}
    if len(states) < len(names):
        new = [ProjectionState(name=name) for name in names if name not in states]
        ProjectionState.objects.bulk_create(new, ignore_conflicts=True)
        states = {state.name: state for state in locked.all()}
    return states


def _apply_cohort(
    cohort: list[str],
    checkpoint: Checkpoint,
    events: list[RecordedEvent],
    states: dict[str, ProjectionState],
    results: dict[str, CatchUpResult],
    replays: dict[tuple[str, ...], _Replay],
) -> None:
    """Apply `events` to projections that stand at `checkpoint` together; if that fails,
    to each alone, up to its failure."""
    key = tuple(cohort)
    known = replays.get(key)
    if known is None or known.checkpoint != checkpoint:
        for other in [k for k in replays if set(k) & set(cohort)]:
            del replays[other]
        known = replays[key] = _Replay(_replay_of(cohort, checkpoint), checkpoint)
    try:
        with read_atomic():
            known.replay.apply(events)
    except Exception:
        del replays[key]
        for name in cohort:
            _apply_alone(name, events, states[name], results[name])
        return
    for name in cohort:
        _move_checkpoint(states[name], events[-1], results[name], len(events))
    known.checkpoint = Checkpoint.of(events[-1])


def _apply_alone(
    name: str, events: list[RecordedEvent], state: ProjectionState, result: CatchUpResult
) -> None:
    skipped = skipped_positions(name)
    try:
        with read_atomic():
            BulkReplay([BY_NAME[name]], {}, {name: skipped}, from_start=False).apply(events)
    except Exception:
        result.failed_at = _apply_one_by_one(BY_NAME[name], state, events, result, skipped)
    else:
        _move_checkpoint(state, events[-1], result, len(events))


def _past(batch: list[RecordedEvent], checkpoint: Checkpoint) -> list[RecordedEvent]:
    if Checkpoint.of(batch[0]) > checkpoint:
        return batch
    return [event for event in batch if Checkpoint.of(event) > checkpoint]


def _replay_of(names: list[str], checkpoint: Checkpoint) -> BulkReplay:
    """Return a replay into the projections' live tables; from the start when they have
    applied nothing and their tables are empty."""
    projections = [BY_NAME[name] for name in names]
    from_start = checkpoint == Checkpoint.START and not any(
        table.model.objects.exists() for projection in projections for table in projection.tables
    )
    skipped = {name: skipped_positions(name) for name in names}
    return BulkReplay(projections, {}, skipped, from_start=from_start)


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

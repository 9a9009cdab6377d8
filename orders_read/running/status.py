"""Where each projection stands: position, lag behind the event store, last error."""

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from orders_read.models import ProjectionFailure, ProjectionState
from orders_read.projections import NAMES
from orders_write.event_reader import Checkpoint, Head, Lag, head, lag, position_of

from .runner import active_runner


@dataclass(frozen=True)
class ProjectionStatus:
    name: str
    position: int
    lag: int
    lag_seconds: float
    state: str
    last_error: str
    last_error_summary: str  # the error's class and the event's position only
    last_error_at: datetime | None
    open_failures: int
    last_advanced_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def projection_statuses() -> list[ProjectionStatus]:
    """Describe every projection.

    The runner tells where a projection stands: at the head of the store (inline, not
    stalled: every command applies it) or at its checkpoint, where it is `current` with
    nothing left to apply, else `behind` (or `stalled` until catch-up).
    """
    store_head = head()
    states = {state.name: state for state in ProjectionState.objects.all()}
    return [_status(name, states.get(name), store_head) for name in NAMES]


def _status(name: str, state: ProjectionState | None, store_head: Head) -> ProjectionStatus:
    # A failure retried or skipped is over: only an open one is the projection's last error.
    open_failures = ProjectionFailure.objects.filter(projection=name, resolution="")
    last_failure = open_failures.order_by("-failed_at").first()
    position, advanced_at, behind = store_head.position, store_head.recorded_at, Lag(0, 0.0)
    stalled = state is not None and state.stalled
    checkpoint = active_runner().reflected(stalled, state.checkpoint if state else Checkpoint.START)
    if checkpoint is not None:
        position = position_of(checkpoint)
        advanced_at, behind = state and state.last_advanced_at, lag(checkpoint)
    return ProjectionStatus(
        name=name,
        position=position,
        lag=behind.events,
        lag_seconds=behind.seconds,
        state="stalled" if stalled else "behind" if behind.events else "current",
        last_error=last_failure.error if last_failure else "",
        last_error_summary=_summary(last_failure) if last_failure else "",
        last_error_at=last_failure.failed_at if last_failure else None,
        open_failures=open_failures.count(),
        last_advanced_at=advanced_at,
    )


def _summary(failure: ProjectionFailure) -> str:
    """Name a failure without its message, which may quote the values of rows."""
    error_class = failure.error.split(":", 1)[0].strip() or "Error"
    return f"{error_class} at position {failure.event_position}"

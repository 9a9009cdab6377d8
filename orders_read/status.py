"""Where each projection stands: position, lag behind the event store, last error."""

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from orders_write.event_reader import Head, Lag, head, lag, last_position_at_or_before

from .models import ProjectionFailure, ProjectionState
from .projections import NAMES


@dataclass(frozen=True)
class ProjectionStatus:
    name: str
    position: int
    lag: int
    lag_seconds: float
    state: str
    last_error: str
    last_error_at: datetime | None
    open_failures: int
    last_advanced_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def projection_statuses() -> list[ProjectionStatus]:
    """Describe every projection.

    A current projection is applied inline by each command, so it stands at the head of
    the store; a stalled one stands at its checkpoint until catch-up moves it on.
    """
    store_head = head()
    states = {state.name: state for state in ProjectionState.objects.all()}
    return [_status(name, states.get(name), store_head) for name in NAMES]


def _status(name: str, state: ProjectionState | None, store_head: Head) -> ProjectionStatus:
    last_failure = ProjectionFailure.objects.filter(projection=name).order_by("-failed_at").first()
    position, advanced_at, behind = store_head.position, store_head.recorded_at, Lag(0, 0.0)
    stalled = state is not None and state.stalled
    if stalled:
        position = last_position_at_or_before(state.checkpoint)
        advanced_at, behind = state.last_advanced_at, lag(state.checkpoint)
    return ProjectionStatus(
        name=name,
        position=position,
        lag=behind.events,
        lag_seconds=behind.seconds,
        state="stalled" if stalled else "current",
        last_error=last_failure.error if last_failure else "",
        last_error_at=last_failure.failed_at if last_failure else None,
        open_failures=ProjectionFailure.objects.filter(projection=name, resolution="").count(),
        last_advanced_at=advanced_at,
    )

"""Where each projection stands: position, lag behind the event store, last error."""

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from django.db.models import Max, Q

from orders_write.models import Event

from .models import ProjectionFailure, ProjectionState
from .projections import NAMES


@dataclass(frozen=True)
class ProjectionStatus:
    name: str
    position: int
    lag: int
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
    head = Event.objects.aggregate(head=Max("position"), at=Max("recorded_at"))
    states = {state.name: state for state in ProjectionState.objects.all()}
    return [_status(name, states.get(name), head) for name in NAMES]


def _status(name: str, state: ProjectionState | None, head: dict[str, Any]) -> ProjectionStatus:
    open_failures = ProjectionFailure.objects.filter(projection=name, resolution="")
    last_failure = ProjectionFailure.objects.filter(projection=name).order_by("-failed_at").first()
    stalled = state is not None and state.stalled
    return ProjectionStatus(
        name=name,
        position=_last_applied(state) if stalled else head["head"] or 0,
        lag=_events_after(state) if stalled else 0,
        state="stalled" if stalled else "current",
        last_error=last_failure.error if last_failure else "",
        last_error_at=last_failure.failed_at if last_failure else None,
        open_failures=open_failures.count(),
        last_advanced_at=state.last_advanced_at if stalled else head["at"],
    )


def _last_applied(state: ProjectionState) -> int:
    """Return the position of the last event at or before the projection's checkpoint."""
    last = (
        Event.objects.extra(
            where=["(transaction_id, position) <= (%s, %s)"],
            params=[state.transaction_id, state.position],
        )
        .order_by("-transaction_id", "-position")
        .values_list("position", flat=True)
        .first()
    )
    return last or 0


def _events_after(state: ProjectionState) -> int:
    return Event.objects.filter(
        Q(transaction_id__gt=state.transaction_id)
        | Q(transaction_id=state.transaction_id, position__gt=state.position)
    ).count()

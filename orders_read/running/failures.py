"""A projection that cannot apply an event: the failure recorded where operators see it, the
projection stopped (stalled) until catch-up applies the event or an operator skips it."""

import logging
import traceback

from django.db.models import F
from django.utils import timezone

from orders_read.models import ProjectionFailure, ProjectionState
from orders_read.projections.backends import project_live
from orders_read.projections.rows import Projection
from orders_write.event_reader import checkpoint_before
from orders_write.event_store import RecordedEvent

from .metrics import FAILURES

logger = logging.getLogger(__name__)


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


def skipped_positions(projection: str) -> set[int]:
    """Return the positions of events an operator chose to skip for `projection`."""
    return set(
        ProjectionFailure.objects.filter(
            projection=projection, resolution=ProjectionFailure.SKIPPED
        ).values_list("event_position", flat=True)
    )


def resolve_open_failures(projection: str) -> None:
    """Mark the projection's open failures as retried by catch-up."""
    ProjectionFailure.objects.filter(projection=projection, resolution="").update(
        resolution=ProjectionFailure.RETRIED, resolved_at=timezone.now(), resolved_by="catch-up"
    )

"""The projections: one module per read model, each with its tables, its handler table and
its rules; this registry is the one list of them that everything else iterates."""

from django.db.models import Model

from . import (
    customer_analytics,
    order_details,
    order_status_history,
    order_summary,
    product_sales,
)
from .rows import EventClass, Projection

PROJECTIONS: tuple[Projection, ...] = (
    order_summary.PROJECTION,
    order_details.PROJECTION,
    order_status_history.PROJECTION,
    customer_analytics.PROJECTION,
    product_sales.PROJECTION,
)
BY_NAME: dict[str, Projection] = {projection.name: projection for projection in PROJECTIONS}
NAMES: tuple[str, ...] = tuple(BY_NAME)


def fed_by(event_type: str) -> list[Projection]:
    """Return the projections with a rule for events of `event_type`."""
    return [projection for projection in PROJECTIONS if projection.feeds_on(event_type)]


def event_classes() -> list[EventClass]:
    """Return every event class some projection has a rule for."""
    return list(dict.fromkeys(c for projection in PROJECTIONS for c in projection.rules))


def models_of(name: str) -> list[type[Model]]:
    """Return the models of the tables the named projection owns."""
    return [table.model for table in BY_NAME[name].tables]


def shared_out(names: list[str] | tuple[str, ...], parts: int) -> list[list[str]]:
    """Share the named projections among at most `parts` processes, each of which takes
    about as long to replay them: the costliest first, each to the process with the least
    so far."""
    shares: list[list[str]] = [[] for _ in range(max(1, min(parts, len(names))))]
    costs = [0] * len(shares)
    for name in sorted(names, key=lambda n: -BY_NAME[n].replay_cost):
        least = costs.index(min(costs))
        shares[least].append(name)
        costs[least] += BY_NAME[name].replay_cost
    return [[name for name in names if name in share] for share in shares]

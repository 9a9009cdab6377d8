"""Read your own writes: a read that names a position (the `position` a command answered
with) waits a bounded time for the projections behind it to pass that position, and every
read says which position it reflects."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.errors import ProjectionBehind
from config.api.schema import add_position_header, operations_of
from orders_read.database import from_replica
from orders_read.projections.rows import Projection
from orders_read.running.standing import Standing, reflected_position, standing_of
from orders_write.event_reader import Checkpoint, checkpoint_at

FIRST_POLL_SECONDS = 0.01
LONGEST_POLL_SECONDS = 0.25
MAX_POSITION = 2**63 - 1
# A stalled projection waits for an operator: how long a client had better wait to retry.
STALLED_RETRY_SECONDS = 30
STALLED_MESSAGE = "A projection this read needs is stalled until an operator repairs it."
BUSY_MESSAGE = "Too many reads are waiting for the projections; retry after Retry-After seconds."


def wait_for(names: tuple[str, ...], position: int | None) -> int:
    """Wait until the named projections have passed `position` (at most READ_WAIT_SECONDS);
    return the position they reflect, or raise ProjectionBehind.

    A stalled projection is answered at once (it waits for an operator, not for seconds), and
    each process lets at most READ_WAITERS_PER_PROCESS requests wait at a time."""
    now = standing_of(names)
    if position is None:
        return reflected_position(now.checkpoint, now.latest)
    # A position past the newest event asks for no more than the newest event.
    wanted = checkpoint_at(position)
    if now.checkpoint is None or now.checkpoint >= wanted:
        return reflected_position(now.checkpoint, now.latest)
    _refuse_if_stalled(now)
    with _waiting_slot():
        return reflected_position(_poll_until(names, wanted, now))


def _poll_until(names: tuple[str, ...], wanted: Checkpoint, now: Standing) -> Checkpoint | None:
    """Poll, less and less often, until the projections pass `wanted`; return where they stand."""
    deadline = time.monotonic() + settings.READ_WAIT_SECONDS
    pause = FIRST_POLL_SECONDS
    while now.checkpoint is not None and now.checkpoint < wanted:
        _refuse_if_stalled(now)
        if time.monotonic() + pause > deadline:
            raise ProjectionBehind()
        time.sleep(pause)
        pause = min(2 * pause, LONGEST_POLL_SECONDS)
        now = standing_of(names)
    return now.checkpoint


def _refuse_if_stalled(now: Standing) -> None:
    if now.stalled:
        raise ProjectionBehind(STALLED_MESSAGE, wait=STALLED_RETRY_SECONDS)


_waiters = threading.Lock()
_waiting = 0


@contextmanager
def _waiting_slot() -> Iterator[None]:
    """Hold one of this process's READ_WAITERS_PER_PROCESS places to wait, or raise
    ProjectionBehind when none is free."""
    global _waiting
    with _waiters:
        if _waiting >= settings.READ_WAITERS_PER_PROCESS:
            raise ProjectionBehind(BUSY_MESSAGE)
        _waiting += 1
    try:
        yield
    finally:
        with _waiters:
            _waiting -= 1


def min_position(request: Request) -> int | None:
    """Return the position a read asks for (`min_position` or `X-Min-Position`; the larger if
    both), if any; either one malformed is a 400."""
    queried = request.query_params.getlist("min_position")
    if len(queried) > 1:
        raise ValidationError({"min_position": ["Send min_position once."]})
    sent = {
        "min_position": queried[0] if queried else None,
        # An empty header counts as absent (a client may send one it has no value for).
        "X-Min-Position": request.headers.get("X-Min-Position") or None,
    }
    positions = [_position(name, value) for name, value in sent.items() if value is not None]
    return max(positions, default=None)


def _position(name: str, value: str) -> int:
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= MAX_POSITION:
        raise ValidationError(
            {name: ["A whole number from 1: the position a command answered with."]}
        )
    return int(value)


class ReflectsProjections:
    """A read view over the read tables of the projection it declares: it honours
    `min_position` and answers with `X-Projection-Position`."""

    projection: Projection

    def projection_read(self) -> Projection:
        return self.projection

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        with from_replica():
            return super().dispatch(request, *args, **kwargs)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        names = (self.projection_read().name,)
        self.reflected_position = wait_for(names, min_position(request))

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        if getattr(self, "reflected_position", None) is not None:
            response["X-Projection-Position"] = str(self.reflected_position)
        return response


# A header is text: its schema says which text (empty counts as absent; an empty query
# parameter is a 400, as its schema says).
POSITION_SCHEMAS = {
    "query": {"type": "integer", "minimum": 1, "maximum": MAX_POSITION},
    "header": {"type": "string", "pattern": r"^([1-9][0-9]{0,17})?$"},
}
MIN_POSITION_PARAMETERS = [
    {
        "in": location,
        "name": name,
        "required": False,
        "schema": POSITION_SCHEMAS[location],
        "description": "Wait (up to a few seconds) until this read reflects the event at this "
        "position: the `position` a command answered with. 503 `projection_behind` if not.",
    }
    for location, name in (("query", "min_position"), ("header", "X-Min-Position"))
]


def document_positions(result: dict, generator: Any, **kwargs: Any) -> dict:
    """drf-spectacular hook: document `min_position`, the 503 and `X-Projection-Position` on
    every read view."""
    for operation in operations_of(result, generator, ReflectsProjections):
        _document_read(operation)
    return result


def _document_read(operation: dict) -> None:
    operation.setdefault("parameters", []).extend(MIN_POSITION_PARAMETERS)
    add_position_header(
        operation, "X-Projection-Position", "Position of the last event this answer reflects."
    )
    operation["responses"]["503"] = {
        "description": "code `projection_behind`: the read model has not reached "
        "min_position within the wait; `read_side_unavailable`: the read database cannot be "
        "reached (`write_side_unavailable`: the write database); retry after Retry-After "
        "seconds.",
        "headers": {
            "Retry-After": {"schema": {"type": "integer"}},
            "X-Correlation-ID": {"schema": {"type": "string", "format": "uuid"}},
        },
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOutput"}}},
    }

"""Read your own writes: a read that names a position (the `position` a command answered
with) waits a bounded time for the projections behind it to pass that position, and every
read says which position it reflects."""

import time
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.errors import ProjectionBehind
from config.api.schema import add_position_header, operations_of
from orders_read.database import read_connection
from orders_read.models import ProjectionState
from orders_read.projections.rows import Projection
from orders_read.running.runner import active_runner
from orders_write.event_reader import HEAD_SQL, Checkpoint, checkpoint_at, head, position_of

POLL_SECONDS = 0.02
MAX_POSITION = 2**63 - 1


def standing(names: tuple[str, ...]) -> Checkpoint | None:
    """Return the checkpoint that all the named projections have passed, or None when they
    stand at the head of the store (inline projections not waiting for catch-up)."""
    return _standing(names)[0]


def _standing(names: tuple[str, ...]) -> tuple[Checkpoint | None, int | None]:
    """Return `standing(names)` and, when the read tables share the event store's database,
    the store's head position, read in the same query: one round trip, in plain SQL (the ORM
    took longer to build this query than the database to answer it)."""
    same_database = settings.READ_DATABASE == "default"
    with read_connection.cursor() as cursor:
        cursor.execute(_states_sql(len(names), with_head=same_database), list(names))
        rows = cursor.fetchall()
    states = {name: (bool(stalled), Checkpoint(tx, pos)) for name, stalled, tx, pos, *_ in rows}
    latest = (rows[0][4] or 0) if same_database and rows else None
    runner, start = active_runner(), (False, Checkpoint.START)
    reflected = [runner.reflected(*states.get(name, start)) for name in names]
    behind = [checkpoint for checkpoint in reflected if checkpoint is not None]
    return (min(behind) if behind else None), latest


def _states_sql(count: int, *, with_head: bool) -> str:
    head = f", ({HEAD_SQL})" if with_head else ""
    table, names = ProjectionState._meta.db_table, ", ".join(["%s"] * count)
    columns = f"name, stalled, transaction_id, position{head}"
    return f"SELECT {columns} FROM {table} WHERE name IN ({names})"  # noqa: S608 (no user input)


def reflected_position(checkpoint: Checkpoint | None, latest: int | None = None) -> int:
    """Return the position of the last event a read standing at `checkpoint` reflects
    (`latest`: the store's head position, if known)."""
    if checkpoint is not None:
        return position_of(checkpoint)
    return head().position if latest is None else latest


def wait_for(names: tuple[str, ...], position: int | None) -> int:
    """Wait until the named projections have passed `position` (at most READ_WAIT_SECONDS);
    return the position they reflect, or raise ProjectionBehind."""
    checkpoint, latest = _standing(names)
    if position is None:
        return reflected_position(checkpoint, latest)
    # A position past the newest event asks for no more than the newest event.
    wanted = checkpoint_at(position)
    deadline = time.monotonic() + settings.READ_WAIT_SECONDS
    while checkpoint is not None and checkpoint < wanted:
        if time.monotonic() >= deadline:
            raise ProjectionBehind()
        time.sleep(POLL_SECONDS)
        checkpoint = standing(names)
    return reflected_position(checkpoint)


def min_position(request: Request) -> int | None:
    """Return the position a read asks for (`min_position` or `X-Min-Position`; the larger if
    both), if any; either one malformed is a 400."""
    queried = request.query_params.getlist("min_position")
    if len(queried) > 1:
        raise ValidationError({"min_position": ["Send min_position once."]})
    sent = {
        "min_position": queried[0] if queried else None,
        "X-Min-Position": request.headers.get("X-Min-Position"),
    }
    positions = [_position(name, value) for name, value in sent.items() if value]
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
        if response.status_code == ProjectionBehind.status_code:
            response.setdefault("Retry-After", "1")
        return response


# A header is text: its schema says which text (empty counts as absent, as it does for the
# query parameter).
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
        "min_position within the wait; retry after Retry-After seconds.",
        "headers": {
            "Retry-After": {"schema": {"type": "integer"}},
            "X-Correlation-ID": {"schema": {"type": "string", "format": "uuid"}},
        },
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOutput"}}},
    }

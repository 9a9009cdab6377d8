"""Read your own writes: a read that names a position (the `position` a command answered
with) waits a bounded time for the projections behind it to pass that position, and every
read says which position it reflects."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.errors import ProjectionBehind
from orders_read.database import read_connection
from orders_read.models import ProjectionState
from orders_read.running.mode import projections_are_async
from orders_write.event_reader import HEAD_SQL, Checkpoint, checkpoint_at, head, position_of

FIRST_POLL_SECONDS = 0.01
LONGEST_POLL_SECONDS = 0.25
MAX_POSITION = 2**63 - 1
# A stalled projection waits for an operator: how long a client had better wait to retry.
STALLED_RETRY_SECONDS = 30
STALLED_MESSAGE = "A projection this read needs is stalled until an operator repairs it."
BUSY_MESSAGE = "Too many reads are waiting for the projections; retry after Retry-After seconds."


@dataclass(frozen=True)
class Standing:
    """Where the named projections stand: the checkpoint all of them have passed (None at the
    store's head), the store's head position when read with it, and whether one is stalled."""

    checkpoint: Checkpoint | None
    latest: int | None
    stalled: bool


def standing(names: tuple[str, ...]) -> Checkpoint | None:
    """Return the checkpoint that all the named projections have passed, or None when they
    stand at the head of the store (inline projections not waiting for catch-up)."""
    return _standing(names).checkpoint


def _standing(names: tuple[str, ...]) -> Standing:
    """Return where the named projections stand and, when the read tables share the event
    store's database, the store's head position, read in the same query: one round trip, in
    plain SQL (the ORM took longer to build this query than the database to answer it)."""
    same_database = settings.READ_DATABASE == "default"
    with read_connection.cursor() as cursor:
        cursor.execute(_states_sql(len(names), with_head=same_database), list(names))
        rows = cursor.fetchall()
    states = {name: (bool(stalled), Checkpoint(tx, pos)) for name, stalled, tx, pos, *_ in rows}
    latest = (rows[0][4] or 0) if same_database and rows else None
    stalled = any(states[n][0] for n in names if n in states)
    if projections_are_async():
        start = (False, Checkpoint.START)
        return Standing(min(states.get(n, start)[1] for n in names), None, stalled)
    behind = [states[n][1] for n in names if n in states and states[n][0]]
    return Standing(min(behind) if behind else None, latest, stalled)


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
    return the position they reflect, or raise ProjectionBehind.

    A stalled projection is answered at once (it waits for an operator, not for seconds), and
    each process lets at most READ_WAITERS_PER_PROCESS requests wait at a time."""
    now = _standing(names)
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
        now = _standing(names)
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
    """A read view over the read tables of `projections`: it honours `min_position` and
    answers with `X-Projection-Position`."""

    projections: tuple[str, ...] = ()

    def projections_read(self) -> tuple[str, ...]:
        return self.projections

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        self.reflected_position = wait_for(self.projections_read(), min_position(request))

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        if getattr(self, "reflected_position", None) is not None:
            response["X-Projection-Position"] = str(self.reflected_position)
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
POSITION_HEADER = {"schema": {"type": "integer"}}


def document_positions(result: dict, generator: Any, **kwargs: Any) -> dict:
    """drf-spectacular hook: document `min_position`, the 503 and the position headers on
    every read view, and `X-Event-Position` on every command."""
    from orders_write.api import CommandViewSet

    for path, _, method, view in generator._get_paths_and_endpoints():
        operation = result["paths"].get(path, {}).get(method.lower())
        if operation is None:
            continue
        if isinstance(view, ReflectsProjections):
            _document_read(operation)
        elif isinstance(view, CommandViewSet):
            for code, response in operation["responses"].items():
                if code.startswith("2"):
                    response.setdefault("headers", {})["X-Event-Position"] = {
                        **POSITION_HEADER,
                        "description": "Position of the command's last event.",
                    }
    return result


def _document_read(operation: dict) -> None:
    operation.setdefault("parameters", []).extend(MIN_POSITION_PARAMETERS)
    for code, response in operation["responses"].items():
        if code.startswith("2"):
            response.setdefault("headers", {})["X-Projection-Position"] = {
                **POSITION_HEADER,
                "description": "Position of the last event this answer reflects.",
            }
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

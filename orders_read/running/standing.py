"""Where projections stand: the checkpoint a read of them reflects, and the position that is."""

from dataclasses import dataclass

from django.conf import settings

from orders_read.database import reads_connection
from orders_read.models import ProjectionState
from orders_write.event_reader import HEAD_SQL, Checkpoint, head, position_of

from .runner import active_runner


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
    return standing_of(names).checkpoint


def standing_of(names: tuple[str, ...]) -> Standing:
    """Return where the named projections stand (as the database that serves reads here has
    them: within `from_replica`, the replica's copy) and, when the read tables share the event
    store's database, the store's head position, read in the same query: one round trip, in
    plain SQL (the ORM took longer to build this query than the database to answer it)."""
    same_database = settings.READ_DATABASE == "default"
    with reads_connection().cursor() as cursor:
        cursor.execute(_states_sql(len(names), with_head=same_database), list(names))
        rows = cursor.fetchall()
    states = {name: (bool(stalled), Checkpoint(tx, pos)) for name, stalled, tx, pos, *_ in rows}
    latest = (rows[0][4] or 0) if same_database and rows else None
    stalled = any(states[n][0] for n in names if n in states)
    runner, start = active_runner(), (False, Checkpoint.START)
    reflected = [runner.reflected(*states.get(name, start)) for name in names]
    behind = [checkpoint for checkpoint in reflected if checkpoint is not None]
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

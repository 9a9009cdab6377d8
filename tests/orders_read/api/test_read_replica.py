"""A read replica (READ_REPLICA_URL): the API's reads come from a real streaming replica of
the read database, and the position a read reports is the replica's own copy of the
checkpoints, so that reading your own writes holds while the replica lags.

Runs when READ_REPLICA_URL is set (`.ci/with_read_replica` starts a primary and a replica
made with pg_basebackup); elsewhere it is skipped.
"""

import time

import pytest
from django.conf import settings
from django.db import connections, router
from django.test.utils import CaptureQueriesContext

from orders_read.database import from_replica
from orders_read.models import OrderDetails, ProjectionState
from orders_read.projections import NAMES
from orders_read.running.tasks import advance_projection
from orders_write.event_reader import checkpoint_at, head
from tests.conftest import order_body

pytestmark = [
    pytest.mark.skipif(
        settings.READ_REPLICA_DATABASE == settings.READ_DATABASE,
        reason="needs READ_REPLICA_URL (see .ci/with_read_replica)",
    ),
    pytest.mark.django_db(transaction=True, databases="__all__"),
]

REPLAY_SECONDS = 10


def _one(alias: str, sql: str) -> object:
    with connections[alias].cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def replica_caught_up() -> None:
    """Wait until the replica has replayed everything the primary has written so far."""
    written = _one(settings.READ_DATABASE, "SELECT pg_current_wal_lsn()")
    deadline = time.monotonic() + REPLAY_SECONDS
    sql = f"SELECT pg_last_wal_replay_lsn() >= '{written}'::pg_lsn"
    while not _one(settings.READ_REPLICA_DATABASE, sql):
        assert time.monotonic() < deadline, "the replica did not replay the primary's changes"
        time.sleep(0.02)


def project_everything() -> None:
    """Advance every projection on the primary, as a worker does (or wait for the worker
    that holds one: the async tests' worker may run in the same session)."""
    wanted, deadline = checkpoint_at(head().position), time.monotonic() + REPLAY_SECONDS
    while True:
        for name in NAMES:
            advance_projection(name)
        states = ProjectionState.objects.filter(name__in=NAMES)
        if len(states) == len(NAMES) and all(s.checkpoint >= wanted for s in states):
            return
        assert time.monotonic() < deadline, "the projections did not reach the head"
        time.sleep(0.05)


@pytest.fixture
def replay_paused():
    """Pause the replica's replay of the primary's changes until the test resumes it."""
    replica = settings.READ_REPLICA_DATABASE
    _one(replica, "SELECT pg_wal_replay_pause()::text")
    try:
        yield lambda: _one(replica, "SELECT pg_wal_replay_resume()::text")
    finally:
        _one(replica, "SELECT pg_wal_replay_resume()::text")


def test_the_replica_is_a_real_read_only_standby():
    assert _one(settings.READ_REPLICA_DATABASE, "SELECT pg_is_in_recovery()") is True
    assert _one(settings.READ_DATABASE, "SELECT pg_is_in_recovery()") is False


def test_api_reads_go_to_the_replica_and_everything_else_to_the_primary():
    assert router.db_for_read(OrderDetails) == settings.READ_DATABASE
    assert router.db_for_write(ProjectionState) == settings.READ_DATABASE
    with from_replica():
        assert router.db_for_read(OrderDetails) == settings.READ_REPLICA_DATABASE
        assert router.db_for_write(ProjectionState) == settings.READ_DATABASE
    assert router.db_for_read(OrderDetails) == settings.READ_DATABASE


def test_an_api_read_is_served_by_the_replica(admin_api, customer, product):
    placed = admin_api.post("/api/orders/", order_body(customer, (product, 2)), format="json")
    project_everything()
    replica_caught_up()
    url = f"/api/orders/{placed.json()['order_id']}/"

    with (
        CaptureQueriesContext(connections[settings.READ_REPLICA_DATABASE]) as on_replica,
        CaptureQueriesContext(connections[settings.READ_DATABASE]) as on_primary,
    ):
        read = admin_api.get(url)

    assert read.status_code == 200, read.content
    assert read.json()["items"][0]["quantity"] == 2
    assert any(OrderDetails._meta.db_table in q["sql"] for q in on_replica.captured_queries)
    assert any(ProjectionState._meta.db_table in q["sql"] for q in on_replica.captured_queries)
    assert on_primary.captured_queries == []


def test_a_lagging_replica_reports_its_own_position_and_makes_a_reader_wait(
    admin_api, customer, product, replay_paused
):
    settings.READ_WAIT_SECONDS = 0.3
    try:
        placed = admin_api.post("/api/orders/", order_body(customer, (product, 1)), format="json")
        position = placed.json()["position"]
        project_everything()  # the primary has the order; the paused replica has not
        url = f"/api/orders/{placed.json()['order_id']}/"

        stale = admin_api.get(url)
        waited = admin_api.get(url, {"min_position": position})
        replay_resumed = replay_paused
        replay_resumed()
        replica_caught_up()
        fresh = admin_api.get(url, {"min_position": position})
    finally:
        settings.READ_WAIT_SECONDS = 2

    assert stale.status_code == 404
    assert int(stale["X-Projection-Position"]) < position
    assert waited.status_code == 503
    assert waited.json()["code"] == "projection_behind"
    assert fresh.status_code == 200, fresh.content
    assert int(fresh["X-Projection-Position"]) >= position


def test_a_reader_waiting_on_the_replica_is_answered_once_it_replays(
    admin_api, customer, product, replay_paused
):
    placed = admin_api.post("/api/orders/", order_body(customer, (product, 4)), format="json")
    project_everything()
    replay_paused()  # resumes replay: the read below waits for the replica to apply it

    read = admin_api.get(f"/api/orders/{placed.json()['order_id']}/history/", {
        "min_position": placed.json()["position"]
    })  # fmt: skip

    assert read.status_code == 200, read.content
    assert int(read["X-Projection-Position"]) >= placed.json()["position"]

"""Async mode, end to end: commands commit only the write side, a live Celery worker (a
real process on the real broker) advances the projections in the read database, and
failures, retry, skip, rebuild, the sweep and reading your own writes work as inline.

Runs when PROJECTION_MODE=async (PostgreSQL write and read databases, Redis); `.ci/run`
runs it that way. Elsewhere it is skipped.
"""

import io
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.management import call_command
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from config.celery import app
from orders_read.api.freshness import BUSY_MESSAGE
from orders_read.models import (
    CustomerAnalytics,
    OrderDetails,
    OrderSummary,
    ProjectionFailure,
    ProjectionState,
)
from orders_read.projections import NAMES
from orders_read.rebuild.replay import verify
from orders_read.running.coordination import dirty_key, worker_lock
from orders_read.running.status import projection_statuses
from orders_read.running.sweeping import HEARTBEAT_KEY, SWEEP_PENDING_KEY, SWEEP_TASK
from orders_read.running.tasks import sweep
from orders_write.event_reader import Checkpoint, checkpoint_at, head
from tests.conftest import make_customer, make_order, make_product, order_body, set_status
from tests.privacy_scan import find_texts

pytestmark = [
    pytest.mark.skipif(
        settings.PROJECTION_MODE != "async", reason="needs PROJECTION_MODE=async (see .ci/run)"
    ),
    pytest.mark.django_db(transaction=True, databases="__all__"),
]

ROOT = Path(__file__).resolve().parents[3]
SETTLE_SECONDS = 30
FAILURES = reverse("admin:orders_read_projectionfailure_changelist")


def _url(alias: str) -> str:
    db = connections[alias].settings_dict
    user = quote(db["USER"] or "")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker):
    """A Celery worker process on the test databases, for the whole session."""
    env = {
        **os.environ,
        "DATABASE_URL": _url("default"),
        "READ_DATABASE_URL": _url(settings.READ_DATABASE),
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--concurrency=2",
         "--loglevel=WARNING", "--without-mingle", "--without-gossip"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not app.control.ping(timeout=0.5):
        assert worker.poll() is None, "the Celery worker exited"
        assert time.monotonic() < deadline, "the Celery worker did not answer"
    yield worker
    worker.terminate()
    worker.wait(timeout=30)


@pytest.fixture(autouse=True)
def worker(celery_worker):
    """Each test starts with no nudge pending and ends with the worker idle."""
    cache.delete_many([dirty_key(name) for name in NAMES])
    yield celery_worker
    settle()
    quiet()


def quiet(timeout: float = SETTLE_SECONDS) -> None:
    """Drop the tasks still queued and wait for the worker to finish the ones it runs."""
    app.control.purge()
    deadline = time.monotonic() + timeout
    inspect = app.control.inspect(timeout=0.5)
    while any((inspect.active() or {}).values()) or any((inspect.reserved() or {}).values()):
        assert time.monotonic() < deadline, "the worker stays busy"
        time.sleep(0.05)


def target() -> Checkpoint:
    position = head().position
    return checkpoint_at(position)


def settle(timeout: float = SETTLE_SECONDS) -> None:
    """Wait until every projection not stalled has applied every event."""
    wanted, deadline = target(), time.monotonic() + timeout
    while not all(s.state == "stalled" or s.lag == 0 for s in projection_statuses()):
        assert time.monotonic() < deadline, [s.as_dict() for s in projection_statuses()]
        time.sleep(0.05)
    assert wanted <= target()


def state_of(name: str) -> str:
    return next(s.state for s in projection_statuses() if s.name == name)


def test_a_command_commits_without_touching_the_read_database(customer, product):
    with CaptureQueriesContext(connections[settings.READ_DATABASE]) as read_side:
        make_order(customer, [(product, 2)])

    assert settings.READ_DATABASE != "default"
    assert read_side.captured_queries == []


def test_workers_apply_every_rule_as_a_replay_does():
    ada, bob = make_customer("Ada"), make_customer("Bob")
    pen, book = make_product("Pen", "office", "1.50"), make_product("Book", "books", "12.00")
    first = make_order(ada, [(pen, 4), (book, 1)])
    second = make_order(bob, [(book, 2)])
    make_order(ada, [(pen, 1)])
    set_status(first.id, "confirmed", "paid", "shipped", "delivered")
    set_status(second.id, "cancelled")
    from orders_write import services
    from orders_write.commands import UpdateCustomer, UpdateProduct

    services.update_customer(UpdateCustomer(customer_id=ada.id, name="Ada L."))
    services.update_product(UpdateProduct(product_id=pen.id, name="Fountain pen"))

    settle()

    assert verify(list(NAMES)) == []
    assert OrderSummary.objects.get(order_id=first.id).status == "delivered"
    assert OrderSummary.objects.get(order_id=second.id).status == "cancelled"
    analytics = CustomerAnalytics.objects.get(customer_id=ada.id)
    assert (analytics.total_orders, analytics.customer_name) == (2, "Ada L.")
    assert all(s.state == "current" and s.lag == 0 for s in projection_statuses())


def test_a_client_reads_its_own_write(admin_api, customer, product):
    placed = admin_api.post("/api/orders/", order_body(customer, (product, 3)), format="json")
    position = placed.json()["position"]

    url = f"/api/orders/{placed.json()['order_id']}/"
    read = admin_api.get(url, HTTP_X_MIN_POSITION=str(position))

    assert read.status_code == 200, read.content
    assert read.json()["items"][0]["quantity"] == 3
    assert int(read["X-Projection-Position"]) >= position


def read_own_order_while_held(api, customer, product):
    """Place an order while no worker may advance order_details, then read it at its
    position; return the read and how long it took."""
    with worker_lock("order_details") as held:
        assert held
        placed = api.post("/api/orders/", order_body(customer, (product, 1)), format="json")
        url = f"/api/orders/{placed.json()['order_id']}/"
        started = time.monotonic()
        read = api.get(url, {"min_position": placed.json()["position"]})
        return read, time.monotonic() - started


def test_a_read_the_workers_cannot_serve_in_time_is_a_503(admin_api, customer, product):
    settings.READ_WAIT_SECONDS = 0.2
    settle()
    quiet()  # the worker has let go of every projection
    try:
        read, _ = read_own_order_while_held(admin_api, customer, product)
    finally:
        settings.READ_WAIT_SECONDS = 2
    sweep.delay()

    assert read.status_code == 503
    assert read.json()["code"] == "projection_behind"
    assert read["Retry-After"] == "1"


def test_a_waiting_read_polls_less_and_less_often(admin_api, customer, product):
    settings.READ_WAIT_SECONDS = 1
    settle()
    quiet()
    try:
        with CaptureQueriesContext(connections[settings.READ_REPLICA_DATABASE]) as sql:
            read, _ = read_own_order_while_held(admin_api, customer, product)
    finally:
        settings.READ_WAIT_SECONDS = 2
    sweep.delay()

    polls = [q for q in sql.captured_queries if ProjectionState._meta.db_table in q["sql"]]
    assert read.status_code == 503
    assert len(polls) <= 12  # a 20 ms loop made 50 in that second


def test_past_its_bound_of_waiting_reads_a_process_answers_503_at_once(
    admin_api, customer, product
):
    settings.READ_WAITERS_PER_PROCESS = 0
    settle()
    quiet()
    try:
        read, waited = read_own_order_while_held(admin_api, customer, product)
    finally:
        settings.READ_WAITERS_PER_PROCESS = 4
    sweep.delay()

    assert read.status_code == 503
    assert read.json()["message"] == BUSY_MESSAGE
    assert read["Retry-After"] == "1"
    assert waited < 0.5


def test_each_projection_is_advanced_by_one_worker_at_a_time(customer, product):
    settle()
    quiet()  # the worker has let go of every projection
    with worker_lock("order_summary") as held:
        assert held
        order = make_order(customer, [(product, 1)])
        time.sleep(1)  # long enough for the nudged worker to advance the others
        others_applied = OrderSummary.objects.filter(order_id=order.id).exists()
        assert state_of("order_summary") == "behind"
    sweep.delay()
    settle()

    assert not others_applied
    assert OrderSummary.objects.filter(order_id=order.id).exists()


def test_the_sweep_catches_up_what_a_lost_nudge_missed(customer, product):
    settle()
    quiet()
    # As if every group's task were waiting: the nudge sends none.
    cache.set_many({dirty_key(name): 1 for name in NAMES}, timeout=60)
    order = make_order(customer, [(product, 1)])
    time.sleep(0.5)
    assert not OrderSummary.objects.filter(order_id=order.id).exists()

    sweep.delay()
    settle()

    assert OrderSummary.objects.filter(order_id=order.id).exists()


@pytest.fixture
def admin_client(client, db):
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw-12345678"))
    return client


def test_a_failing_projection_stops_alone_and_a_retry_resumes_it(
    admin_client, customer, product, analytics_schema
):
    settle()  # the customer's registration is applied before the schema breaks
    analytics_schema.break_column()
    order = make_order(customer, [(product, 2)])
    settle()
    failure = ProjectionFailure.objects.get()

    assert (failure.projection, state_of("customer_analytics")) == ("customer_analytics", "stalled")
    assert OrderSummary.objects.filter(order_id=order.id).exists()  # the others go on

    analytics_schema.repair()
    admin_client.post(FAILURES, {"action": "retry", "_selected_action": [failure.pk]})
    make_order(customer, [(product, 1)])
    settle()

    failure.refresh_from_db()
    assert failure.resolution == ProjectionFailure.RETRIED
    assert CustomerAnalytics.objects.get(customer_id=customer.id).total_orders == 2
    assert verify(list(NAMES)) == []


def wait_until(condition, timeout: float = SETTLE_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the worker did not get there"
        time.sleep(0.05)


def test_the_sweep_retries_a_stalled_projection_until_it_applies(
    customer, product, analytics_schema, settings
):
    settle()  # the customer's registration is applied before the schema breaks
    analytics_schema.break_column()
    make_order(customer, [(product, 2)])
    settle()
    settings.PROJECTION_RETRY_SECONDS = 0.01
    time.sleep(0.05)

    sweep()  # the retry is due: the worker tries again while the cause lasts
    wait_until(lambda: ProjectionFailure.objects.get().attempts == 2)
    assert state_of("customer_analytics") == "stalled"

    analytics_schema.repair()
    time.sleep(0.05)
    sweep()  # no operator: the next due retry applies it
    wait_until(lambda: state_of("customer_analytics") == "current")
    settle()

    assert ProjectionFailure.objects.get().resolution == ProjectionFailure.RETRIED
    assert CustomerAnalytics.objects.get(customer_id=customer.id).total_orders == 1
    assert verify(list(NAMES)) == []


def test_a_skipped_event_is_left_out_and_the_projection_goes_on(
    admin_client, customer, product, analytics_schema
):
    settle()  # the customer's registration is applied before the schema breaks
    analytics_schema.break_column()
    make_order(customer, [(product, 2)])
    settle()
    failure = ProjectionFailure.objects.get()
    analytics_schema.repair()

    admin_client.post(
        FAILURES,
        {"action": "skip", "_selected_action": [failure.pk], "confirm": "1", "reason": "test"},
    )
    make_order(customer, [(product, 1)])
    settle()

    assert state_of("customer_analytics") == "current"
    assert CustomerAnalytics.objects.get(customer_id=customer.id).total_orders == 1
    assert verify(list(NAMES)) == []


def test_a_rebuild_while_workers_run_loses_nothing(customer, product):
    for _ in range(20):
        make_order(customer, [(product, 1)])
    stop = threading.Event()

    def place_orders() -> None:
        while not stop.is_set():
            make_order(customer, [(product, 1)])
        connections.close_all()

    writer = threading.Thread(target=place_orders)
    writer.start()
    try:
        call_command("rebuild_projections", "--processes", "1", "--no-input", verbosity=0)
    finally:
        stop.set()
        writer.join()
    settle()

    assert verify(list(NAMES)) == []
    assert OrderSummary.objects.count() == CustomerAnalytics.objects.get().total_orders


def test_forgetting_reaches_the_read_database_and_leaves_no_trace_in_either(admin_api, product):
    zoe, bob = make_customer("Zoë Quillfeather", "zoe.q@example.org"), make_customer()
    order = make_order(zoe, [(product, 3)])
    make_order(bob, [(product, 1)])
    set_status(order.id, "confirmed")
    settle()
    totals = CustomerAnalytics.objects.values_list("customer_id", "total_orders", "total_spent")
    before = set(totals)
    assert find_texts(["zoe.q@example.org"])

    response = admin_api.post(
        f"/api/customers/{zoe.id}/forget/", {"reason": "Ticket 41"}, format="json"
    )
    assert response.status_code == 200
    settle()

    # (Bob's order has the same address, so the scan looks for Zoë's name and e-mail.)
    assert find_texts(["Zoë Quillfeather", "zoe.q@example.org"]) == []
    assert {text for *_, text in find_texts([bob.email])} == {bob.email}
    assert OrderDetails.objects.get(order_id=order.id).shipping_address["line1"] == ""
    assert set(totals) == before
    assert OrderSummary.objects.get(order_id=order.id).customer_name == "Forgotten customer"
    assert verify(list(NAMES)) == []


def test_a_rebuild_in_async_mode_reproduces_the_forgotten_state(admin_api, product):
    zoe = make_customer("Zoë Quillfeather", "zoe.q@example.org")
    order = make_order(zoe, [(product, 2)])
    admin_api.post(f"/api/customers/{zoe.id}/forget/", {"reason": "Ticket 41"}, format="json")
    settle()

    call_command("rebuild_projections", "--processes", "1", "--no-input", verbosity=0)
    settle()

    assert OrderSummary.objects.get(order_id=order.id).customer_name == "Forgotten customer"
    assert find_texts(["Zoë Quillfeather", "zoe.q@example.org", "1 Main Street"]) == []
    assert verify(list(NAMES)) == []


def test_a_sweep_retries_at_once_once_the_cause_is_gone(
    customer, product, analytics_schema, settings
):
    settings.PROJECTION_RETRY_SECONDS = 600  # no retry is due for ten minutes
    settle()  # the customer's registration is applied before the schema breaks
    analytics_schema.break_column()
    make_order(customer, [(product, 2)])
    settle()
    sweep()  # the failed event still fails: nothing is retried, nothing recorded
    time.sleep(1)
    assert (state_of("customer_analytics"), ProjectionFailure.objects.get().attempts) == (
        "stalled",
        1,
    )

    analytics_schema.repair()
    sweep()
    wait_until(lambda: state_of("customer_analytics") == "current", timeout=10)

    assert ProjectionFailure.objects.get().resolution == ProjectionFailure.RETRIED
    assert verify(list(NAMES)) == []


def test_metrics_say_whether_a_worker_is_alive(client, settings):
    settings.METRICS_TOKEN = "scrape"
    cache.delete(HEARTBEAT_KEY)

    def workers_alive() -> str:
        page = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape").content.decode()
        return next(line for line in page.splitlines() if line.startswith(ALIVE_METRIC))

    assert workers_alive() == f"{ALIVE_METRIC} 0.0"
    sweep.delay()
    wait_until(lambda: workers_alive() == f"{ALIVE_METRIC} 1.0", timeout=10)


ALIVE_METRIC = "orders_projection_workers_alive"


def test_beat_keeps_one_sweep_waiting_while_no_worker_consumes(tmp_path):
    from celery.beat import ScheduleEntry

    from orders_read.running.beat import OneSweepPendingScheduler

    settle()
    quiet()
    app.control.cancel_consumer("celery", reply=True)
    cache.delete(SWEEP_PENDING_KEY)
    scheduler = OneSweepPendingScheduler(app=app, schedule_filename=str(tmp_path / "beat"))
    entry = ScheduleEntry(name="sweep", task=SWEEP_TASK, schedule=1, app=app)
    try:
        for _ in range(5):
            scheduler.apply_async(entry, advance=False)
        with app.connection_for_read() as connection:
            waiting = connection.default_channel.client.llen("celery")
    finally:
        scheduler.close()
        app.control.purge()
        cache.delete(SWEEP_PENDING_KEY)
        app.control.add_consumer("celery", reply=True)

    assert waiting == 1


def test_the_bench_times_a_drain_and_writes_with_a_worker_beside_them():
    settle()
    quiet()
    out = io.StringIO()

    call_command(
        "bench", "--orders", "40", "--customers", "8", "--products", "6", "--calls", "1",
        "--writes", "5", "--drain", "1", "--json", stdout=out,
    )  # fmt: skip

    [result] = json.loads(out.getvalue())
    assert result["rebuild"]["events"] == result["drain"]["events"] == result["events"]
    assert result["drain"]["worker_processes"] == result["writes"]["worker_processes"] == 1
    assert result["writes"]["lag_seconds"]["samples"] > 0
    sweep.delay()  # as beat does: the bench's worker may have taken the last nudge with it
    settle()
    assert verify(list(NAMES)) == []

"""Degrade, never stall: commands need only the write database, every call to Redis or a
database is bounded, a command refuses before committing rather than after, and a database
that cannot be reached is a 503 saying which side is down."""

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connections

from config import fallback_cache
from orders_write import services
from orders_write.commands import RegisterCustomer
from orders_write.models import Customer, Event
from tests.conftest import order_body

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[1]
POSTGRES = "postgres://postgres@127.0.0.1:5432/orders"
on_postgresql = pytest.mark.skipif(
    django_settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
    reason="a PostgreSQL server to make unreachable",
)


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def dead_port() -> int:
    """A port nothing listens on: a server that was killed."""
    return _unused_port()


@pytest.fixture
def frozen_port() -> Iterator[int]:
    """A port whose connections the kernel accepts and nobody ever answers: a server that was
    frozen (SIGSTOP)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        yield listener.getsockname()[1]


@pytest.fixture
def redis_at(settings):
    """Point the shared cache at a Redis on a given port, with the project's timeouts."""

    def point(port: int) -> None:
        settings.CACHES = {
            "default": {
                "BACKEND": "config.fallback_cache.FallbackRedisCache",
                "LOCATION": f"redis://127.0.0.1:{port}/0",
                "OPTIONS": {"socket_timeout": 0.3, "socket_connect_timeout": 0.3},
            }
        }

    yield point
    fallback_cache._down_until.clear()


def answered_within(seconds: float, request) -> object:
    """Send a request; fail if it has not answered within `seconds` (instead of hanging)."""

    def give_up(*_: object) -> None:
        raise TimeoutError(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, give_up)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return request()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_every_dependency_call_has_a_timeout():
    script = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({'cache': s.CACHES['default']['OPTIONS'], "
        "'broker': s.CELERY_BROKER_TRANSPORT_OPTIONS, "
        "'publish_retry': s.CELERY_TASK_PUBLISH_RETRY, "
        "'databases': {a: d['OPTIONS'].get('connect_timeout') for a, d in s.DATABASES.items()}}))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PROJECTION_MODE": "async",
        "DATABASE_URL": POSTGRES,
        "READ_DATABASE_URL": f"{POSTGRES}_read",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
    }
    result = subprocess.run(  # noqa: S603 (a fixed script)
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    found = json.loads(result.stdout)

    assert 0 < found["cache"]["socket_timeout"] <= 1
    assert 0 < found["cache"]["socket_connect_timeout"] <= 1
    assert 0 < found["broker"]["socket_connect_timeout"] <= 1
    assert 0 < found["broker"]["socket_timeout"] <= 2
    assert found["publish_retry"] is False
    assert found["databases"] == {"default": 2, "read": 2}


def test_commands_and_reads_answer_while_redis_is_down(
    admin_api, customer, product, redis_at, dead_port
):
    redis_at(dead_port)

    placed = admin_api.post("/api/orders/", order_body(customer, (product, 1)), format="json")
    read = admin_api.get(f"/api/orders/{placed.json()['order_id']}/")

    assert placed.status_code == 201, placed.content
    # 404 in async mode, where no worker runs here: an answer either way, not a 500
    assert read.status_code in {200, 404}, read.content


def test_wrong_tokens_are_still_counted_while_redis_is_down(
    db, anonymous_api, settings, redis_at, dead_port
):
    settings.AXES_FAILURE_LIMIT = 2
    redis_at(dead_port)
    anonymous_api.credentials(HTTP_AUTHORIZATION="Token wrong")

    answers = [anonymous_api.get("/api/orders/").status_code for _ in range(4)]

    assert answers == [401, 401, 429, 429]


def test_a_frozen_redis_costs_one_timeout_not_one_per_request(
    admin_api, customer, redis_at, frozen_port
):
    redis_at(frozen_port)
    started = time.monotonic()

    answers = [
        answered_within(3, lambda: admin_api.get(f"/api/customers/{customer.id}/analytics/"))
        for _ in range(5)
    ]

    assert {answer.status_code for answer in answers} <= {200, 404}  # 404: async, no worker
    assert time.monotonic() - started < 2  # one 0.3 s timeout, then the process's memory


def test_a_redis_outage_is_logged_once(admin_api, customer, redis_at, dead_port, caplog):
    redis_at(dead_port)
    with caplog.at_level(logging.WARNING, logger="config.fallback_cache"):
        for _ in range(3):
            admin_api.get(f"/api/customers/{customer.id}/analytics/")
        fallback_cache._down_until.update(dict.fromkeys(fallback_cache._down_until, 0.0))
        admin_api.get(f"/api/customers/{customer.id}/analytics/")  # tried again: still down

    logged = [r.getMessage()[:22] for r in caplog.records if r.name == "config.fallback_cache"]
    assert logged == ["Redis is unreachable ("]


def test_a_nudge_never_holds_the_command(admin_api, customer, product, redis_at, frozen_port):
    from orders_read.running.workers import request_nudge

    redis_at(frozen_port)
    started = time.monotonic()
    for _ in range(3):
        request_nudge()  # sent by the process's nudger thread, which the frozen Redis holds

    assert time.monotonic() - started < 0.1


def test_a_command_past_its_budget_is_refused_and_not_committed(admin_api, settings):
    settings.COMMAND_BUDGET_SECONDS = 0
    before = (Customer.objects.count(), Event.objects.count())

    response = admin_api.post(
        "/api/customers/", {"name": "Late", "email": "late@example.com"}, format="json"
    )

    assert response.status_code == 503
    assert response.json()["code"] == "command_timed_out"
    assert response["Retry-After"] == "1"
    assert (Customer.objects.count(), Event.objects.count()) == before


def test_a_command_held_by_a_frozen_redis_is_refused_not_committed_later(
    admin_api, settings, redis_at, frozen_port
):
    settings.COMMAND_BUDGET_SECONDS = 0.2  # less than the cache's 0.3 s timeout
    redis_at(frozen_port)

    response = admin_api.post(
        "/api/customers/", {"name": "Held", "email": "held@example.com"}, format="json"
    )

    assert response.status_code == 503
    assert response.json()["code"] == "command_timed_out"
    assert not Customer.objects.filter(email="held@example.com").exists()


def test_a_command_run_outside_a_request_has_no_budget(db, settings):
    settings.COMMAND_BUDGET_SECONDS = 0

    customer = services.register_customer(RegisterCustomer(name="Tool", email="tool@example.com"))

    assert Customer.objects.filter(id=customer.id).exists()


@contextmanager
def unreachable(alias: str, port: int) -> Iterator[None]:
    """Make the database `alias` a server on `port` for the connections opened inside."""
    connection = connections[alias]
    saved = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = port
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["PORT"] = saved


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_read_whose_database_is_down_is_a_503_in_the_api_shape(reader_api, dead_port):
    with unreachable(django_settings.READ_DATABASE, dead_port):
        response = reader_api.get("/api/orders/")

    assert response.status_code == 503
    assert set(response.json()) == {"code", "message", "errors"}
    assert response.json()["code"] == "read_side_unavailable"
    assert response["Retry-After"] == "5"


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_frozen_database_is_a_503_within_the_connect_timeout(reader_api, frozen_port):
    started = time.monotonic()
    with unreachable(django_settings.READ_DATABASE, frozen_port):
        response = answered_within(10, lambda: reader_api.get("/api/orders/"))

    assert response.status_code == 503
    assert time.monotonic() - started < 5


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_command_whose_database_is_down_is_a_503_naming_the_write_side(clerk_api, dead_port):
    with unreachable("default", dead_port):
        response = clerk_api.post("/api/orders/", {"customer_id": "x"}, format="json")

    assert response.status_code == 503
    assert response.json()["code"] == "write_side_unavailable"


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_the_admin_says_what_is_down(superuser_client, dead_port):
    with unreachable("default", dead_port):
        response = superuser_client.get("/admin/projections/")

    page = response.content.decode()
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "write database" in page and "down" in page


def test_the_admin_lists_the_dependencies(superuser_client):
    response = superuser_client.get("/admin/dependencies/")

    assert response.status_code == 200
    first = response.context["dependencies"][0]
    assert (first.name, first.up) == ("write database", True)

"""Start-up configuration: the projection mode and the read database are checked when the
settings load, and the router keeps each side's tables in its database."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from orders_read.models import OrderSummary, ProjectionState
from orders_read.routers import ReadSideRouter
from orders_write.models import Order

ROOT = Path(__file__).resolve().parents[1]
POSTGRES = "postgres://postgres@127.0.0.1:5432/orders"
CONFIGURED = {"DATABASE_URL", "READ_DATABASE_URL", "READ_REPLICA_URL", "REDIS_URL"}


def check(**env: str) -> subprocess.CompletedProcess:
    """Run `manage.py check` with these settings (nothing is connected to)."""
    clean = {k: v for k, v in os.environ.items() if k not in CONFIGURED}
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"DATABASE_URL": POSTGRES, "READ_DATABASE_URL": f"{POSTGRES}_read"},
            "PROJECTION_MODE=inline applies the projections inside each command's transaction",
        ),
        ({"PROJECTION_MODE": "async"}, "PROJECTION_MODE=async needs PostgreSQL databases."),
        (
            {"PROJECTION_MODE": "async", "DATABASE_URL": POSTGRES},
            "PROJECTION_MODE=async needs REDIS_URL",
        ),
        ({"PROJECTION_MODE": "later"}, "PROJECTION_MODE must be 'inline' or 'async'."),
        (
            {"DATABASE_URL": POSTGRES, "READ_REPLICA_URL": f"{POSTGRES}_replica"},
            "READ_REPLICA_URL names a streaming replica of the read database",
        ),
    ],
)
def test_a_mismatched_configuration_is_refused_at_start_up(env, message):
    result = check(**env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_a_consistent_async_configuration_starts():
    env = {"PROJECTION_MODE": "async", "DATABASE_URL": POSTGRES, "REDIS_URL": "redis://x:6379/0"}
    result = check(**env, READ_DATABASE_URL=f"{POSTGRES}_read")

    assert result.returncode == 0, result.stderr


def test_the_read_database_may_be_the_write_database_under_another_name():
    assert check(DATABASE_URL=POSTGRES, READ_DATABASE_URL=POSTGRES).returncode == 0


@override_settings(READ_DATABASE="read")
def test_the_router_sends_the_read_side_to_the_read_database():
    router = ReadSideRouter()

    assert router.db_for_read(OrderSummary) == router.db_for_write(ProjectionState) == "read"
    assert router.db_for_read(Order) is None
    assert router.allow_migrate("read", "orders_read") is True
    assert router.allow_migrate("default", "orders_read") is False
    assert router.allow_migrate("read", "orders_write") is False
    assert router.allow_migrate("read", "auth") is False
    assert router.allow_migrate("default", "auth") is True


@override_settings(READ_DATABASE="default")
def test_with_one_database_the_router_leaves_migrations_alone():
    assert ReadSideRouter().allow_migrate("default", "orders_read") is None


SLEEP_IN_A_WEB_PROCESS = """
import time
import config.wsgi  # what gunicorn loads: this process serves web requests
from django.db import OperationalError, connection
started = time.monotonic()
try:
    connection.cursor().execute("SELECT pg_sleep(10)")
except OperationalError as error:
    print(type(error.__cause__).__name__, round(time.monotonic() - started, 1))
"""
SHOW_TIMEOUT = """
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("SHOW statement_timeout")
    print(cursor.fetchone()[0])
"""


def run_python(code: str, *, web: bool = False, **env: str) -> str:
    """Run `code` in a web server's process (as gunicorn loads config.wsgi) or in a
    management command's; return the last line it printed."""
    command = ["-c", code] if web else ["manage.py", "shell", "-v0", "-c", code]
    return (
        subprocess.run(  # noqa: S603 (our own code)
            [sys.executable, *command],
            cwd=ROOT,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )


needs_postgres = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="statement timeouts are PostgreSQL's",
)


@needs_postgres
def test_a_web_request_statement_is_cancelled_at_the_web_timeout():
    printed = run_python(SLEEP_IN_A_WEB_PROCESS, web=True, STATEMENT_TIMEOUT_SECONDS="0.5")

    name, seconds = printed.split()
    assert name == "QueryCanceled"
    assert float(seconds) < 2


@needs_postgres
def test_management_commands_have_a_statement_timeout_of_their_own():
    assert run_python(SHOW_TIMEOUT) == "1h"
    assert run_python(SHOW_TIMEOUT, COMMAND_STATEMENT_TIMEOUT_SECONDS="90") == "90s"


def test_celery_beat_keeps_its_schedule_in_memory_writing_no_file(tmp_path, monkeypatch):
    from celery.beat import Service

    from config.celery import app

    monkeypatch.chdir(tmp_path)

    # As `celery -A config beat` makes it (celery.apps.beat): with the configured scheduler.
    scheduler = Service(app=app, scheduler_cls=app.conf.beat_scheduler).get_scheduler()
    scheduler.sync()
    scheduler.close()

    assert "sweep-projections" in scheduler.schedule
    assert list(tmp_path.iterdir()) == []

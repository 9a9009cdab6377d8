"""Errors are seen: each server error is one log line on stderr with its traceback and the
request's correlation id, which the response and the command's events carry too."""

import json
import logging
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest
from django.core import mail
from django.test import Client

from config.correlation import HEADER, CorrelationIdFilter
from orders_write.models import Event
from tests.conftest import order_body
from tests.failing_urls import FAILURE
from tests.load.server import GUNICORN

ROOT = Path(__file__).resolve().parent.parent
READY_SECONDS = 30


class Records(logging.Handler):
    """Collect the records a logger handles."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def request_records() -> Iterator[list[logging.LogRecord]]:
    handler = Records()
    loggers = [logging.getLogger(name) for name in ("django.request", "django.security")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


def correlation_id_of(record: logging.LogRecord) -> str:
    CorrelationIdFilter().filter(record)
    return record.correlation_id


@pytest.mark.urls("tests.failing_urls")
def test_a_500_is_one_error_record_with_its_traceback_and_correlation_id(db, request_records):
    client = Client(raise_request_exception=False)

    response = client.get("/fail/")

    assert response.status_code == 500
    errors = [r for r in request_records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].exc_info is not None
    assert str(errors[0].exc_info[1]) == FAILURE
    assert correlation_id_of(errors[0]) == response[HEADER]


@pytest.mark.urls("tests.failing_urls")
def test_a_500_mails_the_admins_when_they_are_set(db, settings):
    settings.ADMINS = [("Ops", "ops@example.com")]

    Client(raise_request_exception=False).get("/fail/")

    assert [message.to for message in mail.outbox] == [["ops@example.com"]]


@pytest.mark.urls("tests.failing_urls")
def test_a_500_under_the_api_answers_the_apis_error_shape(db):
    response = Client(raise_request_exception=False).get("/api/fail/")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "server_error"
    assert set(response.json()) == {"code", "message", "errors"}


@pytest.mark.parametrize("logged_in", [True, False], ids=["user", "anonymous"])
def test_an_oversized_body_is_a_400_in_the_error_shape_logged_as_a_warning(
    admin_api, anonymous_api, request_records, settings, logged_in
):
    settings.ADMINS = [("Ops", "ops@example.com")]
    body = json.dumps({"name": "x" * 10_000_000, "email": "big@example.com"})
    api = admin_api if logged_in else anonymous_api

    response = api.post("/api/customers/", body, content_type="application/json")

    if logged_in:
        assert response.status_code == 400
        assert response.json()["code"] == "invalid"
        assert "too large" in response.json()["message"]
    assert {r.levelno for r in request_records} <= {logging.WARNING}
    assert mail.outbox == []


def test_a_projection_behind_is_a_warning_never_mailed(
    admin_api, customer, product, broken_customer_analytics, request_records, settings
):
    settings.ADMINS = [("Ops", "ops@example.com")]
    placed = admin_api.post("/api/orders/", order_body(customer, (product, 1)), format="json")
    broken_customer_analytics()

    response = admin_api.get(
        f"/api/customers/{customer.id}/analytics/", {"min_position": placed.json()["position"]}
    )

    assert response.status_code == 503
    assert [r.levelno for r in request_records] == [logging.WARNING]
    assert mail.outbox == []


def test_every_response_carries_a_new_correlation_id(client, db):
    first, second = client.get("/api/"), client.get("/admin/login/")

    assert uuid.UUID(first[HEADER]) != uuid.UUID(second[HEADER])


def test_a_valid_incoming_correlation_id_is_echoed_and_an_invalid_one_replaced(client, db):
    sent = str(uuid.uuid4())

    echoed = client.get("/api/", headers={HEADER: sent})
    replaced = client.get("/api/", headers={HEADER: "not-a-uuid\x7f"})

    assert echoed[HEADER] == sent
    assert replaced[HEADER] != "not-a-uuid\x7f"
    assert uuid.UUID(replaced[HEADER])


def test_the_schema_documents_the_correlation_id_on_every_operation(client, db):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    operations = [op for path in schema["paths"].values() for op in path.values()]

    for operation in operations:
        assert HEADER in {p["name"] for p in operation.get("parameters", [])}
        for code, response in operation["responses"].items():
            assert response["headers"][HEADER]["schema"]["format"] == "uuid", code


def test_a_commands_events_carry_the_requests_correlation_id(clerk_api, customer, product):
    sent = str(uuid.uuid4())

    response = clerk_api.post(
        "/api/orders/", order_body(customer, (product, 2)), format="json", headers={HEADER: sent}
    )

    assert response.status_code == 201
    assert response[HEADER] == sent
    events = Event.objects.filter(stream_id=response.json()["order_id"])
    assert [e.metadata["correlation_id"] for e in events] == [sent]


def test_a_command_without_an_incoming_id_records_the_one_it_answers(clerk_api, customer, product):
    response = clerk_api.post("/api/orders/", order_body(customer, (product, 1)), format="json")

    event = Event.objects.get(stream_id=response.json()["order_id"])
    assert event.metadata["correlation_id"] == response[HEADER]


def test_a_record_outside_any_request_has_a_dash_for_correlation_id():
    record = logging.LogRecord("orders_read", logging.INFO, __file__, 1, "idle", None, None)

    assert correlation_id_of(record) == "-"


def _settings_of(**env: str) -> subprocess.CompletedProcess:
    code = "from django.conf import settings; print(settings.ADMINS, settings.LOG_LEVEL)"
    return subprocess.run(  # noqa: S603 (our own command)
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_admins_and_the_log_level_come_from_the_environment():
    result = _settings_of(ADMINS="Ops <ops@example.com>, dev@example.com", LOG_LEVEL="warning")

    assert result.returncode == 0, result.stderr
    assert "[('Ops', 'ops@example.com'), ('', 'dev@example.com')] WARNING" in result.stdout


@pytest.mark.parametrize(
    ("name", "value"), [("ADMINS", "Ops, no address"), ("LOG_LEVEL", "verbose")]
)
def test_a_malformed_admins_or_log_level_refuses_to_start(name, value):
    result = _settings_of(**{name: value})

    assert result.returncode != 0
    assert f"ImproperlyConfigured: {name} must be" in result.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, correlation_id: str) -> int:
    request = Request(url, headers={HEADER: correlation_id})  # noqa: S310 (our loopback server)
    try:
        with urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status
    except HTTPError as error:
        return error.code


@pytest.fixture(scope="module")
def production_log(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """Start gunicorn with DEBUG off on the failing URLconf; yield its URL and its log."""
    folder = tmp_path_factory.mktemp("logging")
    port, log_path = _free_port(), folder / "gunicorn.log"
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"LOG_LEVEL", "ADMINS"}},
        "DJANGO_SETTINGS_MODULE": "tests.failing_settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
    }
    command = [*GUNICORN, f"--bind=127.0.0.1:{port}"]
    with log_path.open("wb") as log:
        server = subprocess.Popen(  # noqa: S603 (our own command)
            [*command, "--workers=1", "--log-level=warning"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=log,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_SECONDS
        while _get_or_none(f"{url}/log/") is None:
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError(f"gunicorn did not start:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield url, log_path
    finally:
        server.terminate()
        server.wait(15)


def _get_or_none(url: str) -> int | None:
    try:
        return _get(url, str(uuid.uuid4()))
    except OSError:
        return None


def _lines_after(log_path: Path, *urls_and_ids: tuple[str, str]) -> str:
    """Send each request, then return what the log gained (gunicorn writes it at once)."""
    before = len(log_path.read_text())
    for url, correlation_id in urls_and_ids:
        _get(url, correlation_id)
    time.sleep(0.5)
    return log_path.read_text()[before:]


def test_with_debug_off_a_500_is_one_line_and_its_traceback_on_stderr(production_log):
    url, log_path = production_log
    sent = str(uuid.uuid4())

    logged = _lines_after(log_path, (f"{url}/fail/", sent))

    assert logged.count("Traceback (most recent call last)") == 1, logged
    assert logged.count(FAILURE) == 1, logged
    first = logged.splitlines()[0]
    assert re.search(rf"ERROR \[{sent}\] django\.request: Internal Server Error: /fail/$", first)


def test_with_debug_off_warnings_of_a_request_carry_its_correlation_id(production_log):
    url, log_path = production_log
    logging_id, missing_id = str(uuid.uuid4()), str(uuid.uuid4())

    logged = _lines_after(log_path, (f"{url}/log/", logging_id), (f"{url}/nowhere/", missing_id))

    assert f"WARNING [{logging_id}] orders_write.logging_test: a warning inside" in logged
    assert f"WARNING [{missing_id}] django.request: Not Found: /nowhere/" in logged
    assert "Traceback" not in logged

"""Security: production settings, error pages that leak nothing, throttling, who may call what.

Session writes need a CSRF token: see tests/orders_write/test_api.py
(test_a_session_command_without_a_csrf_token_is_a_403 and its neighbours).
No SQL is built from user input: ruff's flake8-bandit rules ("S", e.g. S608) run in CI.
"""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission, User
from django.core.cache import cache
from django.db import DatabaseError
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from config.urls import API_ROUTES
from tests.conftest import make_viewer, order_body

ROOT = Path(__file__).resolve().parent.parent
LEAKS = ("Traceback", 'File "', "SELECT", "secret_table", "django.db", "/work/", "URLconf")


def production_environment() -> dict[str, str]:
    """Return the environment of a production deploy, with no opt-outs of the HTTPS defaults."""
    opt_outs = {
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
        "SESSION_COOKIE_SECURE",
    }
    environment = {key: value for key, value in os.environ.items() if key not in opt_outs}
    return environment | {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "orders.example.com",
    }


def test_the_deploy_checks_pass_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_production_settings_refuse_to_start_without_a_secret_key():
    environment = production_environment()
    del environment["SECRET_KEY"]

    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_local_settings_serve_plain_http(settings):
    assert not settings.SECURE_SSL_REDIRECT


# --- error responses leak nothing ---


def assert_leaks_nothing(response) -> None:
    body = response.content.decode()
    assert not [leak for leak in LEAKS if leak in body], body


@pytest.fixture
def production_errors(settings, admin_user) -> APIClient:
    """A superuser's client on a server with DEBUG off that answers 500s instead of raising."""
    settings.DEBUG = False
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(admin_user)
    return client


def test_a_database_error_is_a_bare_500(production_errors, order, monkeypatch):
    def fail(*args, **kwargs):
        raise DatabaseError('relation "secret_table" does not exist: SELECT * FROM secret_table')

    monkeypatch.setattr("orders_read.queries.get_order_details", fail)

    response = production_errors.get(f"/api/orders/{order.id}/")

    assert response.status_code == 500
    assert_leaks_nothing(response)


def test_a_failing_command_is_a_bare_500(production_errors, monkeypatch):
    def fail(*args, **kwargs):
        raise DatabaseError("INSERT INTO secret_table failed")

    monkeypatch.setattr("orders_write.services.register_customer", fail)

    response = production_errors.post(
        "/api/customers/", {"name": "Ann", "email": "ann@example.com"}, format="json"
    )

    assert response.status_code == 500
    assert_leaks_nothing(response)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/orders/not-a-uuid/", 404),
        ("/api/orders/00000000-0000-0000-0000-000000000000/", 404),
        ("/api/no-such-thing/", 404),
        ("/no-such-page/", 404),
        ("/api/orders/?date_from=yesterday&min_amount=lots", 400),
    ],
)
def test_bad_requests_leak_nothing(production_errors, path, status):
    response = production_errors.get(path)

    assert response.status_code == status
    assert_leaks_nothing(response)


def test_an_unknown_api_url_is_answered_in_json(production_errors):
    response = production_errors.get("/api/orders/not-a-uuid/")

    assert response.json() == {"code": "not_found", "message": "Not found.", "errors": []}


@pytest.mark.parametrize("raw", ['{"name": "Ann",', "\x00\xff", "[" * 5000])
def test_a_malformed_body_is_a_400_that_leaks_nothing(production_errors, raw):
    response = production_errors.generic(
        "POST", "/api/customers/", raw.encode("utf-8", "surrogatepass"), "application/json"
    )

    assert response.status_code == 400
    assert_leaks_nothing(response)


# --- throttling ---


def test_the_api_is_throttled_by_default(settings):
    throttles = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"]

    assert "config.throttling.AnonRateThrottle" in throttles
    assert "config.throttling.UserRateThrottle" in throttles
    assert set(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]) == {"anon", "user"}


def test_anonymous_requests_beyond_the_rate_get_429(tight_throttle, db):
    client = APIClient()

    statuses = [client.get("/api/schema/").status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]


def test_a_user_beyond_the_rate_gets_429_saying_when_to_retry(tight_throttle, reader_api):
    responses = [reader_api.get("/api/orders/") for _ in range(6)]

    assert [response.status_code for response in responses] == [200] * 5 + [429]
    assert responses[-1].json()["code"] == "throttled"
    assert 0 < int(responses[-1]["Retry-After"]) <= 60


def test_a_users_count_starts_again_when_the_window_ends(tight_throttle, reader_api):
    # given: the limit reached
    for _ in range(5):
        reader_api.get("/api/orders/")
    assert reader_api.get("/api/orders/").status_code == 429

    # when: the window's count expires
    cache.clear()

    # then
    assert reader_api.get("/api/orders/").status_code == 200


# --- the permission matrix: every API path, every method, three kinds of user ---

ROUTE_IDS = {
    "customer": "customer",
    "customer-analytics": "customer",
    "customer-orders": "customer",
    "customer-forget": "customer",
    "customer-export": "customer",
    "product": "product",
    "product-sales": "product",
    "order-detail": "order",
    "order-history": "order",
    "order-status": "order",
}
WRITE_METHODS = {"post", "patch"}
# Reads a viewer may not make: everything held about a customer, in clear.
PRIVILEGED_READS = {"customer-export"}


@pytest.fixture
def permitted_api(db) -> APIClient:
    """A user, not a superuser, with every permission the commands and reads need."""
    user = make_viewer("clerk-all")
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="orders_write",
            codename__in=[
                f"{action}_{model}"
                for action in ("add", "change")
                for model in ("customer", "product", "order")
            ]
            + ["forget_customer", "export_customer"],
        )
    )
    client = APIClient()
    client.force_authenticate(user)
    return client


def _id_of(kind: str, ids: dict) -> dict:
    return {f"{kind}_id": ids[kind]}


@pytest.fixture
def urls(customer, product, order) -> dict[str, str]:
    """The URL of every API route, with real ids where it takes one."""
    ids = {"customer": customer.id, "product": product.id, "order": order.id}
    return {
        name: reverse(name, kwargs=_id_of(ROUTE_IDS[name], ids) if "<" in route else None)
        for route, name, _ in API_ROUTES
    }


@pytest.fixture
def valid_bodies(customer, product) -> dict[str, dict]:
    """A body each command route accepts."""
    return {
        "customers": {"name": "Bo", "email": "bo@example.com"},
        "customer": {"name": "Renamed"},
        "products": {"name": "Lamp", "category": "home", "unit_price": "5.00"},
        "product": {"unit_price": "11.00"},
        "orders": order_body(customer, (product, 1)),
        "order-status": {"status": "confirmed"},
        "customer-forget": {"reason": "Ticket 1"},
    }


ENDPOINTS = [(name, method) for _, name, views in API_ROUTES for method in views]


def call(client: APIClient, method: str, url: str, body: dict | None = None):
    return getattr(client, method)(url, body if method in WRITE_METHODS else None, format="json")


@pytest.mark.parametrize(("name", "method"), ENDPOINTS)
def test_anonymous_users_are_refused_everywhere(anonymous_api, urls, name, method):
    response = call(anonymous_api, method, urls[name], {})

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize(("name", "method"), ENDPOINTS)
def test_a_viewer_may_read_but_not_write(reader_api, urls, valid_bodies, name, method):
    response = call(reader_api, method, urls[name], valid_bodies.get(name))

    refused = method in WRITE_METHODS or name in PRIVILEGED_READS
    expected = (403,) if refused else (200, 404)
    assert response.status_code in expected


@pytest.mark.parametrize(("name", "method"), ENDPOINTS)
def test_a_user_without_permissions_may_neither_read_nor_write(
    nobody_api, urls, valid_bodies, name, method
):
    response = call(nobody_api, method, urls[name], valid_bodies.get(name))

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize(("name", "method"), ENDPOINTS)
def test_a_permitted_user_may_call_every_endpoint(permitted_api, urls, valid_bodies, name, method):
    response = call(permitted_api, method, urls[name], valid_bodies.get(name))

    assert 200 <= response.status_code < 300, response.content


@pytest.mark.parametrize(("name", "method"), [e for e in ENDPOINTS if e[1] in WRITE_METHODS])
def test_a_permitted_user_sending_an_empty_body_gets_400_not_403(permitted_api, urls, name, method):
    response = call(permitted_api, method, urls[name], {})

    assert response.status_code == 400


@pytest.mark.parametrize("name", [name for _, name, _ in API_ROUTES])
@pytest.mark.parametrize("method", ["put", "delete"])
def test_no_endpoint_replaces_or_deletes_anything(admin_api, urls, name, method):
    response = getattr(admin_api, method)(urls[name])

    assert response.status_code == 405


def test_the_matrix_covers_every_api_route():
    routed = {name for _, name, _ in API_ROUTES}

    assert routed == {name for name, _ in ENDPOINTS}
    assert {name for name in routed if name in ROUTE_IDS} == {
        name for route, name, _ in API_ROUTES if "<" in route
    }


# --- the admin ---


@pytest.mark.parametrize(
    "path", ["/admin/", "/admin/orders_write/customer/", "/admin/projections/"]
)
def test_the_admin_sends_a_logged_in_non_staff_user_to_the_login_page(db, path):
    client = Client()
    client.force_login(User.objects.create_user("visitor", password="visitor-pass-123"))

    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_the_admin_lets_staff_in(admin_user):
    client = Client()
    client.force_login(admin_user)

    assert client.get("/admin/").status_code == 200

"""Guessing is slowed: failed admin logins lock out a username and a client address (axes), and
wrong API tokens lock out a client address, for a cool-off period."""

import time
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.test import Client
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.conftest import make_viewer

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"
ORDERS = "/api/orders/"


def log_in(client: Client, username: str, password: str):
    return client.post(LOGIN, {"username": username, "password": password})


def logged_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == "/admin/"


def test_thirty_wrong_passwords_lock_the_admin_out_even_with_the_right_one(client, admin_user):
    failures = [log_in(client, "admin", f"guess-{n}") for n in range(30)]

    response = log_in(client, "admin", "admin-pass-123")

    assert [r.status_code for r in failures[:9]] == [200] * 9  # the form again, with an error
    assert {r.status_code for r in failures[9:]} == {429}  # the 10th failure locks out
    assert response.status_code == 429
    assert int(response["Retry-After"]) == 15 * 60
    page = response.content.decode()
    assert "Too many failed logins. Try again in 15 minutes." in page
    assert "nav-sidebar" not in page  # nobody is logged in to navigate
    assert "_auth_user_id" not in client.session


def test_the_failure_limit_counts_per_client_address_whatever_the_username(client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    User.objects.create_user("clerk", password="clerk-pass-123", is_staff=True)
    for name in ("ann", "bob", "cid"):
        log_in(client, name, "wrong")

    assert log_in(client, "clerk", "clerk-pass-123").status_code == 429
    other_address = Client(REMOTE_ADDR="10.0.0.2")
    assert logged_in(log_in(other_address, "clerk", "clerk-pass-123"))


def test_the_failure_limit_counts_per_username_whatever_the_address(settings, admin_user):
    settings.AXES_FAILURE_LIMIT = 3
    for n in range(3):
        log_in(Client(REMOTE_ADDR=f"10.0.0.{n + 1}"), "admin", "wrong")

    assert log_in(Client(REMOTE_ADDR="10.0.0.9"), "admin", "admin-pass-123").status_code == 429


def test_successful_logins_are_never_locked_out(client, admin_user, settings):
    settings.AXES_FAILURE_LIMIT = 3

    assert all(logged_in(log_in(Client(), "admin", "admin-pass-123")) for _ in range(10))
    assert not AccessAttempt.objects.filter(failures_since_start__gt=0).exists()


def test_the_admin_lists_the_failed_attempts(client, admin_user, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        log_in(Client(REMOTE_ADDR="10.0.0.7"), "mallory", "wrong")
    client.force_login(admin_user)

    response = client.get("/admin/axes/accessattempt/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "mallory" in page and "10.0.0.7" in page


def test_a_lockout_ends_after_the_cool_off(client, admin_user, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(seconds=1)
    for _ in range(2):
        log_in(client, "admin", "wrong")
    assert log_in(client, "admin", "admin-pass-123").status_code == 429

    time.sleep(1.1)

    assert logged_in(log_in(client, "admin", "admin-pass-123"))


# -- API tokens ---------------------------------------------------------------------------------


def token_client(token: str, address: str = "127.0.0.1") -> APIClient:
    client = APIClient(REMOTE_ADDR=address)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.fixture
def valid_token(db) -> str:
    return AuthToken.objects.create(user=make_viewer())[1]


def test_wrong_tokens_from_one_address_are_answered_429_past_the_limit(valid_token, settings):
    settings.AXES_FAILURE_LIMIT = 10
    guesses = [token_client(f"{n:064x}").get(ORDERS) for n in range(10)]

    throttled = token_client("f" * 64).get(ORDERS)
    valid_from_there = token_client(valid_token).get(ORDERS)

    assert {r.status_code for r in guesses} == {401}
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "throttled"
    assert set(throttled.json()) == {"code", "message", "errors"}
    assert 0 < int(throttled["Retry-After"]) <= 15 * 60
    assert valid_from_there.status_code == 429  # so that guessing right tells nothing
    assert token_client(valid_token, address="10.0.0.2").get(ORDERS).status_code == 200


def test_valid_tokens_are_never_throttled_as_failures(valid_token, settings):
    settings.AXES_FAILURE_LIMIT = 3
    client = token_client(valid_token)

    assert {client.get(ORDERS).status_code for _ in range(20)} == {200}


def test_a_token_just_accepted_keeps_working_from_a_locked_out_address(valid_token, settings):
    settings.AXES_FAILURE_LIMIT = 2
    assert token_client(valid_token).get(ORDERS).status_code == 200
    for _ in range(2):
        token_client("0" * 64).get(ORDERS)

    assert token_client("1" * 64).get(ORDERS).status_code == 429
    assert token_client(valid_token).get(ORDERS).status_code == 200  # no guess: no cache read


def test_a_token_lockout_ends_after_the_cool_off(valid_token, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(seconds=1)
    for _ in range(2):
        token_client("0" * 64).get(ORDERS)
    assert token_client(valid_token).get(ORDERS).status_code == 429

    time.sleep(1.1)

    assert token_client(valid_token).get(ORDERS).status_code == 200

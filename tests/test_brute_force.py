"""Guessing is slowed: failed admin logins lock out a username from a client address (axes),
and wrong API tokens from a client address are answered 429 for a cool-off period; right
tokens are always answered. The client address is the one TRUSTED_PROXY_COUNT defines."""

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


def test_wrong_passwords_lock_out_that_username_from_that_address_only(settings, admin_user):
    settings.AXES_FAILURE_LIMIT = 3
    User.objects.create_user("clerk", password="clerk-pass-123", is_staff=True)
    for _ in range(3):
        log_in(Client(REMOTE_ADDR="10.0.0.1"), "admin", "wrong")

    assert log_in(Client(REMOTE_ADDR="10.0.0.1"), "admin", "admin-pass-123").status_code == 429
    assert logged_in(log_in(Client(REMOTE_ADDR="10.0.0.2"), "admin", "admin-pass-123"))
    assert logged_in(log_in(Client(REMOTE_ADDR="10.0.0.1"), "clerk", "clerk-pass-123"))


def test_wrong_passwords_from_many_addresses_lock_no_one_out(settings, admin_user):
    settings.AXES_FAILURE_LIMIT = 3
    for n in range(6):
        log_in(Client(REMOTE_ADDR=f"10.0.0.{n + 1}"), "admin", "wrong")

    assert logged_in(log_in(Client(REMOTE_ADDR="10.0.0.9"), "admin", "admin-pass-123"))


def test_a_claimed_forwarded_address_does_not_escape_a_lockout(settings, admin_user):
    settings.AXES_FAILURE_LIMIT = 3
    for n in range(3):
        log_in(Client(HTTP_X_FORWARDED_FOR=f"10.9.9.{n}"), "admin", "wrong")

    assert (
        log_in(Client(HTTP_X_FORWARDED_FOR="10.9.9.99"), "admin", "admin-pass-123").status_code
        == 429
    )


def test_behind_a_trusted_proxy_the_address_it_saw_is_the_clients(settings, admin_user):
    settings.AXES_FAILURE_LIMIT = 3
    settings.TRUSTED_PROXY_COUNT = 1
    for _ in range(3):
        log_in(Client(HTTP_X_FORWARDED_FOR="6.6.6.6, 10.0.0.5"), "admin", "wrong")

    locked = log_in(Client(HTTP_X_FORWARDED_FOR="7.7.7.7, 10.0.0.5"), "admin", "admin-pass-123")
    other = log_in(Client(HTTP_X_FORWARDED_FOR="6.6.6.6, 10.0.0.6"), "admin", "admin-pass-123")

    assert locked.status_code == 429
    assert logged_in(other)


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

    assert {r.status_code for r in guesses} == {401}
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "throttled"
    assert set(throttled.json()) == {"code", "message", "errors"}
    assert 0 < int(throttled["Retry-After"]) <= 15 * 60
    assert token_client("e" * 64, address="10.0.0.2").get(ORDERS).status_code == 401


def test_a_right_token_is_answered_from_an_address_that_sent_wrong_ones(valid_token, settings):
    settings.AXES_FAILURE_LIMIT = 2
    for n in range(10):
        token_client(f"{n:064x}").get(ORDERS)

    assert token_client("1" * 64).get(ORDERS).status_code == 429
    assert token_client(valid_token).get(ORDERS).status_code == 200


def test_valid_tokens_are_never_throttled_as_failures(valid_token, settings):
    settings.AXES_FAILURE_LIMIT = 3
    client = token_client(valid_token)

    assert {client.get(ORDERS).status_code for _ in range(20)} == {200}


def test_a_claimed_forwarded_address_does_not_escape_the_wrong_token_count(valid_token, settings):
    settings.AXES_FAILURE_LIMIT = 2
    for n in range(3):
        token_client("0" * 64).get(ORDERS, HTTP_X_FORWARDED_FOR=f"10.9.9.{n}")

    wrong = token_client("0" * 64).get(ORDERS, HTTP_X_FORWARDED_FOR="10.9.9.99")

    assert wrong.status_code == 429


def test_wrong_tokens_are_answered_401_again_after_the_cool_off(valid_token, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(seconds=1)
    for _ in range(3):
        token_client("0" * 64).get(ORDERS)
    assert token_client("0" * 64).get(ORDERS).status_code == 429

    time.sleep(1.1)

    assert token_client("0" * 64).get(ORDERS).status_code == 401

"""API tokens: a process remembers a checked token briefly, and forgets it at once when the
token is deleted or its user changes."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from knox.models import AuthToken
from rest_framework.test import APIClient

from config import authentication
from tests.conftest import make_viewer

pytestmark = pytest.mark.django_db

PROJECTIONS = "/api/projections/"


@pytest.fixture
def token_client():
    authentication.forget_remembered_tokens()
    user = make_viewer()
    token, key = AuthToken.objects.create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client, token


def token_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(PROJECTIONS).status_code == 200
    return sum("knox_authtoken" in q["sql"] for q in queries.captured_queries)


def test_a_checked_token_is_not_looked_up_again(token_client):
    client, _ = token_client

    assert token_queries(client) == 1
    assert token_queries(client) == 0


def test_a_deleted_token_is_refused_at_once(token_client):
    client, token = token_client
    assert client.get(PROJECTIONS).status_code == 200

    token.delete()

    assert client.get(PROJECTIONS).status_code in (401, 403)


def test_a_deactivated_user_is_refused_at_once(token_client):
    client, token = token_client
    assert client.get(PROJECTIONS).status_code == 200

    token.user.is_active = False
    token.user.save()

    assert client.get(PROJECTIONS).status_code in (401, 403)


def test_tokens_are_checked_every_time_when_the_cache_is_off(token_client, settings):
    settings.TOKEN_CACHE_SECONDS = 0
    client, _ = token_client

    assert token_queries(client) == 1
    assert token_queries(client) == 1

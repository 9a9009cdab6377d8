"""API tokens: a process remembers a checked token (by its digest) and its user's permissions
briefly, and forgets them at once when the token is deleted or its user or their groups change."""

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


def test_a_process_remembers_tokens_by_digest_never_the_token_itself(token_client):
    client, _ = token_client
    key = client._credentials["HTTP_AUTHORIZATION"].split()[1]

    assert client.get(PROJECTIONS).status_code == 200

    assert key not in authentication._remembered
    assert not any(key in repr(entry) for entry in authentication._remembered.values())


def test_a_remembered_token_brings_its_users_permissions_along(token_client):
    client, _ = token_client
    assert client.get(PROJECTIONS).status_code == 200

    with CaptureQueriesContext(connection) as queries:
        assert client.get(PROJECTIONS).status_code == 200

    assert not [q for q in queries.captured_queries if "auth_permission" in q["sql"]]


def test_a_user_taken_out_of_the_viewer_group_is_refused_at_once(token_client):
    client, token = token_client
    assert client.get(PROJECTIONS).status_code == 200

    token.user.groups.clear()

    assert client.get(PROJECTIONS).status_code == 403

"""API tokens: made by `drf_create_token`, shown once, stored as digests, listed in the admin to
superusers only (without digest), never written to by their use."""

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.conftest import make_viewer

pytestmark = pytest.mark.django_db

ORDERS = "/api/orders/"
TOKENS = "/admin/knox/authtoken/"


def create_token(*args: str) -> str:
    out = StringIO()
    call_command("drf_create_token", *args, stdout=out)
    printed = re.fullmatch(r"Generated token (\w+) for user (\S+)\n", out.getvalue())
    assert printed and printed[2] == args[0], out.getvalue()
    return printed[1]


def token_client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_create_token_prints_a_token_that_reads_the_api():
    make_viewer()

    token = create_token("reader")

    assert len(token) == 64
    response = token_client(token).get(ORDERS)
    assert response.status_code == 200


def test_reset_deletes_the_users_other_tokens():
    make_viewer()
    old = create_token("reader")

    new = create_token("reader", "--reset")

    assert AuthToken.objects.count() == 1
    assert token_client(old).get(ORDERS).status_code == 401
    assert token_client(new).get(ORDERS).status_code == 200


def test_a_token_is_stored_only_as_its_digest():
    make_viewer()

    token = create_token("reader")

    stored = AuthToken.objects.get()
    assert stored.expiry is None
    assert token not in {stored.digest, stored.token_key}
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM knox_authtoken")
        assert not any(token in str(value) for value in cursor.fetchone())


def test_a_token_past_its_expiry_is_refused():
    make_viewer()
    token = create_token("reader", "--expiry-days", "1")
    stored = AuthToken.objects.get()
    assert timedelta(hours=23) < stored.expiry - timezone.now() <= timedelta(days=1)

    AuthToken.objects.filter(pk=stored.pk).update(expiry=timezone.now() - timedelta(seconds=1))

    response = token_client(token).get(ORDERS)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize(
    ("args", "message"),
    [(("ghost",), "No user named 'ghost'"), (("reader", "--expiry-days", "0"), "at least 1")],
)
def test_create_token_refuses_bad_input_and_makes_nothing(args, message):
    make_viewer()

    with pytest.raises(CommandError, match=message):
        create_token(*args)

    assert not AuthToken.objects.exists()


def test_using_a_token_writes_nothing():
    make_viewer()
    client = token_client(create_token("reader", "--expiry-days", "30"))

    with CaptureQueriesContext(connection) as queries:
        assert client.get(ORDERS).status_code == 200
        assert client.get(ORDERS).status_code == 200

    writes = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith("SELECT")]
    assert writes == []


def test_view_only_staff_cannot_see_api_tokens(client, admin_user):
    create_token("admin")
    staff = User.objects.create_user("auditor", password="auditor-pass-123", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__startswith="view_"))
    client.force_login(staff)

    assert client.get(TOKENS).status_code == 403
    assert client.get("/admin/").content.decode().count("knox") == 0
    assert client.get("/admin/authtoken/tokenproxy/").status_code == 404


def test_a_superuser_sees_tokens_without_their_secret(client, admin_user):
    token = create_token("admin")
    stored = AuthToken.objects.get()
    client.force_login(admin_user)

    response = client.get(TOKENS)

    page = response.content.decode()
    assert response.status_code == 200
    assert "admin" in page
    assert token not in page and stored.token_key not in page
    assert "column-digest" not in page and "column-token_key" not in page
    shown = re.sub(r"<[^>]+>", "", page)  # the digest is the row's key, in its URLs only
    assert f"{stored.digest[:8]}\u2026" in shown and stored.digest not in shown
    view = client.get(reverse("admin:knox_authtoken_change", args=[stored.pk])).content.decode()
    assert stored.digest not in re.sub(r"<[^>]+>", "", view) and token not in view
    assert f"{stored.digest[:8]}\u2026 (admin)" in view


def test_a_superuser_makes_a_working_token_in_the_admin_and_sees_it_once(client, admin_user):
    client.force_login(admin_user)
    expiry = timezone.now() + timedelta(days=30)
    form = {"user": admin_user.pk, "expiry_0": f"{expiry:%Y-%m-%d}", "expiry_1": "12:00:00"}

    response = client.post(f"{TOKENS}add/", form)

    assert response.status_code == 200
    token = re.search(r'<code id="new-token"[^>]*>(\w+)</code>', response.content.decode())[1]
    assert token_client(token).get(ORDERS).status_code == 200
    stored = AuthToken.objects.get()
    assert stored.expiry.date() == expiry.date()
    assert token not in client.get(TOKENS).content.decode()
    assert token not in str(client.session.items())


def test_the_schema_declares_the_token_scheme_every_operation_takes():
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()

    scheme = schema["components"]["securitySchemes"]["tokenAuth"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")
    assert '"Token"' in scheme["description"]
    operations = [op for path in schema["paths"].values() for op in path.values()]
    assert all({"tokenAuth": []} in op["security"] for op in operations)

"""The application's PostgreSQL role: it runs every command and read, and may only read and
append the event store, while migrations and rebuilds run as the tables' owner."""

import secrets
from collections.abc import Iterator

import psycopg
import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from psycopg import errors, sql
from rest_framework.test import APIClient

from orders_read.models import OrderSummary
from tests.conftest import ADDRESS, make_customer, make_product

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="roles and grants are PostgreSQL's"
)

# Each is refused to the application's role (none of them goes through the trigger).
FORBIDDEN = [
    "UPDATE events SET version = version",
    "DELETE FROM events",
    "TRUNCATE events",
    "ALTER TABLE events DISABLE TRIGGER events_append_only",
    "DROP TABLE events",
    "SET session_replication_role = replica",
    "DROP TABLE order_summary_view",
    "CREATE TABLE forged (id int)",
    "UPDATE customer_keys SET key = key",
    "TRUNCATE customer_keys",
]


def _as(role: str) -> psycopg.Connection:
    settings = connection.settings_dict
    return psycopg.connect(
        host=settings["HOST"], port=settings["PORT"] or 5432, dbname=settings["NAME"], user=role
    )


@pytest.fixture
def app_role(transactional_db) -> Iterator[str]:
    """A role made by the command (committed, so that its own connections see it)."""
    role = f"orders_app_{secrets.token_hex(4)}"
    call_command("create_app_role", role, verbosity=0)
    try:
        yield role
    finally:
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)).as_string())
            cursor.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)).as_string())


@pytest.fixture
def running_as(app_role: str) -> Iterator[str]:
    """Make Django's own connection log in as the application's role."""
    connection.close()
    owner = connection.settings_dict["USER"]
    connection.settings_dict["USER"] = app_role
    try:
        yield app_role
    finally:
        connection.close()
        connection.settings_dict["USER"] = owner


@postgresql_only
@pytest.mark.parametrize("statement", FORBIDDEN)
def test_the_application_role_cannot_change_the_event_store_or_the_schema(app_role, statement):
    with _as(app_role) as role_connection, pytest.raises(errors.InsufficientPrivilege):
        role_connection.execute(statement)


@postgresql_only
def test_the_application_role_cannot_grant_itself_more(app_role):
    with _as(app_role) as role_connection:
        rights = role_connection.execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles "
            "WHERE rolname = current_user"
        ).fetchone()
        assert rights == (False, False, False, False)
        # PostgreSQL only warns that nothing was granted.
        role_connection.execute(
            sql.SQL("GRANT UPDATE ON events TO {}").format(sql.Identifier(app_role))
        )
        may_update = "SELECT has_table_privilege(current_user, 'events', 'UPDATE')"
        assert role_connection.execute(may_update).fetchone() == (False,)


@postgresql_only
def test_the_application_runs_every_command_and_read_as_its_role(running_as):
    client = APIClient()
    client.force_authenticate(User.objects.create_superuser("root", "r@example.com", "pw-123456"))
    customer = client.post("/api/customers/", {"name": "Ada", "email": "ada@example.com"})
    product = client.post(
        "/api/products/", {"name": "Lamp", "category": "home", "unit_price": "12.50"}
    )
    assert (customer.status_code, product.status_code) == (201, 201)
    order = client.post(
        "/api/orders/",
        {
            "customer_id": customer.json()["customer_id"],
            "items": [{"product_id": product.json()["product_id"], "quantity": 2}],
            "shipping_address": ADDRESS,
            "payment_method": "card",
        },
        format="json",
    )
    assert order.status_code == 201, order.json()
    order_id = order.json()["order_id"]
    for status in ("confirmed", "paid"):
        changed = client.post(f"/api/orders/{order_id}/status/", {"status": status}, format="json")
        assert changed.status_code == 200, changed.json()
    assert client.get(f"/api/orders/{order_id}/").json()["status"] == "paid"
    assert client.get("/api/projections/").status_code == 200
    call_command("catch_up_projections", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == running_as


@postgresql_only
def test_the_application_role_may_only_read_insert_and_delete_customer_keys(app_role):
    with _as(app_role) as role_connection:
        rights = role_connection.execute(
            "SELECT privilege, has_table_privilege(current_user, 'customer_keys', privilege) "
            "FROM unnest(ARRAY['SELECT', 'INSERT', 'DELETE', 'UPDATE', 'TRUNCATE']) AS privilege"
        ).fetchall()
    assert dict(rights) == {
        "SELECT": True,
        "INSERT": True,
        "DELETE": True,
        "UPDATE": False,
        "TRUNCATE": False,
    }


@postgresql_only
def test_the_application_forgets_a_customer_as_its_role(running_as):
    client = APIClient()
    client.force_authenticate(User.objects.create_superuser("root", "r@example.com", "pw-123456"))
    customer_id = client.post(
        "/api/customers/", {"name": "Ada", "email": "ada@example.com"}
    ).json()["customer_id"]

    forgotten = client.post(
        f"/api/customers/{customer_id}/forget/", {"reason": "Ticket 1"}, format="json"
    )

    assert forgotten.status_code == 200, forgotten.json()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM customer_keys WHERE customer_id = %s", [customer_id])
        assert cursor.fetchone()[0] == 0


@postgresql_only
def test_tables_a_rebuild_creates_are_open_to_the_application_role(app_role):
    customer = make_customer()
    make_product()
    call_command("rebuild_projections", "--no-input", verbosity=0)
    with _as(app_role) as role_connection:
        role_connection.execute("SELECT count(*) FROM order_summary_view").fetchone()
        role_connection.execute(
            "DELETE FROM customer_analytics_view WHERE customer_id = %s", [customer.id]
        )


@postgresql_only
def test_rebuild_and_verify_as_the_application_role_say_which_role_to_use(running_as):
    for command, *options in (["rebuild_projections", "--no-input"], ["verify_projections"]):
        with pytest.raises(CommandError, match="the role that owns the tables"):
            call_command(command, *options, verbosity=0)
    assert not OrderSummary.objects.exists()


@postgresql_only
@pytest.mark.django_db
def test_the_sql_it_would_run_keeps_the_event_store_append_only(capsys):
    call_command("create_app_role", "orders_app", "--sql")
    printed = capsys.readouterr().out
    assert 'GRANT SELECT, INSERT ON TABLE "events" TO "orders_app";' in printed
    assert 'REVOKE ALL ON TABLE "events" FROM "orders_app";' in printed
    assert 'GRANT SELECT, INSERT, DELETE ON TABLE "customer_keys" TO "orders_app";' in printed
    assert "NOSUPERUSER" in printed
    assert not _role_exists("orders_app")


@pytest.mark.django_db
def test_the_command_refuses_its_own_role_and_sqlite():
    own = connection.settings_dict["USER"] or "nobody"
    expected = "is the role this command runs as" if connection.vendor == "postgresql" else "SQLite"
    with pytest.raises(CommandError, match=expected):
        call_command("create_app_role", own)
    with pytest.raises(CommandError, match="No database 'elsewhere'"):
        call_command("create_app_role", "orders_app", "--database", "elsewhere")


def _role_exists(role: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        return cursor.fetchone() is not None

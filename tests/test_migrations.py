"""Migrations: the read tables come and go with their app's migrations, on either database,
with the indexes and unique constraints their models declare."""

from datetime import timedelta
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import DatabaseError, connection, models, transaction
from django.utils import timezone

from orders_read.models import OrderSummary, ProductSalesWindow
from orders_write import domain
from orders_write.commands import CommandContext
from orders_write.event_store import load_stream
from orders_write.models import Event
from tests.conftest import make_customer, make_order, make_product, set_status

READ_TABLES = {
    "order_summary_view",
    "order_details_view",
    "order_status_history",
    "customer_analytics_view",
    "product_sales_summary",
    "product_sales_window",
}

# The unmanaged read models: their tables, indexes and constraints exist only because
# orders_read's migrations create them, separately from the Meta that declares them.
READ_MODELS = [m for m in apps.get_app_config("orders_read").get_models() if not m._meta.managed]


@pytest.mark.django_db(transaction=True)
def test_read_tables_are_dropped_and_recreated_by_the_read_apps_migrations():
    call_command("migrate", "orders_read", "zero", verbosity=0)
    assert not READ_TABLES & set(connection.introspection.table_names())

    call_command("migrate", "orders_read", verbosity=0)

    assert set(connection.introspection.table_names()) >= READ_TABLES


def test_read_table_json_columns_are_jsonb_on_postgresql(db):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT data_type FROM information_schema.columns "
            "WHERE table_name = 'order_details_view' AND column_name = 'items'"
        )
        assert cursor.fetchone()[0] == "jsonb"


@pytest.fixture(scope="module")
def migrated_constraints(django_db_setup, django_db_blocker) -> dict[str, dict]:
    """Introspect every read table as a fresh run of orders_read's migrations leaves it.

    Migrated here, not read as found: rebuilding a projection recreates its tables from the
    models, which would hide what the migrations alone create.
    """
    with django_db_blocker.unblock():
        call_command("migrate", "orders_read", "zero", verbosity=0)
        call_command("migrate", "orders_read", verbosity=0)
        with connection.cursor() as cursor:
            return {
                model._meta.db_table: connection.introspection.get_constraints(
                    cursor, model._meta.db_table
                )
                for model in READ_MODELS
            }


def declared_in_meta(model: type[models.Model]) -> dict[str, tuple]:
    """Name -> (kind, columns[, orders]) of each index and unique constraint Meta declares."""
    declared = {}
    for index in model._meta.indexes:
        columns = tuple(model._meta.get_field(name.lstrip("-")).column for name in index.fields)
        orders = tuple("DESC" if name.startswith("-") else "ASC" for name in index.fields)
        declared[index.name] = ("index", columns, orders)
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint):
            columns = tuple(model._meta.get_field(name).column for name in constraint.fields)
            declared[constraint.name] = ("unique", columns)
    return declared


def found_in_database(constraints: dict[str, dict]) -> dict[str, tuple]:
    """The same, for every index and unique constraint the table has besides its primary key."""
    found = {}
    for name, info in constraints.items():
        if info["primary_key"]:
            continue
        if info["unique"]:
            found[name] = ("unique", tuple(info["columns"]))
        elif info["index"]:
            found[name] = ("index", tuple(info["columns"]), tuple(info["orders"]))
    return found


@pytest.mark.parametrize(
    "model",
    [pytest.param(model, id=model.__name__) for model in READ_MODELS],
)
def test_migrations_give_a_read_table_exactly_the_indexes_and_unique_constraints_of_its_model(
    model, migrated_constraints
):
    # given: every index of the table is declared in Meta, where this test compares it
    field_indexes = [
        field.name
        for field in model._meta.local_fields
        if not field.primary_key and (field.db_index or field.unique)
    ]
    assert field_indexes == [], "declare read-table indexes in Meta.indexes / Meta.constraints"
    declared = declared_in_meta(model)

    # when
    created = found_in_database(migrated_constraints[model._meta.db_table])

    # then
    assert created == declared


@pytest.mark.django_db(transaction=True)
def test_migrations_bring_a_populated_database_to_the_rows_a_replay_gives():
    # given: orders over several days, one cancelled, projected before unit_count and the
    # sales windows existed, and stored before the write tables took their current names
    customer = make_customer()
    pen, ink = make_product(name="Pen"), make_product(name="Ink")
    days = [timezone.now() - timedelta(days=n) for n in (40, 12, 3, 0)]
    orders = [
        make_order(customer, [(pen, 2), (ink, 1)], context=CommandContext(occurred_at=day))
        for day in days
    ]
    set_status(orders[2].id, "cancelled")
    call_command("migrate", "orders_read", "0003", verbosity=0)
    call_command("migrate", "orders_write", "0004", verbosity=0)
    assert "product_sales_window" not in connection.introspection.table_names()

    # when
    call_command("migrate", verbosity=0)

    # then: every read table equals a replay (verify raises on any difference)
    call_command("verify_projections", stdout=StringIO())
    summary = OrderSummary.objects.get(order_id=orders[0].id)
    assert (summary.item_count, summary.unit_count) == (2, 3)
    assert ProductSalesWindow.objects.filter(product_id=pen.id).count() == 2
    assert domain.Order.from_events(load_stream(orders[0].id)).version == 1


@pytest.mark.django_db(transaction=True)
def test_the_event_table_stays_append_only_after_its_rename_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    order = make_order(make_customer(), [(make_product(), 1)])
    call_command("migrate", "orders_write", "0004", verbosity=0)
    call_command("migrate", "orders_write", verbosity=0)

    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM events WHERE stream_id = %s", [order.id])
    assert Event.objects.filter(stream_id=order.id).count() == 1


# What the write limits allow the sums to reach (see "Column sizes" in docs/projections.md).
WIDE_COLUMNS = {
    "customer_analytics_view": {"total_orders": "bigint", "total_spent": "numeric(33, 2)"},
    **{
        table: {
            "total_quantity": "bigint",
            "total_orders": "bigint",
            "total_revenue": "numeric(33, 2)",
        }
        for table in ("product_sales_summary", "product_sales_window")
    },
}


def test_migrations_size_the_read_sums_for_the_write_limits(migrated_constraints, db):
    with connection.cursor() as cursor:
        found = {table: column_types(cursor, table) for table in WIDE_COLUMNS}

    assert found == expected_types()


def expected_types() -> dict[str, dict[str, str]]:
    """WIDE_COLUMNS; on SQLite as declared there (decimals without their digits: SQLite
    keeps them as floats whatever the declaration)."""
    if connection.vendor == "postgresql":
        return WIDE_COLUMNS
    declared = {"bigint": "bigint", "numeric(33, 2)": "decimal"}
    return {t: {c: declared[kind] for c, kind in cs.items()} for t, cs in WIDE_COLUMNS.items()}


def column_types(cursor, table: str) -> dict[str, str]:
    """Return the SQL types of the table's WIDE_COLUMNS (unsigned or not)."""
    columns = WIDE_COLUMNS[table]
    if connection.vendor == "postgresql":
        cursor.execute(
            "SELECT column_name, data_type, numeric_precision, numeric_scale "
            "FROM information_schema.columns WHERE table_name = %s",
            [table],
        )
        types = {
            name: f"numeric({digits}, {places})" if kind == "numeric" else kind
            for name, kind, digits, places in cursor.fetchall()
        }
    else:
        description = connection.introspection.get_table_description(cursor, table)
        types = {c.name: c.type_code.lower().removesuffix(" unsigned") for c in description}
    return {name: types[name] for name in columns}

"""Migrations: the read tables come and go with their app's migrations, on either database."""

import pytest
from django.core.management import call_command
from django.db import connection

READ_TABLES = {
    "order_summary_view",
    "order_details_view",
    "order_status_history",
    "customer_analytics_view",
    "product_sales_summary",
}


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

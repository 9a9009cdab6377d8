from django.db import migrations, models

# On SQLite, 0001's add_constraint remade the tables from the migration state, which knows
# nothing of the read tables' indexes, so these were dropped again. Create them where
# missing (on PostgreSQL they all exist), after removing rows that broke the unique keys.
MISSING = {
    "OrderStatusChange": [
        models.Index(fields=["changed_at"], name="history_changed_at_idx"),
        models.UniqueConstraint(fields=["order_id", "version"], name="history_order_version_uniq"),
    ],
    "ProductSales": [
        models.Index(fields=["sale_date"], name="sales_date_idx"),
        models.UniqueConstraint(fields=["product_id", "sale_date"], name="sales_product_day_uniq"),
    ],
    "ProductSaleLine": [
        models.UniqueConstraint(fields=["order_id", "product_id"], name="sales_line_order_uniq"),
    ],
}


def create_missing_keys(apps, schema_editor):
    connection = schema_editor.connection
    for model_name, wanted in MISSING.items():
        model = apps.get_model("orders_read", model_name)
        table = model._meta.db_table
        with connection.cursor() as cursor:
            existing = connection.introspection.get_constraints(cursor, table)
        for index in wanted:
            if index.name in existing:
                continue
            if isinstance(index, models.UniqueConstraint):
                _delete_duplicates(schema_editor, table, index.fields)
            schema_editor.execute(index.create_sql(model, schema_editor))


def _delete_duplicates(schema_editor, table, fields):
    quote = schema_editor.quote_name
    columns = ", ".join(quote(f) for f in fields)
    schema_editor.execute(
        f"DELETE FROM {quote(table)} WHERE id NOT IN "
        f"(SELECT MIN(id) FROM {quote(table)} GROUP BY {columns})"
    )


class Migration(migrations.Migration):
    dependencies = [("orders_read", "0002_projection_states")]

    operations = [migrations.RunPython(create_missing_keys, migrations.RunPython.noop)]

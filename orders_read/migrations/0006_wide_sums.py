"""Sums sized for the write limits: order and unit counters become bigint, money sums
numeric(33, 2), so that no order the commands accept can overflow a read column (see
"Column sizes" in docs/projections.md).

The read tables are unmanaged, so their columns are altered here by hand. SQLite cannot
change a column's type in place: the schema editor remakes the table from the migration
state, which knows nothing of an unmanaged table's indexes, so they are created again.
"""

from django.db import migrations, models

MONEY_SUM_DIGITS = 33

# model -> {field: (old field, new field)}
WIDENED = {
    "CustomerAnalytics": {
        "total_orders": (models.PositiveIntegerField(), models.PositiveBigIntegerField()),
        "total_spent": (
            models.DecimalField(max_digits=16, decimal_places=2),
            models.DecimalField(max_digits=MONEY_SUM_DIGITS, decimal_places=2),
        ),
    },
    **{
        model: {
            "total_quantity": (models.IntegerField(), models.BigIntegerField()),
            "total_orders": (models.IntegerField(), models.BigIntegerField()),
            "total_revenue": (
                models.DecimalField(max_digits=16, decimal_places=2),
                models.DecimalField(max_digits=MONEY_SUM_DIGITS, decimal_places=2),
            ),
        }
        for model in ("ProductSales", "ProductSalesWindow")
    },
}

# The indexes and unique constraints of the remade tables, frozen as of this migration.
KEYS = {
    "CustomerAnalytics": [
        models.Index(fields=["customer_segment"], name="analytics_segment_idx"),
        models.Index(fields=["total_spent"], name="analytics_spent_idx"),
    ],
    "ProductSales": [
        models.Index(fields=["sale_date"], name="sales_date_idx"),
        models.UniqueConstraint(fields=["product_id", "sale_date"], name="sales_product_day_uniq"),
    ],
    "ProductSalesWindow": [
        models.Index(fields=["window_days", "-total_quantity"], name="sales_window_quantity_idx"),
        models.Index(fields=["window_days", "last_day"], name="sales_window_last_day_idx"),
        models.UniqueConstraint(
            fields=["product_id", "window_days"], name="sales_window_product_uniq"
        ),
    ],
}


def widen(apps, schema_editor):
    _alter(apps, schema_editor, wider=True)


def narrow(apps, schema_editor):
    _alter(apps, schema_editor, wider=False)


def _alter(apps, schema_editor, *, wider):
    for model_name, fields in WIDENED.items():
        model = apps.get_model("orders_read", model_name)
        changes = [
            (_bound(old, name, model), _bound(new, name, model))[:: 1 if wider else -1]
            for name, (old, new) in fields.items()
        ]
        if schema_editor.connection.vendor == "sqlite":
            # One remake for all the table's columns: alter_field would remake it from the
            # model once per column, each time undoing the columns altered before.
            schema_editor._remake_table(model, alter_fields=changes)
            _create_missing_keys(model, schema_editor)
        else:
            for before, after in changes:
                schema_editor.alter_field(model, before, after)


def _bound(field, name, model):
    field = field.clone()
    field.set_attributes_from_name(name)
    field.model = model
    return field


def _create_missing_keys(model, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        existing = connection.introspection.get_constraints(cursor, model._meta.db_table)
    for key in KEYS[model.__name__]:
        if key.name not in existing:
            schema_editor.execute(key.create_sql(model, schema_editor))


class Migration(migrations.Migration):
    dependencies = [("orders_read", "0005_product_sales_window")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(widen, narrow)],
            state_operations=[
                migrations.AlterField(model_name=model_name.lower(), name=name, field=new.clone())
                for model_name, fields in WIDENED.items()
                for name, (_, new) in fields.items()
            ],
        ),
    ]

"""order_summary_view: `item_count` becomes the number of order lines, as the tutorial counts
it, and the number of units it held so far moves to the new `unit_count`.

The read tables are unmanaged, so the column is added here by hand; the lines are counted
from each order's details row (its `items`), so a populated database needs no rebuild.
"""

from django.db import migrations, models

ADD_UNIT_COUNT = (
    "ALTER TABLE order_summary_view "
    "ADD COLUMN unit_count integer NOT NULL DEFAULT 0 CHECK (unit_count >= 0)"
)
KEEP_UNITS = "UPDATE order_summary_view SET unit_count = item_count"
COUNT_LINES = {
    "postgresql": """
        UPDATE order_summary_view AS summary SET item_count = jsonb_array_length(details.items)
        FROM order_details_view AS details WHERE details.order_id = summary.order_id
    """,
    "sqlite": """
        UPDATE order_summary_view SET item_count = (
            SELECT json_array_length(details.items) FROM order_details_view AS details
            WHERE details.order_id = order_summary_view.order_id)
        WHERE order_id IN (SELECT order_id FROM order_details_view)
    """,
}
COUNT_UNITS_AGAIN = "UPDATE order_summary_view SET item_count = unit_count"
DROP_UNIT_COUNT = "ALTER TABLE order_summary_view DROP COLUMN unit_count"


def count_lines(apps, schema_editor):
    schema_editor.execute(ADD_UNIT_COUNT)
    schema_editor.execute(KEEP_UNITS)
    schema_editor.execute(COUNT_LINES[schema_editor.connection.vendor])
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE order_summary_view ALTER COLUMN unit_count DROP DEFAULT")


def count_units_again(apps, schema_editor):
    schema_editor.execute(COUNT_UNITS_AGAIN)
    schema_editor.execute(DROP_UNIT_COUNT)


class Migration(migrations.Migration):
    dependencies = [("orders_read", "0003_sqlite_read_table_keys")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="ordersummary",
                    name="unit_count",
                    field=models.PositiveIntegerField(help_text="Units over all lines."),
                ),
                migrations.AlterField(
                    model_name="ordersummary",
                    name="item_count",
                    field=models.PositiveIntegerField(help_text="Order lines."),
                ),
            ],
            database_operations=[migrations.RunPython(count_lines, count_units_again)],
        ),
    ]

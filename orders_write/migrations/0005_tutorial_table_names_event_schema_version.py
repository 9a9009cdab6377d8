"""The write tables take the tutorial's names, the event store is named for what it holds,
and every event records the schema version of its data (1 for every event stored so far)."""

from django.db import migrations, models

# PostgreSQL keeps a trigger on its table through a rename; only its name and its
# function's name still say where they came from.
RENAME_TRIGGER = """
ALTER TRIGGER orders_write_event_append_only ON events RENAME TO events_append_only;
ALTER FUNCTION orders_write_event_is_append_only() RENAME TO events_are_append_only;
"""
RESTORE_TRIGGER = """
ALTER TRIGGER events_append_only ON events RENAME TO orders_write_event_append_only;
ALTER FUNCTION events_are_append_only() RENAME TO orders_write_event_is_append_only;
"""


def rename_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(RENAME_TRIGGER)


def restore_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(RESTORE_TRIGGER)


class Migration(migrations.Migration):
    dependencies = [
        ("orders_write", "0004_event_correlation_idx"),
    ]

    operations = [
        migrations.AddField(
            model_name="event",
            name="schema_version",
            field=models.PositiveSmallIntegerField(db_default=1),
        ),
        migrations.AlterModelTable(name="customer", table="customers"),
        migrations.AlterModelTable(name="product", table="products"),
        migrations.AlterModelTable(name="order", table="orders"),
        migrations.AlterModelTable(name="orderitem", table="order_items"),
        migrations.AlterModelTable(name="event", table="events"),
        migrations.RunPython(rename_trigger, restore_trigger),
    ]

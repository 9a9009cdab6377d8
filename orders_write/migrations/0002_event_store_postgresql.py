"""On PostgreSQL: stamp each event with its transaction id, and refuse UPDATE/DELETE."""

from django.db import migrations

FORWARD = """
ALTER TABLE orders_write_event
    ALTER COLUMN transaction_id SET DEFAULT (pg_current_xact_id()::text::bigint);

CREATE FUNCTION orders_write_event_is_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the event store is append-only: %% is not allowed', TG_OP;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER orders_write_event_append_only
    BEFORE UPDATE OR DELETE ON orders_write_event
    FOR EACH ROW EXECUTE FUNCTION orders_write_event_is_append_only();
"""

BACKWARD = """
DROP TRIGGER orders_write_event_append_only ON orders_write_event;
DROP FUNCTION orders_write_event_is_append_only();
ALTER TABLE orders_write_event ALTER COLUMN transaction_id SET DEFAULT 0;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("orders_write", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]

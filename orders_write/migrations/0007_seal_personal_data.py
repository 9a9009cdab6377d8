"""Bring the events stored before crypto-shredding under it: give every customer a key and
seal the personal fields of their events under it.

This is the one change ever made to stored events, and it must run as the tables' owner:
on PostgreSQL it switches the append-only trigger off for its own transaction (only the
owner may; the application's role may not), rewrites the data of the events that carry
personal fields, and switches the trigger on again before it commits. Running it twice
changes nothing: sealed events are left as they are.
"""

from django.db import migrations
from django.db.models.fields.json import KT

from orders_write.personal_data import (
    PERSONAL_FIELDS,
    SEALED,
    KeyRing,
    new_key,
    open_sealed,
    seal,
)

BATCH = 500
TRIGGER_OFF = "ALTER TABLE events DISABLE TRIGGER events_append_only"
TRIGGER_ON = "ALTER TABLE events ENABLE TRIGGER events_append_only"


def seal_stored_events(apps, schema_editor):
    Event = apps.get_model("orders_write", "Event")
    personal = Event.objects.filter(event_type__in=PERSONAL_FIELDS)
    ring = KeyRing(_give_keys(apps, personal))
    _rewrite(schema_editor, personal, lambda event: seal(event.event_type, event.data, ring))


def open_stored_events(apps, schema_editor):
    """Backwards: put the personal fields back in clear (placeholders once forgotten)."""
    CustomerKey = apps.get_model("orders_write", "CustomerKey")
    Event = apps.get_model("orders_write", "Event")
    keys = {str(pk): bytes(key) for pk, key in CustomerKey.objects.values_list("pk", "key")}
    ring = KeyRing(keys)
    personal = Event.objects.filter(event_type__in=PERSONAL_FIELDS)
    _rewrite(schema_editor, personal, lambda event: open_sealed(event.data, ring))


def _rewrite(schema_editor, events, new_data) -> None:
    """Give each of `events` (sealed or not, as `new_data` wants) its new data."""
    postgresql = schema_editor.connection.vendor == "postgresql"
    if postgresql:
        schema_editor.execute(TRIGGER_OFF)
    changed = []
    for event in events.order_by("position").iterator(chunk_size=BATCH):
        was_sealed = SEALED in event.data
        event.data = new_data(event)
        if was_sealed != (SEALED in event.data):
            changed.append(event)
        if len(changed) == BATCH:
            events.model.objects.bulk_update(changed, ["data"])
            changed = []
    events.model.objects.bulk_update(changed, ["data"])
    if postgresql:
        schema_editor.execute(TRIGGER_ON)


def _give_keys(apps, personal) -> dict[str, bytes]:
    """Create a key for every customer without one; return every customer's key."""
    Customer = apps.get_model("orders_write", "Customer")
    CustomerKey = apps.get_model("orders_write", "CustomerKey")
    ids = {str(pk) for pk in Customer.objects.values_list("pk", flat=True)}
    customer_ids = personal.values_list(KT("data__customer_id"), flat=True).distinct()
    ids |= {str(customer_id) for customer_id in customer_ids}
    keys = {str(pk): bytes(key) for pk, key in CustomerKey.objects.values_list("pk", "key")}
    missing = {customer_id: new_key() for customer_id in ids - keys.keys()}
    CustomerKey.objects.bulk_create(
        CustomerKey(customer_id=customer_id, key=key) for customer_id, key in missing.items()
    )
    return keys | missing


class Migration(migrations.Migration):
    dependencies = [("orders_write", "0006_customer_keys")]

    operations = [migrations.RunPython(seal_stored_events, open_stored_events)]

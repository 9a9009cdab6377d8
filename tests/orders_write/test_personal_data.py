"""Sealing personal fields: one box per event, bound to its customer, opened by their key."""

from uuid import uuid4

import pytest

from orders_write.personal_data import (
    FORGOTTEN_ADDRESS,
    FORGOTTEN_NAME,
    SEALED,
    KeyRing,
    UnreadableEvent,
    new_key,
    open_sealed,
    seal,
)

ADA, BOB = str(uuid4()), str(uuid4())
ADDRESS = {
    "line1": "1 Rue Haute",
    "line2": "",
    "city": "Lyon",
    "postal_code": "69001",
    "country": "FR",
}
CREATED = {
    "order_id": str(uuid4()),
    "customer_id": ADA,
    "customer_name": "Ada Byron",
    "customer_email": "ada@example.org",
    "shipping_address": ADDRESS,
    "billing_address": ADDRESS,
    "total_amount": "12.00",
}


@pytest.fixture
def ring() -> KeyRing:
    return KeyRing({ADA: new_key(), BOB: new_key()})


def test_sealing_keeps_every_other_field_in_clear_and_opening_restores_the_data(ring):
    stored = seal("OrderCreated", dict(CREATED), ring)

    assert set(stored) == {"order_id", "customer_id", "total_amount", SEALED}
    assert "Ada" not in str(stored) and "Lyon" not in str(stored)
    assert open_sealed(stored, ring) == CREATED


def test_events_without_personal_fields_are_stored_as_they_are(ring):
    data = {"order_id": str(uuid4()), "customer_id": ADA, "new_status": "paid"}

    assert seal("OrderStatusUpdated", data, ring) is data


def test_without_the_key_the_fields_open_to_placeholders(ring):
    stored = seal("OrderCreated", dict(CREATED), ring)

    opened = open_sealed(stored, KeyRing({}))

    assert (opened["customer_name"], opened["customer_email"]) == (FORGOTTEN_NAME, "")
    assert opened["shipping_address"] == opened["billing_address"] == FORGOTTEN_ADDRESS
    assert opened["total_amount"] == "12.00"


def test_a_box_moved_to_another_customers_event_does_not_open(ring):
    stored = seal("OrderCreated", dict(CREATED), ring)

    with pytest.raises(UnreadableEvent):
        open_sealed({**stored, "customer_id": BOB}, ring)


def test_a_tampered_box_does_not_open(ring):
    stored = seal(
        "CustomerRegistered", {"customer_id": ADA, "name": "Ada", "email": "a@x.org"}, ring
    )
    box = stored[SEALED]["box"]
    stored[SEALED] = {
        **stored[SEALED],
        "box": box[:-6] + ("A" if box[-6] != "A" else "B") + box[-5:],
    }

    with pytest.raises(UnreadableEvent):
        open_sealed(stored, ring)

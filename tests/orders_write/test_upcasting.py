"""Versioned events: every event records the schema version of its data, and upcasters
bring an older shape to the current one wherever events are read, so history is never
rewritten: the aggregate, catch-up, rebuild and verify all see the current version."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from orders_read.models import OrderDetails
from orders_write import domain, events, upcasting
from orders_write.event_reader import Checkpoint, read_events
from orders_write.event_store import load_stream
from orders_write.models import Event
from tests.conftest import make_customer, make_order, make_product


def test_every_event_records_the_schema_version_of_its_class(db):
    # given
    order = make_order(make_customer(), [(make_product(), 1)])

    # then
    recorded = Event.objects.filter(stream_id=order.id).values_list("event_type", "schema_version")
    assert list(recorded) == [("OrderCreated", events.OrderCreated.schema_version)]
    assert events.OrderCreated.schema_version == 1


def test_upcasters_run_in_order_from_the_stored_version_to_the_current_one(monkeypatch):
    # given: v1 -> v2 renames a field, v2 -> v3 adds one
    monkeypatch.setattr(upcasting, "UPCASTERS", {})
    upcasting.upcaster("Thing", from_version=1)(lambda d: {"title": d["name"]})
    upcasting.upcaster("Thing", from_version=2)(lambda d: {**d, "colour": "blue"})

    # then
    assert upcasting.upcast("Thing", 1, {"name": "x"}) == (3, {"title": "x", "colour": "blue"})
    assert upcasting.upcast("Thing", 3, {"title": "y"}) == (3, {"title": "y"})
    assert upcasting.upcast("Other", 1, {"a": 1}) == (1, {"a": 1})


def test_a_second_upcaster_for_the_same_version_is_refused(monkeypatch):
    monkeypatch.setattr(upcasting, "UPCASTERS", {})
    upcasting.upcaster("Thing", from_version=1)(dict)

    with pytest.raises(ValueError, match="already"):
        upcasting.upcaster("Thing", from_version=1)(dict)


def card_becomes_credit_card(data: dict) -> dict:
    """OrderCreated v1 -> v2: the payment method `card` is called `credit_card` from v2 on."""
    method = data["payment_method"]
    return {**data, "payment_method": "credit_card" if method == "card" else method}


@pytest.fixture
def order_created_v2(monkeypatch):
    """Introduce version 2 of OrderCreated, with its upcaster, as a code change would."""
    monkeypatch.setitem(upcasting.UPCASTERS, ("OrderCreated", 1), card_becomes_credit_card)
    monkeypatch.setattr(events.OrderCreated, "schema_version", 2)
    monkeypatch.setattr(domain, "PAYMENT_METHODS", (*domain.PAYMENT_METHODS, "credit_card"))


@pytest.mark.django_db(transaction=True)
def test_version_1_events_are_seen_as_version_2_by_the_aggregate_rebuild_and_verify(
    request,
):
    # given: an order stored with OrderCreated v1, projected as v1
    order = make_order(make_customer(), [(make_product(), 2)], payment_method="card")
    stored = Event.objects.get(stream_id=order.id, event_type="OrderCreated")
    assert (stored.schema_version, stored.data["payment_method"]) == (1, "card")

    # when: version 2 is introduced
    request.getfixturevalue("order_created_v2")

    # then: the stored event is untouched, and everything that reads it sees version 2
    stored.refresh_from_db()
    assert (stored.schema_version, stored.data["payment_method"]) == (1, "card")

    aggregate = domain.Order.from_events(load_stream(order.id))
    assert aggregate.payment_method == "credit_card"

    read = next(e for e in read_events(Checkpoint.START, limit=100) if e.stream_id == order.id)
    assert (read.schema_version, read.data["payment_method"]) == (2, "credit_card")

    # verify sees v2 in a replay, while the live row still shows what v1 projected
    differences = StringIO()
    with pytest.raises(CommandError):
        call_command("verify_projections", "order_details", stdout=differences)
    assert "credit_card" in differences.getvalue()

    call_command("rebuild_projections", "order_details", "--no-input", stdout=StringIO())
    assert OrderDetails.objects.get(order_id=order.id).payment_method == "credit_card"

    call_command("verify_projections", stdout=StringIO())  # no difference: exits normally

    # and a new order is stored as version 2 directly
    newer = make_order(make_customer(), [(make_product(), 1)], payment_method="credit_card")
    assert Event.objects.get(stream_id=newer.id, event_type="OrderCreated").schema_version == 2

"""The write guard: write-model rows change only through the command services, events never."""

import copy
from collections.abc import Callable

import pytest
from django.db import DatabaseError, connection, transaction

from orders_write.exceptions import InvalidCommand, WriteOutsideService
from orders_write.models import Customer, Event, Order, OrderItem, Product
from orders_write.write_guard import command_service, writes_outside_services
from tests.conftest import make_customer, row_counts

SERVICES_OF = {
    Customer: ("register_customer()", "update_customer()"),
    Product: ("add_product()", "update_product()"),
    Order: ("create_order()", "update_order_status()"),
    OrderItem: ("create_order()",),
}
CHANGE = {
    Customer: {"name": "Changed"},
    Product: {"name": "Changed"},
    Order: {"status": "delivered"},
    OrderItem: {"quantity": 99},
}


def _save(row):
    for name, value in CHANGE[type(row)].items():
        setattr(row, name, value)
    row.save()


def _bulk_update(row):
    for name, value in CHANGE[type(row)].items():
        setattr(row, name, value)
    type(row).objects.bulk_update([row], list(CHANGE[type(row)]))


def _bulk_create(row):
    clone = copy.copy(row)
    clone.pk = None
    type(row).objects.bulk_create([clone])


WRITES: dict[str, Callable] = {
    "save": _save,
    "delete": lambda row: row.delete(),
    "QuerySet.update": lambda row: type(row).objects.filter(pk=row.pk).update(**CHANGE[type(row)]),
    "QuerySet.delete": lambda row: type(row).objects.filter(pk=row.pk).delete(),
    "bulk_create": _bulk_create,
    "bulk_update": _bulk_update,
    "Manager.create": lambda row: type(row).objects.create(),
}


@pytest.fixture
def rows(order) -> dict[type, object]:
    return {
        Customer: order.customer,
        Product: order.items.get().product,
        Order: order,
        OrderItem: order.items.get(),
    }


def snapshot(row) -> dict:
    return type(row).objects.filter(pk=row.pk).values().get()


@pytest.mark.parametrize("write", WRITES, ids=str)
@pytest.mark.parametrize("model", SERVICES_OF, ids=lambda model: model.__name__)
def test_writing_a_write_model_row_outside_a_service_is_refused(rows, model, write):
    row = rows[model]
    before, counts = snapshot(row), row_counts()

    with pytest.raises(WriteOutsideService) as refused:
        WRITES[write](row)

    message = str(refused.value)
    assert model.__name__ in message
    assert all(service in message for service in SERVICES_OF[model])
    assert "orders_write.services" in message
    assert snapshot(row) == before
    assert row_counts() == counts


@pytest.mark.parametrize(
    "write",
    [
        lambda order: order.customer.orders.update(status="delivered"),
        lambda order: order.items.all().delete(),
        lambda order: order.items.create(
            line_number=9, product=order.items.get().product, quantity=1, unit_price=1
        ),
    ],
    ids=["customer.orders.update", "order.items.delete", "order.items.create"],
)
def test_writes_through_related_managers_are_refused_too(order, write):
    counts = row_counts()

    with pytest.raises(WriteOutsideService):
        write(order)

    assert row_counts() == counts
    assert Order.objects.get(pk=order.pk).status == "pending"


def test_a_command_service_may_write_the_write_model(customer):
    @command_service
    def rename_customer() -> None:
        Customer.objects.filter(pk=customer.pk).update(name="Renamed by a service")

    rename_customer()

    assert Customer.objects.get(pk=customer.pk).name == "Renamed by a service"


def test_a_tool_may_write_the_write_model_inside_writes_outside_services(customer):
    with writes_outside_services("test_tool"):
        Customer.objects.filter(pk=customer.pk).update(name="Renamed by a tool")
        customer.email = "moved@example.com"
        customer.save(update_fields=["email"])

    saved = Customer.objects.get(pk=customer.pk)
    assert (saved.name, saved.email) == ("Renamed by a tool", "moved@example.com")


def test_writes_are_refused_again_after_writes_outside_services(customer):
    with writes_outside_services("test_tool"):
        pass

    with pytest.raises(WriteOutsideService):
        Customer.objects.filter(pk=customer.pk).update(name="x")
    assert Customer.objects.get(pk=customer.pk).name != "x"


def test_writes_outside_services_roll_back_together_on_an_error(customer):
    with pytest.raises(RuntimeError), writes_outside_services("test_tool"):
        Customer.objects.filter(pk=customer.pk).update(name="Half-written")
        raise RuntimeError("the tool failed")

    assert Customer.objects.get(pk=customer.pk).name != "Half-written"


def test_writes_outside_services_leave_events_append_only(customer):
    event = Event.objects.get(stream_id=customer.id)

    with pytest.raises(WriteOutsideService, match="append-only"), writes_outside_services("t"):
        Event.objects.filter(pk=event.pk).update(data={})


def test_writes_are_refused_again_after_a_service_failed(db):
    with pytest.raises(InvalidCommand):
        make_customer(name="   ")

    with pytest.raises(WriteOutsideService):
        Customer.objects.all().update(name="x")


# --- the event store is append-only ---


def _replace_event(event: Event) -> None:
    Event(
        position=event.position,
        stream_type=event.stream_type,
        stream_id=event.stream_id,
        version=event.version,
        event_type="Tampered",
        data={},
        metadata={},
        recorded_at=event.recorded_at,
    ).save()


def _upsert_event(event: Event) -> None:
    Event.objects.bulk_create(
        [
            Event(
                position=event.position,
                stream_type=event.stream_type,
                stream_id=event.stream_id,
                version=event.version,
                event_type="Tampered",
                data={},
                metadata={},
            )
        ],
        update_conflicts=True,
        unique_fields=["position"],
        update_fields=["event_type", "data", "metadata"],
    )


def _edit_and_save(event: Event) -> None:
    event.event_type = "Tampered"
    event.save()


def _bulk_update_event(event: Event) -> None:
    event.event_type = "Tampered"
    Event.objects.bulk_update([event], ["event_type"])


EVENT_TAMPERING: dict[str, Callable[[Event], object]] = {
    "save": _edit_and_save,
    "delete": lambda event: event.delete(),
    "QuerySet.update": lambda event: Event.objects.filter(pk=event.pk).update(data={}),
    "QuerySet.delete": lambda event: Event.objects.filter(pk=event.pk).delete(),
    "bulk_update": _bulk_update_event,
    "save a new row over its position": _replace_event,
    "bulk_create with update_conflicts": _upsert_event,
}


@command_service
def run_as_a_service(tamper: Callable[[Event], object], event: Event) -> None:
    tamper(event)


@pytest.mark.parametrize("inside_a_service", [False, True], ids=["outside", "inside a service"])
@pytest.mark.parametrize("tamper", EVENT_TAMPERING, ids=str)
def test_events_are_never_updated_or_deleted(customer, tamper, inside_a_service):
    event = Event.objects.get(stream_id=customer.id)
    before = Event.objects.filter(pk=event.pk).values().get()
    count = Event.objects.count()

    # Where the ORM lets a write through, the database trigger (PostgreSQL) must refuse it.
    with pytest.raises((WriteOutsideService, DatabaseError)), transaction.atomic():
        if inside_a_service:
            run_as_a_service(EVENT_TAMPERING[tamper], event)
        else:
            EVENT_TAMPERING[tamper](event)

    assert Event.objects.filter(pk=event.pk).values().get() == before
    assert Event.objects.count() == count


@pytest.mark.parametrize(
    "tamper",
    ["save", "delete", "QuerySet.update", "QuerySet.delete", "bulk_update"],
)
def test_the_orm_refuses_event_changes_with_an_append_only_message(customer, tamper):
    event = Event.objects.get(stream_id=customer.id)

    with pytest.raises(WriteOutsideService, match="append-only"):
        run_as_a_service(EVENT_TAMPERING[tamper], event)


def test_appending_an_event_outside_a_service_is_refused(customer):
    event = Event.objects.get(stream_id=customer.id)
    count = Event.objects.count()

    with pytest.raises(WriteOutsideService):
        Event.objects.create(
            stream_type="customer",
            stream_id=customer.id,
            version=event.version + 1,
            event_type="CustomerUpdated",
            data={},
            metadata={},
        )

    assert Event.objects.count() == count


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the append-only trigger exists on PostgreSQL"
)
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE events SET event_type = 'Tampered' WHERE position = %s",
        "DELETE FROM events WHERE position = %s",
    ],
    ids=["UPDATE", "DELETE"],
)
def test_raw_sql_cannot_update_or_delete_events_on_postgresql(customer, sql):
    event = Event.objects.get(stream_id=customer.id)
    before = Event.objects.filter(pk=event.pk).values().get()

    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, [event.position])

    assert Event.objects.filter(pk=event.pk).values().get() == before

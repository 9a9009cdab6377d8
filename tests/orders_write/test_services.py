"""Command services: the events they record, the rows they save, and what they refuse."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

import pytest
from django.db.models import Max
from django.dispatch import Signal

from orders_write import domain, services, signals
from orders_write.commands import (
    AddProduct,
    Address,
    CommandContext,
    CreateOrder,
    OrderLine,
    RegisterCustomer,
    UpdateCustomer,
    UpdateOrderStatus,
    UpdateProduct,
)
from orders_write.event_reader import recorded_events
from orders_write.event_store import RecordedEvent, load_stream
from orders_write.exceptions import (
    ConcurrencyConflict,
    IdempotencyConflict,
    InvalidCommand,
    InvalidTransition,
    NotFound,
)
from orders_write.models import Customer, Event, Order, OrderItem, Product
from tests.conftest import (
    ADDRESS,
    make_customer,
    make_order,
    make_product,
    row_counts,
    set_status,
)

pytestmark = pytest.mark.django_db

AT = datetime(2026, 3, 4, 5, 6, 7, 891234, tzinfo=UTC)
AT_IN_EVENTS = "2026-03-04T05:06:07.891Z"
AT_IN_ROWS = AT.replace(microsecond=891000)
ADDRESS_IN_EVENTS = {**ADDRESS, "line2": ""}


@pytest.fixture
def context() -> CommandContext:
    return CommandContext(
        actor="alice", correlation_id=uuid4(), causation_id=uuid4(), occurred_at=AT
    )


def metadata_of(command: str, context: CommandContext) -> dict[str, str]:
    return {
        "actor": "alice",
        "command": command,
        "correlation_id": str(context.correlation_id),
        "causation_id": str(context.causation_id),
    }


def last_position() -> int:
    return Event.objects.aggregate(last=Max("position"))["last"] or 0


def events_after(position: int) -> list[RecordedEvent]:
    return recorded_events(Event.objects.filter(position__gt=position).order_by("position"))


def stored(event: RecordedEvent) -> tuple:
    return (event.stream_type, event.stream_id, event.version, event.event_type, event.data)


@contextmanager
def received(signal: Signal) -> Iterator[list[RecordedEvent]]:
    """Collect the events a signal carries while the block runs."""
    events: list[RecordedEvent] = []

    def receiver(sender: object, event: RecordedEvent, **kwargs: object) -> None:
        events.append(event)

    signal.connect(receiver, weak=False, dispatch_uid="test_services.received")
    try:
        yield events
    finally:
        signal.disconnect(dispatch_uid="test_services.received")


# --- each service records its events and sends its signal ---


def test_register_customer_records_customer_registered_and_sends_its_signal(context):
    before = last_position()

    with received(signals.customer_registered) as sent:
        customer = services.register_customer(
            RegisterCustomer(name="  Ann Lee ", email="Ann@Example.COM"), context=context
        )

    [event] = events_after(before)
    assert stored(event) == (
        "customer",
        customer.id,
        1,
        "CustomerRegistered",
        {"customer_id": str(customer.id), "name": "Ann Lee", "email": "ann@example.com"},
    )
    assert event.metadata == metadata_of("RegisterCustomer", context)
    assert sent == [event]
    row = Customer.objects.get(pk=customer.id)
    assert (row.name, row.email, row.version, row.created_at) == (
        "Ann Lee",
        "ann@example.com",
        1,
        AT_IN_ROWS,
    )


def test_update_customer_records_customer_updated_with_changed_fields(customer, context):
    before = last_position()

    with received(signals.customer_updated) as sent:
        services.update_customer(
            UpdateCustomer(customer_id=customer.id, email="new@example.com"), context=context
        )

    [event] = events_after(before)
    assert stored(event) == (
        "customer",
        customer.id,
        2,
        "CustomerUpdated",
        {
            "customer_id": str(customer.id),
            "name": customer.name,
            "email": "new@example.com",
            "changed_fields": ["email"],
        },
    )
    assert event.metadata == metadata_of("UpdateCustomer", context)
    assert sent == [event]
    row = Customer.objects.get(pk=customer.id)
    assert (row.name, row.email, row.version) == (customer.name, "new@example.com", 2)


def test_add_product_records_product_added_with_a_two_place_price(context):
    before = last_position()

    with received(signals.product_added) as sent:
        product = services.add_product(
            AddProduct(name="Pen", category="office", unit_price=Decimal("12.5")),
            context=context,
        )

    [event] = events_after(before)
    assert stored(event) == (
        "product",
        product.id,
        1,
        "ProductAdded",
        {"product_id": str(product.id), "name": "Pen", "category": "office", "unit_price": "12.50"},
    )
    assert event.metadata == metadata_of("AddProduct", context)
    assert sent == [event]
    row = Product.objects.get(pk=product.id)
    assert (row.name, row.category, row.unit_price, row.version) == (
        "Pen",
        "office",
        Decimal("12.50"),
        1,
    )


def test_update_product_records_product_updated_with_changed_fields(product, context):
    before = last_position()

    with received(signals.product_updated) as sent:
        services.update_product(
            UpdateProduct(product_id=product.id, category="toys", unit_price=Decimal("7.25")),
            context=context,
        )

    [event] = events_after(before)
    assert stored(event) == (
        "product",
        product.id,
        2,
        "ProductUpdated",
        {
            "product_id": str(product.id),
            "name": product.name,
            "category": "toys",
            "unit_price": "7.25",
            "changed_fields": ["category", "unit_price"],
        },
    )
    assert event.metadata == metadata_of("UpdateProduct", context)
    assert sent == [event]
    row = Product.objects.get(pk=product.id)
    assert (row.category, row.unit_price, row.version) == ("toys", Decimal("7.25"), 2)


def test_create_order_records_order_created_with_everything_projections_need(context):
    customer = make_customer(name="Ann", email="ann@example.com")
    pen = make_product(name="Pen", category="office", unit_price="2.50")
    book = make_product(name="Book", category="books", unit_price="12.99")
    before = last_position()

    with received(signals.order_created) as sent:
        order = make_order(
            customer, [(pen, 3), (book, 1)], payment_method="paypal", context=context
        )

    [event] = events_after(before)
    assert stored(event) == (
        "order",
        order.id,
        1,
        "OrderCreated",
        {
            "order_id": str(order.id),
            "customer_id": str(customer.id),
            "customer_name": "Ann",
            "customer_email": "ann@example.com",
            "customer_version": 1,
            "order_date": AT_IN_EVENTS,
            "items": [
                {
                    "product_id": str(pen.id),
                    "product_name": "Pen",
                    "category": "office",
                    "quantity": 3,
                    "unit_price": "2.50",
                    "line_total": "7.50",
                    "product_version": 1,
                },
                {
                    "product_id": str(book.id),
                    "product_name": "Book",
                    "category": "books",
                    "quantity": 1,
                    "unit_price": "12.99",
                    "line_total": "12.99",
                    "product_version": 1,
                },
            ],
            "shipping_address": ADDRESS_IN_EVENTS,
            "billing_address": ADDRESS_IN_EVENTS,
            "payment_method": "paypal",
            "total_amount": "20.49",
            "status": "pending",
        },
    )
    assert sent == [event]
    metadata = dict(event.metadata)
    fingerprint = metadata.pop("command_fingerprint")
    assert metadata == metadata_of("CreateOrder", context)
    assert len(fingerprint) == 64


def test_create_order_saves_a_pending_order_with_its_captured_lines(customer, context):
    pen = make_product(unit_price="2.50")
    book = make_product(unit_price="12.99")

    order = make_order(customer, [(pen, 3), (book, 1)], context=context)

    row = Order.objects.get(pk=order.id)
    assert (row.customer_id, row.status, row.total_amount, row.version, row.order_date) == (
        customer.id,
        "pending",
        Decimal("20.49"),
        1,
        AT_IN_ROWS,
    )
    assert list(row.items.values_list("line_number", "product_id", "quantity", "unit_price")) == [
        (1, pen.id, 3, Decimal("2.50")),
        (2, book.id, 1, Decimal("12.99")),
    ]


def test_update_order_status_records_old_and_new_status_with_who_and_why(order, context):
    before = last_position()

    with received(signals.order_status_updated) as sent:
        services.update_order_status(
            UpdateOrderStatus(order_id=order.id, status="confirmed", reason="paid by phone"),
            context=context,
        )

    [event] = events_after(before)
    assert stored(event) == (
        "order",
        order.id,
        2,
        "OrderStatusUpdated",
        {
            "order_id": str(order.id),
            "customer_id": str(order.customer_id),
            "old_status": "pending",
            "new_status": "confirmed",
            "changed_by": "alice",
            "reason": "paid by phone",
            "changed_at": AT_IN_EVENTS,
        },
    )
    assert event.metadata == metadata_of("UpdateOrderStatus", context)
    assert sent == [event]
    row = Order.objects.get(pk=order.id)
    assert (row.status, row.version, row.updated_at) == ("confirmed", 2, AT_IN_ROWS)


def test_without_a_context_events_are_recorded_as_system_with_fresh_ids(customer):
    before = last_position()

    services.update_customer(UpdateCustomer(customer_id=customer.id, name="Renamed"))

    [event] = events_after(before)
    assert event.metadata["actor"] == "system"
    assert event.metadata["correlation_id"] != event.metadata["causation_id"]


# --- updates that change nothing, and refused updates ---


@pytest.mark.parametrize(
    "change",
    [
        {"name": "same"},
        {"email": "SAME@example.com"},
        {"name": " same ", "email": "same@example.com"},
    ],
    ids=["same name", "same email in other case", "same both"],
)
def test_update_customer_with_no_change_records_nothing(change):
    customer = make_customer(name="same", email="same@example.com")
    counts = row_counts()

    with received(signals.customer_updated) as sent:
        services.update_customer(UpdateCustomer(customer_id=customer.id, **change))

    assert row_counts() == counts
    assert sent == []
    assert Customer.objects.get(pk=customer.id).version == 1


@pytest.mark.parametrize(
    ("service", "command"),
    [
        (services.update_customer, UpdateCustomer(customer_id=uuid4())),
        (services.update_product, UpdateProduct(product_id=uuid4())),
    ],
    ids=["customer", "product"],
)
def test_an_update_that_names_no_field_is_invalid(service, command):
    with pytest.raises(InvalidCommand) as refused:
        service(command)

    assert refused.value.field == "non_field_errors"


def test_update_product_with_no_change_records_nothing():
    product = make_product(name="Pen", category="office", unit_price="2.50")
    counts = row_counts()

    with received(signals.product_updated) as sent:
        services.update_product(
            UpdateProduct(
                product_id=product.id, name="Pen", category="office", unit_price=Decimal("2.5")
            )
        )

    assert row_counts() == counts
    assert sent == []
    assert Product.objects.get(pk=product.id).version == 1


def test_registering_an_email_already_taken_in_any_case_is_refused():
    make_customer(email="ann@example.com")
    counts = row_counts()

    with pytest.raises(InvalidCommand) as refused:
        services.register_customer(RegisterCustomer(name="Other Ann", email="ANN@example.com"))

    assert refused.value.field == "email"
    assert row_counts() == counts


def test_changing_email_to_one_already_taken_is_refused():
    make_customer(email="ann@example.com")
    bob = make_customer(email="bob@example.com")
    counts = row_counts()

    with pytest.raises(InvalidCommand) as refused:
        services.update_customer(UpdateCustomer(customer_id=bob.id, email="ann@example.com"))

    assert refused.value.field == "email"
    assert row_counts() == counts
    assert Customer.objects.get(pk=bob.id).email == "bob@example.com"


@pytest.mark.parametrize(
    ("service", "command"),
    [
        (services.register_customer, RegisterCustomer(name="   ", email="x@example.com")),
        (services.register_customer, RegisterCustomer(name="Ann", email="not-an-email")),
        (services.register_customer, RegisterCustomer(name="A" * 201, email="x@example.com")),
        (services.add_product, AddProduct(name="Pen", category="c", unit_price=Decimal("-0.01"))),
        (services.add_product, AddProduct(name="Pen", category="c", unit_price=Decimal("1.001"))),
        (services.add_product, AddProduct(name="Pen", category="", unit_price=Decimal("1.00"))),
        (services.add_product, AddProduct(name="Pen", category="c", unit_price=Decimal("NaN"))),
    ],
    ids=[
        "blank name",
        "bad email",
        "name too long",
        "negative price",
        "three decimals",
        "blank category",
        "NaN price",
    ],
)
def test_invalid_customer_or_product_is_refused_and_writes_nothing(service, command):
    counts = row_counts()

    with pytest.raises(InvalidCommand):
        service(command)

    assert row_counts() == counts


@pytest.mark.parametrize(
    ("service", "command"),
    [
        (services.update_customer, UpdateCustomer(customer_id=uuid4(), name="X")),
        (services.update_product, UpdateProduct(product_id=uuid4(), name="X")),
    ],
    ids=["customer", "product"],
)
def test_updating_an_unknown_customer_or_product_is_not_found(service, command):
    with pytest.raises(NotFound):
        service(command)


# --- replay gives exactly the saved state ---


@pytest.mark.parametrize(
    "statuses",
    [(), ("confirmed", "paid", "shipped", "delivered"), ("confirmed", "cancelled")],
    ids=["pending", "delivered", "cancelled"],
)
@pytest.mark.parametrize("occurred_at", [None, AT], ids=["now", "given time"])
def test_replaying_an_order_stream_gives_exactly_the_saved_rows(statuses, occurred_at):
    customer = make_customer()
    pen = make_product(unit_price="2.50")
    book = make_product(unit_price="12.99")
    order = make_order(
        customer,
        [(book, 1), (pen, 3)],
        payment_method="bank_transfer",
        context=CommandContext(occurred_at=occurred_at),
    )
    set_status(order.id, *statuses)
    services.update_product(UpdateProduct(product_id=pen.id, unit_price=Decimal("99.00")))

    replayed = domain.Order.from_events(load_stream(order.id))

    row = Order.objects.get(pk=order.id)
    assert (
        replayed.order_id,
        replayed.customer_id,
        replayed.status,
        replayed.total_amount,
        replayed.version,
        replayed.order_date,
        replayed.shipping_address,
        replayed.billing_address,
        replayed.payment_method,
    ) == (
        row.id,
        row.customer_id,
        row.status,
        row.total_amount,
        row.version,
        row.order_date,
        row.shipping_address,
        row.billing_address,
        row.payment_method,
    )
    items = OrderItem.objects.filter(order=row).order_by("line_number")
    assert [(line.product_id, line.quantity, line.unit_price) for line in replayed.lines] == [
        (item.product_id, item.quantity, item.unit_price) for item in items
    ]
    assert replayed.version == 1 + len(statuses)
    assert str(row.total_amount) == "20.49"


def test_an_order_keeps_the_prices_captured_when_it_was_placed(customer):
    pen = make_product(unit_price="2.50")
    order = make_order(customer, [(pen, 2)])

    services.update_product(UpdateProduct(product_id=pen.id, unit_price=Decimal("3.00")))

    row = Order.objects.get(pk=order.id)
    assert row.total_amount == Decimal("5.00")
    assert row.items.get().unit_price == Decimal("2.50")


# --- idempotent creation ---


def test_creating_an_order_again_with_the_same_id_and_body_returns_it_and_writes_nothing(
    customer, product
):
    order_id = uuid4()
    first = make_order(customer, [(product, 2)], order_id=order_id)
    counts = row_counts()

    with received(signals.order_created) as sent:
        again = make_order(customer, [(product, 2)], order_id=order_id)

    assert (again.pk, again.version, again.total_amount) == (first.pk, 1, Decimal("20.00"))
    assert row_counts() == counts
    assert sent == []


def test_resending_an_order_after_its_status_changed_returns_the_current_order(customer, product):
    order_id = uuid4()
    make_order(customer, [(product, 2)], order_id=order_id)
    set_status(order_id, "confirmed")
    counts = row_counts()

    again = make_order(customer, [(product, 2)], order_id=order_id)

    assert (again.pk, again.status, again.version) == (order_id, "confirmed", 2)
    assert row_counts() == counts


@pytest.mark.parametrize(
    "difference",
    ["quantity", "payment_method", "customer", "product", "shipping_address"],
)
def test_same_order_id_with_a_different_body_raises_idempotency_conflict(
    customer, product, difference
):
    order_id = uuid4()
    make_order(customer, [(product, 2)], order_id=order_id)
    other_customer, other_product = make_customer(), make_product()
    command = CreateOrder(
        customer_id=other_customer.id if difference == "customer" else customer.id,
        items=(
            OrderLine(
                other_product.id if difference == "product" else product.id,
                3 if difference == "quantity" else 2,
            ),
        ),
        shipping_address=Address(**{**ADDRESS, "city": "Paris"})
        if difference == "shipping_address"
        else Address(**ADDRESS),
        payment_method="paypal" if difference == "payment_method" else "card",
        order_id=order_id,
    )
    counts = row_counts()

    with pytest.raises(IdempotencyConflict):
        services.create_order(command)

    assert row_counts() == counts


# --- create_order refusals ---


@pytest.mark.parametrize(
    ("problem", "field"),
    [
        ("no items", "items"),
        ("quantity 0", "items"),
        ("negative quantity", "items"),
        ("same product twice", "items"),
        ("unknown product", "items"),
        ("unknown customer", "customer_id"),
        ("unknown payment method", "payment_method"),
        ("blank city", "shipping_address.city"),
    ],
)
def test_invalid_order_is_refused_and_writes_nothing(customer, product, problem, field):
    lines = {
        "no items": (),
        "quantity 0": (OrderLine(product.id, 0),),
        "negative quantity": (OrderLine(product.id, -1),),
        "same product twice": (OrderLine(product.id, 1), OrderLine(product.id, 2)),
        "unknown product": (OrderLine(uuid4(), 1),),
    }.get(problem, (OrderLine(product.id, 1),))
    command = CreateOrder(
        customer_id=uuid4() if problem == "unknown customer" else customer.id,
        items=lines,
        shipping_address=Address(**{**ADDRESS, "city": "  "})
        if problem == "blank city"
        else Address(**ADDRESS),
        payment_method="cheque" if problem == "unknown payment method" else "card",
    )
    counts = row_counts()

    with pytest.raises(InvalidCommand) as refused:
        services.create_order(command)

    assert refused.value.field == field
    assert row_counts() == counts


# --- status changes that are refused ---


def test_a_stale_expected_version_raises_concurrency_conflict_and_writes_nothing(order):
    set_status(order.id, "confirmed")
    counts = row_counts()

    with received(signals.order_status_updated) as sent, pytest.raises(ConcurrencyConflict):
        services.update_order_status(
            UpdateOrderStatus(order_id=order.id, status="paid", expected_version=1)
        )

    assert row_counts() == counts
    assert sent == []
    row = Order.objects.get(pk=order.id)
    assert (row.status, row.version) == ("confirmed", 2)


def test_the_current_expected_version_is_accepted(order):
    updated = services.update_order_status(
        UpdateOrderStatus(order_id=order.id, status="confirmed", expected_version=1)
    )

    assert (updated.status, updated.version) == ("confirmed", 2)


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ((), "paid"),
        ((), "delivered"),
        ((), "pending"),
        (("confirmed",), "shipped"),
        (("confirmed", "paid", "shipped"), "cancelled"),
        (("confirmed", "paid", "shipped", "delivered"), "cancelled"),
        (("cancelled",), "confirmed"),
    ],
)
def test_a_refused_transition_raises_and_writes_nothing(order, path, refused):
    set_status(order.id, *path)
    counts = row_counts()

    with received(signals.order_status_updated) as sent, pytest.raises(InvalidTransition):
        services.update_order_status(UpdateOrderStatus(order_id=order.id, status=refused))

    assert row_counts() == counts
    assert sent == []
    row = Order.objects.get(pk=order.id)
    assert (row.status, row.version) == ((path or ("pending",))[-1], 1 + len(path))


def test_an_unknown_status_is_invalid(order):
    with pytest.raises(InvalidCommand) as refused:
        services.update_order_status(UpdateOrderStatus(order_id=order.id, status="lost"))

    assert refused.value.field == "status"


@pytest.mark.parametrize("target", ["nothing", "a customer"])
def test_changing_the_status_of_something_that_is_not_an_order_is_not_found(customer, target):
    order_id = uuid4() if target == "nothing" else customer.id

    with pytest.raises(NotFound):
        services.update_order_status(UpdateOrderStatus(order_id=order_id, status="confirmed"))

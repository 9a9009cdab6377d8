"""Command services: one function per command, and the only writers of the write model."""

import hashlib
import json
from dataclasses import asdict, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID, uuid4

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import validate_email
from django.utils import timezone

from . import domain
from .commands import (
    AddProduct,
    Address,
    CommandContext,
    CreateOrder,
    ForgetCustomer,
    RegisterCustomer,
    UpdateCustomer,
    UpdateOrderStatus,
    UpdateProduct,
)
from .erasure import erase_traces
from .event_store import Stream, append, begin_writing, begin_writing_and_read
from .events import (
    CustomerForgotten,
    CustomerRegistered,
    CustomerUpdated,
    ProductAdded,
    ProductUpdated,
)
from .exceptions import (
    ConcurrencyConflict,
    ForgottenCustomer,
    IdempotencyConflict,
    InvalidCommand,
    NotFound,
)
from .models import Customer, CustomerKey, Order, OrderItem, Product
from .personal_data import FORGOTTEN_ADDRESS, FORGOTTEN_NAME, KeyRing, create_key, delete_key
from .plain_text import text_error
from .write_guard import command_service

MAX_ORDER_TOTAL = Decimal("999999999999.99")
MAX_UNIT_PRICE = Decimal("9999999999.99")
MAX_QUANTITY = 100_000
MAX_ORDER_LINES = 100


@command_service
def register_customer(
    command: RegisterCustomer, *, context: CommandContext | None = None
) -> Customer:
    """Register a new customer with a unique e-mail address."""
    context = context or CommandContext()
    name = _text(command.name, "name", 200)
    email = _email(command.email)
    begin_writing([])
    _ensure_email_free(email)
    at = _moment(context)
    customer = Customer(name=name, email=email, version=1, created_at=at, updated_at=at)
    customer.save(force_insert=True)
    create_key(customer.id)
    event = CustomerRegistered(customer_id=customer.id, name=name, email=email)
    append([event], after_version=0, metadata=_metadata(command, context))
    return customer


@command_service
def update_customer(command: UpdateCustomer, *, context: CommandContext | None = None) -> Customer:
    """Change a customer's name and/or e-mail address."""
    context = context or CommandContext()
    if command.name is None and command.email is None:
        raise InvalidCommand("Give a new name or email.", field="non_field_errors")
    begin_writing([command.customer_id])
    customer = _living(_get(Customer, command.customer_id, "customer"))
    name = customer.name if command.name is None else _text(command.name, "name", 200)
    email = customer.email if command.email is None else _email(command.email)
    changed = tuple(
        f for f, new in (("name", name), ("email", email)) if getattr(customer, f) != new
    )
    if not changed:
        return customer
    if "email" in changed:
        _ensure_email_free(email, except_id=customer.id)
    _save_new_version(customer, context, name=name, email=email)
    event = CustomerUpdated(customer_id=customer.id, name=name, email=email, changed_fields=changed)
    append([event], after_version=customer.version - 1, metadata=_metadata(command, context))
    return customer


@command_service
def forget_customer(command: ForgetCustomer, *, context: CommandContext | None = None) -> Customer:
    """Forget a customer: delete the key their personal data in events is sealed under, and
    put placeholders in their rows; their orders and every number stay."""
    context = context or CommandContext()
    reason = _text(command.reason, "reason", 500)
    begin_writing([command.customer_id])
    customer = _living(_get(Customer, command.customer_id, "customer"))
    name, email = customer.name, customer.email
    if name.casefold() in reason.casefold() or email in reason.casefold():
        raise InvalidCommand("The reason must not name the customer.", field="reason")
    delete_key(customer.id)
    at = _moment(context)
    _save_new_version(customer, context, name=FORGOTTEN_NAME, email=None, forgotten_at=at)
    Order.objects.filter(customer_id=customer.id).update(
        shipping_address=FORGOTTEN_ADDRESS, billing_address=FORGOTTEN_ADDRESS
    )
    event = CustomerForgotten(customer_id=customer.id, reason=reason)
    append([event], after_version=customer.version - 1, metadata=_metadata(command, context))
    erase_traces(customer, name=name, email=email)
    return customer


@command_service
def add_product(command: AddProduct, *, context: CommandContext | None = None) -> Product:
    """Add a product to the catalogue."""
    context = context or CommandContext()
    name = _text(command.name, "name", 200)
    category = _text(command.category, "category", 100)
    unit_price = _price(command.unit_price)
    begin_writing([])
    at = _moment(context)
    product = Product(
        name=name, category=category, unit_price=unit_price, version=1, created_at=at, updated_at=at
    )
    product.save(force_insert=True)
    event = ProductAdded(
        product_id=product.id, name=name, category=category, unit_price=str(unit_price)
    )
    append([event], after_version=0, metadata=_metadata(command, context))
    return product


@command_service
def update_product(command: UpdateProduct, *, context: CommandContext | None = None) -> Product:
    """Change a product's name, category and/or unit price (existing orders keep theirs)."""
    context = context or CommandContext()
    if command.name is None and command.category is None and command.unit_price is None:
        raise InvalidCommand("Give a new name, category or unit_price.", field="non_field_errors")
    begin_writing([command.product_id])
    product = _get(Product, command.product_id, "product")
    values = {
        "name": product.name if command.name is None else _text(command.name, "name", 200),
        "category": product.category
        if command.category is None
        else _text(command.category, "category", 100),
        "unit_price": product.unit_price
        if command.unit_price is None
        else _price(command.unit_price),
    }
    changed = tuple(f for f, new in values.items() if getattr(product, f) != new)
    if not changed:
        return product
    _save_new_version(product, context, **values)
    event = ProductUpdated(
        product_id=product.id,
        name=values["name"],
        category=values["category"],
        unit_price=str(values["unit_price"]),
        changed_fields=changed,
    )
    append([event], after_version=product.version - 1, metadata=_metadata(command, context))
    return product


@command_service
def create_order(command: CreateOrder, *, context: CommandContext | None = None) -> Order:
    """Place a pending order; re-sending the same `order_id` and body returns the same order."""
    context = context or CommandContext()
    command = _normalized_order(command)
    fingerprint = _fingerprint(command)
    product_ids = [line.product_id for line in command.items]
    # The customer, their key and the products are read in the locks' round trip.
    stream, (customers, keys, products) = begin_writing_and_read(
        [command.order_id, command.customer_id, *product_ids],
        reading=command.order_id,
        reads=[
            Customer.objects.filter(pk=command.customer_id),
            CustomerKey.objects.filter(pk=command.customer_id).values_list("customer_id", "key"),
            Product.objects.filter(pk__in=product_ids),
        ],
    )
    existing = _previous_creation(command.order_id, stream, fingerprint, context.actor)
    if existing is not None:
        return existing
    customer = _living(_found(customers, command.customer_id, "customer", field="customer_id"))
    order = domain.Order.create(
        order_id=command.order_id,
        customer_id=customer.id,
        customer_name=customer.name,
        customer_email=customer.email,
        customer_version=customer.version,
        lines=_priced_lines(command, {product.id: product for product in products}),
        shipping_address=asdict(command.shipping_address),
        billing_address=asdict(command.billing_address),
        payment_method=command.payment_method,
        at=_moment(context),
    )
    if order.total_amount > MAX_ORDER_TOTAL:
        raise InvalidCommand("The order total is too large.", field="items")
    row = _save_order(order)
    metadata = _metadata(command, context) | {"command_fingerprint": fingerprint}
    append(order.pending_events, after_version=0, metadata=metadata, keys=KeyRing.of_rows(keys))
    return row


@command_service
def update_order_status(
    command: UpdateOrderStatus, *, context: CommandContext | None = None
) -> domain.Order:
    """Move an order to a new status under the status rules and optimistic concurrency."""
    context = context or CommandContext()
    if command.status not in domain.STATUSES:
        raise InvalidCommand(f"Unknown status {command.status!r}.", field="status")
    stream = begin_writing([command.order_id], reading=command.order_id)
    history = [(event_type, data) for event_type, data, _ in stream]
    if not history or history[0][0] != "OrderCreated":
        raise NotFound(f"Order {command.order_id} does not exist.")
    order = domain.Order.from_events(history)
    loaded_version = order.version
    if command.expected_version is not None and command.expected_version != loaded_version:
        raise ConcurrencyConflict(
            f"Order is at version {loaded_version}, not {command.expected_version}.",
            field="expected_version",
        )
    reason = _text(command.reason, "reason", 500, required=False)
    at = _moment(context)
    order.change_status(command.status, changed_by=context.actor, reason=reason, at=at)
    saved = Order.objects.filter(pk=order.order_id, version=loaded_version).update(
        status=order.status, version=order.version, updated_at=at
    )
    if not saved:
        raise ConcurrencyConflict("Order was changed by another command; reload and retry.")
    append(order.pending_events, after_version=loaded_version, metadata=_metadata(command, context))
    return order


def _normalized_order(command: CreateOrder) -> CreateOrder:
    if not command.items:
        raise InvalidCommand("An order needs at least one item.", field="items")
    if len(command.items) > MAX_ORDER_LINES:
        raise InvalidCommand(f"An order has at most {MAX_ORDER_LINES} items.", field="items")
    # The tutorial passes ids as text: take them as the UUIDs they spell.
    items = tuple(
        replace(line, product_id=_as_uuid(line.product_id, "items")) for line in command.items
    )
    product_ids = [line.product_id for line in items]
    if len(set(product_ids)) != len(product_ids):
        raise InvalidCommand("Each product may appear only once per order.", field="items")
    if any(not 1 <= line.quantity <= MAX_QUANTITY for line in command.items):
        raise InvalidCommand(f"Quantities must be between 1 and {MAX_QUANTITY}.", field="items")
    if command.payment_method not in domain.PAYMENT_METHODS:
        raise InvalidCommand(
            f"Unknown payment method {command.payment_method!r}.", field="payment_method"
        )
    shipping = _address(command.shipping_address, "shipping_address")
    billing = _address(command.billing_address or shipping, "billing_address")
    return replace(
        command,
        customer_id=_as_uuid(command.customer_id, "customer_id"),
        items=items,
        order_id=_as_uuid(command.order_id, "order_id") if command.order_id else uuid4(),
        shipping_address=shipping,
        billing_address=billing,
    )


def _as_uuid(value: UUID | str, field: str) -> UUID:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError:
        raise InvalidCommand(f"{value!r} is not a valid UUID.", field=field) from None


def _address(address: Address, field: str) -> Address:
    cleaned = {
        name: _text(getattr(address, name), f"{field}.{name}", 200)
        for name in ("line1", "city", "postal_code", "country")
    }
    line2 = _text(address.line2 or "", f"{field}.line2", 200, required=False)
    return Address(**cleaned, line2=line2)


ORDER_ID_UNAVAILABLE = "This order_id cannot be used: send another (or none)."


def _fingerprint(command: CreateOrder) -> str:
    body = {
        "customer_id": command.customer_id,
        "items": [(line.product_id, line.quantity) for line in command.items],
        "shipping_address": asdict(command.shipping_address),
        "billing_address": asdict(command.billing_address),
        "payment_method": command.payment_method,
    }
    canonical = json.dumps(body, cls=DjangoJSONEncoder, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _previous_creation(
    order_id: UUID, stream: Stream, fingerprint: str, actor: str
) -> Order | None:
    """Return the order this command already created, if it did.

    Idempotency belongs to whoever placed the order: to anyone else an `order_id` in use, by
    an order or any other stream, is refused with the same words, which tell nothing of it.
    """
    if not stream:
        return None
    event_type, _, metadata = stream[0]
    if event_type != "OrderCreated" or metadata.get("actor") != actor:
        raise IdempotencyConflict(ORDER_ID_UNAVAILABLE, field="order_id")
    if metadata.get("command_fingerprint") != fingerprint:
        raise IdempotencyConflict(
            f"Order {order_id} already exists with a different request.", field="order_id"
        )
    return Order.objects.get(pk=order_id)


def _priced_lines(command: CreateOrder, products: dict[UUID, Product]) -> list[domain.PricedLine]:
    missing = [str(line.product_id) for line in command.items if line.product_id not in products]
    if missing:
        raise InvalidCommand(f"Unknown product(s): {', '.join(missing)}.", field="items")
    return [
        domain.PricedLine(
            product_id=line.product_id,
            product_name=products[line.product_id].name,
            category=products[line.product_id].category,
            quantity=line.quantity,
            unit_price=products[line.product_id].unit_price,
            product_version=products[line.product_id].version,
        )
        for line in command.items
    ]


def _save_order(order: domain.Order) -> Order:
    row = Order(
        id=order.order_id,
        customer_id=order.customer_id,
        status=order.status,
        total_amount=order.total_amount,
        order_date=order.order_date,
        shipping_address=order.shipping_address,
        billing_address=order.billing_address,
        payment_method=order.payment_method,
        version=order.version,
        updated_at=order.order_date,
    )
    row.save(force_insert=True)
    OrderItem.objects.bulk_create(
        OrderItem(
            order_id=order.order_id,
            line_number=number,
            product_id=line.product_id,
            quantity=line.quantity,
            unit_price=line.unit_price,
        )
        for number, line in enumerate(order.lines, start=1)
    )
    return row


def _save_new_version(row: Customer | Product, context: CommandContext, **values: Any) -> None:
    """Write `values` and bump the version, unless another command got there first."""
    at = _moment(context)
    saved = (
        type(row)
        .objects.filter(pk=row.pk, version=row.version)
        .update(**values, version=row.version + 1, updated_at=at)
    )
    if not saved:
        raise ConcurrencyConflict(f"{type(row).__name__} was changed by another command; retry.")
    for name, value in values.items():
        setattr(row, name, value)
    row.version += 1
    row.updated_at = at


def _get(model: type, pk: UUID, label: str, *, field: str | None = None) -> Any:
    return _found(list(model.objects.filter(pk=pk)[:1]), pk, label, field=field)


def _found(rows: list[Any], pk: UUID, label: str, *, field: str | None = None) -> Any:
    """Return the one row read by primary key, or refuse the command."""
    row = rows[0] if rows else None
    if row is None:
        error = InvalidCommand if field else NotFound
        raise error(f"Unknown {label} {pk}.", field=field)
    return row


def _living(customer: Customer) -> Customer:
    """Return `customer` unless they were forgotten, when nothing new is recorded about them."""
    if customer.forgotten_at is not None:
        raise ForgottenCustomer(
            f"Customer {customer.pk} was forgotten at their request on "
            f"{customer.forgotten_at:%Y-%m-%d}: nothing new can be recorded for them."
        )
    return customer


def _ensure_email_free(email: str, except_id: UUID | None = None) -> None:
    if Customer.objects.filter(email=email).exclude(pk=except_id).exists():
        raise InvalidCommand("A customer with this email already exists.", field="email")


def _text(value: Any, field: str, max_length: int, *, required: bool = True) -> str:
    text = value.strip() if isinstance(value, str) else ""
    error = text_error(text, required=required)
    if error is not None:
        raise InvalidCommand(error.message, field=field)
    if len(text) > max_length:
        raise InvalidCommand(f"Ensure this field has at most {max_length} characters.", field=field)
    return text


def _email(value: Any) -> str:
    # Lower-cased first: some letters grow (U+0130 becomes two code points).
    email = _text(value.lower() if isinstance(value, str) else value, "email", 254)
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidCommand("Enter a valid email address.", field="email") from None
    return email


def _price(value: Any) -> Decimal:
    try:
        price = Decimal(str(value))
    except InvalidOperation:
        raise InvalidCommand("A valid number is required.", field="unit_price") from None
    if not price.is_finite() or price < 0 or price > MAX_UNIT_PRICE:
        raise InvalidCommand("Unit price must be between 0 and 9999999999.99.", field="unit_price")
    if price != price.quantize(domain.CENTS):
        raise InvalidCommand("Unit price has at most 2 decimal places.", field="unit_price")
    return domain.money(price)


def _moment(context: CommandContext) -> datetime:
    # Events store times to the millisecond; the rows keep the same value so replays match.
    at = context.occurred_at or timezone.now()
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def _metadata(command: object, context: CommandContext) -> dict[str, Any]:
    return {
        "actor": context.actor,
        "command": type(command).__name__,
        "correlation_id": str(context.correlation_id),
        "causation_id": str(context.causation_id),
    }

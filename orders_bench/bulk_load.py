"""Load a large, realistic order history in bulk: write-model rows and their events written
together in batches (COPY on PostgreSQL), without signals. Used by the benchmark; the read
side must then be rebuilt from the events.
"""

import random
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from django.db import connection, models
from django.utils import timezone

from orders_bench.demo import status_path
from orders_read.progress import Progress
from orders_read.projections.bulk_copy import copy_rows
from orders_write import domain
from orders_write.event_store import event_row, seal_rows
from orders_write.events import CustomerRegistered, DomainEvent, ProductAdded
from orders_write.models import Customer, CustomerKey, Event, Order, OrderItem, Product
from orders_write.personal_data import new_key
from orders_write.write_guard import writes_outside_services

CATEGORIES = ("books", "electronics", "garden", "kitchen", "office", "toys", "sports", "beauty")
ADDRESS = {"line1": "1 High Street", "city": "Leeds", "postal_code": "LS1", "country": "GB"}


@dataclass
class _Rows:
    """Rows of one batch, by model, in insertion order."""

    by_model: dict[type[models.Model], list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, model: type[models.Model], row: dict[str, Any]) -> None:
        self.by_model.setdefault(model, []).append(row)

    def event(self, event: DomainEvent, version: int, command: str, at: datetime) -> None:
        metadata = {
            "actor": "bulk_load",
            "command": command,
            "correlation_id": str(uuid4()),
            "causation_id": str(uuid4()),
        }
        self.add(Event, event_row(event, version=version, metadata=metadata, recorded_at=at))


def _write_batch(rows: _Rows) -> None:
    # Events last: on PostgreSQL COPY into the event table sets each row's transaction id.
    with writes_outside_services("bulk_load"):
        for model in (CustomerKey, Customer, Product, Order, OrderItem):
            copy_rows(model, rows.by_model.get(model, []))
        copy_rows(Event, seal_rows(rows.by_model.get(Event, [])))


@dataclass
class Catalogue:
    """The customers and products orders are drawn from."""

    customers: list[tuple[UUID, str, str, int]]
    products: list[domain.PricedLine]


def load_history(
    *,
    customers: int,
    products: int,
    orders: int,
    seed: int = 1,
    days: int = 365,
    batch_size: int = 5000,
    catalogue: Catalogue | None = None,
    progress: Progress | None = None,
) -> Catalogue:
    """Add `orders` orders (and the customers and products, unless given) with their events."""
    rnd = random.Random(seed)  # noqa: S311 (benchmark data, not secrets)
    now = timezone.now().replace(microsecond=0)
    if catalogue is None:
        catalogue = _new_catalogue(rnd, customers, products, now)
    done = 0
    for batch in _order_batches(rnd, catalogue, orders, days, now, batch_size):
        _write_batch(batch)
        done += len(batch.by_model[Order])
        if progress:
            progress(done, orders)
    _analyze()
    return catalogue


def _analyze() -> None:
    """Refresh planner statistics after a bulk load (autovacuum would, but later)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in (Customer, Product, Order, OrderItem, Event):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def _new_catalogue(rnd: random.Random, customers: int, products: int, now: datetime) -> Catalogue:
    rows = _Rows()
    people = []
    for number in range(customers):
        customer_id = UUID(int=rnd.getrandbits(128), version=4)
        name, email = f"Customer {number}", f"customer{number}.{customer_id.hex[:8]}@example.com"
        rows.add(Customer, _versioned(id=customer_id, name=name, email=email, at=now))
        rows.add(CustomerKey, {"customer_id": customer_id, "key": new_key()})
        rows.event(CustomerRegistered(customer_id, name, email), 1, "RegisterCustomer", now)
        people.append((customer_id, name, email, 1))
    lines = []
    for number in range(products):
        product_id = UUID(int=rnd.getrandbits(128), version=4)
        category = CATEGORIES[number % len(CATEGORIES)]
        price = Decimal(rnd.randrange(199, 19999)) / 100
        name = f"Product {number}"
        rows.add(
            Product,
            _versioned(id=product_id, name=name, category=category, unit_price=price, at=now),
        )
        rows.event(ProductAdded(product_id, name, category, str(price)), 1, "AddProduct", now)
        lines.append(domain.PricedLine(product_id, name, category, 1, price))
    _write_batch(rows)
    return Catalogue(people, lines)


def _versioned(*, at: datetime, **values: Any) -> dict[str, Any]:
    return {**values, "version": 1, "created_at": at, "updated_at": at}


def _order_batches(
    rnd: random.Random, catalogue: Catalogue, count: int, days: int, now: datetime, size: int
) -> Iterator[_Rows]:
    rows = _Rows()
    start, step = now - timedelta(days=days), days * 86400 / max(count, 1)
    for number in range(1, count + 1):
        # Orders arrive in time order, as they would in a real store.
        placed = start + timedelta(seconds=(number - rnd.random()) * step)
        _add_order(rows, rnd, catalogue, placed, now)
        if number % size == 0 or number == count:
            yield rows
            rows = _Rows()


def _add_order(
    rows: _Rows, rnd: random.Random, catalogue: Catalogue, placed: datetime, now: datetime
) -> None:
    customer_id, name, email, version = rnd.choice(catalogue.customers)
    picked = rnd.sample(catalogue.products, k=rnd.choice([1, 1, 2, 2, 3, 4]))
    lines = [replace(p, quantity=rnd.choice([1, 1, 2, 3])) for p in picked]
    order = domain.Order.create(
        order_id=UUID(int=rnd.getrandbits(128), version=4),
        customer_id=customer_id,
        customer_name=name,
        customer_email=email,
        customer_version=version,
        lines=lines,
        shipping_address=ADDRESS,
        billing_address=ADDRESS,
        payment_method=rnd.choice(domain.PAYMENT_METHODS),
        at=placed.replace(microsecond=0),
    )
    for step, status in enumerate(status_path(rnd), start=1):
        at = min(placed + timedelta(hours=step * rnd.uniform(2, 30)), now)
        order.change_status(status, changed_by="bulk_load", reason="", at=at.replace(microsecond=0))
    for version, event in enumerate(order.pending_events, start=1):
        command = "CreateOrder" if version == 1 else "UpdateOrderStatus"
        rows.event(event, version, command, placed)
    rows.add(
        Order,
        {
            "id": order.order_id,
            "customer_id": customer_id,
            "status": order.status,
            "total_amount": order.total_amount,
            "order_date": order.order_date,
            "shipping_address": ADDRESS,
            "billing_address": ADDRESS,
            "payment_method": order.payment_method,
            "version": order.version,
            "updated_at": order.order_date,
        },
    )
    for number, line in enumerate(order.lines, start=1):
        rows.add(
            OrderItem,
            {
                "order_id": order.order_id,
                "line_number": number,
                "product_id": line.product_id,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
            },
        )

"""Event payloads: past-tense facts, each with the data every projection needs."""

import json
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from django.core.serializers.json import DjangoJSONEncoder


@dataclass(frozen=True)
class DomainEvent:
    """Base of every event; `data()` is the JSON stored in the event store."""

    stream_type: ClassVar[str]
    # The shape of `data()`: raise it by one, with an upcaster from the old shape
    # (upcasting.py), whenever the fields change.
    schema_version: ClassVar[int] = 1

    @property
    def event_type(self) -> str:
        return type(self).__name__

    @property
    def stream_id(self) -> UUID:
        raise NotImplementedError

    def data(self) -> dict[str, Any]:
        """Return the payload as JSON-ready data (decimals and ids as strings)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return json.loads(json.dumps(values, cls=DjangoJSONEncoder))


@dataclass(frozen=True)
class CustomerEvent(DomainEvent):
    stream_type: ClassVar[str] = "customer"
    customer_id: UUID

    @property
    def stream_id(self) -> UUID:
        return self.customer_id


@dataclass(frozen=True)
class CustomerRegistered(CustomerEvent):
    name: str
    email: str


@dataclass(frozen=True)
class CustomerUpdated(CustomerEvent):
    name: str
    email: str
    changed_fields: tuple[str, ...]


@dataclass(frozen=True)
class CustomerForgotten(CustomerEvent):
    """The customer's key was deleted: their personal data reads as placeholders from now on
    (the reason is the operator's, about the request, never about the person)."""

    reason: str


@dataclass(frozen=True)
class ProductEvent(DomainEvent):
    stream_type: ClassVar[str] = "product"
    product_id: UUID

    @property
    def stream_id(self) -> UUID:
        return self.product_id


@dataclass(frozen=True)
class ProductAdded(ProductEvent):
    name: str
    category: str
    unit_price: str


@dataclass(frozen=True)
class ProductUpdated(ProductEvent):
    name: str
    category: str
    unit_price: str
    changed_fields: tuple[str, ...]


@dataclass(frozen=True)
class OrderEvent(DomainEvent):
    stream_type: ClassVar[str] = "order"
    order_id: UUID

    @property
    def stream_id(self) -> UUID:
        return self.order_id


@dataclass(frozen=True)
class OrderCreated(OrderEvent):
    customer_id: UUID
    customer_name: str
    customer_email: str
    customer_version: int
    order_date: datetime
    items: tuple[dict[str, Any], ...]
    shipping_address: dict[str, str]
    billing_address: dict[str, str]
    payment_method: str
    total_amount: str
    status: str


@dataclass(frozen=True)
class OrderStatusUpdated(OrderEvent):
    customer_id: UUID
    old_status: str
    new_status: str
    changed_by: str
    reason: str
    changed_at: datetime

"""Commands: immutable requests to change the write model, one per intent."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from uuid import UUID, uuid4


@dataclass(frozen=True)
class CommandContext:
    """Who sends a command, when, and which flow it belongs to (recorded as event metadata)."""

    actor: str = "system"
    correlation_id: UUID = field(default_factory=uuid4)
    causation_id: UUID = field(default_factory=uuid4)
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class RegisterCustomer:
    name: str
    email: str


@dataclass(frozen=True)
class UpdateCustomer:
    customer_id: UUID
    name: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class ForgetCustomer:
    customer_id: UUID
    reason: str


@dataclass(frozen=True)
class AddProduct:
    name: str
    category: str
    unit_price: Decimal


@dataclass(frozen=True)
class UpdateProduct:
    product_id: UUID
    name: str | None = None
    category: str | None = None
    unit_price: Decimal | None = None


@dataclass(frozen=True)
class Address:
    line1: str
    city: str
    postal_code: str
    country: str
    line2: str = ""


@dataclass(frozen=True)
class OrderLine:
    product_id: UUID
    quantity: int


@dataclass(frozen=True)
class CreateOrder:
    customer_id: UUID
    items: tuple[OrderLine, ...]
    shipping_address: Address
    payment_method: str
    billing_address: Address | None = None
    order_id: UUID | None = None


@dataclass(frozen=True)
class UpdateOrderStatus:
    order_id: UUID
    status: str
    reason: str = ""
    expected_version: int | None = None

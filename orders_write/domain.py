"""The Order aggregate and the status rules: state changes only by applying events."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from .events import OrderCreated, OrderEvent, OrderStatusUpdated
from .exceptions import InvalidTransition

CENTS = Decimal("0.01")

PENDING, CONFIRMED, PAID, SHIPPED, DELIVERED, CANCELLED = (
    "pending",
    "confirmed",
    "paid",
    "shipped",
    "delivered",
    "cancelled",
)
STATUSES = (PENDING, CONFIRMED, PAID, SHIPPED, DELIVERED, CANCELLED)
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    PENDING: frozenset({CONFIRMED, CANCELLED}),
    CONFIRMED: frozenset({PAID, CANCELLED}),
    PAID: frozenset({SHIPPED, CANCELLED}),
    SHIPPED: frozenset({DELIVERED}),
    DELIVERED: frozenset(),
    CANCELLED: frozenset(),
}
PAYMENT_METHODS = ("card", "paypal", "bank_transfer", "cash_on_delivery")


def money(value: Decimal | str | int) -> Decimal:
    """Return `value` as a Decimal with exactly two places, never -0.00."""
    amount = Decimal(value).quantize(CENTS)
    return amount.copy_abs() if amount.is_zero() else amount


def can_transition(old: str, new: str) -> bool:
    """Tell whether the status rules allow moving from `old` to `new`."""
    return new in ALLOWED_TRANSITIONS.get(old, frozenset())


@dataclass(frozen=True)
class PricedLine:
    """An order line with the product facts captured at order time."""

    product_id: UUID
    product_name: str
    category: str
    quantity: int
    unit_price: Decimal
    product_version: int = 1

    @property
    def line_total(self) -> Decimal:
        return money(self.unit_price * self.quantity)

    def data(self) -> dict[str, Any]:
        return {
            "product_id": str(self.product_id),
            "product_name": self.product_name,
            "category": self.category,
            "quantity": self.quantity,
            "unit_price": str(money(self.unit_price)),
            "line_total": str(self.line_total),
            "product_version": self.product_version,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> "PricedLine":
        return cls(
            product_id=UUID(data["product_id"]),
            product_name=data["product_name"],
            category=data["category"],
            quantity=int(data["quantity"]),
            unit_price=money(data["unit_price"]),
            product_version=int(data["product_version"]),
        )


@dataclass
class Order:
    """The order aggregate, rebuilt from its events and changed by recording new ones."""

    order_id: UUID | None = None
    customer_id: UUID | None = None
    status: str = ""
    order_date: datetime | None = None
    lines: list[PricedLine] = field(default_factory=list)
    shipping_address: dict[str, str] = field(default_factory=dict)
    billing_address: dict[str, str] = field(default_factory=dict)
    payment_method: str = ""
    total_amount: Decimal = Decimal("0.00")
    version: int = 0
    pending_events: list[OrderEvent] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def create(
        cls,
        *,
        order_id: UUID,
        customer_id: UUID,
        customer_name: str,
        customer_email: str,
        customer_version: int,
        lines: list[PricedLine],
        shipping_address: dict[str, str],
        billing_address: dict[str, str],
        payment_method: str,
        at: datetime,
    ) -> "Order":
        """Start a new pending order from priced lines."""
        order = cls()
        order._record(
            OrderCreated(
                order_id=order_id,
                customer_id=customer_id,
                customer_name=customer_name,
                customer_email=customer_email,
                customer_version=customer_version,
                order_date=at,
                items=tuple(line.data() for line in lines),
                shipping_address=shipping_address,
                billing_address=billing_address,
                payment_method=payment_method,
                total_amount=str(money(sum((line.line_total for line in lines), Decimal(0)))),
                status=PENDING,
            )
        )
        return order

    @classmethod
    def from_events(cls, events: list[tuple[str, dict[str, Any]]]) -> "Order":
        """Rebuild an order by applying its stored events in order."""
        order = cls()
        for event_type, data in events:
            order.apply(event_type, data)
        return order

    def change_status(self, new_status: str, *, changed_by: str, reason: str, at: datetime) -> None:
        """Move to `new_status` if the status rules allow it."""
        if not can_transition(self.status, new_status):
            raise InvalidTransition(
                f"An order cannot go from {self.status!r} to {new_status!r}.", field="status"
            )
        self._record(
            OrderStatusUpdated(
                order_id=self.order_id,
                customer_id=self.customer_id,
                old_status=self.status,
                new_status=new_status,
                changed_by=changed_by,
                reason=reason,
                changed_at=at,
            )
        )

    def apply(self, event_type: str, data: dict[str, Any]) -> None:
        """Change state by one event; used for new events and for replay alike."""
        if event_type == "OrderCreated":
            self._apply_created(data)
        elif event_type == "OrderStatusUpdated":
            self.status = data["new_status"]
        else:
            raise ValueError(f"Order cannot apply {event_type}")
        self.version += 1

    def _apply_created(self, data: dict[str, Any]) -> None:
        self.order_id = UUID(data["order_id"])
        self.customer_id = UUID(data["customer_id"])
        self.status = data["status"]
        self.order_date = datetime.fromisoformat(data["order_date"])
        self.lines = [PricedLine.from_data(item) for item in data["items"]]
        self.shipping_address = data["shipping_address"]
        self.billing_address = data["billing_address"]
        self.payment_method = data["payment_method"]
        self.total_amount = money(data["total_amount"])

    def _record(self, event: OrderEvent) -> None:
        self.apply(event.event_type, event.data())
        self.pending_events.append(event)

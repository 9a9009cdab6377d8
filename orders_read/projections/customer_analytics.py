"""customer_analytics_view: one row per customer with totals over their counted orders, and
the ledger of what each order added (customer_analytics_orders), so that cancelling an order
takes its amounts out exactly once."""

from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from orders_write.domain import CANCELLED
from orders_write.event_store import RecordedEvent
from orders_write.events import (
    CustomerForgotten,
    CustomerRegistered,
    CustomerUpdated,
    OrderCreated,
    OrderStatusUpdated,
)
from orders_write.personal_data import FORGOTTEN_EMAIL, FORGOTTEN_NAME

from ..models import CustomerAnalytics, CustomerOrderContribution
from .rows import Need, Projection, Row, RowStore, Table, group, key, stream_row
from .values import moment, uuid

CENTS = Decimal("0.01")
VIP_SPENDING = Decimal("1000.00")

ANALYTICS = Table(CustomerAnalytics, key=("customer_id",), shared=True)
CONTRIBUTIONS = Table(CustomerOrderContribution, key=("order_id",), group_by="customer_id")


def analytics_row(event: RecordedEvent) -> dict[str, Any]:
    """Return the row a CustomerRegistered starts."""
    return {
        "customer_id": event.stream_id,
        "customer_name": event.data["name"],
        "customer_email": event.data["email"],
        "total_orders": 0,
        "total_spent": Decimal("0.00"),
        "average_order_value": Decimal("0.00"),
        "favorite_category": "",
        "category_units": {},
        "last_order_date": None,
        "customer_segment": "new",
        "version": event.version,
    }


def contribution_row(event: RecordedEvent) -> dict[str, Any]:
    """Return what an OrderCreated adds to its customer's analytics."""
    data = event.data
    units: Counter[str] = Counter()
    for item in data["items"]:
        units[item["category"]] += item["quantity"]
    return {
        "order_id": event.stream_id,
        "customer_id": uuid(data["customer_id"]),
        "order_date": moment(data["order_date"]),
        "total_amount": Decimal(data["total_amount"]),
        "category_units": dict(units),
        "counted": True,
    }


def favorite_category(category_units: dict[str, int]) -> str:
    """Return the category with the most units, ties broken alphabetically ('' if none)."""
    counted = [(-units, category) for category, units in category_units.items() if units > 0]
    return min(counted)[1] if counted else ""


def customer_segment(counted_orders: int, total_spent: Decimal) -> str:
    """Classify a customer: new (at most 1 order), vip (spent at least 1000.00), regular."""
    if counted_orders <= 1:
        return "new"
    return "vip" if total_spent >= VIP_SPENDING else "regular"


def add_customer_to_analytics(event: RecordedEvent, rows: RowStore) -> None:
    rows.add(ANALYTICS, analytics_row(event))


def update_customer_in_analytics(event: RecordedEvent, rows: RowStore) -> None:
    rows.change_if_newer(
        ANALYTICS,
        rows.get(ANALYTICS, event.stream_id),
        event.version,
        customer_name=event.data["name"],
        customer_email=event.data["email"],
    )


def forget_customer_in_analytics(event: RecordedEvent, rows: RowStore) -> None:
    rows.change_if_newer(
        ANALYTICS,
        rows.get(ANALYTICS, event.stream_id),
        event.version,
        customer_name=FORGOTTEN_NAME,
        customer_email=FORGOTTEN_EMAIL,
    )


def count_order_in_analytics(event: RecordedEvent, rows: RowStore) -> None:
    contribution = contribution_row(event)
    if not rows.add(CONTRIBUTIONS, contribution):
        return
    analytics = rows.get(ANALYTICS, contribution["customer_id"])
    units = dict(analytics["category_units"])
    for category, n in contribution["category_units"].items():
        units[category] = units.get(category, 0) + n
    dates = [analytics["last_order_date"], contribution["order_date"]]
    _change_totals(
        rows,
        analytics,
        orders=analytics["total_orders"] + 1,
        spent=analytics["total_spent"] + contribution["total_amount"],
        category_units=units,
        last_order_date=max(filter(None, dates)),
    )


def take_cancelled_order_out_of_analytics(event: RecordedEvent, rows: RowStore) -> None:
    if event.data["new_status"] != CANCELLED:
        return
    contribution = rows.get(CONTRIBUTIONS, event.stream_id)
    if contribution is None or not contribution["counted"]:
        return
    rows.change(CONTRIBUTIONS, contribution, counted=False)
    customer_id = contribution["customer_id"]
    analytics = rows.get(ANALYTICS, customer_id)
    remaining = Counter(analytics["category_units"])
    remaining.subtract(contribution["category_units"])
    counted_dates = [
        c["order_date"] for c in rows.group(CONTRIBUTIONS, customer_id) if c["counted"]
    ]
    _change_totals(
        rows,
        analytics,
        orders=analytics["total_orders"] - 1,
        spent=analytics["total_spent"] - contribution["total_amount"],
        category_units={category: n for category, n in remaining.items() if n > 0},
        last_order_date=max(counted_dates, default=None),
    )


def _change_totals(
    rows: RowStore, analytics: Row, *, orders: int, spent: Decimal, **values: Any
) -> None:
    rows.change(
        ANALYTICS,
        analytics,
        total_orders=orders,
        total_spent=spent,
        average_order_value=(spent / orders).quantize(CENTS) if orders else Decimal("0.00"),
        favorite_category=favorite_category(values["category_units"]),
        customer_segment=customer_segment(orders, spent),
        **values,
    )


def the_customer_of_the_order(event: RecordedEvent, rows: RowStore) -> Iterator[Need]:
    yield key(ANALYTICS, uuid(event.data["customer_id"]))


def the_cancelled_order_and_customer(event: RecordedEvent, rows: RowStore) -> Iterator[Need]:
    if event.data["new_status"] == CANCELLED:
        customer_id = uuid(event.data["customer_id"])
        yield key(CONTRIBUTIONS, event.stream_id)
        yield key(ANALYTICS, customer_id)
        yield group(CONTRIBUTIONS, customer_id)


PROJECTION = Projection(
    name="customer_analytics",
    tables=(ANALYTICS, CONTRIBUTIONS),
    rules={
        CustomerRegistered: add_customer_to_analytics,
        CustomerUpdated: update_customer_in_analytics,
        CustomerForgotten: forget_customer_in_analytics,
        OrderCreated: count_order_in_analytics,
        OrderStatusUpdated: take_cancelled_order_out_of_analytics,
    },
    reads={
        CustomerUpdated: stream_row(ANALYTICS),
        CustomerForgotten: stream_row(ANALYTICS),
        OrderCreated: the_customer_of_the_order,
        OrderStatusUpdated: the_cancelled_order_and_customer,
    },
    adds={CustomerRegistered: stream_row(ANALYTICS), OrderCreated: stream_row(CONTRIBUTIONS)},
    replay_cost=3,
)

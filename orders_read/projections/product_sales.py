"""product_sales_summary: one row per product and day with the units, orders and revenue of
counted orders; product_sales_window: the same per product over the last 7 and 30 days it sold
(what the popular products read); and the ledger of what each order line added
(product_sales_lines), so that cancelling an order takes its lines out exactly once."""

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from orders_write.domain import CANCELLED
from orders_write.event_store import RecordedEvent
from orders_write.events import OrderCreated, OrderStatusUpdated, ProductUpdated

from ..cache import forget_popular_products
from ..models import ProductSaleLine, ProductSales, ProductSalesWindow
from .rows import Need, Projection, Row, RowStore, Table, group, key
from .values import moment, uuid

SALES = Table(ProductSales, key=("product_id", "sale_date"), lookups=("product_id",), shared=True)
WINDOW = Table(
    ProductSalesWindow, key=("product_id", "window_days"), lookups=("product_id",), shared=True
)
SALE_LINES = Table(ProductSaleLine, key=("order_id", "product_id"), group_by="order_id")
# The windows kept per product, in days; the popular products of other windows sum daily rows.
WINDOWS = (7, 30)


def sale_line_rows(event: RecordedEvent) -> list[dict[str, Any]]:
    """Return what each line of an OrderCreated adds to its product's daily sales."""
    sale_date = moment(event.data["order_date"]).date()
    return [
        {
            "order_id": event.stream_id,
            "product_id": uuid(item["product_id"]),
            "sale_date": sale_date,
            "quantity": item["quantity"],
            "revenue": Decimal(item["line_total"]),
            "counted": True,
        }
        for item in event.data["items"]
    ]


def daily_sales_row(item: dict[str, Any], line: dict[str, Any]) -> dict[str, Any]:
    """Return the row a product's first sale of a day starts."""
    return {
        "product_id": line["product_id"],
        "product_name": item["product_name"],
        "category": item["category"],
        "sale_date": line["sale_date"],
        "total_quantity": line["quantity"],
        "total_orders": 1,
        "total_revenue": line["revenue"],
        "version": item["product_version"],
    }


def count_order_in_sales(event: RecordedEvent, rows: RowStore) -> None:
    for item, line in zip(event.data["items"], sale_line_rows(event), strict=True):
        if not rows.add(SALE_LINES, line):
            continue
        day = rows.get(SALES, line["product_id"], line["sale_date"])
        if day is None:
            rows.add(SALES, daily_sales_row(item, line))
        else:
            _add_to_day(rows, day, line, sign=1)
        for size in WINDOWS:
            _count_line_in_window(rows, item, line, size)


def take_cancelled_order_out_of_sales(event: RecordedEvent, rows: RowStore) -> None:
    if event.data["new_status"] != CANCELLED:
        return
    for line in rows.group(SALE_LINES, event.stream_id):
        if line["counted"]:
            rows.change(SALE_LINES, line, counted=False)
            day = rows.get(SALES, line["product_id"], line["sale_date"])
            _add_to_day(rows, day, line, sign=-1)
            for size in WINDOWS:
                _take_line_out_of_window(rows, line, size)


def _add_to_day(rows: RowStore, day: dict[str, Any], line: dict[str, Any], *, sign: int) -> None:
    rows.change(
        SALES,
        day,
        total_quantity=day["total_quantity"] + sign * line["quantity"],
        total_orders=day["total_orders"] + sign,
        total_revenue=day["total_revenue"] + sign * line["revenue"],
    )


def window_row(item: dict[str, Any], line: dict[str, Any], size: int) -> Row:
    """Return the window a product's first sale starts."""
    return {
        "product_id": line["product_id"],
        "window_days": size,
        "last_day": line["sale_date"],
        "product_name": item["product_name"],
        "category": item["category"],
        "days": {},
        "version": item["product_version"],
        **window_totals({}),
    }


def _count_line_in_window(rows: RowStore, item: dict[str, Any], line: Row, size: int) -> None:
    window = rows.get(WINDOW, line["product_id"], size)
    if window is None:
        window = window_row(item, line, size)
        rows.add(WINDOW, window)
    last_day = max(window["last_day"], line["sale_date"])
    if line["sale_date"] <= last_day - timedelta(days=size):
        return  # sold before the window
    # The totals follow the days in and out of the window: no sum over every day per line.
    totals = [window["total_quantity"], window["total_orders"], window["total_revenue"]]
    days = window["days"]
    if last_day > window["last_day"]:
        first = (last_day - timedelta(days=size - 1)).isoformat()
        for gone in [day for day in days if day < first]:  # ISO days compare as text
            _take(totals, *days.pop(gone))
    sold_on = line["sale_date"].isoformat()
    days[sold_on] = _plus(days.get(sold_on), line, 1)
    _take(totals, -line["quantity"], -1, -line["revenue"])
    rows.change(WINDOW, window, last_day=last_day, days=days, **_totals(totals))
    rows.change_if_newer(
        WINDOW,
        window,
        item["product_version"],
        product_name=item["product_name"],
        category=item["category"],
    )


def _take_line_out_of_window(rows: RowStore, line: Row, size: int) -> None:
    window = rows.get(WINDOW, line["product_id"], size)
    sold_on = line["sale_date"].isoformat()
    if window is None or sold_on not in window["days"]:
        return  # sold before the window
    totals = [window["total_quantity"], window["total_orders"], window["total_revenue"]]
    days = {**window["days"], sold_on: _plus(window["days"][sold_on], line, -1)}
    _take(totals, line["quantity"], 1, line["revenue"])
    rows.change(WINDOW, window, days=days, **_totals(totals))


def _take(totals: list, quantity: int, orders: int, revenue: Decimal | str) -> None:
    """Take a day's (or, negated, a line's) units, orders and revenue out of `totals`."""
    totals[0] -= quantity
    totals[1] -= orders
    totals[2] -= Decimal(revenue)


def _totals(totals: list) -> dict[str, Any]:
    quantity, orders, revenue = totals
    return {"total_quantity": quantity, "total_orders": orders, "total_revenue": revenue}


def days_since(days: dict[str, list], first_day: date) -> dict[str, list]:
    """Return the days of a window from `first_day` on (ISO days compare as text)."""
    first = first_day.isoformat()
    return {day: totals for day, totals in days.items() if day >= first}


def window_totals(days: dict[str, list]) -> dict[str, Any]:
    """Return a window's total units, orders and revenue over its `days`."""
    quantity, orders, revenue = 0, 0, Decimal(0)
    for day_quantity, day_orders, day_revenue in days.values():
        quantity += day_quantity
        orders += day_orders
        revenue += Decimal(day_revenue)
    return {"total_quantity": quantity, "total_orders": orders, "total_revenue": revenue}


def _plus(totals: list | None, line: Row, sign: int) -> list:
    quantity, orders, revenue = totals or (0, 0, "0.00")
    revenue = Decimal(revenue) + sign * line["revenue"]
    return [quantity + sign * line["quantity"], orders + sign, str(revenue)]


def rename_product_in_sales(event: RecordedEvent, rows: RowStore) -> None:
    for table in (SALES, WINDOW):
        rows.update_all(
            table,
            {"product_id": event.stream_id},
            newer=("version", event.version),
            product_name=event.data["name"],
            category=event.data["category"],
        )


def the_days_sold(event: RecordedEvent, rows: RowStore) -> Iterator[Need]:
    sale_date = moment(event.data["order_date"]).date()
    for item in event.data["items"]:
        product_id = uuid(item["product_id"])
        yield key(SALES, product_id, sale_date)
        for size in WINDOWS:
            yield key(WINDOW, product_id, size)


def the_order_lines(event: RecordedEvent, rows: RowStore) -> Iterator[Need]:
    for item in event.data["items"]:
        yield key(SALE_LINES, event.stream_id, uuid(item["product_id"]))


def the_cancelled_lines_and_days(event: RecordedEvent, rows: RowStore) -> Iterator[Need]:
    if event.data["new_status"] == CANCELLED:
        yield group(SALE_LINES, event.stream_id)
        for line in rows.peek_group(SALE_LINES, event.stream_id):
            yield key(SALES, line["product_id"], line["sale_date"])
            for size in WINDOWS:
                yield key(WINDOW, line["product_id"], size)


PROJECTION = Projection(
    name="product_sales",
    tables=(SALES, WINDOW, SALE_LINES),
    rules={
        OrderCreated: count_order_in_sales,
        OrderStatusUpdated: take_cancelled_order_out_of_sales,
        ProductUpdated: rename_product_in_sales,
    },
    reads={OrderCreated: the_days_sold, OrderStatusUpdated: the_cancelled_lines_and_days},
    adds={OrderCreated: the_order_lines},
    after_write=forget_popular_products,
    replay_cost=6,
)

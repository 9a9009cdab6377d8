"""product_sales_summary: one row per product and day with the units, orders and revenue of
counted orders, and the ledger of what each order line added (product_sales_lines), so that
cancelling an order takes its lines out exactly once."""

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from orders_write.event_store import RecordedEvent

from ..cache import forget_popular_products
from ..models import ProductSaleLine, ProductSales
from .rows import Need, Projection, RowStore, Table, group, key
from .values import moment, uuid

SALES = Table(ProductSales, key=("product_id", "sale_date"), lookups=("product_id",), shared=True)
SALE_LINES = Table(ProductSaleLine, key=("order_id", "product_id"), group_by="order_id")


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


def take_cancelled_order_out_of_sales(event: RecordedEvent, rows: RowStore) -> None:
    if event.data["new_status"] != "cancelled":
        return
    for line in rows.group(SALE_LINES, event.stream_id):
        if line["counted"]:
            rows.change(SALE_LINES, line, counted=False)
            day = rows.get(SALES, line["product_id"], line["sale_date"])
            _add_to_day(rows, day, line, sign=-1)


def _add_to_day(rows: RowStore, day: dict[str, Any], line: dict[str, Any], *, sign: int) -> None:
    rows.change(
        SALES,
        day,
        total_quantity=day["total_quantity"] + sign * line["quantity"],
        total_orders=day["total_orders"] + sign,
        total_revenue=day["total_revenue"] + sign * line["revenue"],
    )


def rename_product_in_sales(event: RecordedEvent, rows: RowStore) -> None:
    rows.update_all(
        SALES,
        {"product_id": event.stream_id},
        newer=("version", event.version),
        product_name=event.data["name"],
        category=event.data["category"],
    )


def the_days_sold(event: RecordedEvent, rows: RowStore) -> Iterator[Need]:
    sale_date = moment(event.data["order_date"]).date()
    for item in event.data["items"]:
        yield key(SALES, uuid(item["product_id"]), sale_date)


def the_order_lines(event: RecordedEvent, rows: RowStore) -> Iterator[Need]:
    for item in event.data["items"]:
        yield key(SALE_LINES, event.stream_id, uuid(item["product_id"]))


def the_cancelled_lines_and_days(event: RecordedEvent, rows: RowStore) -> Iterator[Need]:
    if event.data["new_status"] == "cancelled":
        yield group(SALE_LINES, event.stream_id)
        for line in rows.peek_group(SALE_LINES, event.stream_id):
            yield key(SALES, line["product_id"], line["sale_date"])


PROJECTION = Projection(
    name="product_sales",
    tables=(SALES, SALE_LINES),
    rules={
        "OrderCreated": count_order_in_sales,
        "OrderStatusUpdated": take_cancelled_order_out_of_sales,
        "ProductUpdated": rename_product_in_sales,
    },
    reads={"OrderCreated": the_days_sold, "OrderStatusUpdated": the_cancelled_lines_and_days},
    adds={"OrderCreated": the_order_lines},
    after_write=forget_popular_products,
)

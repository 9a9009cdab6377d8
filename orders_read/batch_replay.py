"""Replay in batches: the projection rules applied to many events at once in memory, with the
rows written in bulk (COPY on PostgreSQL, multi-row inserts elsewhere).

Rebuild and verify use this path; commands use the receivers in `projections.py`. Each
event of the store is replayed exactly once and in order, so the rules here need no
idempotency guards. Replay equality tests prove both paths give the same rows.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db import models
from django.db.models import Max, OuterRef, Q, Subquery
from django.utils import timezone

from orders_read.bulk_copy import copy_rows
from orders_write.event_store import RecordedEvent

from .projections import (
    CENTS,
    ReadTables,
    _status_entry,
    _time,
    analytics_row,
    contribution_row,
    customer_segment,
    daily_sales_row,
    details_row,
    favorite_category,
    history_row,
    sale_line_rows,
    summary_row,
)


class TableBatch:
    """The rows of one table that a batch reads or writes, keyed by natural key."""

    def __init__(
        self, model: type[models.Model], key: tuple[str, ...], *, by_first_key: bool = False
    ) -> None:
        self.model, self.key = model, key
        self.rows: dict[tuple, dict[str, Any]] = {}
        self.new: set[tuple] = set()
        self.changed: set[tuple] = set()
        self.by_first_key: defaultdict[Any, list[dict[str, Any]]] | None = (
            defaultdict(list) if by_first_key else None
        )

    def load(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            key = tuple(map(row.__getitem__, self.key))
            if key not in self.rows:
                self._keep(key, row)

    def get(self, *key: Any) -> dict[str, Any] | None:
        return self.rows.get(key)

    def starting_with(self, first: Any) -> list[dict[str, Any]]:
        """Return the rows whose key starts with `first` (e.g. an order's lines)."""
        return self.by_first_key[first]

    def add(self, row: dict[str, Any]) -> dict[str, Any]:
        key = tuple(map(row.__getitem__, self.key))
        self._keep(key, row)
        self.new.add(key)
        return row

    def _keep(self, key: tuple, row: dict[str, Any]) -> None:
        self.rows[key] = row
        if self.by_first_key is not None:
            self.by_first_key[key[0]].append(row)

    def touch(self, row: dict[str, Any]) -> None:
        key = tuple(map(row.__getitem__, self.key))
        if key not in self.new:
            self.changed.add(key)

    def flush(self, now: Any) -> None:
        """Replace changed rows and insert new ones, in bulk."""
        changed = [self.rows[key] for key in self.changed]
        pk = self.model._meta.pk.attname
        if changed:
            self.model.objects.filter(**{f"{pk}__in": [row[pk] for row in changed]}).delete()
        rows = changed + [self.rows[key] for key in self.new]
        for row in rows:
            row["projected_at"] = now
        copy_rows(self.model, rows)


class BatchReplay:
    """Apply batches of events to some projections' tables."""

    def __init__(
        self, tables: ReadTables, projections: list[str], skipped: dict[str, set[int]]
    ) -> None:
        self.tables, self.projections = tables, set(projections)
        self.rules = {
            event_type: [
                (p, rule)
                for (t, p), rule in RULES.items()
                if t == event_type and p in self.projections
            ]
            for event_type, _ in RULES
        }
        self.skipped = skipped

    def apply(self, events: list[RecordedEvent]) -> None:
        """Apply `events` (in order), except those skipped by an operator, and write the rows."""
        batch = _Batch(self.tables, events, self.projections)
        for event in events:
            for projection, rule in self.rules.get(event.event_type, ()):
                if event.position not in self.skipped.get(projection, ()):
                    rule(batch, event)
        batch.flush(self.projections)


class _Batch:
    """What one batch of events reads and writes."""

    def __init__(
        self, tables: ReadTables, events: list[RecordedEvent], projections: set[str]
    ) -> None:
        self.tables, self.projections = tables, projections
        self.summary = TableBatch(tables.summary, ("order_id",))
        self.details = TableBatch(tables.details, ("order_id",))
        self.history = TableBatch(tables.history, ("order_id", "version"))
        self.analytics = TableBatch(tables.analytics, ("customer_id",))
        self.contributions = TableBatch(tables.contributions, ("order_id",))
        self.sales = TableBatch(tables.sales, ("product_id", "sale_date"))
        self.sale_lines = TableBatch(
            tables.sale_lines, ("order_id", "product_id"), by_first_key=True
        )
        self.renamed_customers: list[RecordedEvent] = []
        self.renamed_products: list[RecordedEvent] = []
        self.uncounted_customers: set[UUID] = set()
        self._load_existing(events)

    def _load_existing(self, events: list[RecordedEvent]) -> None:
        """Read the existing rows this batch's events will change, in one query per table."""
        wanted = self.projections
        created = {e.stream_id for e in events if e.event_type == "OrderCreated"}
        changed = {
            e.stream_id
            for e in events
            if e.event_type == "OrderStatusUpdated" and e.stream_id not in created
        }
        cancelled = [
            e.stream_id
            for e in events
            if e.event_type == "OrderStatusUpdated" and e.data["new_status"] == "cancelled"
        ]
        customers = {UUID(e.data["customer_id"]) for e in events if e.stream_type == "order"}
        customers |= {e.stream_id for e in events if e.event_type == "CustomerUpdated"}
        if "order_summary" in wanted:
            self.summary.load(_rows(self.tables.summary, order_id__in=changed))
        if "order_details" in wanted:
            self.details.load(_rows(self.tables.details, order_id__in=changed))
        if "customer_analytics" in wanted:
            self.analytics.load(_rows(self.tables.analytics, customer_id__in=customers))
            self.contributions.load(_rows(self.tables.contributions, order_id__in=cancelled))
        if "product_sales" in wanted:
            self.sale_lines.load(_rows(self.tables.sale_lines, order_id__in=cancelled))
            self._load_sales_days(events)

    def _load_sales_days(self, events: list[RecordedEvent]) -> None:
        days = {
            (UUID(item["product_id"]), _time(e.data["order_date"]).date())
            for e in events
            if e.event_type == "OrderCreated"
            for item in e.data["items"]
        }
        days |= {(row["product_id"], row["sale_date"]) for row in self.sale_lines.rows.values()}
        by_date: defaultdict[Any, set[UUID]] = defaultdict(set)
        for product_id, sale_date in days:
            by_date[sale_date].add(product_id)
        if by_date:
            wanted = Q()
            for sale_date, products in by_date.items():
                wanted |= Q(sale_date=sale_date, product_id__in=products)
            self.sales.load(self.tables.sales.objects.filter(wanted).values())

    def flush(self, projections: set[str]) -> None:
        now = timezone.now()
        for table in (
            self.summary,
            self.details,
            self.history,
            self.analytics,
            self.contributions,
            self.sales,
            self.sale_lines,
        ):
            table.flush(now)
        if "customer_analytics" in projections:
            self._refresh_last_order_dates()
        for event in self.renamed_customers:
            self._rename_customer(event, now, projections)
        if "product_sales" in projections:
            for event in self.renamed_products:
                self.tables.sales.objects.filter(
                    product_id=event.stream_id, version__lt=event.version
                ).update(
                    product_name=event.data["name"],
                    category=event.data["category"],
                    version=event.version,
                    projected_at=now,
                )

    def _rename_customer(self, event: RecordedEvent, now: Any, projections: set[str]) -> None:
        values = {"customer_name": event.data["name"], "customer_version": event.version}
        rows = {"customer_id": event.stream_id, "customer_version__lt": event.version}
        if "order_summary" in projections:
            self.tables.summary.objects.filter(**rows).update(**values, projected_at=now)
        if "order_details" in projections:
            self.tables.details.objects.filter(**rows).update(
                **values, customer_email=event.data["email"], projected_at=now
            )

    def _refresh_last_order_dates(self) -> None:
        """Recompute last order dates of customers whose orders were cancelled."""
        if not self.uncounted_customers:
            return
        latest = (
            self.tables.contributions.objects.filter(
                customer_id=OuterRef("customer_id"), counted=True
            )
            .values("customer_id")
            .annotate(last=Max("order_date"))
            .values("last")
        )
        self.tables.analytics.objects.filter(customer_id__in=self.uncounted_customers).update(
            last_order_date=Subquery(latest)
        )


def _rows(model: type[models.Model], **lookups: Any) -> Iterable[dict[str, Any]]:
    if any(not values for values in lookups.values()):
        return []
    return model.objects.filter(**lookups).values()


def _summary_order_created(batch: _Batch, event: RecordedEvent) -> None:
    batch.summary.add(summary_row(event))


def _summary_status_updated(batch: _Batch, event: RecordedEvent) -> None:
    row = batch.summary.get(event.stream_id)
    if row is not None:
        row.update(status=event.data["new_status"], version=event.version)
        batch.summary.touch(row)


def _details_order_created(batch: _Batch, event: RecordedEvent) -> None:
    batch.details.add(details_row(event))


def _details_status_updated(batch: _Batch, event: RecordedEvent) -> None:
    row = batch.details.get(event.stream_id)
    if row is not None:
        row.update(
            status=event.data["new_status"],
            status_history=[*row["status_history"], _status_entry(event)],
            version=event.version,
        )
        batch.details.touch(row)


def _history_added(batch: _Batch, event: RecordedEvent) -> None:
    batch.history.add(history_row(event))


def _rename_customer_later(batch: _Batch, event: RecordedEvent) -> None:
    if not batch.renamed_customers or batch.renamed_customers[-1] is not event:
        batch.renamed_customers.append(event)


def _analytics_customer_registered(batch: _Batch, event: RecordedEvent) -> None:
    batch.analytics.add(analytics_row(event))


def _analytics_customer_updated(batch: _Batch, event: RecordedEvent) -> None:
    row = batch.analytics.get(event.stream_id)
    if row is not None and row["version"] < event.version:
        row.update(
            customer_name=event.data["name"],
            customer_email=event.data["email"],
            version=event.version,
        )
        batch.analytics.touch(row)


def _analytics_order_created(batch: _Batch, event: RecordedEvent) -> None:
    contribution = batch.contributions.add(contribution_row(event))
    customer_id, total = contribution["customer_id"], contribution["total_amount"]
    order_date, units = contribution["order_date"], Counter(contribution["category_units"])
    row = batch.analytics.get(customer_id)
    row["total_orders"] += 1
    row["total_spent"] += total
    row["category_units"] = dict(units + Counter(row["category_units"]))
    row["last_order_date"] = max(filter(None, [row["last_order_date"], order_date]))
    _derive_analytics(batch, row)


def _analytics_order_cancelled(batch: _Batch, event: RecordedEvent) -> None:
    if event.data["new_status"] != "cancelled":
        return
    contribution = batch.contributions.get(event.stream_id)
    if contribution is None or not contribution["counted"]:
        return
    contribution["counted"] = False
    batch.contributions.touch(contribution)
    row = batch.analytics.get(contribution["customer_id"])
    row["total_orders"] -= 1
    row["total_spent"] -= contribution["total_amount"]
    remaining = Counter(row["category_units"])
    remaining.subtract(contribution["category_units"])
    row["category_units"] = {category: n for category, n in remaining.items() if n > 0}
    batch.uncounted_customers.add(contribution["customer_id"])
    _derive_analytics(batch, row)


def _derive_analytics(batch: _Batch, row: dict[str, Any]) -> None:
    orders, spent = row["total_orders"], row["total_spent"]
    row["average_order_value"] = (spent / orders).quantize(CENTS) if orders else Decimal("0.00")
    row["favorite_category"] = favorite_category(row["category_units"])
    row["customer_segment"] = customer_segment(orders, spent)
    batch.analytics.touch(row)


def _sales_order_created(batch: _Batch, event: RecordedEvent) -> None:
    for item, line in zip(event.data["items"], sale_line_rows(event), strict=True):
        batch.sale_lines.add(line)
        row = batch.sales.get(line["product_id"], line["sale_date"])
        if row is None:
            batch.sales.add(daily_sales_row(item, line))
        else:
            row["total_quantity"] += line["quantity"]
            row["total_orders"] += 1
            row["total_revenue"] += line["revenue"]
            batch.sales.touch(row)


def _sales_order_cancelled(batch: _Batch, event: RecordedEvent) -> None:
    if event.data["new_status"] != "cancelled":
        return
    lines = [line for line in batch.sale_lines.starting_with(event.stream_id) if line["counted"]]
    for line in lines:
        line["counted"] = False
        batch.sale_lines.touch(line)
        row = batch.sales.get(line["product_id"], line["sale_date"])
        row["total_quantity"] -= line["quantity"]
        row["total_orders"] -= 1
        row["total_revenue"] -= line["revenue"]
        batch.sales.touch(row)


def _rename_product_later(batch: _Batch, event: RecordedEvent) -> None:
    batch.renamed_products.append(event)


RULES = {
    ("OrderCreated", "order_summary"): _summary_order_created,
    ("OrderStatusUpdated", "order_summary"): _summary_status_updated,
    ("CustomerUpdated", "order_summary"): _rename_customer_later,
    ("OrderCreated", "order_details"): _details_order_created,
    ("OrderStatusUpdated", "order_details"): _details_status_updated,
    ("CustomerUpdated", "order_details"): _rename_customer_later,
    ("OrderCreated", "order_status_history"): _history_added,
    ("OrderStatusUpdated", "order_status_history"): _history_added,
    ("CustomerRegistered", "customer_analytics"): _analytics_customer_registered,
    ("CustomerUpdated", "customer_analytics"): _analytics_customer_updated,
    ("OrderCreated", "customer_analytics"): _analytics_order_created,
    ("OrderStatusUpdated", "customer_analytics"): _analytics_order_cancelled,
    ("OrderCreated", "product_sales"): _sales_order_created,
    ("OrderStatusUpdated", "product_sales"): _sales_order_cancelled,
    ("ProductUpdated", "product_sales"): _rename_product_later,
}

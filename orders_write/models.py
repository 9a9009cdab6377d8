"""The normalized write model and the append-only event store."""

import uuid
from decimal import Decimal
from typing import Any

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.fields.json import KT
from django.db.models.functions import Now

from .domain import PAYMENT_METHODS, STATUSES
from .exceptions import WriteOutsideService
from .write_guard import ServiceOnlyModel, ServiceOnlyQuerySet, ensure_in_service


class Customer(ServiceOnlyModel):
    written_by = "register_customer() / update_customer()"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    # NULL once the customer is forgotten (unique, so it cannot be a shared placeholder).
    email = models.EmailField(unique=True, null=True)  # noqa: DJ001 (see above)
    version = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(editable=False)
    updated_at = models.DateTimeField(editable=False)
    forgotten_at = models.DateTimeField(null=True, editable=False)

    class Meta(ServiceOnlyModel.Meta):
        db_table = "customers"
        ordering = ["name"]
        permissions = [
            ("forget_customer", "Can forget a customer (erase their personal data)"),
            ("export_customer", "Can export everything held about a customer"),
        ]

    def __str__(self) -> str:
        # The name only: this is what admin titles and admin log entries show.
        return self.name


class CustomerKey(ServiceOnlyModel):
    """The key a customer's personal fields in events are sealed under; deleting it forgets
    them (crypto-shredding). The application's role may only read, insert and delete it."""

    written_by = "register_customer() / forget_customer()"

    customer_id = models.UUIDField(primary_key=True)
    key = models.BinaryField()
    created_at = models.DateTimeField(db_default=Now())

    class Meta(ServiceOnlyModel.Meta):
        db_table = "customer_keys"

    def __str__(self) -> str:
        return f"key of customer {self.customer_id}"


class Product(ServiceOnlyModel):
    written_by = "add_product() / update_product()"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    category = models.CharField(max_length=100, db_index=True)
    unit_price = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0.00"))]
    )
    version = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(editable=False)
    updated_at = models.DateTimeField(editable=False)

    class Meta(ServiceOnlyModel.Meta):
        db_table = "products"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Order(ServiceOnlyModel):
    written_by = "create_order() / update_order_status()"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=20, choices=[(s, s) for s in STATUSES])
    total_amount = models.DecimalField(max_digits=14, decimal_places=2)
    order_date = models.DateTimeField()
    shipping_address = models.JSONField()
    billing_address = models.JSONField()
    payment_method = models.CharField(max_length=30, choices=[(p, p) for p in PAYMENT_METHODS])
    version = models.PositiveIntegerField()
    updated_at = models.DateTimeField()

    class Meta(ServiceOnlyModel.Meta):
        db_table = "orders"
        ordering = ["-order_date"]
        indexes = [models.Index(fields=["customer", "order_date"], name="order_customer_date_idx")]

    def __str__(self) -> str:
        return f"Order {self.id}"


class OrderItem(ServiceOnlyModel):
    written_by = "create_order()"

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="items")
    line_number = models.PositiveSmallIntegerField()
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_items")
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta(ServiceOnlyModel.Meta):
        db_table = "order_items"
        ordering = ["order", "line_number"]
        constraints = [
            models.UniqueConstraint(fields=["order", "line_number"], name="order_item_line_unique")
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product.name}"


class EventQuerySet(ServiceOnlyQuerySet):
    """Events are appended, never updated or deleted."""

    def update(self, **kwargs: Any) -> int:
        raise WriteOutsideService("The event store is append-only: events are never updated.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise WriteOutsideService("The event store is append-only: events are never deleted.")

    def bulk_update(self, objs: Any, *args: Any, **kwargs: Any) -> int:
        raise WriteOutsideService("The event store is append-only: events are never updated.")

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if kwargs.get("update_conflicts") or kwargs.get("ignore_conflicts"):
            raise WriteOutsideService("The event store is append-only: events are only inserted.")
        return super().bulk_create(objs, *args, **kwargs)


class Event(models.Model):
    """One recorded fact; `position` orders the whole store."""

    written_by = "the command services"

    position = models.BigAutoField(primary_key=True)
    stream_type = models.CharField(max_length=30)
    stream_id = models.UUIDField()
    version = models.PositiveIntegerField()
    event_type = models.CharField(max_length=60)
    # The shape of `data` when it was recorded; upcasters bring older shapes up to date.
    schema_version = models.PositiveSmallIntegerField(db_default=1)
    data = models.JSONField()
    metadata = models.JSONField()
    recorded_at = models.DateTimeField(db_default=Now())
    # PostgreSQL fills this with the writing transaction's id (see migration 0002);
    # catch-up orders by it so that late commits are never skipped.
    transaction_id = models.BigIntegerField(db_default=0, editable=False)

    objects = EventQuerySet.as_manager()

    class Meta:
        db_table = "events"
        base_manager_name = "objects"
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(
                fields=["stream_id", "version"], name="event_stream_version_unique"
            )
        ]
        indexes = [
            models.Index(fields=["event_type"], name="event_type_idx"),
            models.Index(fields=["stream_type", "stream_id"], name="event_stream_idx"),
            models.Index(fields=["transaction_id", "position"], name="event_transaction_idx"),
            # The admin's trace finds every event of one request by its correlation id.
            models.Index(KT("metadata__correlation_id"), name="event_correlation_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.position} {self.event_type} {self.stream_id} v{self.version}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding or self.position is not None:
            raise WriteOutsideService("The event store is append-only: events are never updated.")
        ensure_in_service(type(self), "save")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise WriteOutsideService("The event store is append-only: events are never deleted.")

"""Denormalized read models (unmanaged: migrations create their tables, projections fill them)
and the projections' own bookkeeping."""

from django.db import models

from orders_write.domain import STATUSES
from orders_write.event_reader import Checkpoint

STATUS_CHOICES = [(status, status) for status in STATUSES]
SEGMENT_CHOICES = [("new", "new"), ("regular", "regular"), ("vip", "vip")]

# Digits of a money sum over a customer's orders or a product's days: more than any number of
# accepted orders can add up to (see "Column sizes" in docs/projections.md).
MONEY_SUM_DIGITS = 33


class OrderSummary(models.Model):
    order_id = models.UUIDField(primary_key=True)
    customer_id = models.UUIDField()
    customer_name = models.CharField(max_length=200)
    customer_version = models.PositiveIntegerField()
    order_date = models.DateTimeField()
    total_amount = models.DecimalField(max_digits=14, decimal_places=2)
    status = models.CharField(max_length=20, choices=STATUS_CHOICES)
    item_count = models.PositiveIntegerField(help_text="Order lines.")
    unit_count = models.PositiveIntegerField(help_text="Units over all lines.")
    version = models.PositiveIntegerField()
    projected_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "order_summary_view"
        verbose_name = "order summary"
        verbose_name_plural = "order summaries"
        ordering = ["-order_date", "-order_id"]
        indexes = [
            models.Index(fields=["customer_id", "order_date"], name="summary_customer_date_idx"),
            models.Index(fields=["status", "order_date"], name="summary_status_date_idx"),
            models.Index(fields=["total_amount"], name="summary_total_idx"),
            models.Index(fields=["order_date", "order_id"], name="summary_date_idx"),
        ]

    def __str__(self) -> str:
        return f"Order {self.order_id}"


class OrderDetails(models.Model):
    order_id = models.UUIDField(primary_key=True)
    customer_id = models.UUIDField()
    customer_name = models.CharField(max_length=200)
    customer_email = models.CharField(max_length=254)
    customer_version = models.PositiveIntegerField()
    order_date = models.DateTimeField()
    items = models.JSONField()
    shipping_address = models.JSONField()
    billing_address = models.JSONField()
    payment_method = models.CharField(max_length=30)
    status = models.CharField(max_length=20, choices=STATUS_CHOICES)
    status_history = models.JSONField()
    total_amount = models.DecimalField(max_digits=14, decimal_places=2)
    version = models.PositiveIntegerField()
    projected_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "order_details_view"
        verbose_name = "order details"
        verbose_name_plural = "order details"
        permissions = [
            ("view_personal_data", "Can see customers' e-mail and postal addresses in clear")
        ]
        ordering = ["-order_date", "-order_id"]
        indexes = [
            models.Index(fields=["customer_id", "order_date"], name="details_customer_date_idx")
        ]

    def __str__(self) -> str:
        return f"Order {self.order_id}"


class OrderStatusChange(models.Model):
    id = models.BigAutoField(primary_key=True)
    order_id = models.UUIDField()
    status = models.CharField(max_length=20, choices=STATUS_CHOICES)
    changed_by = models.CharField(max_length=150)
    changed_at = models.DateTimeField()
    reason = models.CharField(max_length=500, blank=True)
    version = models.PositiveIntegerField()
    projected_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "order_status_history"
        verbose_name = "order status change"
        ordering = ["order_id", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["order_id", "version"], name="history_order_version_uniq"
            )
        ]
        indexes = [models.Index(fields=["changed_at"], name="history_changed_at_idx")]

    def __str__(self) -> str:
        return f"{self.order_id} v{self.version}: {self.status}"


class CustomerAnalytics(models.Model):
    customer_id = models.UUIDField(primary_key=True)
    customer_name = models.CharField(max_length=200)
    customer_email = models.CharField(max_length=254)
    total_orders = models.PositiveBigIntegerField()
    total_spent = models.DecimalField(max_digits=MONEY_SUM_DIGITS, decimal_places=2)
    average_order_value = models.DecimalField(max_digits=16, decimal_places=2)
    favorite_category = models.CharField(max_length=100, blank=True)
    category_units = models.JSONField()
    last_order_date = models.DateTimeField(null=True)
    customer_segment = models.CharField(max_length=10, choices=SEGMENT_CHOICES)
    version = models.PositiveIntegerField()
    projected_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "customer_analytics_view"
        verbose_name = "customer analytics"
        verbose_name_plural = "customer analytics"
        ordering = ["customer_name", "customer_id"]
        indexes = [
            models.Index(fields=["customer_segment"], name="analytics_segment_idx"),
            models.Index(fields=["total_spent"], name="analytics_spent_idx"),
        ]

    def __str__(self) -> str:
        return self.customer_name


class CustomerOrderContribution(models.Model):
    """What one order adds to its customer's analytics (so cancelling can take it out once)."""

    order_id = models.UUIDField(primary_key=True)
    customer_id = models.UUIDField()
    order_date = models.DateTimeField()
    total_amount = models.DecimalField(max_digits=14, decimal_places=2)
    category_units = models.JSONField()
    counted = models.BooleanField()

    class Meta:
        managed = False
        db_table = "customer_analytics_orders"
        indexes = [
            models.Index(fields=["customer_id", "order_date"], name="analytics_orders_cust_idx")
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.order_id}"


class ProductSales(models.Model):
    id = models.BigAutoField(primary_key=True)
    product_id = models.UUIDField()
    product_name = models.CharField(max_length=200)
    category = models.CharField(max_length=100)
    sale_date = models.DateField()
    total_quantity = models.BigIntegerField()
    total_orders = models.BigIntegerField()
    total_revenue = models.DecimalField(max_digits=MONEY_SUM_DIGITS, decimal_places=2)
    version = models.PositiveIntegerField()
    projected_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "product_sales_summary"
        verbose_name = "product sales"
        verbose_name_plural = "product sales"
        ordering = ["-sale_date", "product_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["product_id", "sale_date"], name="sales_product_day_uniq"
            )
        ]
        indexes = [models.Index(fields=["sale_date"], name="sales_date_idx")]

    def __str__(self) -> str:
        return f"{self.product_name} on {self.sale_date}"


class ProductSalesWindow(models.Model):
    """A product's sales over the `window_days` days up to the last day it sold, day by day
    (`days`: ISO day -> [quantity, orders, revenue]) and in total, kept current as orders come
    in, so that the popular products need no sum over daily rows."""

    id = models.BigAutoField(primary_key=True)
    product_id = models.UUIDField()
    window_days = models.PositiveSmallIntegerField()
    last_day = models.DateField()
    product_name = models.CharField(max_length=200)
    category = models.CharField(max_length=100)
    total_quantity = models.BigIntegerField()
    total_orders = models.BigIntegerField()
    total_revenue = models.DecimalField(max_digits=MONEY_SUM_DIGITS, decimal_places=2)
    days = models.JSONField()
    version = models.PositiveIntegerField()
    projected_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "product_sales_window"
        verbose_name = "product sales window"
        constraints = [
            models.UniqueConstraint(
                fields=["product_id", "window_days"], name="sales_window_product_uniq"
            )
        ]
        indexes = [
            models.Index(
                fields=["window_days", "-total_quantity"], name="sales_window_quantity_idx"
            ),
            models.Index(fields=["window_days", "last_day"], name="sales_window_last_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.product_name}, {self.window_days} days to {self.last_day}"


class ProductSaleLine(models.Model):
    """What one order line adds to its product's daily sales (so cancelling can take it out)."""

    id = models.BigAutoField(primary_key=True)
    order_id = models.UUIDField()
    product_id = models.UUIDField()
    sale_date = models.DateField()
    quantity = models.IntegerField()
    revenue = models.DecimalField(max_digits=16, decimal_places=2)
    counted = models.BooleanField()

    class Meta:
        managed = False
        db_table = "product_sales_lines"
        constraints = [
            models.UniqueConstraint(fields=["order_id", "product_id"], name="sales_line_order_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.product_id}"


class ProjectionState(models.Model):
    """Where a projection stands when it is not simply current (after a failure or rebuild)."""

    name = models.CharField(max_length=50, primary_key=True)
    stalled = models.BooleanField(default=False)
    transaction_id = models.BigIntegerField(default=0)
    position = models.BigIntegerField(default=0)
    last_advanced_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return self.name

    @property
    def checkpoint(self) -> Checkpoint:
        """Return the last place in the store's reading order the projection applied."""
        return Checkpoint(self.transaction_id, self.position)

    @checkpoint.setter
    def checkpoint(self, checkpoint: Checkpoint) -> None:
        self.transaction_id, self.position = checkpoint.transaction_id, checkpoint.position


class ProjectionFailure(models.Model):
    """An event a projection failed to apply, kept until it is retried or skipped."""

    RETRIED, SKIPPED = "retried", "skipped"

    projection = models.CharField(max_length=50)
    event_position = models.BigIntegerField()
    event_type = models.CharField(max_length=60)
    stream_id = models.UUIDField()
    error = models.TextField()
    traceback = models.TextField(blank=True)
    failed_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(
        default=1, help_text="Times the event failed: the first, then each retry."
    )
    resolution = models.CharField(
        max_length=10, blank=True, choices=[(RETRIED, RETRIED), (SKIPPED, SKIPPED)]
    )
    resolved_at = models.DateTimeField(null=True)
    resolved_by = models.CharField(max_length=150, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-failed_at"]
        indexes = [models.Index(fields=["projection", "resolution"], name="failure_open_idx")]

    def __str__(self) -> str:
        return f"{self.projection} failed on event #{self.event_position}"

"""Admin for the read models: browsable, searchable, filterable and strictly read-only."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from .models import CustomerAnalytics, OrderDetails, OrderStatusChange, OrderSummary, ProductSales


class ReadModelAdmin(admin.ModelAdmin):
    """Projections own these rows: nobody adds, changes or deletes them here."""

    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OrderSummary)
class OrderSummaryAdmin(ReadModelAdmin):
    list_display = (
        "order_id",
        "customer_name",
        "status",
        "total_amount",
        "item_count",
        "order_date",
        "version",
        "projected_at",
    )
    list_filter = ("status", "order_date")
    search_fields = ("=order_id", "=customer_id", "customer_name")
    date_hierarchy = "order_date"


@admin.register(OrderDetails)
class OrderDetailsAdmin(ReadModelAdmin):
    list_display = (
        "order_id",
        "customer_name",
        "customer_email",
        "status",
        "total_amount",
        "payment_method",
        "order_date",
        "version",
    )
    list_filter = ("status", "payment_method", "order_date")
    search_fields = ("=order_id", "customer_name", "customer_email")
    date_hierarchy = "order_date"
    fields = (
        "order_id",
        ("customer_name", "customer_email", "customer_id"),
        ("status", "total_amount", "payment_method"),
        "order_date",
        "item_table",
        "history_table",
        ("shipping_address", "billing_address"),
        ("version", "projected_at"),
    )
    readonly_fields = ("item_table", "history_table")

    @admin.display(description="items")
    def item_table(self, details: OrderDetails) -> str:
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (i["product_name"], i["category"], i["quantity"], i["unit_price"], i["line_total"])
                for i in details.items
            ),
        )
        return format_html(
            "<table><tr><th>product</th><th>category</th><th>quantity</th>"
            "<th>unit price</th><th>line total</th></tr>{}</table>",
            rows,
        )

    @admin.display(description="status history")
    def history_table(self, details: OrderDetails) -> str:
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (h["changed_at"], h["status"], h["changed_by"], h["reason"])
                for h in details.status_history
            ),
        )
        return format_html(
            "<table><tr><th>when</th><th>status</th><th>by</th><th>reason</th></tr>{}</table>",
            rows,
        )


@admin.register(OrderStatusChange)
class OrderStatusChangeAdmin(ReadModelAdmin):
    list_display = ("order_id", "version", "status", "changed_by", "changed_at", "reason")
    list_filter = ("status", "changed_at")
    search_fields = ("=order_id", "changed_by", "reason")
    date_hierarchy = "changed_at"


@admin.register(CustomerAnalytics)
class CustomerAnalyticsAdmin(ReadModelAdmin):
    list_display = (
        "customer_name",
        "customer_email",
        "customer_segment",
        "total_orders",
        "total_spent",
        "average_order_value",
        "favorite_category",
        "last_order_date",
        "version",
    )
    list_filter = ("customer_segment", "last_order_date", "favorite_category")
    search_fields = ("customer_name", "customer_email", "=customer_id")
    date_hierarchy = "last_order_date"


@admin.register(ProductSales)
class ProductSalesAdmin(ReadModelAdmin):
    list_display = (
        "sale_date",
        "product_name",
        "category",
        "total_quantity",
        "total_orders",
        "total_revenue",
        "version",
    )
    list_filter = ("category", "sale_date")
    search_fields = ("product_name", "category", "=product_id")
    date_hierarchy = "sale_date"

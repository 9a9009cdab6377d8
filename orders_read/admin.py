"""Admin for the read models: browsable, searchable, filterable and strictly read-only."""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join

from orders_write.admin import ReadOnlyAdminMixin

from .models import (
    CustomerAnalytics,
    OrderDetails,
    OrderStatusChange,
    OrderSummary,
    ProductSales,
    ProjectionFailure,
)
from .projector import CatchUpResult, catch_up, skip_failure


class ReadModelAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Projections own these rows: nobody adds, changes or deletes them here."""

    show_full_result_count = False


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


@admin.register(ProjectionFailure)
class ProjectionFailureAdmin(ReadModelAdmin):
    """Events a projection failed to apply, with actions to retry them or skip them."""

    list_display = (
        "projection",
        "event_position",
        "event_type",
        "short_error",
        "failed_at",
        "resolution",
        "resolved_by",
    )
    list_filter = ("projection", "resolution", "event_type", "failed_at")
    search_fields = ("=stream_id", "error")
    readonly_fields = [f.name for f in ProjectionFailure._meta.fields]
    actions = ["retry", "skip"]

    @admin.display(description="error")
    def short_error(self, failure: ProjectionFailure) -> str:
        return failure.error[:100]

    def has_fix_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    @admin.action(description="Retry: catch the projection up from this event", permissions=["fix"])
    def retry(self, request: HttpRequest, queryset: QuerySet) -> None:
        for projection in sorted({f.projection for f in queryset}):
            result = catch_up(projection)
            self._report(request, result)

    @admin.action(description="Skip: give up on these events (asks why)", permissions=["fix"])
    def skip(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        failures = list(queryset.filter(resolution=""))
        reason = request.POST.get("reason", "").strip()
        if "confirm" not in request.POST or not reason:
            context = {
                **self.admin_site.each_context(request),
                "title": "Skip failed events",
                "failures": failures,
                "missing_reason": "confirm" in request.POST,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "opts": self.model._meta,
            }
            return TemplateResponse(request, "admin/orders_read/skip_failures.html", context)
        for failure in failures:
            result = skip_failure(failure, by=request.user.get_username(), reason=reason)
            self._report(request, result)
        return None

    def _report(self, request: HttpRequest, result: CatchUpResult) -> None:
        if result.failed_at is None:
            message = f"{result.projection}: applied {result.applied} event(s); it is current."
            self.message_user(request, message, messages.SUCCESS)
        else:
            message = f"{result.projection}: still fails on event #{result.failed_at}."
            self.message_user(request, message, messages.ERROR)

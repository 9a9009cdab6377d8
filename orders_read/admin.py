"""Admin for the read models: browsable, searchable, filterable and strictly read-only."""

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from config.admin_layout import WideChangeListAdmin
from config.admin_lookups import SafeLookupsAdmin
from config.admin_search import IdPrefixSearchAdmin
from config.api import display
from config.api.admin import PersonalDataAdmin, ReadOnlyAdminMixin
from config.csv_export import CsvExportAdmin

from .models import (
    CustomerAnalytics,
    OrderDetails,
    OrderStatusChange,
    OrderSummary,
    ProductSales,
    ProjectionFailure,
)
from .running.catch_up import catch_up, skip_failure
from .running.runner import CatchUpResult

BOOKKEEPING = ("Bookkeeping", {"fields": ("version", "projected_at"), "classes": ("collapse",)})


class ReadModelAdmin(
    ReadOnlyAdminMixin, CsvExportAdmin, WideChangeListAdmin, IdPrefixSearchAdmin, SafeLookupsAdmin
):
    """Projections own these rows: nobody adds, changes or deletes them here; they can be
    searched by the start of their id and exported as CSV."""

    show_full_result_count = False
    change_form_template = "admin/read_only_change_form.html"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if not self.fieldsets:
            return list(super().get_readonly_fields(request, obj))
        shown = [f for _, options in self.fieldsets for f in options["fields"]]
        return [
            name for entry in shown for name in (entry if isinstance(entry, tuple) else [entry])
        ]


class OrderDisplay:
    """Columns shared by the order tables: the order and its story, customer, status, money."""

    @admin.display(description="order", ordering="order_id")
    def order(self, row: Any) -> str:
        return display.short_id(row.order_id)

    @admin.display(description="story")
    def story(self, row: Any) -> str:
        return display.link(reverse("order-story", args=[row.order_id]), "story")

    @admin.display(description="customer", ordering="customer_name")
    def customer(self, row: Any) -> str:
        url = display.admin_url("orders_read.customeranalytics", row.customer_id)
        return display.link(url, row.customer_name)

    @admin.display(description="status", ordering="status")
    def status_badge(self, row: Any) -> str:
        return display.badge(row.status)

    @admin.display(description="total", ordering="total_amount")
    def total(self, row: Any) -> str:
        return display.money(row.total_amount)

    @admin.display(description="placed", ordering="order_date")
    def placed(self, row: Any) -> str:
        return display.when(row.order_date)

    @admin.display(description="see also")
    def related(self, row: Any) -> str:
        links = [
            ("story", reverse("order-story", args=[row.order_id])),
            ("summary", display.admin_url("orders_read.ordersummary", row.order_id)),
            ("details", display.admin_url("orders_read.orderdetails", row.order_id)),
            ("events", display.admin_url("orders_write.event", stream_id=row.order_id)),
            ("write-side order", display.admin_url("orders_write.order", row.order_id)),
            ("customer", display.admin_url("orders_write.customer", row.customer_id)),
        ]
        return format_html_join(" \u00b7 ", '<a href="{1}">{0}</a>', links)


class PaymentMethodFilter(admin.SimpleListFilter):
    """Filter by payment method, named as people say it."""

    title = "payment method"
    parameter_name = "payment_method"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return list(display.PAYMENT_METHODS.items())

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(payment_method=self.value()) if self.value() else queryset


@admin.register(OrderSummary)
class OrderSummaryAdmin(OrderDisplay, ReadModelAdmin):
    list_display = ("order", "customer", "status_badge", "total", "item_count", "placed", "story")
    list_filter = ("status", "order_date")
    link_lookups = ("customer_id",)
    search_fields = ("=customer_id", "customer_name")
    id_search_field = "order_id"
    date_hierarchy = "order_date"
    ordering = ("-order_date",)
    fieldsets = [
        (None, {"fields": ("order", "customer", "status_badge", "total", "item_count", "placed")}),
        ("Related", {"fields": ("related",)}),
        BOOKKEEPING,
    ]


@admin.register(OrderDetails)
class OrderDetailsAdmin(PersonalDataAdmin, OrderDisplay, ReadModelAdmin):
    list_display = (
        "order",
        "customer",
        "customer_email",
        "status_badge",
        "total",
        "payment",
        "placed",
        "story",
    )
    list_filter = ("status", PaymentMethodFilter, "order_date")
    search_fields = ("customer_name", "customer_email")
    id_search_field = "order_id"
    masked_instead = {
        "customer_email": "masked_customer_email",
        "shipping": "masked_shipping",
        "billing": "masked_billing",
    }
    personal_search_fields = ("customer_email",)
    date_hierarchy = "order_date"
    ordering = ("-order_date",)
    fieldsets = [
        (
            None,
            {
                "fields": (
                    "order",
                    ("customer", "customer_email"),
                    ("status_badge", "total", "payment"),
                    "placed",
                )
            },
        ),
        ("Items and history", {"fields": ("item_table", "history_table")}),
        ("Addresses", {"fields": ("shipping", "billing")}),
        ("Related", {"fields": ("related",)}),
        BOOKKEEPING,
    ]

    @admin.display(description="payment", ordering="payment_method")
    def payment(self, details: OrderDetails) -> str:
        return display.payment_method(details.payment_method)

    @admin.display(description="items")
    def item_table(self, details: OrderDetails) -> str:
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    display.link(
                        display.admin_url("orders_write.product", i["product_id"]),
                        i["product_name"],
                    ),
                    i["category"],
                    i["quantity"],
                    display.money(i["unit_price"]),
                    display.money(i["line_total"]),
                )
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
                (
                    display.when(h["changed_at"]),
                    display.badge(h["status"]),
                    h["changed_by"],
                    h["reason"] or "-",
                )
                for h in details.status_history
            ),
        )
        return format_html(
            "<table><tr><th>when</th><th>status</th><th>by</th><th>reason</th></tr>{}</table>",
            rows,
        )

    @admin.display(description="shipping address")
    def shipping(self, details: OrderDetails) -> str:
        return display.address(details.shipping_address)

    @admin.display(description="billing address")
    def billing(self, details: OrderDetails) -> str:
        return display.address(details.billing_address)


@admin.register(OrderStatusChange)
class OrderStatusChangeAdmin(ReadModelAdmin):
    list_display = ("order", "status_badge", "changed_by", "changed", "reason", "story")
    list_filter = ("status", "changed_at")
    link_lookups = ("order_id",)
    search_fields = ("changed_by", "reason")
    id_search_field = "order_id"
    date_hierarchy = "changed_at"
    ordering = ("-changed_at", "-id")
    fieldsets = [
        (None, {"fields": ("order", "status_badge", "changed_by", "changed", "reason")}),
        BOOKKEEPING,
    ]

    @admin.display(description="order", ordering="order_id")
    def order(self, row: OrderStatusChange) -> str:
        return display.short_id(row.order_id)

    @admin.display(description="story")
    def story(self, row: OrderStatusChange) -> str:
        return display.link(reverse("order-story", args=[row.order_id]), "story")

    @admin.display(description="status", ordering="status")
    def status_badge(self, row: OrderStatusChange) -> str:
        return display.badge(row.status)

    @admin.display(description="changed", ordering="changed_at")
    def changed(self, row: OrderStatusChange) -> str:
        return display.when(row.changed_at)


@admin.register(CustomerAnalytics)
class CustomerAnalyticsAdmin(PersonalDataAdmin, ReadModelAdmin):
    list_display = (
        "customer_name",
        "customer_email",
        "segment",
        "total_orders",
        "spent",
        "average",
        "favorite_category",
        "last_order",
    )
    list_filter = ("customer_segment", "last_order_date", "favorite_category")
    search_fields = ("customer_name", "customer_email")
    id_search_field = "customer_id"
    masked_instead = {"customer_email": "masked_customer_email"}
    personal_search_fields = ("customer_email",)
    date_hierarchy = "last_order_date"
    fieldsets = [
        (None, {"fields": ("customer_name", "customer_email", "segment", "last_order")}),
        (
            "Spending",
            {
                "fields": (
                    "total_orders",
                    "spent",
                    "average",
                    "favorite_category",
                    "units_by_category",
                )
            },
        ),
        ("Related", {"fields": ("related",)}),
        BOOKKEEPING,
    ]

    @admin.display(description="segment", ordering="customer_segment")
    def segment(self, row: CustomerAnalytics) -> str:
        return display.badge(row.customer_segment, display.SEGMENT_COLOURS)

    @admin.display(description="total spent", ordering="total_spent")
    def spent(self, row: CustomerAnalytics) -> str:
        return display.money(row.total_spent)

    @admin.display(description="average order", ordering="average_order_value")
    def average(self, row: CustomerAnalytics) -> str:
        return display.money(row.average_order_value)

    @admin.display(description="last order", ordering="last_order_date")
    def last_order(self, row: CustomerAnalytics) -> str:
        return display.when(row.last_order_date)

    @admin.display(description="units by category")
    def units_by_category(self, row: CustomerAnalytics) -> str:
        units = sorted(row.category_units.items(), key=lambda item: (-item[1], item[0]))
        return ", ".join(f"{category}: {count}" for category, count in units) or "-"

    @admin.display(description="see also")
    def related(self, row: CustomerAnalytics) -> str:
        links = [
            ("orders", display.admin_url("orders_read.ordersummary", customer_id=row.customer_id)),
            ("customer", display.admin_url("orders_write.customer", row.customer_id)),
            ("events", display.admin_url("orders_write.event", stream_id=row.customer_id)),
        ]
        return format_html_join(" \u00b7 ", '<a href="{1}">{0}</a>', links)


class SoldFilter(admin.SimpleListFilter):
    """Tell days with sales from days whose every order was cancelled."""

    title = "sales"
    parameter_name = "sold"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "with sales"), ("no", "every order cancelled")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(total_orders__gt=0)
        if self.value() == "no":
            return queryset.filter(total_orders=0)
        return queryset


@admin.register(ProductSales)
class ProductSalesAdmin(ReadModelAdmin):
    list_display = (
        "day",
        "product",
        "category",
        "total_quantity",
        "total_orders",
        "revenue",
        "note",
    )
    list_filter = (SoldFilter, "category", "sale_date")
    link_lookups = ("product_id", "product_id__in")
    search_fields = ("product_name", "category")
    id_search_field = "product_id"
    date_hierarchy = "sale_date"
    ordering = ("-sale_date", "product_name")
    fieldsets = [
        (
            None,
            {
                "fields": (
                    "sale_date",
                    "product",
                    "category",
                    "total_quantity",
                    "total_orders",
                    "revenue",
                    "note",
                )
            },
        ),
        BOOKKEEPING,
    ]

    @admin.display(description="day", ordering="sale_date")
    def day(self, row: ProductSales) -> str:
        return display.day(row.sale_date)

    @admin.display(description="product", ordering="product_name")
    def product(self, row: ProductSales) -> str:
        return display.link(
            display.admin_url("orders_write.product", row.product_id), row.product_name
        )

    @admin.display(description="revenue", ordering="total_revenue")
    def revenue(self, row: ProductSales) -> str:
        return display.money(row.total_revenue)

    @admin.display(description="note")
    def note(self, row: ProductSales) -> str:
        # Cancelling takes an order back out of its day, which may leave the day empty.
        return "every order of this day was cancelled" if row.total_orders == 0 else ""


class FailureStateFilter(admin.SimpleListFilter):
    """Show the open failures unless asked for the resolved ones (or all)."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("open", "open"), ("resolved", "resolved"), ("all", "all")]

    def choices(self, changelist: Any) -> Any:
        for choice in super().choices(changelist):
            if choice["display"] != "All":  # "all" is one of the lookups, open is the default
                yield choice | {
                    "selected": choice["selected"]
                    or (self.value() is None and choice["display"] == "open")
                }

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "all":
            return queryset
        if self.value() == "resolved":
            return queryset.exclude(resolution="")
        return queryset.filter(resolution="")


@admin.register(ProjectionFailure)
class ProjectionFailureAdmin(ReadModelAdmin):
    """Events a projection failed to apply, with actions to retry them or skip them."""

    list_display = (
        "failure",
        "projection",
        "event",
        "event_type",
        "short_error",
        "failed",
        "attempts",
        "resolution",
        "resolved_by",
    )
    list_filter = (FailureStateFilter, "projection", "event_type", "failed_at")
    search_fields = ("error",)
    id_search_field = "stream_id"
    fieldsets = [
        (None, {"fields": ("projection", "event", "event_type", "stream", "failed", "attempts")}),
        ("Error", {"fields": ("error", "traceback_block")}),
        ("Resolution", {"fields": ("resolution", "resolved", "resolved_by", "reason")}),
    ]
    actions = ["retry", "skip", "export_csv"]
    change_form_template = "admin/orders_read/projectionfailure/change_form.html"

    @admin.display(description="failure", ordering="pk")
    def failure(self, failure: ProjectionFailure) -> str:
        return f"#{failure.pk}"

    @admin.display(description="event", ordering="event_position")
    def event(self, failure: ProjectionFailure) -> str:
        url = display.admin_url("orders_write.event", failure.event_position)
        return display.link(url, f"#{failure.event_position}")

    @admin.display(description="stream")
    def stream(self, failure: ProjectionFailure) -> str:
        url = display.admin_url("orders_write.event", stream_id=failure.stream_id)
        return display.short_id(failure.stream_id, url)

    @admin.display(description="failed", ordering="failed_at")
    def failed(self, failure: ProjectionFailure) -> str:
        return display.when(failure.failed_at)

    @admin.display(description="resolved", ordering="resolved_at")
    def resolved(self, failure: ProjectionFailure) -> str:
        return display.when(failure.resolved_at)

    @admin.display(description="traceback")
    def traceback_block(self, failure: ProjectionFailure) -> str:
        if not failure.traceback:
            return "-"
        lines = failure.traceback.count("\n") + 1
        return format_html(
            '<details class="traceback"><summary>Show the traceback ({} lines)</summary>'
            '<pre class="traceback">{}</pre></details>',
            lines,
            failure.traceback,
        )

    def render_change_form(self, request: HttpRequest, context: dict, *args: Any, **kwargs: Any):
        context["can_fix"] = self.has_fix_permission(request)
        context["action_checkbox_name"] = helpers.ACTION_CHECKBOX_NAME
        return super().render_change_form(request, context, *args, **kwargs)

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

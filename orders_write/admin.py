"""Admin for the write side: every change goes through the command services."""

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from config.admin_layout import WideChangeListAdmin
from config.admin_lookups import SafeLookupsAdmin
from config.admin_search import IdPrefixSearchAdmin
from config.api import display
from config.api.admin import PersonalDataAdmin, ReadOnlyAdminMixin
from config.api.privacy import masked, may_see_personal_data
from config.correlation import request_correlation_id

from . import domain, services
from .commands import (
    AddProduct,
    CommandContext,
    ForgetCustomer,
    RegisterCustomer,
    UpdateCustomer,
    UpdateOrderStatus,
    UpdateProduct,
)
from .exceptions import DomainError
from .models import Customer, Event, Order, OrderItem, Product
from .personal_data import open_all
from .plain_text import validate_plain_text


def admin_context(request: HttpRequest) -> CommandContext:
    """Describe the admin user's command for the event metadata."""
    return CommandContext(
        actor=request.user.get_username(), correlation_id=request_correlation_id(request)
    )


BOOKKEEPING = (
    "Bookkeeping",
    {"fields": ("id", "version", "created_at", "updated_at"), "classes": ("collapse",)},
)


class ServiceBackedAdmin(WideChangeListAdmin, IdPrefixSearchAdmin, SafeLookupsAdmin):
    """Save through a command service instead of `Model.save()`; never delete."""

    readonly_fields = ("id", "version", "created_at", "updated_at")
    editable: tuple[str, ...] = ()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> list:
        # An add form asks only what the command takes: the service sets id and version.
        fieldsets = [(None, {"fields": (*self.editable, *self.related_links)})]
        return fieldsets if obj is None else [*fieldsets, BOOKKEEPING]

    related_links: tuple[str, ...] = ()

    def save_model(
        self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool
    ) -> None:
        saved = self.send_command(obj, form.cleaned_data, change, admin_context(request))
        obj.__dict__.update(saved.__dict__)
        obj._state.adding = False

    def send_command(self, obj: Any, data: dict, change: bool, context: CommandContext) -> Any:
        raise NotImplementedError


class PlainTextForm(forms.ModelForm):
    """Refuse in `plain_text_fields` what the services refuse in free text, as form errors."""

    plain_text_fields: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in self.plain_text_fields:
            if name in self.fields:
                self.fields[name].validators.append(validate_plain_text)


class ForgetCustomersForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        validators=[validate_plain_text],
        help_text="Why (e.g. a ticket number); it must not name the customer.",
    )


class CustomerForm(PlainTextForm):
    """Check e-mails as the service stores them (lower case), so duplicates are form errors."""

    plain_text_fields = ("name",)

    class Meta:
        model = Customer
        fields = ("name", "email")

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()


@admin.register(Customer)
class CustomerAdmin(PersonalDataAdmin, ServiceBackedAdmin):
    form = CustomerForm
    list_display = ("name", "email", "orders_link", "analytics_link", "registered")
    search_fields = ("name", "email")
    id_search_field = "id"
    editable = ("name", "email")
    masked_instead = {"email": "masked_email"}
    personal_search_fields = ("email",)
    actions = ["forget"]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> list:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None:
            fieldsets.insert(1, ("Related", {"fields": ("orders_link", "analytics_link")}))
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple:
        return (*super().get_readonly_fields(request, obj), "orders_link", "analytics_link")

    @admin.display(description="orders")
    def orders_link(self, customer: Customer) -> str:
        url = display.admin_url("orders_read.ordersummary", customer_id=customer.pk)
        return display.link(url, "orders")

    @admin.display(description="analytics")
    def analytics_link(self, customer: Customer) -> str:
        return display.link(
            display.admin_url("orders_read.customeranalytics", customer.pk), "analytics"
        )

    @admin.display(description="registered", ordering="created_at")
    def registered(self, customer: Customer) -> str:
        return display.when(customer.created_at)

    @admin.action(description="Forget the selected customers", permissions=["forget"])
    def forget(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        """Ask for a reason, then send ForgetCustomer for each selected customer."""
        form = ForgetCustomersForm(request.POST if "reason" in request.POST else None)
        if not form.is_valid():
            return self.ask_reason(request, queryset, form)
        forgotten, refused = 0, []
        for customer_id in queryset.values_list("pk", flat=True):
            try:
                services.forget_customer(
                    ForgetCustomer(customer_id=customer_id, reason=form.cleaned_data["reason"]),
                    context=admin_context(request),
                )
                forgotten += 1
            except DomainError as error:
                refused.append(f"{customer_id}: {error.message}")
        if forgotten:
            self.message_user(request, f"{forgotten} customer(s) forgotten.", messages.SUCCESS)
        for message in refused:
            self.message_user(request, message, messages.WARNING)
        return None

    def ask_reason(
        self, request: HttpRequest, queryset: QuerySet, form: "ForgetCustomersForm"
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": "Forget customers",
            "opts": self.model._meta,
            "customers": list(queryset.values_list("pk", flat=True)),
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/orders_write/forget_customers.html", context)

    def has_forget_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("orders_write.forget_customer")

    def send_command(self, obj: Customer, data: dict, change: bool, context: CommandContext) -> Any:
        # A user who may not see e-mail addresses has no e-mail field to change.
        values = {"name": data["name"], "email": data.get("email")}
        if change:
            return services.update_customer(
                UpdateCustomer(customer_id=obj.pk, **values), context=context
            )
        return services.register_customer(RegisterCustomer(**values), context=context)


class ProductForm(PlainTextForm):
    plain_text_fields = ("name", "category")

    class Meta:
        model = Product
        fields = ("name", "category", "unit_price")


@admin.register(Product)
class ProductAdmin(ServiceBackedAdmin):
    form = ProductForm
    list_display = ("name", "category", "price", "sales_link")
    list_filter = ("category",)
    search_fields = ("name", "category")
    id_search_field = "id"
    editable = ("name", "category", "unit_price")

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> list:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None:
            fieldsets.insert(1, ("Related", {"fields": ("sales_link",)}))
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple:
        return (*self.readonly_fields, "sales_link")

    @admin.display(description="unit price", ordering="unit_price")
    def price(self, product: Product) -> str:
        return display.money(product.unit_price)

    @admin.display(description="sales")
    def sales_link(self, product: Product) -> str:
        url = display.admin_url("orders_read.productsales", product_id=product.pk)
        return display.link(url, "daily sales")

    def send_command(self, obj: Product, data: dict, change: bool, context: CommandContext) -> Any:
        values = {k: data[k] for k in ("name", "category", "unit_price")}
        if change:
            return services.update_product(
                UpdateProduct(product_id=obj.pk, **values), context=context
            )
        return services.add_product(AddProduct(**values), context=context)


class OrderItemInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = OrderItem
    fields = ("line_number", "product_link", "quantity", "price")
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("product")

    @admin.display(description="product")
    def product_link(self, item: OrderItem) -> str:
        return display.link(
            display.admin_url("orders_write.product", item.product_id), item.product
        )

    @admin.display(description="unit price")
    def price(self, item: OrderItem) -> str:
        return display.money(item.unit_price)


def _status_action(status: str) -> Any:
    @admin.action(description=f"Change status to {status}", permissions=["change_status"])
    def change_status(modeladmin: "OrderAdmin", request: HttpRequest, queryset: QuerySet) -> None:
        modeladmin.change_status(request, queryset, status)

    change_status.__name__ = f"mark_{status}"
    return change_status


@admin.register(Order)
class OrderAdmin(
    PersonalDataAdmin,
    ReadOnlyAdminMixin,
    WideChangeListAdmin,
    IdPrefixSearchAdmin,
    SafeLookupsAdmin,
):
    list_display = ("order", "customer_link", "status_badge", "total", "placed", "story")
    fieldsets = [
        (None, {"fields": ("order", "story", "customer_link", "status_badge", "total", "placed")}),
        ("Payment and delivery", {"fields": ("payment", "shipping", "billing")}),
        ("Bookkeeping", {"fields": ("id", "version", "updated_at"), "classes": ("collapse",)}),
    ]
    readonly_fields = (
        "order",
        "story",
        "customer_link",
        "status_badge",
        "total",
        "placed",
        "payment",
        "shipping",
        "billing",
        "id",
        "version",
        "updated_at",
    )
    list_filter = ("status", "payment_method", "order_date")
    search_fields = ("customer__name", "customer__email")
    id_search_field = "id"
    masked_instead = {"shipping": "masked_shipping", "billing": "masked_billing"}
    personal_search_fields = ("customer__email",)
    date_hierarchy = "order_date"
    ordering = ("-order_date",)
    list_select_related = ("customer",)
    inlines = [OrderItemInline]
    actions = [_status_action(status) for status in domain.STATUSES if status != domain.PENDING]

    @admin.display(description="order", ordering="id")
    def order(self, order: Order) -> str:
        return display.short_id(order.pk)

    @admin.display(description="story")
    def story(self, order: Order) -> str:
        return display.link(reverse("order-story", args=[order.pk]), "story")

    @admin.display(description="customer", ordering="customer__name")
    def customer_link(self, order: Order) -> str:
        url = display.admin_url("orders_write.customer", order.customer_id)
        return display.link(url, order.customer.name)

    @admin.display(description="status", ordering="status")
    def status_badge(self, order: Order) -> str:
        return display.badge(order.status)

    @admin.display(description="total", ordering="total_amount")
    def total(self, order: Order) -> str:
        return display.money(order.total_amount)

    @admin.display(description="placed", ordering="order_date")
    def placed(self, order: Order) -> str:
        return display.when(order.order_date)

    @admin.display(description="payment", ordering="payment_method")
    def payment(self, order: Order) -> str:
        return display.payment_method(order.payment_method)

    @admin.display(description="shipping address")
    def shipping(self, order: Order) -> str:
        return display.address(order.shipping_address)

    @admin.display(description="billing address")
    def billing(self, order: Order) -> str:
        return display.address(order.billing_address)

    def has_change_status_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("orders_write.change_order")

    def change_status(self, request: HttpRequest, queryset: QuerySet, status: str) -> None:
        """Send UpdateOrderStatus for each selected order and report what was refused."""
        changed, refused = 0, []
        for order in queryset:
            try:
                services.update_order_status(
                    UpdateOrderStatus(order_id=order.pk, status=status),
                    context=admin_context(request),
                )
            except DomainError as error:
                refused.append(f"{order.pk}: {error.message}")
            else:
                changed += 1
                self.log_change(request, order, f"Changed status to {status}.")
        if changed:
            self.message_user(request, f"{changed} order(s) changed to {status}.", messages.SUCCESS)
        for message in refused:
            self.message_user(request, message, messages.WARNING)


@admin.register(Event)
class EventAdmin(ReadOnlyAdminMixin, WideChangeListAdmin, IdPrefixSearchAdmin, SafeLookupsAdmin):
    """The store as recorded, with personal fields opened (and masked for those who may not
    see them)."""

    list_display = (
        "position",
        "event_type",
        "stream_type",
        "stream",
        "version",
        "actor",
        "recorded",
    )
    list_filter = ("event_type", "stream_type", "recorded_at")
    search_fields = ("event_type",)
    id_search_field = "stream_id"
    date_hierarchy = "recorded_at"
    ordering = ("-position",)
    change_form_template = "admin/read_only_change_form.html"
    fields = (
        "position",
        "stream_type",
        "stream",
        "version",
        "event_type",
        "recorded",
        "actor",
        "command",
        "correlation",
        "causation",
        "pretty_data",
        "pretty_metadata",
    )
    readonly_fields = fields

    @admin.display(description="stream", ordering="stream_id")
    def stream(self, event: Event) -> str:
        url = display.admin_url("orders_write.event", stream_id=event.stream_id)
        shown = display.short_id(event.stream_id, url)
        if event.stream_type == "order":
            return format_html(
                "{} &middot; {}",
                shown,
                display.link(reverse("order-story", args=[event.stream_id]), "story"),
            )
        return shown

    @admin.display(description="recorded", ordering="recorded_at")
    def recorded(self, event: Event) -> str:
        return display.when(event.recorded_at)

    @admin.display(description="actor")
    def actor(self, event: Event) -> str:
        return event.metadata.get("actor", "-")

    @admin.display(description="command")
    def command(self, event: Event) -> str:
        return event.metadata.get("command", "-")

    @admin.display(description="correlation id")
    def correlation(self, event: Event) -> str:
        value = event.metadata.get("correlation_id")
        url = f"{reverse('event-trace')}?correlation_id={value}"
        return display.short_id(value, url) if value else "-"

    @admin.display(description="causation id")
    def causation(self, event: Event) -> str:
        return display.short_id(event.metadata.get("causation_id"))

    def get_object(self, request: HttpRequest, object_id: str, from_field: Any = None) -> Any:
        event = super().get_object(request, object_id, from_field)
        if event is not None:
            open_all([event.data])
            if not may_see_personal_data(request.user):
                event.data = masked(event.data)
        return event

    @admin.display(description="data")
    def pretty_data(self, event: Event) -> str:
        return format_html("<pre>{}</pre>", json.dumps(event.data, indent=2, sort_keys=True))

    @admin.display(description="metadata")
    def pretty_metadata(self, event: Event) -> str:
        return format_html("<pre>{}</pre>", json.dumps(event.metadata, indent=2, sort_keys=True))

"""Admin for the write side: every change goes through the command services."""

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from . import domain, services
from .commands import (
    AddProduct,
    CommandContext,
    RegisterCustomer,
    UpdateCustomer,
    UpdateOrderStatus,
    UpdateProduct,
)
from .exceptions import DomainError
from .models import Customer, Event, Order, OrderItem, Product


def admin_context(request: HttpRequest) -> CommandContext:
    """Describe the admin user's command for the event metadata."""
    return CommandContext(actor=request.user.get_username())


class ReadOnlyAdminMixin:
    """Browse rows without adding, changing or deleting them."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ServiceBackedAdmin(admin.ModelAdmin):
    """Save through a command service instead of `Model.save()`; never delete."""

    readonly_fields = ("id", "version", "created_at", "updated_at")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool
    ) -> None:
        saved = self.send_command(obj, form.cleaned_data, change, admin_context(request))
        obj.__dict__.update(saved.__dict__)
        obj._state.adding = False

    def send_command(self, obj: Any, data: dict, change: bool, context: CommandContext) -> Any:
        raise NotImplementedError


class CustomerForm(forms.ModelForm):
    """Check e-mails as the service stores them (lower case), so duplicates are form errors."""

    class Meta:
        model = Customer
        fields = ("name", "email")

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()


@admin.register(Customer)
class CustomerAdmin(ServiceBackedAdmin):
    form = CustomerForm
    list_display = ("name", "email", "version", "created_at")
    search_fields = ("name", "email")
    fields = ("id", "name", "email", "version", "created_at", "updated_at")

    def send_command(self, obj: Customer, data: dict, change: bool, context: CommandContext) -> Any:
        values = {"name": data["name"], "email": data["email"]}
        if change:
            return services.update_customer(
                UpdateCustomer(customer_id=obj.pk, **values), context=context
            )
        return services.register_customer(RegisterCustomer(**values), context=context)


@admin.register(Product)
class ProductAdmin(ServiceBackedAdmin):
    list_display = ("name", "category", "unit_price", "version")
    list_filter = ("category",)
    search_fields = ("name", "category")
    fields = ("id", "name", "category", "unit_price", "version", "created_at", "updated_at")

    def send_command(self, obj: Product, data: dict, change: bool, context: CommandContext) -> Any:
        values = {k: data[k] for k in ("name", "category", "unit_price")}
        if change:
            return services.update_product(
                UpdateProduct(product_id=obj.pk, **values), context=context
            )
        return services.add_product(AddProduct(**values), context=context)


class OrderItemInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = OrderItem
    fields = ("line_number", "product", "quantity", "unit_price")
    readonly_fields = fields
    extra = 0


def _status_action(status: str) -> Any:
    @admin.action(description=f"Change status to {status}", permissions=["change_status"])
    def change_status(modeladmin: "OrderAdmin", request: HttpRequest, queryset: QuerySet) -> None:
        modeladmin.change_status(request, queryset, status)

    change_status.__name__ = f"mark_{status}"
    return change_status


@admin.register(Order)
class OrderAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "customer", "status", "total_amount", "order_date", "version")
    list_filter = ("status", "payment_method", "order_date")
    search_fields = ("=id", "customer__name", "customer__email")
    date_hierarchy = "order_date"
    list_select_related = ("customer",)
    inlines = [OrderItemInline]
    actions = [_status_action(status) for status in domain.STATUSES if status != domain.PENDING]

    def has_change_status_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("orders_write.change_order")

    def change_status(self, request: HttpRequest, queryset: QuerySet, status: str) -> None:
        """Send UpdateOrderStatus for each selected order and report what was refused."""
        changed, refused = 0, []
        for order_id in queryset.values_list("pk", flat=True):
            try:
                services.update_order_status(
                    UpdateOrderStatus(order_id=order_id, status=status),
                    context=admin_context(request),
                )
                changed += 1
            except DomainError as error:
                refused.append(f"{order_id}: {error.message}")
        if changed:
            self.message_user(request, f"{changed} order(s) changed to {status}.", messages.SUCCESS)
        for message in refused:
            self.message_user(request, message, messages.WARNING)


@admin.register(Event)
class EventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("position", "event_type", "stream_type", "stream_id", "version", "recorded_at")
    list_filter = ("event_type", "stream_type", "recorded_at")
    search_fields = ("=stream_id",)
    date_hierarchy = "recorded_at"
    fields = (
        "position",
        "stream_type",
        "stream_id",
        "version",
        "event_type",
        "pretty_data",
        "pretty_metadata",
        "recorded_at",
    )
    readonly_fields = fields

    @admin.display(description="data")
    def pretty_data(self, event: Event) -> str:
        return format_html("<pre>{}</pre>", json.dumps(event.data, indent=2, sort_keys=True))

    @admin.display(description="metadata")
    def pretty_metadata(self, event: Event) -> str:
        return format_html("<pre>{}</pre>", json.dumps(event.metadata, indent=2, sort_keys=True))

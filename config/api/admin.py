"""Admin pieces both apps share."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from . import display
from .privacy import mask_address, mask_email, may_see_personal_data


class ReadOnlyAdminMixin:
    """Browse rows without adding, changing or deleting them."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PersonalDataAdmin:
    """Show e-mail and postal addresses masked to users without view_personal_data: their
    columns and fields give way to masked ones, and nobody searches by what they cannot see."""

    # A personal field or column -> the display method that shows it masked.
    masked_instead: dict[str, str] = {}
    personal_search_fields: tuple[str, ...] = ()

    def get_list_display(self, request: HttpRequest) -> Any:
        return self._swapped(request, super().get_list_display(request))

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> list:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:  # an add form: the user is typing the data in
            return fieldsets
        return [
            (title, {**options, "fields": self._swapped(request, options["fields"])})
            for title, options in fieldsets
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        shown = self._swapped(request, super().get_readonly_fields(request, obj))
        return shown if obj is None else (*shown, *self._masked_of(request))

    def get_search_fields(self, request: HttpRequest) -> Any:
        fields = super().get_search_fields(request)
        if may_see_personal_data(request.user):
            return fields
        return tuple(f for f in fields if f.lstrip("=^@") not in self.personal_search_fields)

    def _masked_of(self, request: HttpRequest) -> tuple[str, ...]:
        return () if may_see_personal_data(request.user) else tuple(self.masked_instead.values())

    def _swapped(self, request: HttpRequest, names: Any) -> Any:
        if may_see_personal_data(request.user):
            return names
        return tuple(
            self.masked_instead.get(name, name)
            if isinstance(name, str)
            else self._swapped(request, name)
            for name in names
        )

    @admin.display(description="email")
    def masked_email(self, row: Any) -> str:
        return mask_email(row.email) or "-"

    @admin.display(description="customer email")
    def masked_customer_email(self, row: Any) -> str:
        return mask_email(row.customer_email) or "-"

    @admin.display(description="shipping address")
    def masked_shipping(self, row: Any) -> str:
        return display.address(mask_address(row.shipping_address))

    @admin.display(description="billing address")
    def masked_billing(self, row: Any) -> str:
        return display.address(mask_address(row.billing_address))

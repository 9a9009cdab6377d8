"""Admin pieces both apps share."""

from typing import Any

from django.http import HttpRequest


class ReadOnlyAdminMixin:
    """Browse rows without adding, changing or deleting them."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

"""Change lists get the page's whole width: the navigation sidebar stays on the other pages."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse


class WideChangeListAdmin(admin.ModelAdmin):
    """Leave out the navigation sidebar on the change list, so its columns fit a laptop."""

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        return super().changelist_view(
            request, {"is_nav_sidebar_enabled": False, **(extra_context or {})}
        )

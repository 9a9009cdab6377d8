"""API tokens in the admin: superusers only, and never the token nor its digest (a token is
shown once, when it is made)."""

from django.contrib import admin
from django.http import HttpRequest
from knox.admin import AuthTokenAdmin
from knox.models import AuthToken

admin.site.unregister(AuthToken)


@admin.register(AuthToken)
class TokenAdmin(AuthTokenAdmin):
    list_display = ("user", "created", "expiry")
    list_filter = ("expiry",)
    search_fields = ("user__username",)
    ordering = ("-created",)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj: AuthToken | None = None) -> bool:
        return request.user.is_superuser

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: AuthToken | None = None) -> bool:
        return False  # a token is made or deleted, never edited

    def has_delete_permission(self, request: HttpRequest, obj: AuthToken | None = None) -> bool:
        return request.user.is_superuser

"""API tokens in the admin: superusers only, and never the token nor its digest (a token is
shown once, when it is made)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from knox.admin import AuthTokenAdmin
from knox.models import AuthToken

admin.site.unregister(AuthToken)


@admin.register(AuthToken)
class TokenAdmin(AuthTokenAdmin):
    list_display = ("token", "user", "created", "expiry")
    fields = ("token", "user", "created", "expiry")
    readonly_fields = ("token", "created")
    list_filter = ("expiry",)
    search_fields = ("user__username",)
    ordering = ("-created",)

    @admin.display(description="token")
    def token(self, token: AuthToken) -> str:
        """Name a token by the start of its digest: one-way, so it tells nothing of the secret
        (not even its own first characters), and short enough to fit the page."""
        return f"{token.digest[:8]}\u2026" if token.digest else "-"

    def get_fields(self, request: HttpRequest, obj: AuthToken | None = None) -> tuple:
        return ("user", "expiry") if obj is None else self.fields

    def render_change_form(self, request: HttpRequest, context: dict, *args: Any, **kwargs: Any):
        original = context.get("original")
        if original is not None:
            context["subtitle"] = f"{self.token(original)} ({original.user})"
        return super().render_change_form(request, context, *args, **kwargs)

    def save_model(self, request: HttpRequest, obj: AuthToken, form: Any, change: bool) -> None:
        """Make the token as `drf_create_token` does (random, stored as its digest)."""
        expiry = obj.expiry - timezone.now() if obj.expiry else None
        made, obj.shown_once = AuthToken.objects.create(user=obj.user, expiry=expiry)
        obj.pk, obj.digest, obj.expiry = made.pk, made.digest, made.expiry

    def response_add(self, request: HttpRequest, obj: AuthToken, **kwargs: Any) -> HttpResponse:
        """Show the new token on this page only: it is in no message, session or log."""
        context = {
            **self.admin_site.each_context(request),
            "title": "API token created",
            "opts": self.opts,
            "token": obj.shown_once,
            "token_owner": obj.user,
            "expiry": obj.expiry,
        }
        return TemplateResponse(request, "admin/knox/token_created.html", context)

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

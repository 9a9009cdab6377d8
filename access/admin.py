"""API tokens in the admin: superusers only, and never the token nor its digest (a token is
shown once, when it is made)."""

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.forms import CheckboxInput
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.safestring import mark_safe
from knox.admin import AuthTokenAdmin
from knox.models import AuthToken

admin.site.unregister(AuthToken)


def row_id(token: AuthToken) -> str:
    """Return the id the token list shows for a token: a keyed hash of its digest, which
    tells nothing of it (the digest is the table's primary key)."""
    return salted_hmac("access.admin.row_id", token.digest).hexdigest()[:32]


@admin.register(AuthToken)
class TokenAdmin(AuthTokenAdmin):
    list_display = ("token", "user", "created", "expiry")
    list_display_links = None  # a token's page has its digest in its URL
    fields = ("token", "user", "created", "expiry")
    readonly_fields = ("token", "created")
    list_filter = ("expiry",)
    search_fields = ("user__username",)
    ordering = ("-created",)
    actions = ["delete_tokens"]

    @admin.display(description=mark_safe('<input type="checkbox" id="action-toggle">'))
    def action_checkbox(self, obj: AuthToken) -> str:
        """Select a row by its opaque id (Django's own checkbox carries the primary key)."""
        attrs = {"class": "action-select", "aria-label": f"Select the token of {obj.user}"}
        return CheckboxInput(attrs, lambda value: False).render(
            helpers.ACTION_CHECKBOX_NAME, row_id(obj)
        )

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # its pages name each token by its digest
        return actions

    def response_action(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """Turn the selected rows' opaque ids back into the tokens they stand for."""
        chosen = set(request.POST.getlist(helpers.ACTION_CHECKBOX_NAME))
        request.POST = request.POST.copy()
        digests = [t.digest for t in AuthToken.objects.only("digest") if row_id(t) in chosen]
        request.POST.setlist(helpers.ACTION_CHECKBOX_NAME, digests)
        return super().response_action(request, queryset)

    @admin.action(description="Delete the selected API tokens", permissions=["delete"])
    def delete_tokens(self, request: HttpRequest, queryset: QuerySet) -> None:
        """Delete the tokens (their owners' clients stop working at once)."""
        count = len(queryset)
        for token in queryset:
            token.delete()
        self.message_user(request, f"Deleted {count} API token(s).", messages.SUCCESS)

    def log_addition(self, request: HttpRequest, obj: AuthToken, message: Any) -> None:
        """Log nothing: Django's log entry would name the token by its digest."""

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

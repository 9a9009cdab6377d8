"""The answer to a login refused by django-axes for too many failures: a 429 page for the
admin, a 429 in the API's error shape elsewhere under /api/, both with `Retry-After`."""

from typing import Any

from axes.helpers import get_cool_off
from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone

from orders_write.api_errors import ErrorCode, error_body


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any = None
) -> HttpResponse:
    """Say that logins are refused, and until when."""
    cool_off = get_cool_off(request)
    seconds = max(1, int(cool_off.total_seconds())) if cool_off else 900
    headers = {"Retry-After": str(seconds)}
    message = f"Too many failed logins. Try again in {_minutes(seconds)}."
    if request.path.startswith("/api/"):
        body = error_body(ErrorCode.THROTTLED, message)
        return JsonResponse(body, status=429, headers=headers)
    context = {
        **admin.site.each_context(request),
        "title": "Too many failed logins",
        "message": message,
        "retry_at": timezone.now() + timezone.timedelta(seconds=seconds),
    }
    return render(request, "admin/lockout.html", context, status=429, headers=headers)


def _minutes(seconds: int) -> str:
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"

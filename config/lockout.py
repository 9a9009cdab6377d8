"""The page for a login refused by django-axes for too many failures: a 429 saying when to
retry, with `Retry-After`. (Wrong API tokens get the API's own 429: `token_failures`.)"""

from typing import Any

from axes.helpers import get_cool_off
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any = None
) -> HttpResponse:
    """Say that logins are refused, and until when."""
    cool_off = get_cool_off(request)
    seconds = max(1, int(cool_off.total_seconds())) if cool_off else 900
    context = {
        **admin.site.each_context(request),
        "title": "Too many failed logins",
        "message": f"Too many failed logins. Try again in {_minutes(seconds)}.",
        "retry_at": timezone.now() + timezone.timedelta(seconds=seconds),
        # Nobody is logged in: no sidebar saying so.
        "is_nav_sidebar_enabled": False,
    }
    response = render(request, "admin/lockout.html", context, status=429)
    response["Retry-After"] = str(seconds)
    return response


def _minutes(seconds: int) -> str:
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"

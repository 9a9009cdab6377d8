"""How values look to people in the admin and on the dashboard: money, statuses, ids, addresses."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html
from django.utils.safestring import SafeString

STATUS_COLOURS = {
    "pending": "#8a6d00",
    "confirmed": "#1f5fa8",
    "paid": "#6a3fa0",
    "shipped": "#00707a",
    "delivered": "#2b7a2b",
    "cancelled": "#a33",
}
PAYMENT_METHODS = {
    "card": "Card",
    "paypal": "PayPal",
    "bank_transfer": "Bank transfer",
    "cash_on_delivery": "Cash on delivery",
}
SEGMENT_COLOURS = {"new": "#1f5fa8", "regular": "#555", "vip": "#8a6d00"}
# No-break spaces keep a time or an amount on one line in narrow columns.
TIME_FORMAT = "%Y-%m-%d\u00a0%H:%M"
DAY_FORMAT = "%Y-%m-%d"


def money(amount: Decimal | int | float | str | None) -> str:
    """Format an amount with thousands separators and the configured currency code."""
    if amount is None or amount == "":
        return "-"
    return f"{Decimal(amount):,.2f}\u00a0{settings.CURRENCY}"


def count(value: int | float | None) -> str:
    """Format a count with thousands separators."""
    return "-" if value is None else f"{value:,.0f}"


def payment_method(value: str) -> str:
    """Name a payment method as people say it."""
    return PAYMENT_METHODS.get(value, value)


def badge(value: str, colours: dict[str, str] = STATUS_COLOURS) -> SafeString:
    """Show a status (or segment) as a coloured badge."""
    colour = colours.get(value, "#555")
    return format_html(
        '<span class="badge" style="background:{};color:#fff;padding:1px 8px;'
        'border-radius:9px;font-size:11px;white-space:nowrap">{}</span>',
        colour,
        value,
    )


def short_id(value: UUID | str | None, url: str | None = None) -> SafeString | str:
    """Show the first 8 characters of an id; hovering shows all of it, copying copies all of it."""
    if not value:
        return "-"
    full = str(value)
    text = format_html(
        '<span class="short-id" title="{}" data-full="{}" '
        "oncopy=\"event.clipboardData.setData('text/plain', this.dataset.full);"
        'event.preventDefault()" style="font-family:monospace">{}</span>',
        full,
        full,
        full[:8],
    )
    return format_html('<a href="{}">{}</a>', url, text) if url else text


def when(value: datetime | str | None) -> str:
    """Format a time (or an ISO 8601 string) the one way the admin shows times."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is None:
        return "-"
    return timezone.localtime(value).strftime(TIME_FORMAT)


def day(value: date | None) -> str:
    """Format a day as the admin shows days (ISO 8601)."""
    return value.strftime(DAY_FORMAT) if value else "-"


def address(value: dict[str, Any] | None) -> str:
    """Write an address as one line of text."""
    if not value:
        return "-"
    parts = [value.get(k, "") for k in ("line1", "line2", "postal_code", "city", "country")]
    return ", ".join(p for p in parts if p)


def admin_url(model: str, pk: object = None, **query: object) -> str:
    """Return the admin URL of a row (`app.model` and pk) or of a filtered list."""
    app, name = model.split(".")
    if pk is not None:
        return reverse(f"admin:{app}_{name}_change", args=[pk])
    url = reverse(f"admin:{app}_{name}_changelist")
    params = "&".join(f"{k}={v}" for k, v in query.items())
    return f"{url}?{params}" if params else url


def link(url: str, text: object) -> SafeString:
    """Return an HTML link."""
    return format_html('<a href="{}">{}</a>', url, text)

"""The admin dashboard page: its period from the query string, its charts, each panel as CSV."""

from collections.abc import Callable, Iterable
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.text import Truncator

from config.api import display
from config.csv_export import csv_response
from orders_read.running.status import ProjectionStatus, projection_statuses

from . import charts
from .charts import Point
from .dashboard import LONGEST_PERIOD, PRESETS, Dashboard, Period, Totals, dashboard

LAG_COLOURS = {"stalled": "#a33", "behind": "#8a6d00"}
PANELS = ("revenue", "orders", "statuses", "products", "customers", "lag")


class BadPeriod(ValueError):
    pass


def dashboard_page(request: HttpRequest) -> HttpResponse:
    """Chart revenue, orders, statuses, top products and customers, and projection lag."""
    if not request.user.has_perm("orders_read.view_ordersummary"):
        raise PermissionDenied
    try:
        period = period_of(request.GET)
    except BadPeriod as error:
        return HttpResponseBadRequest(str(error))
    figures, statuses = dashboard(period), projection_statuses()
    panel = request.GET.get("export")
    if panel is not None:
        if panel not in PANELS:
            return HttpResponseBadRequest(f"export must be one of {', '.join(PANELS)}.")
        return panel_csv(panel, figures, statuses)
    context = {
        **admin.site.each_context(request),
        "title": f"Dashboard: {describe(period)}",
        "figures": figures,
        "period": period,
        "presets": PRESETS,
        "comparisons": comparisons(figures.totals, figures.previous),
        "query": request.GET.urlencode(),
        "statuses": statuses,
        **_charts(figures, statuses),
    }
    return TemplateResponse(request, "admin/dashboard.html", context)


def period_of(query: QueryDict) -> Period:
    """Read the period from `days` (a preset) or `date_from` and `date_to` (both included)."""
    if "date_from" in query or "date_to" in query:
        today = timezone.localdate()
        first = _day(query, "date_from", today - timedelta(days=29))
        last = _day(query, "date_to", today)
        if first > last:
            raise BadPeriod("date_from must not be after date_to.")
        if (last - first).days >= LONGEST_PERIOD:
            raise BadPeriod(f"A period covers at most {LONGEST_PERIOD} days.")
        return Period(first, last)
    days = query.get("days", str(PRESETS[1]))
    if days not in {str(p) for p in PRESETS}:
        raise BadPeriod(f"days must be one of {', '.join(map(str, PRESETS))}.")
    return Period.last_days(int(days))


def _day(query: QueryDict, name: str, default: date) -> date:
    value = query.get(name, "").strip()
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadPeriod(f"{name} must be a date (YYYY-MM-DD).") from None


def describe(period: Period) -> str:
    """Name the period as the page's title does."""
    if period.preset:
        return f"the last {period.days} days"
    return f"{display.day(period.first_day)} to {display.day(period.last_day)}"


def comparisons(now: Totals, before: Totals) -> list[tuple[str, str, str, str]]:
    """Return each headline figure: name, value, the previous period's value and the change."""
    return [
        ("Revenue", display.money(now.revenue), display.money(before.revenue),
         _change(now.revenue, before.revenue)),
        ("Orders placed", display.count(now.orders), display.count(before.orders),
         _change(now.orders, before.orders)),
        ("Average order", display.money(now.average_order), display.money(before.average_order),
         _change(now.average_order, before.average_order)),
    ]  # fmt: skip


def _change(now: Decimal | int | None, before: Decimal | int | None) -> str:
    if not before or now is None:
        return "-"
    return f"{(Decimal(now) - Decimal(before)) * 100 / Decimal(before):+.0f}%"


def _charts(figures: Dashboard, statuses: list[ProjectionStatus]) -> dict:
    today = timezone.localdate()
    return {
        "revenue_chart": charts.column_chart(
            [_day_point(day, float(amount), today) for day, amount in figures.revenue_per_day],
            title="Revenue per day",
            unit=display.money,
            axis=lambda v: f"{v:,.0f}\u00a0{settings.CURRENCY}",
        ),
        "orders_chart": charts.column_chart(
            [_day_point(day, count, today) for day, count in figures.orders_per_day],
            title="Orders per day",
            unit=display.count,
            axis=display.count,
        ),
        "status_chart": charts.bar_chart(
            [Point(s, n, display.STATUS_COLOURS[s]) for s, n in figures.orders_by_status],
            title="Orders by status",
            unit=display.count,
        ),
        "products_chart": charts.bar_chart(
            [_product_point(p) for p in figures.top_products],
            title="Top products by units sold",
            unit=lambda v: f"{display.count(v)} units",
        ),
        "lag_chart": charts.bar_chart(
            [Point(s.name, s.lag, LAG_COLOURS.get(s.state, "#2b7a2b")) for s in statuses],
            title="Projection lag (events)",
            unit=lambda v: f"{display.count(v)} events",
        ),
    }


def _day_point(day: date, value: float, today: date) -> Point:
    # A tick each Monday; today is still running, so its column is only part of a day.
    tick = day.strftime("%d %b") if day.weekday() == 0 else ""
    return Point(display.day(day), value, tick=tick, partial=day == today)


def _product_point(product: dict) -> Point:
    return Point(Truncator(product["product_name"]).chars(22), product["total_quantity"])


def panel_csv(panel: str, figures: Dashboard, statuses: list[ProjectionStatus]) -> HttpResponse:
    """Return one panel's figures as a CSV download."""
    header, rows = PANEL_ROWS[panel](figures, statuses)
    period = figures.period
    return csv_response(f"dashboard-{panel}-{period.first_day}-{period.last_day}.csv", header, rows)


Rows = tuple[list[str], Iterable[Iterable[object]]]
PANEL_ROWS: dict[str, Callable[[Dashboard, list[ProjectionStatus]], Rows]] = {
    "revenue": lambda f, _: (["day", "revenue"], f.revenue_per_day),
    "orders": lambda f, _: (["day", "orders"], f.orders_per_day),
    "statuses": lambda f, _: (["status", "orders"], f.orders_by_status),
    "products": lambda f, _: (
        ["product_id", "product_name", "category", "units", "orders", "revenue"],
        (
            [p[k] for k in ("product_id", "product_name", "category")]
            + [p["total_quantity"], p["total_orders"], p["total_revenue"]]
            for p in f.top_products
        ),
    ),
    "customers": lambda f, _: (
        ["customer_id", "customer_name", "segment", "orders", "spent"],
        ((c.customer_id, c.customer_name, c.segment, c.orders, c.spent) for c in f.top_customers),
    ),
    "lag": lambda _, s: (
        ["projection", "state", "position", "lag_events", "lag_seconds"],
        ((p.name, p.state, p.position, p.lag, p.lag_seconds) for p in s),
    ),
}

"""The admin's own pages: projection status, the dashboard, an order's story, a request's trace."""

from uuid import UUID

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.template.response import TemplateResponse
from django.utils.text import Truncator

from config.api import display
from orders_read.running.status import projection_statuses

from . import charts
from .charts import Point
from .dashboard import WINDOWS, dashboard
from .story import order_story, traced_events

LAG_COLOURS = {"stalled": "#a33", "behind": "#8a6d00"}


def projection_status_page(request: HttpRequest) -> HttpResponse:
    """Show each projection's position, lag, state and last error."""
    _require(request, "orders_read.view_projectionstate")
    context = {
        **admin.site.each_context(request),
        "title": "Projection status",
        "statuses": projection_statuses(),
    }
    return TemplateResponse(request, "admin/projection_status.html", context)


def dashboard_page(request: HttpRequest) -> HttpResponse:
    """Chart revenue, orders, statuses, top products and customers, and projection lag."""
    _require(request, "orders_read.view_ordersummary")
    days = request.GET.get("days", str(WINDOWS[0]))
    if days not in {str(w) for w in WINDOWS}:
        return HttpResponseBadRequest(f"days must be one of {', '.join(map(str, WINDOWS))}.")
    figures = dashboard(int(days))
    statuses = projection_statuses()
    context = {
        **admin.site.each_context(request),
        "title": f"Dashboard: the last {days} days",
        "figures": figures,
        "windows": WINDOWS,
        "revenue": display.money(figures.revenue),
        "revenue_chart": charts.column_chart(
            [Point(day.isoformat(), float(amount)) for day, amount in figures.revenue_per_day],
            title="Revenue per day",
            unit=display.money,
        ),
        "orders_chart": charts.column_chart(
            [Point(day.isoformat(), count) for day, count in figures.orders_per_day],
            title="Orders per day",
            unit=lambda v: f"{v:,.0f}",
        ),
        "status_chart": charts.bar_chart(
            [Point(s, n, display.STATUS_COLOURS[s]) for s, n in figures.orders_by_status],
            title="Orders by status",
            unit=lambda v: f"{v:,.0f}",
        ),
        "products_chart": charts.bar_chart(
            [_product_point(p) for p in figures.top_products],
            title="Top products by units sold",
            unit=lambda v: f"{v:,.0f} units",
        ),
        "lag_chart": charts.bar_chart(
            [Point(s.name, s.lag, LAG_COLOURS.get(s.state, "#2b7a2b")) for s in statuses],
            title="Projection lag (events)",
            unit=lambda v: f"{v:,.0f} events",
        ),
        "statuses": statuses,
    }
    return TemplateResponse(request, "admin/dashboard.html", context)


def _product_point(product: dict) -> Point:
    return Point(Truncator(product["product_name"]).chars(22), product["total_quantity"])


def order_story_page(request: HttpRequest, order_id: UUID) -> HttpResponse:
    """Show an order's events, the commands behind them and the read rows they produced."""
    _require(request, "orders_write.view_event")
    story = order_story(order_id)
    if story is None:
        raise Http404("No events for this order.")
    context = {
        **admin.site.each_context(request),
        "title": f"Order {order_id}",
        "story": story,
    }
    return TemplateResponse(request, "admin/order_story.html", context)


def trace_page(request: HttpRequest) -> HttpResponse:
    """Find every event recorded under one correlation id (or an order's story by its id)."""
    _require(request, "orders_write.view_event")
    value = request.GET.get("correlation_id", "").strip()
    correlation_id, events, error = None, [], ""
    if value:
        try:
            correlation_id = UUID(value)
        except ValueError:
            error = "Enter a correlation id (a UUID)."
        else:
            events = traced_events(correlation_id)
    context = {
        **admin.site.each_context(request),
        "title": "Trace a request",
        "value": value,
        "correlation_id": correlation_id,
        "events": events,
        "error": error,
    }
    return TemplateResponse(request, "admin/trace.html", context, status=400 if error else 200)


def _require(request: HttpRequest, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied

"""The admin's own pages: projection status, an order's story, a request's trace."""

from uuid import UUID

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from config.api.privacy import may_see_personal_data
from orders_read.running.status import projection_statuses

from .story import order_story, traced_events


def projection_status_page(request: HttpRequest) -> HttpResponse:
    """Show each projection's position, lag, state and last error."""
    context = {
        **admin.site.each_context(request),
        "title": "Projection status",
        "statuses": projection_statuses(),
    }
    return TemplateResponse(request, "admin/projection_status.html", context)


def order_story_page(request: HttpRequest, order_id: UUID) -> HttpResponse:
    """Show an order's events, the commands behind them and the read rows they produced."""
    _require(request, "orders_write.view_event")
    story = order_story(order_id, masked=not may_see_personal_data(request.user))
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
            events = traced_events(correlation_id, masked=not may_see_personal_data(request.user))
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

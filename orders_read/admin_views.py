"""The projection status page of the admin."""

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from .status import projection_statuses


def projection_status_page(request: HttpRequest) -> HttpResponse:
    """Show each projection's position, lag, state and last error."""
    context = {
        **admin.site.each_context(request),
        "title": "Projection status",
        "statuses": projection_statuses(),
    }
    return TemplateResponse(request, "admin/projection_status.html", context)

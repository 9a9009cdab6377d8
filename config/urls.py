"""URLs: the admin, and the API where each path sends reads to the query side and
commands to the command side."""

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views import defaults, generic
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import RedirectView
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.decorators import api_view
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from config.api.errors import ErrorCode, error_body
from config.browsable_api import commands_of, offer_commands
from config.dependencies import dependencies_page
from orders_read.admin_pages.dashboard_page import dashboard_page
from orders_read.admin_pages.views import order_story_page, projection_status_page, trace_page
from orders_read.api.views import (
    CustomerAnalyticsView,
    CustomerOrdersView,
    OrderHistoryView,
    OrderViewSet,
    PopularProductsView,
    ProductSalesView,
    ProjectionStatusView,
)
from orders_read.running.metrics import metrics_page
from orders_write.api import (
    CustomerCommandViewSet,
    CustomerExportView,
    OrderCommandViewSet,
    ProductCommandViewSet,
)

View = Callable[..., HttpResponse]


@extend_schema(exclude=True)
@api_view(["GET"])
def api_root(request: Request) -> Response:
    """List the API's endpoints (see README for the ones that take an id)."""
    return Response(
        {
            "orders": reverse("orders", request=request),
            "popular_products": reverse("popular-products", request=request),
            "projections": reverse("projection-status", request=request),
            "customers": reverse("customers", request=request),
            "products": reverse("products", request=request),
            "schema": reverse("schema", request=request),
            "docs": reverse("docs", request=request),
        }
    )


class CommandPage(APIView):
    """Describe a command-only path in the browser, with its forms; other clients get 405."""

    name, description = "Command", ""

    def get(self, request: Request, **kwargs: Any) -> Response:
        if not isinstance(request.accepted_renderer, BrowsableAPIRenderer):
            raise MethodNotAllowed(request.method)
        methods = sorted(set(commands_of(request._request)) - {"HEAD", "OPTIONS"})
        return Response(
            {"detail": f"This path takes commands ({', '.join(methods)}): use the form below."}
        )


def by_method(name: str, **views: View) -> View:
    """Route one path to a different view per HTTP method (reads vs. commands)."""
    views = {method.upper(): view for method, view in views.items()}
    if "GET" in views:
        views.setdefault("HEAD", views["GET"])
    views.setdefault("OPTIONS", next(iter(views.values())))
    allowed = ", ".join(sorted(views))
    # A browser opening a command-only path gets a page with the command's forms.
    page = CommandPage.as_view(
        name=name.replace("-", " ").capitalize(),
        description=(next(iter(views.values())).cls.__doc__ or ""),
    )
    browsing = {"GET": page, "HEAD": page} if "GET" not in views else {}

    # CSRF is enforced by DRF's session authentication inside each view.
    @csrf_exempt
    def dispatch(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        view = views.get(request.method or "") or browsing.get(request.method or "")
        if view is None:
            message = f"Method {request.method!r} not allowed."
            body = error_body(ErrorCode.METHOD_NOT_ALLOWED, message)
            return JsonResponse(body, status=405, headers={"Allow": ", ".join(sorted(views))})
        offer_commands(request, views)
        response = view(request, *args, **kwargs)
        if response.has_header("Allow"):
            # Each view knows only its own methods; the path allows those of all of them.
            response["Allow"] = allowed
        return response

    return dispatch


class SwaggerView(SpectacularSwaggerView):
    """The Swagger UI page; OPTIONS lists its methods (its HTML renderer cannot show DRF's
    OPTIONS description)."""

    def options(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return generic.View.options(self, request, *args, **kwargs)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Answer an unknown URL (e.g. a malformed id) in JSON under /api/, as the API does."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body(ErrorCode.NOT_FOUND, "Not found."), status=404)
    return defaults.page_not_found(request, exception)


handler404 = not_found

customers, products, orders = CustomerCommandViewSet, ProductCommandViewSet, OrderCommandViewSet

# Each API path with its view per HTTP method: reads go to orders_read, commands to orders_write.
API_ROUTES: list[tuple[str, str, dict[str, View]]] = [
    ("api/projections/", "projection-status", {"get": ProjectionStatusView.as_view()}),
    (
        "api/customers/",
        "customers",
        {"post": customers.as_view({"post": "create"}, name="Customers")},
    ),
    (
        "api/customers/<uuid:customer_id>/",
        "customer",
        {"patch": customers.as_view({"patch": "partial_update"}, name="Customer")},
    ),
    (
        "api/customers/<uuid:customer_id>/forget/",
        "customer-forget",
        {"post": customers.as_view({"post": "forget"})},
    ),
    (
        "api/customers/<uuid:customer_id>/export/",
        "customer-export",
        {"get": CustomerExportView.as_view()},
    ),
    (
        "api/customers/<uuid:customer_id>/orders/",
        "customer-orders",
        {"get": CustomerOrdersView.as_view()},
    ),
    (
        "api/customers/<uuid:customer_id>/analytics/",
        "customer-analytics",
        {"get": CustomerAnalyticsView.as_view()},
    ),
    ("api/products/", "products", {"post": products.as_view({"post": "create"}, name="Products")}),
    ("api/products/popular/", "popular-products", {"get": PopularProductsView.as_view()}),
    (
        "api/products/<uuid:product_id>/",
        "product",
        {"patch": products.as_view({"patch": "partial_update"}, name="Product")},
    ),
    (
        "api/products/<uuid:product_id>/sales/",
        "product-sales",
        {"get": ProductSalesView.as_view()},
    ),
    (
        "api/orders/",
        "orders",
        {
            "get": OrderViewSet.as_view({"get": "list"}, name="Orders"),
            "post": orders.as_view({"post": "create"}, name="Orders"),
        },
    ),
    (
        "api/orders/<uuid:order_id>/",
        "order-detail",
        {"get": OrderViewSet.as_view({"get": "retrieve"}, name="Order")},
    ),
    (
        "api/orders/<uuid:order_id>/status/",
        "order-status",
        {"post": orders.as_view({"post": "status"}, name="Order status")},
    ),
    (
        "api/orders/<uuid:order_id>/history/",
        "order-history",
        {"get": OrderHistoryView.as_view()},
    ),
]

# The OpenAPI generator needs each view on its own, so it gets the routes unmerged.
schema_patterns = [path(route, view) for route, _, views in API_ROUTES for view in views.values()]

admin.site.site_header = admin.site.site_title = "Orders administration"
admin.site.site_url = "/api/"

urlpatterns = [
    path("", RedirectView.as_view(url="/api/")),
    path(
        "admin/projections/",
        admin.site.admin_view(projection_status_page),
        name="projection-status-page",
    ),
    path("admin/dashboard/", admin.site.admin_view(dashboard_page), name="dashboard"),
    path(
        "admin/orders/<uuid:order_id>/story/",
        admin.site.admin_view(order_story_page),
        name="order-story",
    ),
    path("admin/trace/", admin.site.admin_view(trace_page), name="event-trace"),
    path("admin/dependencies/", admin.site.admin_view(dependencies_page), name="dependencies"),
    path("admin/", admin.site.urls),
    path("metrics", metrics_page, name="metrics"),
    path("api/", api_root, name="api-root"),
    path("api/schema/", SpectacularAPIView.as_view(patterns=schema_patterns), name="schema"),
    path("api/docs/", SwaggerView.as_view(url_name="schema"), name="docs"),
    *(path(route, by_method(name, **views), name=name) for route, name, views in API_ROUTES),
]

"""URLs: the admin, and the API where each path sends reads to the query side and
commands to the command side."""

from collections.abc import Callable

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from orders_read.admin_views import projection_status_page
from orders_read.api import (
    CustomerAnalyticsView,
    OrderViewSet,
    PopularProductsView,
    ProjectionStatusView,
)
from orders_write.api import CustomerCommandViewSet, OrderCommandViewSet, ProductCommandViewSet

View = Callable[..., HttpResponse]


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
        }
    )


def by_method(**views: View) -> View:
    """Route one path to a different view per HTTP method (reads vs. commands)."""
    views = {method.upper(): view for method, view in views.items()}
    if "GET" in views:
        views.setdefault("HEAD", views["GET"])
    views.setdefault("OPTIONS", next(iter(views.values())))

    # CSRF is enforced by DRF's session authentication inside each view.
    @csrf_exempt
    def dispatch(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        view = views.get(request.method or "")
        if view is None:
            return HttpResponseNotAllowed(sorted(views))
        return view(request, *args, **kwargs)

    return dispatch


customers = CustomerCommandViewSet
products = ProductCommandViewSet
orders = OrderCommandViewSet

urlpatterns = [
    path(
        "admin/projections/",
        admin.site.admin_view(projection_status_page),
        name="projection-status-page",
    ),
    path("admin/", admin.site.urls),
    path("api/", api_root, name="api-root"),
    path("api/projections/", ProjectionStatusView.as_view(), name="projection-status"),
    path("api/customers/", by_method(post=customers.as_view({"post": "create"})), name="customers"),
    path(
        "api/customers/<uuid:pk>/",
        by_method(patch=customers.as_view({"patch": "partial_update"})),
    ),
    path("api/products/", by_method(post=products.as_view({"post": "create"})), name="products"),
    path(
        "api/products/<uuid:pk>/",
        by_method(patch=products.as_view({"patch": "partial_update"})),
    ),
    path(
        "api/customers/<uuid:pk>/analytics/",
        CustomerAnalyticsView.as_view(),
        name="customer-analytics",
    ),
    path("api/products/popular/", PopularProductsView.as_view(), name="popular-products"),
    path(
        "api/orders/",
        by_method(
            get=OrderViewSet.as_view({"get": "list"}, name="Orders"),
            post=orders.as_view({"post": "create"}),
        ),
        name="orders",
    ),
    path(
        "api/orders/<uuid:pk>/",
        OrderViewSet.as_view({"get": "retrieve"}, name="Order"),
        name="order-detail",
    ),
    path("api/orders/<uuid:pk>/status/", by_method(post=orders.as_view({"post": "status"}))),
]

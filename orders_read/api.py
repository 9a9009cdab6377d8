"""Read endpoints: served from the read tables only."""

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, serializers, viewsets
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from orders_write.api_schema import ApiSchema

from . import queries
from .filters import OrderSummaryFilter
from .freshness import ReflectsProjections
from .models import CustomerAnalytics, OrderSummary
from .pagination import OrderPagination, apply_cursor_filters, filter_names
from .serializers import (
    CustomerAnalyticsSerializer,
    OrderDetailsSerializer,
    OrderSummarySerializer,
    PopularProductSerializer,
    PopularProductsQuery,
)
from .status import projection_statuses


class StableOrderingFilter(OrderingFilter):
    """Order by one allowed field (an unknown one is a 400), then by order id, so pages never
    overlap."""

    def get_ordering(self, request: Request, queryset: QuerySet, view: Any) -> list[str]:
        value = request.query_params.get(self.ordering_param)
        allowed = self.allowed_values(view)
        if value and value not in allowed:
            raise serializers.ValidationError(
                {self.ordering_param: [f"Unknown ordering {value!r}; use one of {allowed}."]},
                code="invalid_choice",
            )
        ordering = [value] if value else list(self.get_default_ordering(view) or [])
        return [*ordering, "-order_id"]

    def allowed_values(self, view: Any) -> list[str]:
        """Return the values `ordering` takes: each field, ascending or descending."""
        return [f"{sign}{name}" for name in view.ordering_fields for sign in ("", "-")]

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": "Sort by this field (`-` for descending); ties by order id.",
                "schema": {"type": "string", "enum": self.allowed_values(view)},
            }
        ]


class QuerySchema(ApiSchema):
    """Document that an empty query parameter (`?status=`) counts as absent, as it does here."""

    def _get_parameters(self) -> list[dict[str, Any]]:
        parameters = super()._get_parameters()
        for parameter in parameters:
            if parameter["in"] == "query" and not parameter.get("required"):
                parameter["allowEmptyValue"] = True
        return parameters


@extend_schema_view(retrieve=extend_schema(responses=OrderDetailsSerializer))
class OrderViewSet(ReflectsProjections, viewsets.ReadOnlyModelViewSet):
    """List order summaries, newest first, and show one order with its items and history."""

    schema = QuerySchema()
    queryset = OrderSummary.objects.all()
    serializer_class = OrderSummarySerializer
    filter_backends = [DjangoFilterBackend, StableOrderingFilter]
    filterset_class = OrderSummaryFilter
    ordering_fields = ["order_date", "total_amount"]
    ordering = ["-order_date"]
    pagination_class = OrderPagination

    def projections_read(self) -> tuple[str, ...]:
        return ("order_details",) if self.action == "retrieve" else ("order_summary",)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if self.action == "list":
            apply_cursor_filters(request, filter_names(self))

    def retrieve(self, request: Request, order_id: str) -> Response:
        """Show one order's details, items and status history."""
        details = queries.order_details(order_id)
        if details is None:
            raise Http404("No such order.")
        serializer = OrderDetailsSerializer(details, context=self.get_serializer_context())
        return Response(serializer.data)


class CustomerAnalyticsView(ReflectsProjections, generics.RetrieveAPIView):
    """Show a customer's order count, spending, favourite category and segment."""

    projections = ("customer_analytics",)
    lookup_url_kwarg = "customer_id"
    queryset = CustomerAnalytics.objects.all()
    serializer_class = CustomerAnalyticsSerializer


class PopularProductsView(ReflectsProjections, APIView):
    """List the 10 products with the most units sold over the last `days` days (default 30)."""

    projections = ("product_sales",)
    serializer_class = PopularProductSerializer
    schema = QuerySchema()

    @extend_schema(
        parameters=[PopularProductsQuery],
        responses=PopularProductSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        query = PopularProductsQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        products = queries.popular_products(days=query.validated_data["days"])
        return Response(PopularProductSerializer(products, many=True).data)


class ProjectionStatusSerializer(serializers.Serializer):
    name = serializers.CharField()
    position = serializers.IntegerField()
    lag = serializers.IntegerField(help_text="Events not applied yet.")
    lag_seconds = serializers.FloatField(
        help_text="Seconds since the oldest event not applied yet was recorded (0 when none)."
    )
    state = serializers.ChoiceField(choices=["current", "behind", "stalled"])
    last_error = serializers.CharField()
    last_error_at = serializers.DateTimeField(allow_null=True)
    open_failures = serializers.IntegerField()
    last_advanced_at = serializers.DateTimeField(allow_null=True)


class ProjectionStatusView(APIView):
    """List each projection's position, lag in events and seconds, state and last error."""

    serializer_class = ProjectionStatusSerializer

    @extend_schema(responses=ProjectionStatusSerializer(many=True))
    def get(self, request: Request) -> Response:
        statuses = [status.as_dict() for status in projection_statuses()]
        return Response(ProjectionStatusSerializer(statuses, many=True).data)

"""Read endpoints: served from the read tables only."""

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, pagination, serializers, viewsets
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import queries
from .filters import OrderSummaryFilter
from .freshness import ReflectsProjections
from .models import CustomerAnalytics, OrderSummary
from .serializers import (
    CustomerAnalyticsSerializer,
    OrderDetailsSerializer,
    OrderSummarySerializer,
    PopularProductSerializer,
    PopularProductsQuery,
)
from .status import projection_statuses


class OrderPagination(pagination.CursorPagination):
    """Keyset pages: as fast deep in the list as at its start, and no COUNT over the table."""

    page_size = 10
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering = ("-order_date", "-order_id")


class StableOrderingFilter(OrderingFilter):
    """Order as asked, then by order id, so pages never overlap."""

    def get_ordering(self, request: Request, queryset: QuerySet, view: object) -> list[str]:
        ordering = list(super().get_ordering(request, queryset, view) or [])
        return [*ordering, "-order_id"]


DENIED = OpenApiResponse(OpenApiTypes.OBJECT, description="Not logged in.")
INVALID = OpenApiResponse(OpenApiTypes.OBJECT, description="Bad query parameter: messages by name.")
UNKNOWN = OpenApiResponse(OpenApiTypes.OBJECT, description="No such resource.")


class QuerySchema(AutoSchema):
    """Document that an empty query parameter (`?status=`) counts as absent, as it does here."""

    def _get_parameters(self) -> list[dict[str, Any]]:
        parameters = super()._get_parameters()
        for parameter in parameters:
            if parameter["in"] == "query" and not parameter.get("required"):
                parameter["allowEmptyValue"] = True
        return parameters


# django-filter refuses amounts above 1e50.
AMOUNT = {"type": "number", "maximum": 1e50}


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("min_amount", AMOUNT, description="Total at least this amount."),
            OpenApiParameter("max_amount", AMOUNT, description="Total at most this amount."),
            # Lenient like DRF's paginator: a size that is not a whole number is not an error.
            OpenApiParameter(
                "page_size",
                {"type": "string", "example": "20"},
                description="Results per page, 1 to 100 (more is capped at 100); "
                "anything that is not a positive whole number gives the default of 10.",
            ),
        ],
        responses={
            200: OrderSummarySerializer(many=True),
            400: INVALID,
            403: DENIED,
            404: OpenApiResponse(OpenApiTypes.OBJECT, description="No such page."),
        },
    ),
    retrieve=extend_schema(responses={200: OrderDetailsSerializer, 403: DENIED, 404: UNKNOWN}),
)
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

    def retrieve(self, request: Request, pk: str) -> Response:
        """Show one order's details, items and status history."""
        details = queries.order_details(pk)
        if details is None:
            raise Http404("No such order.")
        serializer = OrderDetailsSerializer(details, context=self.get_serializer_context())
        return Response(serializer.data)


@extend_schema(responses={200: CustomerAnalyticsSerializer, 403: DENIED, 404: UNKNOWN})
class CustomerAnalyticsView(ReflectsProjections, generics.RetrieveAPIView):
    """Show a customer's order count, spending, favourite category and segment."""

    projections = ("customer_analytics",)
    queryset = CustomerAnalytics.objects.all()
    serializer_class = CustomerAnalyticsSerializer


class PopularProductsView(ReflectsProjections, APIView):
    """List the 10 products with the most units sold over the last `days` days (default 30)."""

    projections = ("product_sales",)
    serializer_class = PopularProductSerializer
    schema = QuerySchema()

    @extend_schema(
        parameters=[PopularProductsQuery],
        responses={200: PopularProductSerializer(many=True), 400: INVALID, 403: DENIED},
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

    @extend_schema(responses={200: ProjectionStatusSerializer(many=True), 403: DENIED})
    def get(self, request: Request) -> Response:
        statuses = [status.as_dict() for status in projection_statuses()]
        return Response(ProjectionStatusSerializer(statuses, many=True).data)

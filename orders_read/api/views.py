"""Read endpoints: each calls exactly one query function of `queries.py`, which reads the
read tables only."""

from typing import Any

from django.core.paginator import EmptyPage
from django.db.models import QuerySet
from django.http import Http404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from config.api.schema import ApiSchema
from orders_read import queries
from orders_read.models import (
    CustomerAnalytics,
    OrderDetails,
    OrderStatusChange,
    OrderSummary,
    ProductSales,
    ProjectionState,
)
from orders_read.projections import (
    customer_analytics,
    order_details,
    order_status_history,
    order_summary,
    product_sales,
)
from orders_read.projections.rows import Projection
from orders_read.running.status import projection_statuses

from .filters import OrderSummaryFilter, search_criteria
from .freshness import ReflectsProjections
from .pagination import OrderPagination, apply_cursor_filters, filter_names
from .permissions import CanViewReadModel
from .serializers import (
    CustomerAnalyticsSerializer,
    CustomerOrdersPageSerializer,
    CustomerOrdersQuery,
    OrderDetailsSerializer,
    OrderStatusChangeSerializer,
    OrderSummarySerializer,
    PopularProductSerializer,
    PopularProductsQuery,
    ProductSalesQuery,
    ProductSalesSerializer,
)

# Taken by every read endpoint: DRF's choice of renderer (`?format=json`), and the position
# a read waits for (read your own writes).
ALWAYS_TAKEN = ("format", "min_position")


class TakesQueryParameters:
    """Refuse a query parameter the endpoint does not take, with a 400 that names the one it
    does take instead (`page` on a cursor-paged list, say) or else all it takes."""

    query_parameters: tuple[str, ...] = ()
    instead: dict[str, str] = {}

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        taken = self.taken_query_parameters()
        unknown = sorted(set(request.query_params) - {*taken, *ALWAYS_TAKEN})
        if unknown:
            raise ValidationError({name: [self._unknown(name, taken)] for name in unknown})

    def taken_query_parameters(self) -> tuple[str, ...]:
        return self.query_parameters

    def _unknown(self, name: str, taken: tuple[str, ...]) -> str:
        if name in self.instead and self.instead[name] in taken:
            return f"Not taken here: use `{self.instead[name]}`."
        listed = ", ".join(f"`{p}`" for p in taken) or "none"
        return f"Not taken here. Query parameters of this endpoint: {listed}."


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
class OrderViewSet(ReflectsProjections, TakesQueryParameters, viewsets.GenericViewSet):
    """Search order summaries (`queries.search_orders`), newest first, and show one order with
    its items and history (`queries.get_order_details`)."""

    schema = QuerySchema()
    queryset = OrderSummary.objects.none()
    permission_classes = [CanViewReadModel]
    serializer_class = OrderSummarySerializer
    # For the schema and the parsing of parameters only: `search_orders` filters and orders.
    filter_backends = [DjangoFilterBackend, StableOrderingFilter]
    filterset_class = OrderSummaryFilter
    ordering_fields = ["order_date", "total_amount"]
    ordering = ["-order_date"]
    pagination_class = OrderPagination
    query_parameters = (*OrderSummaryFilter.base_filters, "ordering", "cursor", "page_size")
    instead = {"page": "cursor", "size": "page_size", "days": "date_from"}

    @property
    def read_model(self) -> type[OrderSummary | OrderDetails]:
        return OrderDetails if self.action == "retrieve" else OrderSummary

    def projection_read(self) -> Projection:
        return order_details.PROJECTION if self.action == "retrieve" else order_summary.PROJECTION

    def taken_query_parameters(self) -> tuple[str, ...]:
        return self.query_parameters if self.action == "list" else ()

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if self.action == "list":
            apply_cursor_filters(request, filter_names(self))

    def list(self, request: Request) -> Response:
        """Search the order summaries and return one page of them."""
        ordering = StableOrderingFilter().get_ordering(request, self.queryset, self)
        orders = queries.search_orders(
            **search_criteria(request.query_params),
            ordering=[field for field in ordering if field != "-order_id"],
        )
        page = self.paginate_queryset(orders)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, order_id: str) -> Response:
        """Show one order's details, items and status history."""
        details = queries.get_order_details(order_id)
        if details is None:
            raise Http404("No such order.")
        serializer = OrderDetailsSerializer(details, context=self.get_serializer_context())
        return Response(serializer.data)


class CustomerOrdersView(ReflectsProjections, TakesQueryParameters, APIView):
    """List a customer's order summaries, newest first, page by page (`page`, `size`)."""

    projection = order_summary.PROJECTION
    permission_classes = [CanViewReadModel]
    read_model = OrderSummary
    schema = QuerySchema()
    serializer_class = CustomerOrdersPageSerializer
    query_parameters = ("page", "size")
    instead = {"page_size": "size", "cursor": "page"}

    @extend_schema(parameters=[CustomerOrdersQuery], responses=CustomerOrdersPageSerializer)
    def get(self, request: Request, customer_id: str) -> Response:
        query = validated(CustomerOrdersQuery, request)
        try:
            page = queries.get_orders_by_customer(
                customer_id, page=query["page"], size=query["size"]
            )
        except EmptyPage as error:
            raise Http404("No such page.") from error
        url = request.build_absolute_uri()
        context = {"request": request}
        return Response(
            {
                "count": page.paginator.count,
                "next": _page_link(url, page.next_page_number()) if page.has_next() else None,
                "previous": (
                    _page_link(url, page.previous_page_number()) if page.has_previous() else None
                ),
                "results": OrderSummarySerializer(
                    page.object_list, many=True, context=context
                ).data,
            }
        )


def _page_link(url: str, number: int) -> str:
    return (
        replace_query_param(url, "page", number) if number > 1 else remove_query_param(url, "page")
    )


class OrderHistoryView(ReflectsProjections, TakesQueryParameters, APIView):
    """List an order's status changes, oldest first."""

    projection = order_status_history.PROJECTION
    permission_classes = [CanViewReadModel]
    read_model = OrderStatusChange
    serializer_class = OrderStatusChangeSerializer

    @extend_schema(responses=OrderStatusChangeSerializer(many=True))
    def get(self, request: Request, order_id: str) -> Response:
        changes = queries.get_order_history(order_id)
        if not changes:
            raise Http404("No such order.")
        return Response(OrderStatusChangeSerializer(changes, many=True).data)


class CustomerAnalyticsView(ReflectsProjections, TakesQueryParameters, APIView):
    """Show a customer's order count, spending, favourite category and segment."""

    projection = customer_analytics.PROJECTION
    permission_classes = [CanViewReadModel]
    read_model = CustomerAnalytics
    serializer_class = CustomerAnalyticsSerializer

    @extend_schema(responses=CustomerAnalyticsSerializer)
    def get(self, request: Request, customer_id: str) -> Response:
        analytics = queries.get_customer_analytics(customer_id)
        if analytics is None:
            raise Http404("No such customer.")
        return Response(CustomerAnalyticsSerializer(analytics, context={"request": request}).data)


class PopularProductsView(ReflectsProjections, TakesQueryParameters, APIView):
    """List the 10 products with the most units sold over the last `days` days (default 30)."""

    projection = product_sales.PROJECTION
    permission_classes = [CanViewReadModel]
    read_model = ProductSales
    serializer_class = PopularProductSerializer
    schema = QuerySchema()
    query_parameters = ("days",)

    @extend_schema(
        parameters=[PopularProductsQuery],
        responses=PopularProductSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        query = validated(PopularProductsQuery, request)
        products = queries.get_popular_products(
            days=query["days"], position=self.reflected_position
        )
        return Response(PopularProductSerializer(products, many=True).data)


class ProductSalesView(ReflectsProjections, TakesQueryParameters, APIView):
    """List a product's daily sales between two days (both included), oldest first."""

    projection = product_sales.PROJECTION
    permission_classes = [CanViewReadModel]
    read_model = ProductSales
    serializer_class = ProductSalesSerializer
    schema = QuerySchema()
    query_parameters = ("date_from", "date_to")

    @extend_schema(parameters=[ProductSalesQuery], responses=ProductSalesSerializer(many=True))
    def get(self, request: Request, product_id: str) -> Response:
        query = validated(ProductSalesQuery, request)
        days = queries.get_product_sales(product_id, **query)
        return Response(ProductSalesSerializer(days, many=True).data)


def validated(query_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    """Return the query parameters parsed by `query_class`; raise ValidationError if bad."""
    query = query_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data


class ProjectionStatusSerializer(serializers.Serializer):
    name = serializers.CharField()
    position = serializers.IntegerField()
    lag = serializers.IntegerField(help_text="Events not applied yet.")
    lag_seconds = serializers.FloatField(
        help_text="Seconds since the oldest event not applied yet was recorded (0 when none)."
    )
    state = serializers.ChoiceField(choices=["current", "behind", "stalled"])
    last_error = serializers.CharField(
        help_text="The last failure's error message for staff; for others only its class and "
        "the event's position, e.g. `DataError at position 1234` (empty when none)."
    )
    last_error_at = serializers.DateTimeField(allow_null=True)
    open_failures = serializers.IntegerField()
    last_advanced_at = serializers.DateTimeField(allow_null=True)


class ProjectionStatusView(TakesQueryParameters, APIView):
    """List each projection's position, lag in events and seconds, state and last error."""

    serializer_class = ProjectionStatusSerializer
    permission_classes = [CanViewReadModel]
    read_model = ProjectionState

    @extend_schema(responses=ProjectionStatusSerializer(many=True))
    def get(self, request: Request) -> Response:
        statuses = [status.as_dict() for status in projection_statuses()]
        if not request.user.is_staff:  # messages may quote rows' values: staff only
            for status in statuses:
                status["last_error"] = status["last_error_summary"]
        return Response(ProjectionStatusSerializer(statuses, many=True).data)

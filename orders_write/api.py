"""Command endpoints: thin views that validate input and call one service each."""

from typing import Any
from uuid import UUID, uuid4

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from . import services
from .commands import (
    AddProduct,
    CommandContext,
    RegisterCustomer,
    UpdateCustomer,
    UpdateOrderStatus,
    UpdateProduct,
)
from .serializers import (
    CreateOrderInput,
    CustomerInput,
    CustomerOutput,
    ErrorOutput,
    OrderCreatedOutput,
    OrderStatusOutput,
    ProductInput,
    ProductOutput,
    UpdateOrderStatusInput,
)


class HasCommandPermission(permissions.BasePermission):
    """Allow a command only to users with the model permission its action names."""

    def has_permission(self, request: Request, view: Any) -> bool:
        needed = view.required_permissions.get(view.action)
        return needed is None or request.user.has_perm(needed)


def command_context(request: Request) -> CommandContext:
    """Describe who sends a request's command and which flow it belongs to."""
    return CommandContext(
        actor=request.user.get_username(),
        correlation_id=_uuid_or_new(request.headers.get("X-Correlation-ID")),
    )


def _uuid_or_new(value: str | None) -> UUID:
    try:
        return UUID(value) if value else uuid4()
    except ValueError:
        return uuid4()


def validated(serializer_class: type, request: Request, **kwargs: Any) -> Any:
    """Return a serializer whose data has passed validation (400 otherwise)."""
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer


INVALID = OpenApiResponse(OpenApiTypes.OBJECT, description="Bad input: messages by field.")
DENIED = OpenApiResponse(ErrorOutput, description="Not logged in, or no permission.")
UNKNOWN = OpenApiResponse(ErrorOutput, description="No such resource.")
CONFLICT = OpenApiResponse(
    ErrorOutput,
    description="code: invalid_transition, concurrency_conflict or idempotency_conflict.",
)


def command_schema(
    request: type, output: type, status_code: int = 200, errors: dict | None = None
) -> Any:
    """Describe a command endpoint: its body, its success and its error responses."""
    responses = {status_code: output, 400: INVALID, 401: DENIED, 403: DENIED, **(errors or {})}
    return extend_schema(request=request, responses=responses)


class CommandViewSet(viewsets.GenericViewSet):
    permission_classes = [permissions.IsAuthenticated, HasCommandPermission]
    required_permissions: dict[str, str] = {}


class CustomerCommandViewSet(CommandViewSet):
    """Register customers and change their name or e-mail."""

    serializer_class = CustomerInput
    required_permissions = {
        "create": "orders_write.add_customer",
        "partial_update": "orders_write.change_customer",
    }

    @command_schema(CustomerInput, CustomerOutput, 201, errors={409: CONFLICT})
    def create(self, request: Request) -> Response:
        """Register a customer."""
        data = validated(CustomerInput, request).validated_data
        customer = services.register_customer(
            RegisterCustomer(**data), context=command_context(request)
        )
        return Response(CustomerOutput(customer).data, status=status.HTTP_201_CREATED)

    @command_schema(CustomerInput, CustomerOutput, errors={404: UNKNOWN, 409: CONFLICT})
    def partial_update(self, request: Request, pk: UUID) -> Response:
        """Change a customer's name and/or e-mail."""
        data = validated(CustomerInput, request, partial=True).validated_data
        customer = services.update_customer(
            UpdateCustomer(customer_id=pk, **data), context=command_context(request)
        )
        return Response(CustomerOutput(customer).data)


class ProductCommandViewSet(CommandViewSet):
    """Add products to the catalogue and change them."""

    serializer_class = ProductInput
    required_permissions = {
        "create": "orders_write.add_product",
        "partial_update": "orders_write.change_product",
    }

    @command_schema(ProductInput, ProductOutput, 201)
    def create(self, request: Request) -> Response:
        """Add a product."""
        data = validated(ProductInput, request).validated_data
        product = services.add_product(AddProduct(**data), context=command_context(request))
        return Response(ProductOutput(product).data, status=status.HTTP_201_CREATED)

    @command_schema(ProductInput, ProductOutput, errors={404: UNKNOWN, 409: CONFLICT})
    def partial_update(self, request: Request, pk: UUID) -> Response:
        """Change a product's name, category and/or unit price."""
        data = validated(ProductInput, request, partial=True).validated_data
        product = services.update_product(
            UpdateProduct(product_id=pk, **data), context=command_context(request)
        )
        return Response(ProductOutput(product).data)


class OrderCommandViewSet(CommandViewSet):
    """Place orders and move them through their statuses."""

    serializer_class = CreateOrderInput
    required_permissions = {
        "create": "orders_write.add_order",
        "status": "orders_write.change_order",
    }

    def get_serializer_class(self) -> type:
        return UpdateOrderStatusInput if self.action == "status" else CreateOrderInput

    @command_schema(CreateOrderInput, OrderCreatedOutput, 201, errors={409: CONFLICT})
    def create(self, request: Request) -> Response:
        """Place an order; re-sending the same order_id and body returns the same order."""
        command = validated(CreateOrderInput, request).to_command()
        order = services.create_order(command, context=command_context(request))
        location = f"/api/orders/{order.id}/"
        return Response(
            OrderCreatedOutput(order).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": location},
        )

    @command_schema(UpdateOrderStatusInput, OrderStatusOutput, errors={404: UNKNOWN, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def status(self, request: Request, pk: UUID) -> Response:
        """Change an order's status (optionally only from `expected_version`)."""
        data = validated(UpdateOrderStatusInput, request).validated_data
        order = services.update_order_status(
            UpdateOrderStatus(order_id=pk, **data), context=command_context(request)
        )
        return Response(OrderStatusOutput(order).data)

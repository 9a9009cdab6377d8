"""Command endpoints: thin views that validate input and call one service each."""

from typing import Any
from uuid import UUID

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import extend_schema
from rest_framework import parsers, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ParseError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api.schema import ApiSchema, add_position_header, operations_of
from config.correlation import request_correlation_id

from . import domain, services
from .commands import (
    AddProduct,
    CommandContext,
    ForgetCustomer,
    RegisterCustomer,
    UpdateCustomer,
    UpdateOrderStatus,
    UpdateProduct,
)
from .event_reader import head
from .event_store import forget_appended, last_appended_position
from .export import customer_export
from .models import Customer, Order, Product
from .serializers import (
    CreateOrderInput,
    CustomerExportOutput,
    CustomerForgottenOutput,
    CustomerInput,
    CustomerOutput,
    ForgetCustomerInput,
    OrderCreatedOutput,
    OrderStatusOutput,
    ProductInput,
    ProductOutput,
    StrictSerializer,
    UpdateOrderStatusInput,
)


class HasCommandPermission(permissions.BasePermission):
    """Allow a command only to users with the model permission its action names."""

    def has_permission(self, request: Request, view: Any) -> bool:
        action = getattr(view, "action", None) or request.method.lower()
        needed = view.required_permissions.get(action)
        return needed is None or request.user.has_perm(needed)


def command_context(request: Request) -> CommandContext:
    """Describe who sends a request's command and which flow it belongs to."""
    return CommandContext(
        actor=request.user.get_username(),
        # The middleware's: the same id is on the response and on the request's log lines.
        correlation_id=request_correlation_id(request),
    )


def validated(serializer_class: type, request: Request, **kwargs: Any) -> Any:
    """Return a serializer whose data has passed validation (400 otherwise)."""
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer


# DRF trims what Python calls white space and refuses NUL, so a text that may not be blank
# needs one character besides those.
_SPACE = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
TEXT_PATTERN = rf"^[^\x00]*[^\x00{_SPACE}][^\x00]*$"
BLANKABLE_TEXT_PATTERN = r"^[^\x00]*$"


class StrictSerializerSchema(OpenApiSerializerExtension):
    """Document what command bodies refuse: unknown fields, blank texts, empty lists or PATCH."""

    target_class = StrictSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        if schema.get("description") == StrictSerializer.__doc__:
            del schema["description"]
        schema["additionalProperties"] = False
        if getattr(self.target, "partial", False):
            schema["minProperties"] = 1
        for name, field in self.target.fields.items():
            if type(field) is serializers.CharField:
                pattern = BLANKABLE_TEXT_PATTERN if field.allow_blank else TEXT_PATTERN
                schema["properties"][name]["pattern"] = pattern
            if isinstance(field, serializers.ListSerializer) and not field.allow_empty:
                schema["properties"][name]["minItems"] = 1
            if isinstance(field, serializers.ListSerializer) and field.max_length is not None:
                schema["properties"][name]["maxItems"] = field.max_length
        return schema


class CommandSchema(ApiSchema):
    """Describe commands: their body is required (an empty PATCH is refused too)."""

    def _get_request_body(self, direction: str = "request") -> dict[str, Any] | None:
        body = super()._get_request_body(direction)
        if body is not None:
            body["required"] = True
        return body


def command_schema(request: type, output: type, status_code: int = 200) -> Any:
    """Describe a command endpoint: its JSON body and its success (ApiSchema adds the errors)."""
    responses = {status_code: output}
    # Forms are parsed too (the browsable API posts them), but only JSON carries nested items,
    # types and nulls: the contract is JSON.
    return extend_schema(request={"application/json": request}, responses=responses)


class BoundedJSONParser(parsers.JSONParser):
    """Parse JSON, refusing a body nested too deeply to decode with a 400 (not a 500)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None


class CommandViewSet(viewsets.GenericViewSet):
    """Commands answer with the position of their last event (`position` and
    `X-Event-Position`), for clients to read their own writes."""

    schema = CommandSchema()
    parser_classes = [BoundedJSONParser, parsers.FormParser, parsers.MultiPartParser]
    permission_classes = [permissions.IsAuthenticated, HasCommandPermission]
    required_permissions: dict[str, str] = {}

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        forget_appended()
        super().initial(request, *args, **kwargs)

    def committed(self, output: type, row: Any, status_code: int = 200, **headers: str) -> Response:
        """Answer a command that has committed with `output` of `row` and its position."""
        # A repeated command appends nothing: the store's head is a position at or after it.
        position = last_appended_position() or head().position
        data = output(row, context={"position": position}).data
        return Response(
            data, status=status_code, headers={**headers, "X-Event-Position": str(position)}
        )


class CustomerCommandViewSet(CommandViewSet):
    """Register customers, change their name or e-mail, and forget them."""

    serializer_class = CustomerInput
    required_permissions = {
        "create": "orders_write.add_customer",
        "partial_update": "orders_write.change_customer",
        "forget": "orders_write.forget_customer",
    }

    def get_serializer_class(self) -> type:
        return ForgetCustomerInput if self.action == "forget" else CustomerInput

    @command_schema(CustomerInput, CustomerOutput, 201)
    def create(self, request: Request) -> Response:
        """Register a customer."""
        data = validated(CustomerInput, request).validated_data
        customer = services.register_customer(
            RegisterCustomer(**data), context=command_context(request)
        )
        return self.committed(CustomerOutput, customer, status.HTTP_201_CREATED)

    @command_schema(CustomerInput, CustomerOutput)
    def partial_update(self, request: Request, customer_id: UUID) -> Response:
        """Change a customer's name and/or e-mail."""
        data = validated(CustomerInput, request, partial=True).validated_data
        customer = services.update_customer(
            UpdateCustomer(customer_id=customer_id, **data), context=command_context(request)
        )
        return self.committed(CustomerOutput, customer)

    @command_schema(ForgetCustomerInput, CustomerForgottenOutput)
    @action(detail=True, methods=["post"])
    def forget(self, request: Request, customer_id: UUID) -> Response:
        """Forget a customer: their name, e-mail and addresses become unreadable everywhere
        (their key is deleted); their orders and every number stay. It cannot be undone."""
        data = validated(ForgetCustomerInput, request).validated_data
        customer = services.forget_customer(
            ForgetCustomer(customer_id=customer_id, **data), context=command_context(request)
        )
        return self.committed(CustomerForgottenOutput, customer)


class CustomerExportView(APIView):
    """Everything the system holds about one customer, in clear (the right of access)."""

    schema = ApiSchema()
    permission_classes = [permissions.IsAuthenticated, HasCommandPermission]
    required_permissions = {"get": "orders_write.export_customer"}

    @extend_schema(responses={200: CustomerExportOutput})
    def get(self, request: Request, customer_id: UUID) -> Response:
        """Export the customer record, every order with its items and status history, and
        every event about them."""
        return Response(CustomerExportOutput(customer_export(customer_id)).data)


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
        return self.committed(ProductOutput, product, status.HTTP_201_CREATED)

    @command_schema(ProductInput, ProductOutput)
    def partial_update(self, request: Request, product_id: UUID) -> Response:
        """Change a product's name, category and/or unit price."""
        data = validated(ProductInput, request, partial=True).validated_data
        product = services.update_product(
            UpdateProduct(product_id=product_id, **data), context=command_context(request)
        )
        return self.committed(ProductOutput, product)


class OrderCommandViewSet(CommandViewSet):
    """Place orders and move them through their statuses."""

    serializer_class = CreateOrderInput
    required_permissions = {
        "create": "orders_write.add_order",
        "status": "orders_write.change_order",
    }

    def get_serializer_class(self) -> type:
        return UpdateOrderStatusInput if self.action == "status" else CreateOrderInput

    def example_body(self) -> dict[str, Any] | None:
        """Return a body the browsable API offers to edit: a real customer and product."""
        if self.action_map.get("post") != "create":
            return None
        customer = Customer.objects.filter(forgotten_at__isnull=True).first()
        product = Product.objects.first()
        if customer is None or product is None:
            return None
        return {
            "customer_id": str(customer.pk),
            "items": [{"product_id": str(product.pk), "quantity": 1}],
            "shipping_address": {
                "line1": "1 High Street",
                "city": "Leeds",
                "postal_code": "LS1 1AA",
                "country": "GB",
            },
            "payment_method": "card",
        }

    def prepare_form(self, serializer: Any) -> None:
        """Offer in the browser's status form only the order's legal next statuses, with its
        current version as the expected one (the API itself still answers any other with 409)."""
        if self.action != "status":
            return
        order = Order.objects.filter(pk=self.kwargs.get("order_id")).first()
        if order is None:
            return
        allowed = sorted(
            domain.ALLOWED_TRANSITIONS.get(order.status, ()), key=domain.STATUSES.index
        )
        serializer.fields["status"].choices = {status: status for status in allowed}
        serializer.fields["status"].help_text = (
            f"Now {order.status} (version {order.version}); "
            + (f"it can become {', '.join(allowed)}." if allowed else "it is final.")
        )
        serializer.fields["expected_version"].initial = order.version

    @command_schema(CreateOrderInput, OrderCreatedOutput, 201)
    def create(self, request: Request) -> Response:
        """Place an order; re-sending the same order_id and body returns the same order."""
        command = validated(CreateOrderInput, request).to_command()
        order = services.create_order(command, context=command_context(request))
        location = f"/api/orders/{order.id}/"
        return self.committed(OrderCreatedOutput, order, status.HTTP_201_CREATED, Location=location)

    @command_schema(UpdateOrderStatusInput, OrderStatusOutput)
    @action(detail=True, methods=["post"])
    def status(self, request: Request, order_id: UUID) -> Response:
        """Change an order's status (optionally only from `expected_version`)."""
        data = validated(UpdateOrderStatusInput, request).validated_data
        order = services.update_order_status(
            UpdateOrderStatus(order_id=order_id, **data), context=command_context(request)
        )
        return self.committed(OrderStatusOutput, order)


def document_event_positions(result: dict, generator: Any, **kwargs: Any) -> dict:
    """drf-spectacular hook: document `X-Event-Position` on every command."""
    for operation in operations_of(result, generator, CommandViewSet):
        add_position_header(operation, "X-Event-Position", "Position of the command's last event.")
    return result

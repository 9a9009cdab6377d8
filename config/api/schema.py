"""The OpenAPI schema of the whole API: error responses, enums and links declared once here."""

from collections.abc import Iterator
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from .errors import ErrorOutput

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

BAD_INPUT = OpenApiResponse(ErrorOutput, description="Bad input (code `invalid`, `parse_error`).")
NOT_AUTHENTICATED = OpenApiResponse(
    ErrorOutput, description="Missing or wrong credentials (`WWW-Authenticate` says which)."
)
DENIED = OpenApiResponse(ErrorOutput, description="No permission.")
UNKNOWN = OpenApiResponse(ErrorOutput, description="No such resource (or page).")
CONFLICT = OpenApiResponse(
    ErrorOutput,
    description="Refused: code `invalid_transition`, `concurrency_conflict` or "
    "`idempotency_conflict`.",
)
THROTTLED = OpenApiResponse(ErrorOutput, description="Too many requests; see `Retry-After`.")
UNAVAILABLE = OpenApiResponse(
    ErrorOutput,
    description="Cannot be served now; retry after `Retry-After` seconds: code "
    "`write_side_unavailable`, `read_side_unavailable` or, for a command, `command_timed_out` "
    "(it was not committed: sending it again is safe).",
)

RESPONSE_HEADERS = [
    OpenApiParameter(
        "WWW-Authenticate",
        str,
        OpenApiParameter.HEADER,
        response=[401],
        description="The scheme to authenticate with: `Token`.",
    ),
    OpenApiParameter(
        "Retry-After",
        int,
        OpenApiParameter.HEADER,
        response=[429, 503],
        description="Seconds to wait before the next request.",
    ),
    OpenApiParameter(
        "X-Correlation-ID",
        OpenApiTypes.UUID,
        OpenApiParameter.HEADER,
        response=True,
        description="The request's correlation id: the one it sent, or a new one.",
    ),
]
CORRELATION_ID = OpenApiParameter(
    "X-Correlation-ID",
    str,
    OpenApiParameter.HEADER,
    description="A UUID naming this request in the log and, for a command, on its events "
    "(find them with the admin's Trace); anything else is replaced by a new one.",
)


class TokenScheme(OpenApiAuthenticationExtension):
    """`Authorization: Token KEY` (knox tokens, made by `manage.py drf_create_token`)."""

    target_class = "config.authentication.RememberedTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=self.target.authenticate_header(None)
        )


class ApiSchema(AutoSchema):
    """Declare on every operation the error responses it can give, all in the one error shape;
    its docstring's first sentence is its summary (Swagger UI shows it beside the path)."""

    def get_summary(self) -> str | None:
        return summary_of(super().get_description()) or None

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code, error in self.error_responses().items():
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(error, str(code))
        return responses

    def error_responses(self) -> dict[int, OpenApiResponse]:
        """Return the errors this operation can answer with."""
        errors = {400: BAD_INPUT, 401: NOT_AUTHENTICATED, 403: DENIED}
        if "{" in self.path or self._get_paginator():
            errors[404] = UNKNOWN  # or no such page
        if self.method in UNSAFE_METHODS:
            errors[409] = CONFLICT
        errors[429] = THROTTLED
        errors[503] = UNAVAILABLE  # reads name `projection_behind` too (orders_read.api.freshness)
        return errors

    def get_override_parameters(self) -> list[Any]:
        return [*super().get_override_parameters(), CORRELATION_ID, *RESPONSE_HEADERS]


POSITION_HEADER = {"schema": {"type": "integer"}}


def operations_of(result: dict[str, Any], generator: Any, view_class: type) -> Iterator[dict]:
    """Yield the schema's operations served by views of `view_class` (for hooks)."""
    for path, _, method, view in generator._get_paths_and_endpoints():
        operation = result["paths"].get(path, {}).get(method.lower())
        if operation is not None and isinstance(view, view_class):
            yield operation


def add_position_header(operation: dict[str, Any], name: str, description: str) -> None:
    """Document an event position header on every success response of `operation`."""
    for code, response in operation["responses"].items():
        if code.startswith("2"):
            response.setdefault("headers", {})[name] = {
                **POSITION_HEADER,
                "description": description,
            }


def reference_enums_in_parameters(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Make a query parameter whose values are an enum's use that enum, not a copy of it."""
    schemas = result.get("components", {}).get("schemas", {})
    enums = {frozenset(s["enum"]): name for name, s in schemas.items() if "enum" in s}
    for operation in _operations(result):
        for parameter in operation.get("parameters", []):
            schema = parameter.get("schema", {})
            name = enums.get(frozenset(schema.get("enum", ())))
            if name:
                extra = {k: v for k, v in schema.items() if k not in ("enum", "type")}
                parameter["schema"] = {"$ref": f"#/components/schemas/{name}", **extra}
    return result


def link_operations(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Link each command's response to the operations whose path takes an id it returns.

    E.g. POST /api/orders/ returns `order_id`, which GET /api/orders/{order_id}/ and
    POST /api/orders/{order_id}/status/ take: clients (and the stateful fuzzer) can follow.
    """
    schemas = result.get("components", {}).get("schemas", {})
    takers = _operations_by_path_parameter(result)
    for method, operation in _operations(result, with_method=True):
        if method.upper() not in UNSAFE_METHODS:
            continue
        for code, response in operation.get("responses", {}).items():
            properties = _response_properties(response, schemas) if code.startswith("2") else {}
            links = {
                f"{target['operationId']}_by_{name}": {
                    "operationId": target["operationId"],
                    "parameters": {name: f"$response.body#/{name}"},
                }
                for name in properties
                for target in takers.get(name, [])
            }
            if links:
                response["links"] = links
    return result


def _operations(result: dict[str, Any], *, with_method: bool = False) -> list[Any]:
    return [
        (method, operation) if with_method else operation
        for item in result.get("paths", {}).values()
        for method, operation in item.items()
        if isinstance(operation, dict) and "responses" in operation
    ]


def _operations_by_path_parameter(result: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    takers: dict[str, list[dict[str, Any]]] = {}
    for operation in _operations(result):
        path_parameters = [p for p in operation.get("parameters", []) if p["in"] == "path"]
        if len(path_parameters) == 1:
            takers.setdefault(path_parameters[0]["name"], []).append(operation)
    return takers


def _response_properties(response: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    ref = schema.get("$ref", "")
    return schemas.get(ref.rsplit("/", 1)[-1], {}).get("properties", {}) if ref else {}


def summary_of(description: str) -> str:
    """Return the first sentence of a description as plain text, without its full stop."""
    first = " ".join(description.strip().split("\n\n", 1)[0].replace("`", "").split())
    return first.split(". ", 1)[0].rstrip(".")

"""The API's contract as the schema declares it: one error model on every error response,
no untyped schema, one enum per set of values, links from commands to what they created."""

from typing import Any

import pytest
from django.test import Client
from rest_framework import exceptions

from config.api.errors import ErrorCode, ProjectionBehind, handle_api_exception

ERROR_REF = "#/components/schemas/ErrorOutput"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return Client().get("/api/schema/", {"format": "json"}).json()


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    ]


def json_schema(response: dict[str, Any]) -> dict[str, Any]:
    return response["content"]["application/json"]["schema"]


def test_every_error_response_is_the_one_error_model(schema):
    for method, path, operation in operations(schema):
        errors = {code: r for code, r in operation["responses"].items() if code >= "400"}

        assert errors, (method, path)
        for code, response in errors.items():
            assert json_schema(response) == {"$ref": ERROR_REF}, (method, path, code)


def test_every_operation_declares_the_errors_it_can_give(schema):
    for method, path, operation in operations(schema):
        expected = {"400", "401", "403", "429"}
        paged = any(p["name"] in ("cursor", "page") for p in operation.get("parameters", []))
        expected |= {"404"} if "{" in path or paged else set()
        expected |= {"409"} if method in ("POST", "PATCH") else set()
        waits = path not in ("/api/projections/", "/api/customers/{customer_id}/export/")
        expected |= {"503"} if waits and method == "GET" else set()

        assert set(operation["responses"]) - {"200", "201"} == expected, (method, path)


def test_401_and_429_declare_their_headers(schema):
    for _, _, operation in operations(schema):
        assert "WWW-Authenticate" in operation["responses"]["401"]["headers"]
        assert operation["responses"]["429"]["headers"]["Retry-After"]["schema"]["type"] == (
            "integer"
        )


def test_the_error_code_enum_lists_every_code_the_api_returns(schema):
    error = schema["components"]["schemas"]["ErrorOutput"]

    assert error["properties"]["code"] == {"$ref": "#/components/schemas/ErrorCode"}
    assert schema["components"]["schemas"]["ErrorCode"]["enum"] == [
        code.value for code in ErrorCode
    ]
    assert error["required"] == ["code", "errors", "message"]


def walk(node: Any, where: str = ""):
    """Yield every schema object below `node` with where it is."""
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from walk(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{where}/{index}")


def test_no_schema_is_a_free_form_object(schema):
    for where, node in walk(schema):
        if node.get("type") == "object":
            typed = "properties" in node or isinstance(node.get("additionalProperties"), dict)
            assert typed, where
        if where.endswith("/schema"):
            assert node, where


def test_status_and_payment_method_are_one_enum_each_everywhere(schema):
    schemas = schema["components"]["schemas"]
    statuses = [name for name, s in schemas.items() if "confirmed" in s.get("enum", [])]
    methods = [name for name, s in schemas.items() if "card" in s.get("enum", [])]
    [list_status] = [
        p for p in schema["paths"]["/api/orders/"]["get"]["parameters"] if p["name"] == "status"
    ]

    assert statuses == ["Status"]
    assert methods == ["PaymentMethod"]
    assert list_status["schema"]["$ref"] == "#/components/schemas/Status"
    for name in ("OrderCreatedOutput", "OrderStatusOutput", "OrderSummary", "OrderDetails"):
        assert schemas[name]["properties"]["status"] == {"$ref": "#/components/schemas/Status"}
    history = schemas["StatusChangeOutput"]["properties"]
    assert history["status"] == {"$ref": "#/components/schemas/Status"}
    assert history["changed_at"] == {"type": "string", "format": "date-time"}


def test_money_is_a_decimal_string_in_and_out_and_in_filters(schema):
    schemas = schema["components"]["schemas"]
    parameters = {
        p["name"]: p["schema"] for p in schema["paths"]["/api/orders/"]["get"]["parameters"]
    }

    for money in (
        schemas["ProductInputRequest"]["properties"]["unit_price"],
        schemas["OrderItemOutput"]["properties"]["line_total"],
        parameters["min_amount"],
        parameters["max_amount"],
    ):
        assert (money["type"], money["format"]) == ("string", "decimal")
    assert parameters["page_size"]["type"] == "integer"
    assert parameters["ordering"]["enum"] == [
        "order_date",
        "-order_date",
        "total_amount",
        "-total_amount",
    ]


def test_each_resource_has_one_path_parameter_name(schema):
    names = {
        path.split("/")[2]: {
            p["name"] for p in operation.get("parameters", []) if p["in"] == "path"
        }
        for _, path, operation in operations(schema)
        if "{" in path
    }

    assert names == {
        "customers": {"customer_id"},
        "products": {"product_id"},
        "orders": {"order_id"},
    }


def test_a_created_order_links_to_its_details_history_and_status_change(schema):
    created = schema["paths"]["/api/orders/"]["post"]["responses"]["201"]

    targets = {link["operationId"] for link in created["links"].values()}

    assert targets == {"orders_retrieve", "orders_history_list", "orders_status_create"}
    for link in created["links"].values():
        assert link["parameters"] == {"order_id": "$response.body#/order_id"}


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (ProjectionBehind(), 503, "projection_behind"),
        (exceptions.Throttled(wait=7), 429, "throttled"),
        (exceptions.NotAuthenticated(), 401, "not_authenticated"),
        (exceptions.ParseError(), 400, "parse_error"),
    ],
)
def test_every_error_is_rendered_in_the_one_shape(error, status, code):
    response = handle_api_exception(error, {})

    assert response.status_code == status
    assert response.data == {"code": code, "message": str(error.detail), "errors": []}


def test_a_throttled_response_says_when_to_retry():
    response = handle_api_exception(exceptions.Throttled(wait=7), {})

    assert response["Retry-After"] == "7"


@pytest.mark.django_db
def test_a_method_a_path_does_not_take_is_a_405_in_the_one_shape(admin_client):
    response = admin_client.delete("/api/orders/")

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert response["Allow"] == "GET, HEAD, OPTIONS, POST"


# --- token first, sessions still work ---


@pytest.mark.django_db
def test_the_admin_login_form_logs_a_staff_user_in(admin_user):
    client = Client()

    response = client.post(
        "/admin/login/?next=/admin/", {"username": "admin", "password": "admin-pass-123"}
    )

    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_the_browsable_api_serves_a_session_user(admin_user):
    client = Client()
    client.force_login(admin_user)

    response = client.get("/api/orders/", HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert b"<html" in response.content


@pytest.mark.django_db
def test_the_browsable_api_answers_an_anonymous_visitor_401():
    response = Client().get("/api/orders/", HTTP_ACCEPT="text/html")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert b"<html" in response.content


def test_every_operation_has_a_one_line_summary(schema):
    summaries = {
        f"{method.upper()} {path}": operation.get("summary", "")
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    }

    assert [name for name, summary in summaries.items() if not summary or "\n" in summary] == []
    assert summaries["POST /api/orders/"].startswith("Place an order")

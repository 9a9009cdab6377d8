"""The API as a client developer meets it: a Python client generated from the live /api/schema/
by openapi-python-client, with no warning, a typed model for every success and every error of
every endpoint, driving the endpoints over HTTP with Token auth.

Its own CI section runs it (`pytest -m generated_client`); the default run leaves it out.
"""

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from uuid import uuid4

import pytest
from django.contrib.auth.models import User
from django.test import Client
from knox.models import AuthToken

from tests.conftest import ADDRESS

pytestmark = pytest.mark.generated_client

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
PACKAGE = "orders_api_client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, str, int]:
    """Generate the client from the schema the app serves; return its folder and the output."""
    folder = tmp_path_factory.mktemp("generated")
    schema, config = folder / "schema.json", folder / "config.json"
    schema.write_bytes(Client().get("/api/schema/", {"format": "json"}).content)
    config.write_text(json.dumps({"post_hooks": []}))
    command = [str(GENERATOR), "generate", f"--path={schema}", f"--config={config}"]
    command += [f"--output-path={folder / PACKAGE}", "--meta=none", "--fail-on-warning"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)  # noqa: S603
    return folder / PACKAGE, result.stdout + result.stderr, result.returncode


@pytest.fixture(scope="module")
def package(generated) -> ModuleType:
    folder, _, _ = generated
    sys.path.insert(0, str(folder.parent))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder.parent))
        for name in [m for m in sys.modules if m.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def test_the_generator_reports_no_warning(generated):
    _, output, returncode = generated

    assert returncode == 0, output
    assert "warning" not in output.lower(), output
    assert output.strip() == f"Generating {generated[0]}", output


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text())


def returned_types(module: ast.Module) -> list[str]:
    """Return the types an endpoint module's `_parse_response` gives, e.g. ['ErrorOutput']."""
    [parse_response] = [
        node
        for node in module.body
        if isinstance(node, ast.FunctionDef) and node.name == "_parse_response"
    ]
    union = ast.unparse(parse_response.returns)
    return [name.strip() for name in union.split("|") if name.strip() != "None"]


def test_every_success_and_error_of_every_endpoint_is_a_typed_model(generated):
    folder, _, _ = generated
    models = {path.stem.replace("_", "") for path in (folder / "models").glob("*.py")}
    endpoints = sorted((folder / "api").glob("*/*.py"))

    assert len([e for e in endpoints if e.stem != "__init__"]) >= 11
    for endpoint in endpoints:
        if endpoint.stem == "__init__":
            continue
        types = returned_types(parse(endpoint))
        assert "ErrorOutput" in types, endpoint.stem
        for name in types:
            model = name.removeprefix("list[").removesuffix("]")
            assert model.lower() in models, (endpoint.stem, name)
            assert "Response" not in model, (endpoint.stem, name)  # no per-endpoint wrapper


def test_no_model_attribute_is_untyped(generated):
    folder, _, _ = generated
    for path in (folder / "models").glob("*.py"):
        for node in ast.walk(parse(path)):
            if isinstance(node, ast.ClassDef):
                for statement in node.body:
                    if isinstance(statement, ast.AnnAssign):
                        name, annotation = (
                            ast.unparse(statement.target),
                            ast.unparse(statement.annotation),
                        )
                        if name != "additional_properties":
                            assert "Any" not in annotation, (path.stem, name, annotation)
                        assert "Unset" not in annotation or name not in ("code", "message")


# --- driving the endpoints with the generated client ---


@pytest.fixture
def api(package, live_server, admin_user) -> object:
    """The generated client, authenticated as a superuser with a token."""
    _, token = AuthToken.objects.create(user=admin_user)
    return package.AuthenticatedClient(
        base_url=live_server.url, token=token, prefix="Token", raise_on_unexpected_status=True
    )


def endpoint(package: ModuleType, name: str) -> ModuleType:
    tag = name.split("_")[0]
    return importlib.import_module(f"{PACKAGE}.api.{tag}.{name}")


def call(package: ModuleType, name: str, client: object, *args: object, **kwargs: object):
    return endpoint(package, name).sync_detailed(*args, client=client, **kwargs)


@pytest.mark.django_db(transaction=True)
def test_a_client_developer_gets_typed_models_from_every_endpoint(package, api):
    m = importlib.import_module(f"{PACKAGE}.models")

    customer = call(package, "customers_create", api, body=m.CustomerInputRequest("Ann", "a@x.io"))
    product = call(
        package,
        "products_create",
        api,
        body=m.ProductInputRequest(name="Kettle", category="kitchen", unit_price="24.90"),
    )
    customer_id, product_id = customer.parsed.customer_id, product.parsed.product_id
    order = call(
        package,
        "orders_create",
        api,
        body=m.CreateOrderInputRequest(
            customer_id=customer_id,
            items=[m.OrderItemInputRequest(product_id=product_id, quantity=2)],
            shipping_address=m.AddressInputRequest(**ADDRESS),
            payment_method=m.PaymentMethod.CARD,
        ),
    )
    order_id = order.parsed.order_id
    changed = call(
        package,
        "orders_status_create",
        api,
        order_id,
        body=m.UpdateOrderStatusInputRequest(status=m.Status.CONFIRMED),
    )

    assert isinstance(customer.parsed, m.CustomerOutput)
    assert isinstance(product.parsed, m.ProductOutput)
    assert (order.parsed.status, order.parsed.total_amount) == (m.Status.PENDING, "49.80")
    assert isinstance(changed.parsed, m.OrderStatusOutput)
    assert changed.parsed.status is m.Status.CONFIRMED

    details = call(package, "orders_retrieve", api, order_id).parsed
    assert isinstance(details, m.OrderDetails)
    assert details.payment_method is m.PaymentMethod.CARD
    assert isinstance(details.items[0], m.OrderItemOutput)
    assert (details.items[0].unit_price, details.items[0].line_total) == ("24.90", "49.80")
    assert isinstance(details.shipping_address, m.AddressOutput)
    assert [entry.status for entry in details.status_history] == [
        m.Status.PENDING,
        m.Status.CONFIRMED,
    ]
    assert details.status_history[1].changed_at.tzinfo is not None

    listed = call(package, "orders_list", api, status=m.Status.CONFIRMED, page_size=5).parsed
    assert isinstance(listed, m.PaginatedOrderSummaryList)
    assert [row.order_id for row in listed.results] == [order_id]

    analytics = call(package, "customers_analytics_retrieve", api, customer_id).parsed
    assert isinstance(analytics, m.CustomerAnalytics)
    assert analytics.category_units.additional_properties == {"kitchen": 2}

    popular = call(package, "products_popular_list", api, days=30).parsed
    assert [type(row) for row in popular] == [m.PopularProduct]
    projections = call(package, "projections_list", api).parsed
    assert {type(row) for row in projections} == {m.ProjectionStatus}

    renamed = m.PatchedCustomerInputRequest(name="Ann Lee")
    assert (
        call(package, "customers_partial_update", api, customer_id, body=renamed).status_code == 200
    )
    repriced = m.PatchedProductInputRequest(unit_price="21.50")
    updated = call(package, "products_partial_update", api, product_id, body=repriced)
    assert updated.parsed.unit_price == "21.50"


@pytest.mark.django_db(transaction=True)
def test_a_client_developer_gets_every_error_as_the_one_typed_model(package, api, live_server):
    m = importlib.import_module(f"{PACKAGE}.models")
    customer = call(package, "customers_create", api, body=m.CustomerInputRequest("Bo", "b@x.io"))
    bad_order = m.CreateOrderInputRequest(
        customer_id=customer.parsed.customer_id,
        items=[m.OrderItemInputRequest(product_id=uuid4(), quantity=0)],
        shipping_address=m.AddressInputRequest(**{**ADDRESS, "city": ""}),
        payment_method=m.PaymentMethod.CASH_ON_DELIVERY,
    )
    anonymous = package.Client(base_url=live_server.url, raise_on_unexpected_status=True)
    reader = User.objects.create_user("reader", password="reader-pass-123")
    no_permission = package.AuthenticatedClient(
        base_url=live_server.url, token=AuthToken.objects.create(user=reader)[1], prefix="Token"
    )

    invalid = call(package, "orders_create", api, body=bad_order)
    unknown = call(package, "orders_retrieve", api, uuid4())
    unauthenticated = call(package, "orders_list", anonymous)
    denied = call(
        package, "products_create", no_permission, body=m.ProductInputRequest("P", "c", "1.00")
    )

    assert invalid.status_code == 400
    assert invalid.parsed.code is m.ErrorCode.INVALID
    assert {e.field for e in invalid.parsed.errors} == {
        "items.0.quantity",
        "shipping_address.city",
    }
    assert (unknown.status_code, unknown.parsed.code) == (404, m.ErrorCode.NOT_FOUND)
    assert unauthenticated.status_code == 401
    assert unauthenticated.parsed.code is m.ErrorCode.NOT_AUTHENTICATED
    assert unauthenticated.headers["WWW-Authenticate"] == "Token"
    assert (denied.status_code, denied.parsed.code) == (403, m.ErrorCode.PERMISSION_DENIED)


@pytest.mark.django_db(transaction=True)
def test_a_conflict_and_a_throttled_request_parse_as_the_error_model(package, api, tight_throttle):
    m = importlib.import_module(f"{PACKAGE}.models")
    customer = call(package, "customers_create", api, body=m.CustomerInputRequest("Cy", "c@x.io"))
    product = call(package, "products_create", api, body=m.ProductInputRequest("P", "c", "1.00"))
    order = call(
        package,
        "orders_create",
        api,
        body=m.CreateOrderInputRequest(
            customer_id=customer.parsed.customer_id,
            items=[m.OrderItemInputRequest(product_id=product.parsed.product_id, quantity=1)],
            shipping_address=m.AddressInputRequest(**ADDRESS),
            payment_method=m.PaymentMethod.PAYPAL,
        ),
    )

    shipped = m.UpdateOrderStatusInputRequest(status=m.Status.SHIPPED)
    conflict = call(package, "orders_status_create", api, order.parsed.order_id, body=shipped)

    assert conflict.status_code == 409
    assert conflict.parsed.code is m.ErrorCode.INVALID_TRANSITION
    assert conflict.parsed.errors == []
    throttled = [call(package, "projections_list", api) for _ in range(5)][-1]
    assert throttled.status_code == 429
    assert throttled.parsed.code is m.ErrorCode.THROTTLED
    assert int(throttled.headers["Retry-After"]) > 0

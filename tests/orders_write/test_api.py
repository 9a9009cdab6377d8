"""The command API over HTTP: status codes, bodies, permissions, and nothing written on errors."""

from uuid import UUID, uuid4

import pytest
from knox.models import AuthToken
from rest_framework.test import APIClient

from orders_write.models import Customer, Event, Order
from orders_write.services import ORDER_ID_UNAVAILABLE
from tests.conftest import (
    ADDRESS,
    error_fields,
    make_customer,
    make_product,
    order_body,
    row_counts,
    set_status,
)

CUSTOMERS = "/api/customers/"
PRODUCTS = "/api/products/"
ORDERS = "/api/orders/"


def customer_url(customer) -> str:
    return f"/api/customers/{customer.id}/"


def product_url(product) -> str:
    return f"/api/products/{product.id}/"


def status_url(order_id) -> str:
    return f"/api/orders/{order_id}/status/"


def send(client: APIClient, method: str, url: str, body: object):
    return getattr(client, method)(url, body, format="json")


@pytest.fixture
def write_requests(customer, product, order) -> dict[str, tuple[str, str, dict]]:
    """One valid request per command endpoint."""
    return {
        "register customer": ("post", CUSTOMERS, {"name": "Bo", "email": "bo@example.com"}),
        "update customer": ("patch", customer_url(customer), {"name": "Renamed"}),
        "add product": (
            "post",
            PRODUCTS,
            {"name": "Lamp", "category": "home", "unit_price": "5.00"},
        ),
        "update product": ("patch", product_url(product), {"unit_price": "11.00"}),
        "create order": ("post", ORDERS, order_body(customer, (product, 1))),
        "update order status": ("post", status_url(order.id), {"status": "confirmed"}),
    }


ENDPOINTS = [
    "register customer",
    "update customer",
    "add product",
    "update product",
    "create order",
    "update order status",
]


# --- successful commands ---


def last_position() -> int:
    return Event.objects.latest("position").position


def test_registering_a_customer_returns_201_with_its_id(admin_api):
    response = admin_api.post(
        CUSTOMERS, {"name": "Ann Lee", "email": "ann@example.com"}, format="json"
    )

    assert response.status_code == 201
    body = response.json()
    assert body == {
        "customer_id": body["customer_id"],
        "name": "Ann Lee",
        "email": "ann@example.com",
        "version": 1,
        "position": last_position(),
    }
    assert Customer.objects.get(pk=body["customer_id"]).email == "ann@example.com"


def test_a_command_records_the_user_and_correlation_id_of_the_request(admin_api):
    correlation_id = uuid4()

    response = admin_api.post(
        CUSTOMERS,
        {"name": "Ann", "email": "ann@example.com"},
        format="json",
        HTTP_X_CORRELATION_ID=str(correlation_id),
    )

    event = Event.objects.get(stream_id=response.json()["customer_id"])
    assert event.event_type == "CustomerRegistered"
    assert event.metadata["actor"] == "admin"
    assert event.metadata["command"] == "RegisterCustomer"
    assert event.metadata["correlation_id"] == str(correlation_id)


def test_updating_a_customer_returns_200_with_the_new_values(admin_api, customer):
    response = admin_api.patch(customer_url(customer), {"email": "NEW@example.com"}, format="json")

    assert response.status_code == 200
    assert response.json() == {
        "customer_id": str(customer.id),
        "name": customer.name,
        "email": "new@example.com",
        "version": 2,
        "position": last_position(),
    }
    assert Event.objects.filter(stream_id=customer.id, event_type="CustomerUpdated").count() == 1


def test_adding_a_product_returns_201_with_a_decimal_string_price(admin_api):
    response = admin_api.post(
        PRODUCTS, {"name": "Pen", "category": "office", "unit_price": "12.5"}, format="json"
    )

    assert response.status_code == 201
    body = response.json()
    assert body == {
        "product_id": body["product_id"],
        "name": "Pen",
        "category": "office",
        "unit_price": "12.50",
        "version": 1,
        "position": last_position(),
    }
    assert Event.objects.get(stream_id=body["product_id"]).event_type == "ProductAdded"


def test_updating_a_product_returns_200_with_the_new_values(admin_api, product):
    response = admin_api.patch(product_url(product), {"unit_price": "7.5"}, format="json")

    assert response.status_code == 200
    assert response.json() == {
        "product_id": str(product.id),
        "name": product.name,
        "category": product.category,
        "unit_price": "7.50",
        "version": 2,
        "position": last_position(),
    }


def test_creating_an_order_returns_201_with_its_total_and_location(admin_api, customer):
    pen, book = make_product(unit_price="2.50"), make_product(unit_price="12.99")

    response = admin_api.post(ORDERS, order_body(customer, (pen, 3), (book, 1)), format="json")

    assert response.status_code == 201
    body = response.json()
    assert body == {
        "order_id": body["order_id"],
        "status": "pending",
        "version": 1,
        "total_amount": "20.49",
        "position": last_position(),
    }
    assert response["Location"] == f"/api/orders/{body['order_id']}/"
    order = Order.objects.get(pk=body["order_id"])
    assert (order.customer_id, order.items.count()) == (customer.id, 2)


def test_creating_an_order_with_a_chosen_id_and_billing_address_uses_them(
    admin_api, customer, product
):
    order_id = uuid4()
    billing = {**ADDRESS, "line2": "Floor 2", "city": "Paris"}
    body = order_body(customer, (product, 1), order_id=str(order_id), billing_address=billing)

    response = admin_api.post(ORDERS, body, format="json")

    assert response.status_code == 201
    assert response.json()["order_id"] == str(order_id)
    assert Order.objects.get(pk=order_id).billing_address == billing


def test_changing_an_order_status_returns_200_with_the_new_version(admin_api, order):
    response = admin_api.post(
        status_url(order.id), {"status": "confirmed", "reason": "called"}, format="json"
    )

    assert response.status_code == 200
    assert response.json() == {
        "order_id": str(order.id),
        "status": "confirmed",
        "version": 2,
        "position": last_position(),
    }
    event = Event.objects.get(stream_id=order.id, version=2)
    assert (event.data["changed_by"], event.data["reason"]) == ("admin", "called")


def test_changing_an_order_status_from_the_expected_version_succeeds(admin_api, order):
    response = admin_api.post(
        status_url(order.id), {"status": "cancelled", "expected_version": 1}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"


# --- idempotent order creation ---


def test_resending_an_order_with_the_same_id_and_body_returns_the_same_order(
    admin_api, customer, product
):
    body = order_body(customer, (product, 2), order_id=str(uuid4()))
    first = admin_api.post(ORDERS, body, format="json")
    counts = row_counts()

    again = admin_api.post(ORDERS, body, format="json")

    assert again.status_code in (200, 201)
    assert again.json() == first.json()
    assert row_counts() == counts
    assert Event.objects.filter(stream_id=body["order_id"]).count() == 1


def test_resending_an_order_id_with_a_different_body_is_a_409(admin_api, customer, product):
    body = order_body(customer, (product, 2), order_id=str(uuid4()))
    admin_api.post(ORDERS, body, format="json")
    counts = row_counts()

    response = admin_api.post(
        ORDERS, {**body, "items": [{"product_id": str(product.id), "quantity": 3}]}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_conflict"
    assert row_counts() == counts


def test_another_user_resending_an_order_id_gets_a_409_that_reveals_nothing(
    admin_api, clerk_api, customer, product
):
    body = order_body(customer, (product, 2), order_id=str(uuid4()))
    admin_api.post(ORDERS, body, format="json")
    counts = row_counts()

    same_body = clerk_api.post(ORDERS, body, format="json")
    other_body = clerk_api.post(ORDERS, {**body, "payment_method": "paypal"}, format="json")

    assert same_body.status_code == other_body.status_code == 409
    assert (
        same_body.json()
        == other_body.json()
        == {
            "code": "idempotency_conflict",
            "message": ORDER_ID_UNAVAILABLE,
            "errors": [],
        }
    )
    assert row_counts() == counts


def test_an_order_id_naming_another_stream_is_refused_as_any_unavailable_id(
    admin_api, customer, product
):
    body = order_body(customer, (product, 2), order_id=str(customer.id))

    response = admin_api.post(ORDERS, body, format="json")

    assert response.status_code == 409
    assert response.json()["message"] == ORDER_ID_UNAVAILABLE


# --- bad input: 400 with field messages, nothing written ---


def _without(field):
    return lambda body, customer, product: {k: v for k, v in body.items() if k != field}


def _with(**changes):
    return lambda body, customer, product: {**body, **changes}


def _item(**changes):
    return lambda body, customer, product: {
        **body,
        "items": [{"product_id": str(product.id), "quantity": 1, **changes}],
    }


BAD_ORDERS = {
    "missing customer_id": (_without("customer_id"), "customer_id"),
    "missing items": (_without("items"), "items"),
    "missing shipping_address": (_without("shipping_address"), "shipping_address"),
    "missing payment_method": (_without("payment_method"), "payment_method"),
    "missing quantity": (
        lambda body, customer, product: {**body, "items": [{"product_id": str(product.id)}]},
        "items.0.quantity",
    ),
    "missing address city": (
        _with(shipping_address={k: v for k, v in ADDRESS.items() if k != "city"}),
        "shipping_address.city",
    ),
    "quantity as text": (_item(quantity="two"), "items.0.quantity"),
    "quantity as fraction": (_item(quantity=1.5), "items.0.quantity"),
    "items as an object": (
        lambda body, customer, product: {**body, "items": body["items"][0]},
        "items",
    ),
    "items as numbers": (_with(items=[1, 2]), "items.1"),
    "address as text": (_with(shipping_address="1 Main Street, Lyon"), "shipping_address"),
    "customer_id as number": (_with(customer_id=12), "customer_id"),
    "customer_id null": (_with(customer_id=None), "customer_id"),
    "billing_address null": (_with(billing_address=None), "billing_address"),
    "unknown field": (_with(coupon="FREE"), "coupon"),
    "unknown item field": (_item(discount=5), "items.0.discount"),
    "unknown address field": (
        _with(shipping_address={**ADDRESS, "floor": "2"}),
        "shipping_address.floor",
    ),
    "quantity 0": (_item(quantity=0), "items.0.quantity"),
    "negative quantity": (_item(quantity=-2), "items.0.quantity"),
    "quantity too large": (_item(quantity=10**9), "items.0.quantity"),
    "unknown customer": (_with(customer_id=str(uuid4())), "customer_id"),
    "unknown product": (_item(product_id=str(uuid4())), "items"),
    "malformed customer_id": (_with(customer_id="not-a-uuid"), "customer_id"),
    "malformed product_id": (_item(product_id="1234"), "items.0.product_id"),
    "malformed order_id": (_with(order_id="order-1"), "order_id"),
    "unknown payment method": (_with(payment_method="cheque"), "payment_method"),
    "empty items": (_with(items=[]), "items"),
    "same product twice": (
        lambda body, customer, product: {**body, "items": body["items"] * 2},
        "items",
    ),
    "blank address line": (
        _with(shipping_address={**ADDRESS, "line1": "  "}),
        "shipping_address.line1",
    ),
}


@pytest.mark.parametrize("case", BAD_ORDERS)
def test_a_bad_order_is_a_400_with_field_messages_and_writes_nothing(
    admin_api, customer, product, case
):
    make_body, field = BAD_ORDERS[case]
    body = make_body(order_body(customer, (product, 1)), customer, product)
    counts = row_counts()

    response = admin_api.post(ORDERS, body, format="json")

    assert response.status_code == 400
    assert field in error_fields(response)
    assert row_counts() == counts


GROWING_EMAIL = "a@" + ".".join(["\u0130" * 31] * 4) + ".com"
BAD_CUSTOMERS = {
    "missing name": ({"email": "x@example.com"}, "name"),
    "missing email": ({"name": "X"}, "email"),
    "invalid email": ({"name": "X", "email": "not-an-email"}, "email"),
    "blank name": ({"name": "  ", "email": "x@example.com"}, "name"),
    "name as list": ({"name": ["X"], "email": "x@example.com"}, "name"),
    "name too long": ({"name": "X" * 201, "email": "x@example.com"}, "name"),
    "unknown field": ({"name": "X", "email": "x@example.com", "phone": "1"}, "phone"),
    "email taken": ({"name": "X", "email": "TAKEN@example.com"}, "email"),
    # 133 characters that lower-case to 257: U+0130 becomes "i" and a combining dot.
    "email too long once lower-cased": ({"name": "X", "email": GROWING_EMAIL}, "email"),
}


@pytest.mark.parametrize("case", BAD_CUSTOMERS)
def test_registering_a_bad_customer_is_a_400_and_writes_nothing(admin_api, case):
    make_customer(email="taken@example.com")
    body, field = BAD_CUSTOMERS[case]
    counts = row_counts()

    response = admin_api.post(CUSTOMERS, body, format="json")

    assert response.status_code == 400
    assert field in error_fields(response)
    assert row_counts() == counts


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, None),
        ({"email": "not-an-email"}, "email"),
        ({"email": "taken@example.com"}, "email"),
        ({"name": ""}, "name"),
        ({"nickname": "X"}, "nickname"),
    ],
    ids=["empty", "invalid email", "email taken", "blank name", "unknown field"],
)
def test_a_bad_customer_update_is_a_400_and_writes_nothing(admin_api, customer, body, field):
    make_customer(email="taken@example.com")
    counts = row_counts()

    response = admin_api.patch(customer_url(customer), body, format="json")

    assert response.status_code == 400
    assert field in error_fields(response)
    assert row_counts() == counts


BAD_PRODUCTS = {
    "missing unit_price": ({"name": "Pen", "category": "office"}, "unit_price"),
    "missing name": ({"category": "office", "unit_price": "1.00"}, "name"),
    "price as text": ({"name": "Pen", "category": "office", "unit_price": "cheap"}, "unit_price"),
    "negative price": ({"name": "Pen", "category": "office", "unit_price": "-1.00"}, "unit_price"),
    "three decimals": ({"name": "Pen", "category": "office", "unit_price": "1.005"}, "unit_price"),
    "price too large": (
        {"name": "Pen", "category": "office", "unit_price": "10000000000.00"},
        "unit_price",
    ),
    "NaN price": ({"name": "Pen", "category": "office", "unit_price": "NaN"}, "unit_price"),
    "price as a JSON number": (
        {"name": "Pen", "category": "office", "unit_price": 12.5},
        "unit_price",
    ),
    "price in exponent form": (
        {"name": "Pen", "category": "office", "unit_price": "1e3"},
        "unit_price",
    ),
    "blank category": ({"name": "Pen", "category": "", "unit_price": "1.00"}, "category"),
    "unknown field": (
        {"name": "Pen", "category": "office", "unit_price": "1.00", "stock": 3},
        "stock",
    ),
}


@pytest.mark.parametrize("case", BAD_PRODUCTS)
def test_adding_a_bad_product_is_a_400_and_writes_nothing(admin_api, case):
    body, field = BAD_PRODUCTS[case]
    counts = row_counts()

    response = admin_api.post(PRODUCTS, body, format="json")

    assert response.status_code == 400
    assert field in error_fields(response)
    assert row_counts() == counts


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, None),
        ({"unit_price": "-0.01"}, "unit_price"),
        ({"unit_price": "abc"}, "unit_price"),
        ({"name": ""}, "name"),
        ({"colour": "red"}, "colour"),
    ],
    ids=["empty", "negative price", "price as text", "blank name", "unknown field"],
)
def test_a_bad_product_update_is_a_400_and_writes_nothing(admin_api, product, body, field):
    counts = row_counts()

    response = admin_api.patch(product_url(product), body, format="json")

    assert response.status_code == 400
    assert field in error_fields(response)
    assert row_counts() == counts


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "status"),
        ({"status": "lost"}, "status"),
        ({"status": 3}, "status"),
        ({"status": "confirmed", "expected_version": 0}, "expected_version"),
        ({"status": "confirmed", "expected_version": "first"}, "expected_version"),
        ({"status": "confirmed", "reason": "x" * 501}, "reason"),
        ({"status": "confirmed", "by": "me"}, "by"),
    ],
    ids=[
        "missing status",
        "unknown status",
        "status as number",
        "expected_version 0",
        "expected_version as text",
        "reason too long",
        "unknown field",
    ],
)
def test_a_bad_status_change_is_a_400_and_writes_nothing(admin_api, order, body, field):
    counts = row_counts()

    response = admin_api.post(status_url(order.id), body, format="json")

    assert response.status_code == 400
    assert field in error_fields(response)
    assert row_counts() == counts
    assert Order.objects.get(pk=order.id).status == "pending"


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("raw", ['{"name": "Ann",', "[1, 2]", "null", '"text"', ""], ids=repr)
def test_a_body_that_is_not_a_json_object_is_a_400_and_writes_nothing(
    admin_api, write_requests, endpoint, raw
):
    method, url, _ = write_requests[endpoint]
    counts = row_counts()

    response = getattr(admin_api, method)(url, raw, content_type="application/json")

    assert response.status_code == 400
    assert response.json()
    assert row_counts() == counts


@pytest.mark.parametrize("send_price", ["post", "patch"])
def test_a_price_sent_as_a_json_number_is_a_400_asking_for_a_string(admin_api, product, send_price):
    url = PRODUCTS if send_price == "post" else product_url(product)
    body = {"name": "Pen", "category": "office", "unit_price": 12.5}

    response = getattr(admin_api, send_price)(url, body, format="json")

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == "unit_price"
    assert error["code"] == "not_a_string"
    assert "decimal string" in error["message"]


# --- not found and conflicts ---


def test_changing_the_status_of_an_unknown_order_is_a_404(admin_api, db):
    response = admin_api.post(status_url(uuid4()), {"status": "confirmed"}, format="json")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("url", "body"),
    [(CUSTOMERS, {"name": "X"}), (PRODUCTS, {"name": "X"})],
    ids=["customer", "product"],
)
def test_updating_an_unknown_customer_or_product_is_a_404(admin_api, url, body):
    counts = row_counts()

    response = admin_api.patch(f"{url}{uuid4()}/", body, format="json")

    assert response.status_code == 404
    assert row_counts() == counts


def test_an_invalid_transition_is_a_409_invalid_transition(admin_api, order):
    counts = row_counts()

    response = admin_api.post(status_url(order.id), {"status": "shipped"}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert row_counts() == counts


def test_a_stale_expected_version_is_a_409_concurrency_conflict(admin_api, order):
    set_status(order.id, "confirmed")
    counts = row_counts()

    response = admin_api.post(
        status_url(order.id), {"status": "paid", "expected_version": 1}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "concurrency_conflict"
    assert row_counts() == counts
    assert Order.objects.get(pk=order.id).status == "confirmed"


# --- authentication and permissions ---


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_anonymous_requests_cannot_send_commands(anonymous_api, write_requests, endpoint):
    counts = row_counts()

    response = send(anonymous_api, *write_requests[endpoint])

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert row_counts() == counts


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_user_without_permissions_gets_403_on_every_command(reader_api, write_requests, endpoint):
    counts = row_counts()

    response = send(reader_api, *write_requests[endpoint])

    assert response.status_code == 403
    assert row_counts() == counts


@pytest.mark.parametrize(
    "endpoint", ["register customer", "update customer", "add product", "update product"]
)
def test_a_clerk_cannot_change_customers_or_products(clerk_api, write_requests, endpoint):
    counts = row_counts()

    response = send(clerk_api, *write_requests[endpoint])

    assert response.status_code == 403
    assert row_counts() == counts


def test_a_clerk_can_place_orders_and_change_their_status(clerk_api, write_requests):
    created = send(clerk_api, *write_requests["create order"])
    changed = send(clerk_api, *write_requests["update order status"])

    assert (created.status_code, changed.status_code) == (201, 200)
    event = Event.objects.get(stream_id=created.json()["order_id"])
    assert event.metadata["actor"] == "clerk"


@pytest.fixture
def session_api(admin_user) -> APIClient:
    """A superuser logged in with a session, on a client that enforces CSRF like a browser."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(admin_user)
    return client


def test_a_session_command_without_a_csrf_token_is_a_403(session_api):
    response = session_api.post(
        CUSTOMERS, {"name": "Ann", "email": "ann@example.com"}, format="json"
    )

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert "CSRF" in response.json()["message"]
    assert not Customer.objects.exists()


def test_a_session_command_with_a_csrf_token_succeeds(session_api):
    session_api.get("/admin/")
    token = session_api.cookies["csrftoken"].value

    response = session_api.post(
        CUSTOMERS,
        {"name": "Ann", "email": "ann@example.com"},
        format="json",
        HTTP_X_CSRFTOKEN=token,
    )

    assert response.status_code == 201


def test_a_token_command_needs_no_csrf_token(admin_user):
    client = APIClient(enforce_csrf_checks=True)
    _, token = AuthToken.objects.create(user=admin_user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    response = client.post(CUSTOMERS, {"name": "Ann", "email": "ann@example.com"}, format="json")

    assert response.status_code == 201
    assert UUID(response.json()["customer_id"])

"""Reading your own writes: commands answer with their last event's position, reads wait
for the projections behind them to pass a `min_position` and say which position they
reflect; a projection that does not get there in time gives a 503 a client can retry on."""

import time

import pytest
from django.core.cache import cache

from orders_read.api.freshness import STALLED_MESSAGE, STALLED_RETRY_SECONDS
from orders_write.models import Event
from tests.conftest import error_fields, make_order, order_body

pytestmark = pytest.mark.django_db

ORDERS = "/api/orders/"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def head() -> int:
    return Event.objects.latest("position").position


def place(api, customer, product) -> tuple[str, int]:
    response = api.post(ORDERS, order_body(customer, (product, 1)), format="json")
    assert response.status_code == 201, response.content
    return response.json()["order_id"], response.json()["position"]


def test_every_command_answers_with_its_last_events_position(admin_api, customer, product):
    customer_response = admin_api.post(
        "/api/customers/", {"name": "Grace", "email": "grace@example.com"}, format="json"
    )
    registered = head()
    order_id, placed = place(admin_api, customer, product)
    after_placing = head()
    status_response = admin_api.post(
        f"{ORDERS}{order_id}/status/", {"status": "confirmed"}, format="json"
    )
    product_response = admin_api.patch(
        f"/api/products/{product.id}/", {"unit_price": "12.00"}, format="json"
    )

    assert customer_response.json()["position"] == registered
    assert customer_response["X-Event-Position"] == str(registered)
    assert placed == after_placing
    assert status_response.json()["position"] == placed + 1
    assert status_response["X-Event-Position"] == str(placed + 1)
    assert product_response.json()["position"] == head()


def test_a_repeated_order_answers_with_a_position_at_or_after_its_event(
    admin_api, customer, product
):
    body = order_body(customer, (product, 1), order_id="6c1d7a36-7c5d-4f38-9d5e-3d1c2b1a0f99")
    first = admin_api.post(ORDERS, body, format="json")
    again = admin_api.post(ORDERS, body, format="json")

    assert again.status_code == 201
    assert again.json()["position"] >= first.json()["position"]


@pytest.mark.parametrize("via", ["query", "header"])
def test_a_read_with_min_position_sees_the_write(admin_api, customer, product, via):
    order_id, position = place(admin_api, customer, product)
    url = f"{ORDERS}{order_id}/"

    if via == "query":
        response = admin_api.get(url, {"min_position": position})
    else:
        response = admin_api.get(url, HTTP_X_MIN_POSITION=str(position))

    assert response.status_code == 200, response.content
    assert response.json()["order_id"] == order_id
    assert int(response["X-Projection-Position"]) >= position


def test_every_read_says_which_position_it_reflects(admin_api, customer, product):
    _, position = place(admin_api, customer, product)
    reads = [
        ORDERS,
        f"{ORDERS}{make_order(customer, [(product, 1)]).id}/",
        f"/api/customers/{customer.id}/analytics/",
        "/api/products/popular/",
    ]

    for url in reads:
        response = admin_api.get(url)
        assert response.status_code == 200, url
        assert int(response["X-Projection-Position"]) == head() > position, url


@pytest.mark.parametrize("value", ["", "abc", "0", "-1", "1.5", "9" * 30, "١٢", ["1", "2"]])
def test_a_bad_min_position_is_a_400_that_names_it(admin_api, order, value):
    response = admin_api.get(ORDERS, {"min_position": value})

    assert response.status_code == 400
    assert error_fields(response) == {"min_position"}


def test_a_malformed_x_min_position_is_a_400_even_with_a_good_min_position(admin_api, order):
    response = admin_api.get(ORDERS, {"min_position": head()}, HTTP_X_MIN_POSITION="\u0084")

    assert response.status_code == 400
    assert error_fields(response) == {"X-Min-Position"}


def test_a_position_past_the_newest_event_asks_for_the_newest(admin_api, order):
    response = admin_api.get(ORDERS, HTTP_X_MIN_POSITION=str(head() + 1000))

    assert response.status_code == 200
    assert int(response["X-Projection-Position"]) == head()


def test_a_read_waiting_for_a_stalled_projection_gets_a_503_at_once(
    admin_api, customer, product, broken_customer_analytics, settings
):
    settings.READ_WAIT_SECONDS = 5
    _, position = place(admin_api, customer, product)  # customer_analytics stalls on it
    broken_customer_analytics()

    started = time.monotonic()
    behind = admin_api.get(f"/api/customers/{customer.id}/analytics/", {"min_position": position})
    waited = time.monotonic() - started
    unaffected = admin_api.get(ORDERS, {"min_position": position})

    assert behind.status_code == 503
    assert waited < 1  # a stall waits for an operator: no point in holding the request
    assert behind.json() == {
        "code": "projection_behind",
        "message": STALLED_MESSAGE,
        "errors": [],
    }
    assert behind["Retry-After"] == str(STALLED_RETRY_SECONDS)
    assert unaffected.status_code == 200


def test_a_stalled_projection_reflects_its_checkpoint(
    admin_api, customer, product, broken_customer_analytics
):
    _, position = place(admin_api, customer, product)
    broken_customer_analytics()

    response = admin_api.get(f"/api/customers/{customer.id}/analytics/")

    assert response.status_code == 200
    assert int(response["X-Projection-Position"]) < position


def test_the_schema_documents_positions(admin_api):
    schema = admin_api.get("/api/schema/", {"format": "json"}).json()
    detail = schema["paths"]["/api/orders/{order_id}/"]["get"]
    create = schema["paths"]["/api/orders/"]["post"]

    names = {p["name"] for p in detail["parameters"]}
    assert {"min_position", "X-Min-Position"} <= names
    assert "X-Projection-Position" in detail["responses"]["200"]["headers"]
    assert {"400", "503"} <= set(detail["responses"])
    assert "X-Event-Position" in create["responses"]["201"]["headers"]
    assert "position" in schema["components"]["schemas"]["OrderCreatedOutput"]["required"]


def test_an_empty_x_min_position_header_counts_as_absent(admin_api, order):
    response = admin_api.get(ORDERS, HTTP_X_MIN_POSITION="")

    assert response.status_code == 200
    assert int(response["X-Projection-Position"]) == head()

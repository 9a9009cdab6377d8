"""The privacy endpoints: forget a customer, export what is held about them."""

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission, User
from rest_framework.test import APIClient

from access.groups import ensure_personal_data_group
from orders_read.models import OrderDetails
from orders_write.models import Customer, CustomerKey, Event
from orders_write.personal_data import FORGOTTEN_NAME
from tests.conftest import ADDRESS, make_customer, make_order, order_body, set_status

pytestmark = pytest.mark.django_db

NAME, EMAIL = "Zoë Quillfeather", "zoe.quill@example.org"


@pytest.fixture
def zoe() -> Customer:
    return make_customer(NAME, EMAIL)


def client_with(*codenames: str) -> APIClient:
    user = User.objects.create_user("officer", password="officer-pass-123")
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client = APIClient()
    client.force_authenticate(user)
    return client


def forget_url(customer: Customer) -> str:
    return f"/api/customers/{customer.id}/forget/"


def test_forgetting_over_http_answers_with_the_position(admin_api, zoe, product):
    order = make_order(zoe, [(product, 2)])

    response = admin_api.post(forget_url(zoe), {"reason": "Ticket 41"}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    forgotten = Event.objects.get(stream_id=zoe.id, event_type="CustomerForgotten")
    assert body["position"] == forgotten.position == int(response["X-Event-Position"])
    assert (body["customer_id"], body["version"]) == (str(zoe.id), 2)
    details = admin_api.get(f"/api/orders/{order.id}/").json()
    assert (details["customer_name"], details["customer_email"]) == (FORGOTTEN_NAME, "")
    assert details["shipping_address"]["line1"] == ""
    assert details["total_amount"] == "20.00"


def test_forgetting_needs_the_forget_permission(reader_api, zoe):
    assert reader_api.post(forget_url(zoe), {"reason": "x"}, format="json").status_code == 403
    allowed = client_with("forget_customer")
    assert allowed.post(forget_url(zoe), {"reason": "x"}, format="json").status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "reason"), ({"reason": ""}, "reason"), ({"reason": "x", "other": 1}, "other")],
)
def test_bad_forget_bodies_are_400s_that_forget_nothing(admin_api, zoe, body, field):
    response = admin_api.post(forget_url(zoe), body, format="json")

    assert response.status_code == 400
    assert field in {error["field"] for error in response.json()["errors"]}
    assert CustomerKey.objects.filter(customer_id=zoe.id).exists()


def test_forgetting_an_unknown_customer_is_a_404(admin_api):
    url = "/api/customers/00000000-0000-4000-8000-000000000000/forget/"
    assert admin_api.post(url, {"reason": "x"}, format="json").status_code == 404


def test_a_new_order_for_a_forgotten_customer_is_a_409_that_says_why(admin_api, zoe, product):
    admin_api.post(forget_url(zoe), {"reason": "Ticket 41"}, format="json")

    response = admin_api.post("/api/orders/", order_body(zoe, (product, 1)), format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "customer_forgotten"
    assert "forgotten at their request" in response.json()["message"]
    assert not OrderDetails.objects.exists()


def test_forgetting_twice_and_renaming_a_forgotten_customer_are_409s(admin_api, zoe):
    admin_api.post(forget_url(zoe), {"reason": "Ticket 41"}, format="json")

    again = admin_api.post(forget_url(zoe), {"reason": "Ticket 42"}, format="json")
    renamed = admin_api.patch(f"/api/customers/{zoe.id}/", {"name": "Zed"}, format="json")

    assert (again.status_code, renamed.status_code) == (409, 409)
    assert again.json()["code"] == renamed.json()["code"] == "customer_forgotten"


def test_the_export_holds_the_customer_their_orders_and_their_events_in_clear(
    admin_api, zoe, product
):
    order = make_order(zoe, [(product, 3)])
    set_status(order.id, "confirmed")

    response = admin_api.get(f"/api/customers/{zoe.id}/export/")

    assert response.status_code == 200
    document = response.json()
    assert (document["customer"]["name"], document["customer"]["email"]) == (NAME, EMAIL)
    [exported] = document["orders"]
    assert exported["order_id"] == str(order.id)
    assert exported["shipping_address"]["line1"] == ADDRESS["line1"]
    assert [(i["product_id"], i["quantity"]) for i in exported["items"]] == [(str(product.id), 3)]
    assert [change["status"] for change in exported["status_history"]] == ["pending", "confirmed"]
    assert [e["event_type"] for e in document["events"]] == [
        "CustomerRegistered",
        "OrderCreated",
        "OrderStatusUpdated",
    ]
    assert document["events"][1]["data"]["customer_email"] == EMAIL


def test_the_export_of_a_forgotten_customer_holds_only_placeholders(admin_api, zoe, product):
    make_order(zoe, [(product, 1)])
    admin_api.post(forget_url(zoe), {"reason": "Ticket 41"}, format="json")

    text = admin_api.get(f"/api/customers/{zoe.id}/export/").content.decode()

    assert NAME not in text and EMAIL not in text and ADDRESS["line1"] not in text
    assert FORGOTTEN_NAME in text


def test_the_export_needs_the_export_permission(reader_api, zoe):
    url = f"/api/customers/{zoe.id}/export/"
    officer = client_with("export_customer")

    assert reader_api.get(url).status_code == 403
    assert officer.get(url).status_code == 200
    unknown = url.replace(str(zoe.id), "00000000-0000-4000-8000-000000000000")
    assert officer.get(unknown).status_code == 404


def test_the_personal_data_group_holds_the_view_permission():
    group = ensure_personal_data_group(apps)

    assert list(group.permissions.values_list("content_type__app_label", "codename")) == [
        ("orders_read", "view_personal_data")
    ]

"""E-mail and postal addresses show in clear only to users with view_personal_data: the read
API, the admin, the dashboard, the order story and the trace show them masked to others."""

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from access.groups import ensure_personal_data_group
from config.api.privacy import mask_address, mask_email
from orders_write.models import Customer, Event, Order
from tests.conftest import ADDRESS, make_customer, make_order, make_viewer, read_csv

pytestmark = pytest.mark.django_db

NAME, EMAIL = "Zoë Quillfeather", "zoe.quill@example.org"
MASKED_EMAIL = "z***@***.org"


@pytest.fixture
def placed(product) -> Order:
    return make_order(make_customer(NAME, EMAIL), [(product, 1)])


def staff_viewer(*, personal: bool) -> User:
    """A staff member of the viewer group who may also browse the write side, and with
    `personal` a member of the personal_data group."""
    user = make_viewer("auditor")
    user.is_staff = True
    user.save()
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="orders_write",
            codename__in=["view_customer", "view_order", "view_event"],
        )
    )
    if personal:
        user.groups.add(ensure_personal_data_group(apps))
    return user


def browser(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_masks_keep_little_enough():
    assert mask_email(EMAIL) == MASKED_EMAIL
    assert mask_email("") == ""
    assert mask_address({**ADDRESS, "line2": ""}) == {
        "line1": "***",
        "city": "***",
        "postal_code": "***",
        "country": "FR",
        "line2": "",
    }


def test_the_read_api_masks_email_and_addresses_for_a_viewer(placed):
    client = api(staff_viewer(personal=False))

    details = client.get(f"/api/orders/{placed.id}/").json()
    analytics = client.get(f"/api/customers/{placed.customer_id}/analytics/").json()

    assert details["customer_name"] == analytics["customer_name"] == NAME
    assert details["customer_email"] == analytics["customer_email"] == MASKED_EMAIL
    assert details["shipping_address"] == {**mask_address(ADDRESS), "line2": ""}
    assert details["billing_address"]["postal_code"] == "***"


def test_the_read_api_shows_email_and_addresses_to_the_personal_data_group(placed):
    client = api(staff_viewer(personal=True))

    details = client.get(f"/api/orders/{placed.id}/").json()

    assert details["customer_email"] == EMAIL
    assert details["shipping_address"]["line1"] == ADDRESS["line1"]


def test_the_schema_says_which_fields_may_be_masked(admin_api):
    schema = admin_api.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    details = schema["components"]["schemas"]["OrderDetails"]["properties"]
    assert "view_personal_data" in details["customer_email"]["description"]
    assert "view_personal_data" in str(details["shipping_address"])


ADMIN_PAGES = [
    ("admin:orders_read_orderdetails_changelist", None),
    ("admin:orders_read_orderdetails_change", "order"),
    ("admin:orders_read_customeranalytics_changelist", None),
    ("admin:orders_read_customeranalytics_change", "customer"),
    ("admin:orders_write_customer_changelist", None),
    ("admin:orders_write_customer_change", "customer"),
    ("admin:orders_write_order_change", "order"),
    ("admin:orders_write_event_change", "event"),
    ("order-story", "order"),
    ("dashboard", None),
]


def _url(name: str, arg: str | None, placed: Order) -> str:
    ids = {
        "order": placed.id,
        "customer": placed.customer_id,
        "event": Event.objects.get(stream_id=placed.id).pk,
    }
    return reverse(name, args=[ids[arg]] if arg else [])


@pytest.mark.parametrize(("name", "arg"), ADMIN_PAGES)
def test_admin_pages_mask_email_and_addresses_for_a_viewer(placed, name, arg):
    page = browser(staff_viewer(personal=False)).get(_url(name, arg, placed))

    assert page.status_code == 200
    text = page.content.decode()
    assert EMAIL not in text and ADDRESS["line1"] not in text and ADDRESS["postal_code"] not in text


@pytest.mark.parametrize(("name", "arg"), [page for page in ADMIN_PAGES if page[0] != "dashboard"])
def test_admin_pages_show_email_or_addresses_to_the_personal_data_group(placed, name, arg):
    page = browser(staff_viewer(personal=True)).get(_url(name, arg, placed))

    assert page.status_code == 200
    text = page.content.decode()
    assert EMAIL in text or ADDRESS["line1"] in text


def test_the_trace_masks_the_events_data_for_a_viewer(placed):
    correlation_id = Event.objects.get(stream_id=placed.id).metadata["correlation_id"]
    url = f"{reverse('event-trace')}?correlation_id={correlation_id}"

    masked = browser(staff_viewer(personal=False)).get(url).content.decode()

    assert MASKED_EMAIL in masked and EMAIL not in masked and ADDRESS["line1"] not in masked


def test_a_viewer_cannot_search_by_email_in_the_admin(placed):
    url = reverse("admin:orders_read_customeranalytics_changelist")

    found = browser(staff_viewer(personal=False)).get(url, {"q": EMAIL})

    assert found.status_code == 200
    assert str(placed.customer_id) not in found.content.decode()


def test_a_viewer_without_the_permission_can_rename_a_customer_in_the_admin(placed):
    user = staff_viewer(personal=False)
    user.user_permissions.add(Permission.objects.get(codename="change_customer"))
    url = reverse("admin:orders_write_customer_change", args=[placed.customer_id])

    response = browser(user).post(url, {"name": "Zoë Q."})

    assert response.status_code == 302
    assert (Customer.objects.get(pk=placed.customer_id).name, EMAIL) == ("Zoë Q.", EMAIL)
    assert Customer.objects.get(pk=placed.customer_id).email == EMAIL


@pytest.mark.parametrize("model", ["orderdetails", "customeranalytics"])
def test_a_csv_export_masks_email_and_addresses_for_a_viewer(placed, admin_user, model):
    url = reverse(f"admin:orders_read_{model}_export")

    hidden = read_csv(browser(staff_viewer(personal=False)).get(url))
    shown = read_csv(browser(admin_user).get(url))

    column = hidden[0].index("customer_email")
    assert hidden[1][column] == MASKED_EMAIL
    assert shown[1][column] == EMAIL
    assert EMAIL not in str(hidden) and ADDRESS["line1"] not in str(hidden)

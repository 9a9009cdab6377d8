"""Free text that shows nothing or can display in another order than stored, and money that
would be -0.00: refused (or normalized) on every way in, and nothing written."""

from decimal import Decimal

import pytest

from orders_write import services
from orders_write.commands import RegisterCustomer
from orders_write.exceptions import InvalidCommand
from orders_write.models import Event, Product
from tests.conftest import (
    ADDRESS,
    admin_url,
    error_fields,
    make_customer,
    make_product,
    order_body,
    row_counts,
)

pytestmark = pytest.mark.django_db

ZERO_WIDTH_SPACE = "\u200b"
INVISIBLE = " \u200b\u2060\ufeff\u200d\t"  # spaces, zero-width space and joiners, BOM, a tab
RIGHT_TO_LEFT_OVERRIDE = "Ann\u202eeeL"  # displays as "AnnLee"
ISOLATE = "\u2066Ann\u2069"
EMBEDDING = "\u202aAnn\u202c"


def customer_case(body: dict) -> tuple[str, str, dict]:
    return ("post", "/api/customers/", {"name": "Ann", "email": "ann@example.com"} | body)


def product_case(body: dict) -> tuple[str, str, dict]:
    return (
        "post",
        "/api/products/",
        {"name": "Pen", "category": "office", "unit_price": "1.00"} | body,
    )


def order_case(**address) -> tuple[str, str, dict]:
    return ("post", "/api/orders/", {"shipping_address": {**ADDRESS, **address}})


BAD_TEXT = {
    "customer named by a zero-width space": (customer_case({"name": ZERO_WIDTH_SPACE}), "name"),
    "customer named by invisible characters": (customer_case({"name": INVISIBLE}), "name"),
    "customer name with a right-to-left override": (
        customer_case({"name": RIGHT_TO_LEFT_OVERRIDE}),
        "name",
    ),
    "customer name with an isolate": (customer_case({"name": ISOLATE}), "name"),
    "product named by a zero-width space": (product_case({"name": ZERO_WIDTH_SPACE}), "name"),
    "product name with an embedding": (product_case({"name": EMBEDDING}), "name"),
    "category of invisible characters": (product_case({"category": INVISIBLE}), "category"),
    "category with an override": (product_case({"category": "off\u202dice"}), "category"),
    "address line of a zero-width space": (
        order_case(line1=ZERO_WIDTH_SPACE),
        "shipping_address.line1",
    ),
    "optional address line with an override": (
        order_case(line2=RIGHT_TO_LEFT_OVERRIDE),
        "shipping_address.line2",
    ),
    "city with an isolate": (order_case(city=ISOLATE), "shipping_address.city"),
}


@pytest.mark.parametrize(("case", "field"), BAD_TEXT.values(), ids=BAD_TEXT.keys())
def test_invisible_or_bidi_text_is_a_400_naming_the_field_and_writes_nothing(
    admin_api, customer, product, case, field
):
    method, url, body = case
    if url == "/api/orders/":
        body = order_body(customer, (product, 1)) | body
    counts = row_counts()

    response = getattr(admin_api, method)(url, body, format="json")

    assert response.status_code == 400
    assert error_fields(response) == {field}
    assert row_counts() == counts


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("customer", {"name": ZERO_WIDTH_SPACE}, "name"),
        ("customer", {"name": ISOLATE}, "name"),
        ("product", {"name": INVISIBLE}, "name"),
        ("product", {"category": "\u2067books\u2069"}, "category"),
    ],
)
def test_renaming_to_invisible_or_bidi_text_is_a_400_and_writes_nothing(
    admin_api, customer, product, url, body, field
):
    target = {
        "customer": f"/api/customers/{customer.id}/",
        "product": f"/api/products/{product.id}/",
    }
    counts = row_counts()

    response = admin_api.patch(target[url], body, format="json")

    assert response.status_code == 400
    assert error_fields(response) == {field}
    assert row_counts() == counts


def test_a_status_reason_with_an_override_is_a_400_and_writes_nothing(admin_api, order):
    counts = row_counts()

    response = admin_api.post(
        f"/api/orders/{order.id}/status/",
        {"status": "cancelled", "reason": RIGHT_TO_LEFT_OVERRIDE},
        format="json",
    )

    assert response.status_code == 400
    assert error_fields(response) == {"reason"}
    assert row_counts() == counts


def test_the_messages_say_what_is_wrong(admin_api):
    blank = admin_api.post(
        "/api/customers/", customer_case({"name": ZERO_WIDTH_SPACE})[2], format="json"
    )
    bidi = admin_api.post("/api/customers/", customer_case({"name": ISOLATE})[2], format="json")

    assert blank.json()["errors"][0]["message"] == (
        "This field may not be blank (invisible characters do not count)."
    )
    assert "bidirectional control characters" in bidi.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    "name",
    ["Zoë Ångström", "عبد الله", "李小龙", "👩\u200d💻 Dev", "Ann\u200fLee", "O'Brien-Smith"],
    ids=["accents", "right-to-left script", "CJK", "emoji with a joiner", "a mark", "punctuation"],
)
def test_visible_text_in_any_script_is_accepted_as_sent(admin_api, name):
    response = admin_api.post(
        "/api/customers/", {"name": name, "email": "ann@example.com"}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["name"] == name


def test_the_services_refuse_it_whoever_calls_them(db):
    counts = row_counts()

    with pytest.raises(InvalidCommand) as refused:
        services.register_customer(RegisterCustomer(name=ZERO_WIDTH_SPACE, email="z@example.com"))

    assert refused.value.field == "name"
    assert row_counts() == counts


# --- the admin refuses the same as form errors ---


@pytest.mark.parametrize(
    ("model", "data", "field"),
    [
        ("customer", {"name": ZERO_WIDTH_SPACE, "email": "z@example.com"}, "name"),
        ("customer", {"name": RIGHT_TO_LEFT_OVERRIDE, "email": "z@example.com"}, "name"),
        ("product", {"name": INVISIBLE, "category": "office", "unit_price": "1"}, "name"),
        ("product", {"name": "Pen", "category": ISOLATE, "unit_price": "1"}, "category"),
    ],
)
def test_the_admin_shows_invisible_or_bidi_text_as_a_form_error(
    superuser_client, model, data, field
):
    counts = row_counts()

    response = superuser_client.post(admin_url(model, "add"), data)

    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == [field]
    assert row_counts() == counts


def test_renaming_a_product_in_the_admin_to_bidi_text_is_a_form_error(superuser_client, product):
    counts = row_counts()

    response = superuser_client.post(
        admin_url("product", "change", product.pk),
        {"name": EMBEDDING, "category": product.category, "unit_price": "10.00"},
    )

    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["name"]
    assert row_counts() == counts


# --- money is never -0.00 ---


@pytest.mark.parametrize("price", ["-0", "-0.00", "-0.0"])
def test_a_signed_price_is_a_400_through_the_api(admin_api, price):
    counts = row_counts()

    response = admin_api.post(
        "/api/products/", {"name": "Pen", "category": "office", "unit_price": price}, format="json"
    )

    assert response.status_code == 400
    assert error_fields(response) == {"unit_price"}
    assert row_counts() == counts


def test_a_price_of_minus_zero_from_the_admin_is_stored_and_shown_as_0_00(
    superuser_client, admin_api
):
    # given: the admin's decimal field takes "-0" (it is not below 0)
    response = superuser_client.post(
        admin_url("product", "add"), {"name": "Free pen", "category": "office", "unit_price": "-0"}
    )
    assert response.status_code == 302
    product = Product.objects.get(name="Free pen")

    # when: it is ordered and read back through the API
    ordered = admin_api.post(
        "/api/orders/", order_body(make_customer(), (product, 3)), format="json"
    )
    detail = admin_api.get(f"/api/orders/{ordered.json()['order_id']}/")
    renamed = admin_api.patch(f"/api/products/{product.id}/", {"name": "Pen"}, format="json")

    # then: 0.00 everywhere, never -0.00
    assert str(product.unit_price) == "0.00"
    assert Event.objects.get(stream_id=product.id, version=1).data["unit_price"] == "0.00"
    assert ordered.json()["total_amount"] == "0.00"
    assert [(i["unit_price"], i["line_total"]) for i in detail.json()["items"]] == [
        ("0.00", "0.00")
    ]
    assert renamed.json()["unit_price"] == "0.00"


def test_the_services_store_a_price_of_minus_zero_as_0_00(db):
    product = make_product(unit_price="-0.00")

    assert str(product.unit_price) == "0.00"
    assert str(Product.objects.get(pk=product.pk).unit_price) == "0.00"
    assert Event.objects.get(stream_id=product.id).data["unit_price"] == "0.00"
    assert Decimal(Event.objects.get(stream_id=product.id).data["unit_price"]).is_signed() is False

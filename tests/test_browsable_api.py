"""The browsable API: every path shows its command forms, rows link to their detail pages."""

import re

import pytest
from django.urls import reverse

from orders_write.models import Customer
from tests.conftest import make_order

pytestmark = pytest.mark.django_db
HTML = {"HTTP_ACCEPT": "text/html"}


@pytest.fixture
def browser(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.mark.parametrize(
    ("path", "field"),
    [("/api/customers/", 'name="email"'), ("/api/products/", 'name="unit_price"')],
)
def test_a_command_only_path_shows_its_form_in_the_browser(browser, path, field):
    response = browser.get(path, **HTML)

    assert response.status_code == 200
    assert field in response.content.decode()


def test_other_clients_still_get_405_on_a_command_only_path(admin_api):
    response = admin_api.get("/api/customers/")

    assert response.status_code == 405
    assert response["Allow"] == "OPTIONS, POST"


def test_the_status_path_offers_the_status_form(browser, customer, product):
    order = make_order(customer, [(product, 1)])

    page = browser.get(reverse("order-status", args=[order.id]), **HTML).content.decode()

    assert 'name="status"' in page and 'name="expected_version"' in page


def test_the_order_list_offers_a_json_form_with_a_real_customer_and_product(
    browser, customer, product
):
    page = browser.get("/api/orders/", **HTML).content.decode()

    assert str(customer.id) in page.split('name="_content"')[1]
    assert str(product.id) in page.split('name="_content"')[1]


def test_an_html_form_post_registers_a_customer(browser):
    page = browser.get("/api/customers/", **HTML)
    client = browser
    client.cookies.update(page.cookies)
    response = client.post(
        "/api/customers/",
        {"name": "Form User", "email": "form@example.com", "csrfmiddlewaretoken": "x"},
        **HTML,
    )

    assert response.status_code == 201
    assert Customer.objects.filter(email="form@example.com").exists()


def test_the_filter_form_names_every_filter(browser):
    page = browser.get("/api/orders/", **HTML).content.decode()

    assert "[invalid name]" not in page
    assert "Placed from" in page and "Placed until" in page


def test_list_rows_link_to_their_detail_and_customer(admin_api, customer, product):
    order = make_order(customer, [(product, 1)])

    row = admin_api.get("/api/orders/").json()["results"][0]
    details = admin_api.get(row["url"]).json()

    assert row["url"].endswith(f"/api/orders/{order.id}/")
    assert row["customer_analytics_url"].endswith(f"/api/customers/{customer.id}/analytics/")
    assert details["status_url"].endswith(f"/api/orders/{order.id}/status/")
    analytics = admin_api.get(details["customer_analytics_url"]).json()
    assert analytics["orders_url"].endswith(f"/api/orders/?customer_id={customer.id}")


def test_a_customer_page_offers_the_change_form(browser, customer):
    page = browser.get(f"/api/customers/{customer.id}/", **HTML).content.decode()

    assert "PATCH" in page and 'name="_content"' in page


def post_form(client, path: str, data: dict):
    return client.post(path, data, **HTML)


def form_html(page: str) -> str:
    return page[page.index('id="post-object-form"') :]


def test_after_a_registration_the_form_is_blank_again(browser):
    response = post_form(browser, "/api/customers/", {"name": "Form User", "email": "f@ex.com"})

    form = form_html(response.content.decode())
    assert response.status_code == 201
    assert 'name="customer_id"' not in form and 'name="version"' not in form
    assert 'name="email"' in form and 'value="f@ex.com"' not in form


def test_a_refused_registration_keeps_the_input_with_the_error_beside_its_field(browser, customer):
    data = {"name": "Second Ada", "email": customer.email}

    response = post_form(browser, "/api/customers/", data)

    form = form_html(response.content.decode())
    assert response.status_code == 400
    assert 'value="Second Ada"' in form and f'value="{customer.email}"' in form
    email = form[form.index('name="email"') :]
    assert "already exists" in email[: email.index("</div>") + 200]
    assert form.count("has-error") == 1


def test_the_status_form_offers_only_the_next_statuses_and_the_current_version(
    browser, customer, product
):
    order = make_order(customer, [(product, 1)])

    form = form_html(browser.get(reverse("order-status", args=[order.id]), **HTML).content.decode())

    options = form[form.index('name="status"') : form.index("</select>")]
    assert 'value="confirmed"' in options and 'value="cancelled"' in options
    assert 'value="pending"' not in options and 'value="paid"' not in options
    assert re.search(r'name="expected_version"[^>]* value="1"', form)
    assert "Now pending (version 1)" in form


def test_the_api_still_answers_an_illegal_status_with_409(admin_api, customer, product):
    order = make_order(customer, [(product, 1)])

    response = admin_api.post(
        reverse("order-status", args=[order.id]), {"status": "paid"}, format="json"
    )
    assert response.status_code == 409


def test_pages_name_the_api_and_their_path_and_show_code_as_code(browser, customer, product):
    order = make_order(customer, [(product, 1)])

    page = browser.get(reverse("order-status", args=[order.id]), **HTML).content.decode()

    assert "Django REST framework" not in page
    assert '<a class="navbar-brand" rel="nofollow" href="/api/">Orders API</a>' in page
    start = page.index('<ul class="breadcrumb">')
    crumbs = page[start : page.index("</ul>", start)]
    assert [c.split(">")[-1] for c in crumbs.split("</a>")[:-1]] == [
        "Orders API",
        "Orders",
        "Order",
        "Order status",
    ]
    orders = browser.get("/api/orders/", **HTML).content.decode()
    assert "<p>Search order summaries (<code>queries.search_orders</code>), newest" in orders
    assert "(`queries.search_orders`)" not in orders

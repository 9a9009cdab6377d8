"""Admin pages people read: values formatted, related rows linked, bookkeeping tucked away."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone
from knox.models import AuthToken

from orders_read.models import ProductSales
from tests.conftest import make_customer, make_order, make_product, set_status

pytestmark = pytest.mark.django_db


def html(client, url: str, **params) -> str:
    response = client.get(url, params)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def order(db):
    customer = make_customer(name="Ada Lovelace")
    piano = make_product(name="Grand Piano", unit_price="1500.00")
    return make_order(customer, [(piano, 1)])


def test_add_forms_ask_only_what_the_command_takes(admin_client):
    for model in ("customer", "product"):
        page = html(admin_client, reverse(f"admin:orders_write_{model}_add"))

        assert "Version" not in page and "Bookkeeping" not in page
        assert 'name="id"' not in page


def test_change_pages_keep_bookkeeping_in_a_collapsed_section(admin_client, order):
    pages = [
        reverse("admin:orders_write_customer_change", args=[order.customer_id]),
        reverse("admin:orders_read_ordersummary_change", args=[order.id]),
        reverse("admin:orders_read_orderdetails_change", args=[order.id]),
    ]
    for url in pages:
        page = html(admin_client, url)
        assert re.search(r"<details[^>]*>\s*<summary>\s*<h2[^>]*>Bookkeeping</h2>", page), url


def test_lists_show_money_badges_and_short_ids_not_raw_values(admin_client, order):
    page = html(admin_client, reverse("admin:orders_read_ordersummary_changelist"))

    assert "1,500.00\u00a0EUR" in page
    assert 'class="badge"' in page
    assert f">{str(order.id)[:8]}<" in page
    assert "projected_at" not in page


def test_details_show_addresses_as_text_and_link_the_related_rows(admin_client, order):
    page = html(admin_client, reverse("admin:orders_read_orderdetails_change", args=[order.id]))

    assert "1 Main Street, 69001, Lyon, FR" in page
    assert "{&#x27;line1&#x27;" not in page and "&quot;line1&quot;" not in page
    assert reverse("admin:orders_read_customeranalytics_change", args=[order.customer_id]) in page
    assert reverse("admin:orders_write_customer_change", args=[order.customer_id]) in page
    assert f"{reverse('admin:orders_write_event_changelist')}?stream_id={order.id}" in page
    assert "&amp;middot;" not in page


def test_customers_link_their_orders_and_analytics(admin_client, order):
    page = html(admin_client, reverse("admin:orders_write_customer_changelist"))

    assert f"?customer_id={order.customer_id}" in page
    assert reverse("admin:orders_read_customeranalytics_change", args=[order.customer_id]) in page


def test_a_product_links_its_daily_sales(admin_client, order):
    product_id = order.items.get().product_id

    page = html(admin_client, reverse("admin:orders_write_product_change", args=[product_id]))
    sales = html(
        admin_client, reverse("admin:orders_read_productsales_changelist"), product_id=product_id
    )

    assert f"?product_id={product_id}" in page
    assert "Grand Piano" in sales


def test_a_sales_day_whose_orders_were_all_cancelled_says_so(admin_client, order):
    set_status(order.id, "cancelled")
    assert ProductSales.objects.get().total_orders == 0
    url = reverse("admin:orders_read_productsales_changelist")

    assert "every order of this day was cancelled" in html(admin_client, url)
    assert "Grand Piano" not in html(admin_client, url, sold="yes")


def test_analytics_show_units_by_category_as_text(admin_client, order):
    url = reverse("admin:orders_read_customeranalytics_change", args=[order.customer_id])

    assert "books: 1" in html(admin_client, url)


def test_every_admin_page_names_the_site_in_its_tab_and_has_a_favicon(admin_client, order):
    for url in (reverse("admin:index"), reverse("dashboard"), "/api/"):
        page = admin_client.get(url, HTTP_ACCEPT="text/html").content.decode()
        assert '<link rel="icon" type="image/svg+xml" href="data:image/svg+xml,' in page
    title = re.search(r"<title>(.*?)</title>", html(admin_client, reverse("admin:index")))
    assert title.group(1) == "Site administration | Orders administration"


def test_times_read_the_same_on_every_admin_page(admin_client, admin_user):
    token, _ = AuthToken.objects.create(user=admin_user)

    page = html(admin_client, reverse("admin:knox_authtoken_change", args=[token.pk]))

    assert f"{timezone.localtime(token.created):%Y-%m-%d %H:%M}" in page
    assert not re.search(r"(a|p)\.m\.", page)


def test_order_items_are_named_by_their_product(admin_client, order):
    page = html(admin_client, reverse("admin:orders_write_order_change", args=[order.id]))

    assert "1 x Grand Piano" in page

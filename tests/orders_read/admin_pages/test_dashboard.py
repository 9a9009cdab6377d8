"""The admin dashboard: figures from the read tables only, drawn as inline SVG."""

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from orders_read.admin_pages.dashboard import dashboard
from orders_write.commands import CommandContext
from tests.conftest import make_customer, make_order, make_product, set_status

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_dashboard_cache() -> Iterator[None]:
    """The dashboard caches its figures for a minute: start and end each test without them."""
    cache.clear()
    yield
    cache.clear()


def days_ago(days: int) -> CommandContext:
    return CommandContext(occurred_at=timezone.now() - timedelta(days=days))


@pytest.fixture
def sales(db) -> dict:
    """Four orders in the last 30 days (one cancelled) and one 60 days ago."""
    ada, bo = make_customer(name="Ada"), make_customer(name="Bo")
    kettle = make_product(name="Kettle", unit_price="1200.00")
    pen = make_product(name="Pen", unit_price="2.50")
    make_order(ada, [(kettle, 1)], context=days_ago(2))
    make_order(ada, [(pen, 1)], context=days_ago(20))
    make_order(bo, [(pen, 4)], context=days_ago(2))
    cancelled = make_order(bo, [(kettle, 3)], context=days_ago(1))
    set_status(cancelled.id, "cancelled")
    make_order(bo, [(pen, 2)], context=days_ago(60))
    return {"ada": ada, "bo": bo}


def test_revenue_per_day_counts_every_day_of_the_window_and_leaves_cancelled_orders_out(sales):
    figures = dashboard(30)

    assert len(figures.revenue_per_day) == 30
    assert figures.revenue == Decimal("1212.50")
    assert figures.revenue_per_day[-3][1] == Decimal("1210.00")


def test_orders_per_day_and_by_status_count_the_window_only(sales):
    assert dashboard(30).orders == 4
    assert dict(dashboard(30).orders_by_status) == {
        "pending": 3,
        "confirmed": 0,
        "paid": 0,
        "shipped": 0,
        "delivered": 0,
        "cancelled": 1,
    }
    assert dashboard(90).orders == 5


def test_top_products_and_customers_by_segment(sales):
    figures = dashboard(30)

    assert [p["product_name"] for p in figures.top_products] == ["Pen", "Kettle"]
    assert [c.customer_name for c in figures.top_customers["new"]] == []
    assert [c.customer_name for c in figures.top_customers["vip"]] == ["Ada"]
    assert [c.customer_name for c in figures.top_customers["regular"]] == ["Bo"]


def test_the_dashboard_page_draws_its_charts_in_svg(admin_client, sales):
    response = admin_client.get(reverse("dashboard"), {"days": "90"})

    page = response.content.decode()
    assert response.status_code == 200
    assert page.count('<svg class="chart"') == 5
    assert page.count("<rect") >= 90 + 90
    assert "1,217.50\u00a0EUR" in page
    assert 'src="http' not in page and 'href="http' not in page


def test_the_dashboard_shows_money_in_the_configured_currency(admin_client, sales, settings):
    settings.CURRENCY = "GBP"

    assert "1,212.50\u00a0GBP" in admin_client.get(reverse("dashboard")).content.decode()


@pytest.mark.parametrize("days", ["7", "abc", ""])
def test_an_unknown_window_is_a_400(admin_client, days):
    assert admin_client.get(reverse("dashboard"), {"days": days}).status_code == 400


def test_the_dashboard_needs_the_read_permission(client, db):
    client.force_login(User.objects.create_user("staff", password="x", is_staff=True))

    assert client.get(reverse("dashboard")).status_code == 403


def test_the_admin_index_and_view_site_lead_somewhere_real(admin_client):
    index = admin_client.get(reverse("admin:index")).content.decode()

    assert reverse("dashboard") in index
    assert 'href="/api/"' in index
    assert admin_client.get("/", follow=True).status_code == 200

"""The admin dashboard: figures from the read tables only, drawn as inline SVG."""

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from orders_read.admin_pages.dashboard import Period, dashboard
from orders_read.models import ProjectionState
from orders_write.commands import CommandContext
from tests.conftest import make_customer, make_order, make_product, read_csv, set_status

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
    figures = dashboard(Period.last_days(30))

    assert len(figures.revenue_per_day) == 30
    assert figures.totals.revenue == Decimal("1212.50")
    assert figures.revenue_per_day[-3][1] == Decimal("1210.00")


def test_orders_per_day_and_by_status_count_the_window_only(sales):
    assert dashboard(Period.last_days(30)).totals.orders == 4
    assert dict(dashboard(Period.last_days(30)).orders_by_status) == {
        "pending": 3,
        "confirmed": 0,
        "paid": 0,
        "shipped": 0,
        "delivered": 0,
        "cancelled": 1,
    }
    assert dashboard(Period.last_days(90)).totals.orders == 5


def test_top_products_and_customers_count_the_window_only(sales):
    figures = dashboard(Period.last_days(30))

    assert [p["product_name"] for p in figures.top_products] == ["Pen", "Kettle"]
    assert [(c.customer_name, c.orders, c.spent) for c in figures.top_customers] == [
        ("Ada", 2, Decimal("1202.50")),
        ("Bo", 1, Decimal("10.00")),
    ]
    assert [c.segment for c in figures.top_customers] == ["vip", "regular"]


def test_a_customer_without_orders_in_the_window_is_no_top_customer(sales):
    figures = dashboard(Period.last_days(7))

    assert [c.customer_name for c in figures.top_customers] == ["Ada", "Bo"]
    assert dashboard(Period.last_days(1)).top_customers == []


def test_the_previous_period_and_the_average_order_sit_beside_the_current_one(sales):
    today = timezone.localdate()
    figures = dashboard(Period(today - timedelta(days=44), today))

    assert figures.period.previous == Period(today - timedelta(days=89), today - timedelta(days=45))
    assert (figures.previous.orders, figures.previous.revenue) == (1, Decimal("5.00"))
    assert figures.totals.counted_orders == 3
    assert figures.totals.average_order == Decimal("404.17")


def test_a_date_range_counts_its_days_only(admin_client, sales):
    day = (timezone.localdate() - timedelta(days=2)).isoformat()
    response = admin_client.get(reverse("dashboard"), {"date_from": day, "date_to": day})

    page = response.content.decode()
    assert response.status_code == 200
    assert f"Dashboard: {day} to {day}" in page
    assert "1,210.00\u00a0EUR" in page


@pytest.mark.parametrize(
    "query",
    [
        {"date_from": "2026-13-01"},
        {"date_from": "2026-02-01", "date_to": "2026-01-01"},
        {"date_from": "2020-01-01", "date_to": "2026-01-01"},
        {"export": "everything"},
    ],
)
def test_a_bad_period_or_panel_is_a_400(admin_client, query):
    assert admin_client.get(reverse("dashboard"), query).status_code == 400


def test_each_panel_downloads_as_csv(admin_client, sales):
    response = admin_client.get(reverse("dashboard"), {"days": "30", "export": "customers"})

    rows = read_csv(response)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    assert rows[0] == ["customer_id", "customer_name", "segment", "orders", "spent"]
    assert [row[1:] for row in rows[1:]] == [
        ["Ada", "vip", "2", "1202.50"],
        ["Bo", "regular", "1", "10.00"],
    ]


def test_the_revenue_axis_has_round_ticks_with_the_currency(admin_client, sales):
    page = admin_client.get(reverse("dashboard"), {"days": "30"}).content.decode()

    for tick in ("0", "500", "1,000", "1,500"):
        assert f'text-anchor="end">{tick}\u00a0EUR</text>' in page


@pytest.mark.parametrize("page", ["dashboard", "admin:index"])
def test_a_stalled_projection_shows_a_banner(admin_client, db, page):
    assert "stalled-banner" not in admin_client.get(reverse(page)).content.decode()
    ProjectionState.objects.update_or_create(name="order_summary", defaults={"stalled": True})

    banner = admin_client.get(reverse(page)).content.decode()
    assert 'id="stalled-banner"' in banner
    assert "Stalled projection: order_summary." in banner


def test_the_dashboard_page_draws_its_charts_in_svg(admin_client, sales):
    response = admin_client.get(reverse("dashboard"), {"days": "90"})

    page = response.content.decode()
    assert response.status_code == 200
    assert page.count('<svg class="chart') == 5
    assert page.count("<rect") >= 90 + 90
    assert page.count('class="column partial"') == 2
    assert "1,217.50\u00a0EUR" in page
    assert 'src="http' not in page and 'href="http' not in page


def test_the_dashboard_shows_money_in_the_configured_currency(admin_client, sales, settings):
    settings.CURRENCY = "GBP"

    assert "1,212.50\u00a0GBP" in admin_client.get(reverse("dashboard")).content.decode()


@pytest.mark.parametrize("days", ["8", "abc", ""])
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

"""The write limits against the read columns: every order the commands accept is projectable,
however many maximal orders pile up on one customer and one product-day."""

import re
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from orders_read.models import (
    CustomerAnalytics,
    ProductSales,
    ProductSalesWindow,
    ProjectionFailure,
)
from orders_read.running.status import projection_statuses
from orders_write.commands import CommandContext
from orders_write.services import MAX_ORDER_TOTAL, MAX_UNIT_PRICE
from tests.conftest import error_fields, make_customer, make_order, make_product, order_body

# verify_projections reads only committed events on PostgreSQL, so the test commits.
pytestmark = pytest.mark.django_db(transaction=True)

# The widths the read columns had before they were sized for the write limits.
OLD_MONEY_SUM = Decimal("99999999999999.99")  # numeric(16, 2)

# A maximal order: 100 units at the highest price, and one cent short of a unit more, so
# its total is exactly the cap.
MAX_PRICE_UNITS = int(MAX_ORDER_TOTAL // MAX_UNIT_PRICE)
TOP_UP_PRICE = MAX_ORDER_TOTAL - MAX_PRICE_UNITS * MAX_UNIT_PRICE
MAXIMAL_ORDERS = 120
ON_POSTGRESQL = connection.vendor == "postgresql"


def test_the_numbers_chosen_exceed_the_old_columns():
    assert MAX_PRICE_UNITS == 100
    assert Decimal("0.99") == TOP_UP_PRICE
    assert MAX_PRICE_UNITS * MAX_UNIT_PRICE + TOP_UP_PRICE == MAX_ORDER_TOTAL
    assert MAXIMAL_ORDERS * MAX_ORDER_TOTAL > OLD_MONEY_SUM
    assert MAXIMAL_ORDERS * MAX_PRICE_UNITS * MAX_UNIT_PRICE > OLD_MONEY_SUM


def test_a_hundred_and_twenty_maximal_orders_of_one_customer_and_product_in_a_day_project(
    admin_api, admin_user
):
    # given: one customer, the dearest product, and a cheap one to make up the cap exactly
    customer = make_customer()
    dearest = make_product(name="Dearest", category="luxury", unit_price=str(MAX_UNIT_PRICE))
    top_up = make_product(name="Top-up", category="luxury", unit_price=str(TOP_UP_PRICE))
    lines = [(dearest, MAX_PRICE_UNITS), (top_up, 1)]
    first = admin_api.post("/api/orders/", order_body(customer, *lines), format="json")
    assert first.status_code == 201, first.json()
    assert first.json()["total_amount"] == str(MAX_ORDER_TOTAL)
    one_cent_more = make_product(unit_price=str(TOP_UP_PRICE + Decimal("0.01")))
    refused = admin_api.post(
        "/api/orders/",
        order_body(customer, (dearest, MAX_PRICE_UNITS), (one_cent_more, 1)),
        format="json",
    )
    assert refused.status_code == 400
    assert error_fields(refused) == {"items"}

    # when: the rest of the maximal orders, all on the first one's day
    day = timezone.now()
    for _ in range(MAXIMAL_ORDERS - 1):
        make_order(customer, lines, context=CommandContext(occurred_at=day))

    # then: no projection failed, and the sums are there
    assert [s.name for s in projection_statuses() if s.state != "current"] == []
    assert not ProjectionFailure.objects.exists()
    spent = MAXIMAL_ORDERS * MAX_ORDER_TOTAL
    revenue = MAXIMAL_ORDERS * MAX_PRICE_UNITS * MAX_UNIT_PRICE
    analytics = CustomerAnalytics.objects.get(customer_id=customer.id)
    sales = ProductSales.objects.get(product_id=dearest.id)
    windows = ProductSalesWindow.objects.filter(product_id=dearest.id)
    assert (analytics.total_orders, sales.total_orders) == (MAXIMAL_ORDERS, MAXIMAL_ORDERS)
    assert sales.total_quantity == MAXIMAL_ORDERS * MAX_PRICE_UNITS
    assert [w.total_quantity for w in windows] == [MAXIMAL_ORDERS * MAX_PRICE_UNITS] * 2
    sums = [analytics.total_spent, sales.total_revenue, *(w.total_revenue for w in windows)]
    assert_amounts(sums, [spent, revenue, revenue, revenue])
    assert_amounts([analytics.average_order_value], [MAX_ORDER_TOTAL])

    # and the API shows them
    shown = admin_api.get(f"/api/customers/{customer.id}/analytics/")
    assert shown.status_code == 200
    days = admin_api.get(f"/api/products/{dearest.id}/sales/")
    assert days.status_code == 200
    popular = admin_api.get("/api/products/popular/", {"days": 7})
    assert popular.status_code == 200
    top = popular.json()["results"][0] if "results" in popular.json() else popular.json()[0]
    shown_amounts = [shown.json()["total_spent"], days.json()[0]["total_revenue"]]
    assert_amounts([Decimal(a) for a in shown_amounts], [spent, revenue])
    assert top["total_quantity"] == MAXIMAL_ORDERS * MAX_PRICE_UNITS

    # and so do the admin's pages
    client = Client()
    client.force_login(admin_user)
    for page in ("orders_read/customeranalytics/", "orders_read/productsales/", "dashboard/"):
        assert client.get(f"/admin/{page}").status_code == 200, page

    # and a replay of the event store gives the same rows
    assert_replay_agrees(customer.id)


def assert_replay_agrees(customer_id) -> None:
    """verify_projections finds no difference on PostgreSQL. On SQLite the customer's sum
    differs in its cents: live, each order added to the sum read back rounded; a replay adds
    them up in memory first."""
    out = StringIO()
    if ON_POSTGRESQL:
        call_command("verify_projections", stdout=out, no_color=True)
        assert "identical to a replay" in out.getvalue()
        return
    with pytest.raises(CommandError, match=r"^1 row\(s\) differ in: customer_analytics_view$"):
        call_command("verify_projections", stdout=out, no_color=True)
    differences = re.findall(r"(\w+) live=", out.getvalue())
    assert f"[{customer_id}]" in out.getvalue()
    assert differences == ["total_spent", "average_order_value"]


def assert_amounts(actual: list[Decimal], expected: list[Decimal]) -> None:
    """Exact on PostgreSQL. SQLite keeps decimals as 8-byte floats, read back to 15
    significant digits, and each order adds to the rounded sum: past 10**13 the cents drift."""
    if ON_POSTGRESQL:
        assert actual == expected
    else:
        assert actual == pytest.approx(expected, rel=Decimal(MAXIMAL_ORDERS) / 10**15)
        assert actual != expected  # else SQLite is exact now: make this exact too

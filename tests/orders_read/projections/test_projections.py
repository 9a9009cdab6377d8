"""Projection rules: what each command does to the read tables, idempotency and replay equality."""

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from orders_read.models import (
    CustomerAnalytics,
    OrderDetails,
    OrderStatusChange,
    OrderSummary,
    ProductSales,
    ProjectionFailure,
)
from orders_read.projections import NAMES, PROJECTIONS
from orders_read.projections.backends import project_live
from orders_read.rebuild.replay import projection_rows, rebuild, verify
from orders_write import services
from orders_write.commands import CommandContext, UpdateCustomer, UpdateProduct
from orders_write.event_reader import Checkpoint, read_events
from tests.conftest import make_customer, make_order, make_product, set_status

pytestmark = pytest.mark.django_db

DAY_1 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
DAY_2 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def at(moment: datetime) -> CommandContext:
    return CommandContext(actor="clerk", occurred_at=moment)


def analytics_of(customer) -> CustomerAnalytics:
    return CustomerAnalytics.objects.get(customer_id=customer.id)


def all_rows() -> dict:
    return {p: projection_rows(p) for p in NAMES}


def test_placing_an_order_fills_every_read_table():
    ann = make_customer("Ann", "ann@example.com")
    pen = make_product("Pen", "office", "2.50")
    ink = make_product("Ink", "office", "0.99")

    order = make_order(ann, [(pen, 3), (ink, 1)], context=at(DAY_1))

    summary = OrderSummary.objects.get(order_id=order.id)
    assert (summary.customer_id, summary.customer_name) == (ann.id, "Ann")
    assert (summary.total_amount, summary.status) == (Decimal("8.49"), "pending")
    assert (summary.item_count, summary.unit_count) == (2, 4)
    assert (summary.order_date, summary.version) == (DAY_1, 1)
    details = OrderDetails.objects.get(order_id=order.id)
    assert details.customer_email == "ann@example.com"
    assert [(i["product_name"], i["quantity"], i["line_total"]) for i in details.items] == [
        ("Pen", 3, "7.50"),
        ("Ink", 1, "0.99"),
    ]
    assert [(h["status"], h["changed_by"]) for h in details.status_history] == [
        ("pending", "clerk")
    ]
    history = OrderStatusChange.objects.get(order_id=order.id)
    assert (history.status, history.changed_at, history.version) == ("pending", DAY_1, 1)
    analytics = analytics_of(ann)
    assert (analytics.total_orders, analytics.total_spent, analytics.average_order_value) == (
        1,
        Decimal("8.49"),
        Decimal("8.49"),
    )
    assert (analytics.favorite_category, analytics.last_order_date) == ("office", DAY_1)
    sales = ProductSales.objects.get(product_id=pen.id)
    assert (sales.sale_date, sales.total_quantity, sales.total_orders, sales.total_revenue) == (
        DAY_1.date(),
        3,
        1,
        Decimal("7.50"),
    )


def test_each_status_change_reaches_summary_details_and_history():
    order = make_order(make_customer(), [(make_product(), 1)])

    set_status(order.id, "confirmed", "paid")

    summary = OrderSummary.objects.get(order_id=order.id)
    assert (summary.status, summary.version) == ("paid", 3)
    details = OrderDetails.objects.get(order_id=order.id)
    assert [h["status"] for h in details.status_history] == ["pending", "confirmed", "paid"]
    assert details.version == 3
    assert list(
        OrderStatusChange.objects.filter(order_id=order.id).values_list("version", "status")
    ) == [(1, "pending"), (2, "confirmed"), (3, "paid")]


def test_cancelling_takes_order_out_of_customer_totals_and_sales():
    ann = make_customer()
    book = make_product(category="books", unit_price="20.00")
    kept = make_order(ann, [(book, 1)], context=at(DAY_1))
    cancelled = make_order(ann, [(book, 2)], context=at(DAY_2))

    set_status(cancelled.id, "confirmed", "cancelled")

    analytics = analytics_of(ann)
    assert (analytics.total_orders, analytics.total_spent) == (1, Decimal("20.00"))
    assert analytics.last_order_date == kept.order_date
    assert analytics.category_units == {"books": 1}
    day_2 = ProductSales.objects.get(product_id=book.id, sale_date=DAY_2.date())
    assert (day_2.total_quantity, day_2.total_orders, day_2.total_revenue) == (
        0,
        0,
        Decimal("0.00"),
    )


@pytest.mark.parametrize(
    ("prices", "segment"),
    [
        ([], "new"),
        (["1500.00"], "new"),
        (["500.00", "499.99"], "regular"),
        (["500.00", "500.00"], "vip"),
    ],
)
def test_customer_segment_boundaries(prices, segment):
    ann = make_customer()
    for price in prices:
        make_order(ann, [(make_product(unit_price=price), 1)])

    assert analytics_of(ann).customer_segment == segment


def test_cancelled_orders_do_not_count_towards_segment():
    ann = make_customer()
    make_order(ann, [(make_product(unit_price="600.00"), 1)])
    second = make_order(ann, [(make_product(unit_price="600.00"), 1)])
    assert analytics_of(ann).customer_segment == "vip"

    set_status(second.id, "cancelled")

    assert analytics_of(ann).customer_segment == "new"


def test_favorite_category_by_units_with_ties_broken_alphabetically():
    ann = make_customer()
    make_order(ann, [(make_product(category="toys"), 2), (make_product(category="books"), 2)])
    assert analytics_of(ann).favorite_category == "books"

    make_order(ann, [(make_product(category="toys"), 1)])

    assert analytics_of(ann).favorite_category == "toys"


def test_customer_rename_and_new_email_reach_every_row_that_shows_them():
    ann = make_customer("Ann", "ann@example.com")
    order = make_order(ann, [(make_product(), 1)])

    services.update_customer(
        UpdateCustomer(customer_id=ann.id, name="Ann Smith", email="ann.smith@example.com")
    )

    assert OrderSummary.objects.get(order_id=order.id).customer_name == "Ann Smith"
    details = OrderDetails.objects.get(order_id=order.id)
    assert (details.customer_name, details.customer_email) == (
        "Ann Smith",
        "ann.smith@example.com",
    )
    analytics = analytics_of(ann)
    assert (analytics.customer_name, analytics.customer_email, analytics.version) == (
        "Ann Smith",
        "ann.smith@example.com",
        2,
    )


def test_product_rename_reaches_its_sales_rows():
    pen = make_product("Pen", "office")
    make_order(make_customer(), [(pen, 1)], context=at(DAY_1))
    make_order(make_customer(), [(pen, 1)], context=at(DAY_2))

    services.update_product(UpdateProduct(product_id=pen.id, name="Fountain Pen", category="art"))

    assert set(
        ProductSales.objects.filter(product_id=pen.id).values_list("product_name", "category")
    ) == {("Fountain Pen", "art")}


def test_sales_are_summed_per_product_and_day():
    pen, ink = make_product(unit_price="2.00"), make_product(unit_price="1.00")
    make_order(make_customer(), [(pen, 1), (ink, 4)], context=at(DAY_1))
    make_order(make_customer(), [(pen, 2)], context=at(DAY_1 + timedelta(hours=3)))
    make_order(make_customer(), [(pen, 5)], context=at(DAY_2))

    rows = ProductSales.objects.values_list(
        "product_id", "sale_date", "total_quantity", "total_orders", "total_revenue"
    )
    assert set(rows) == {
        (pen.id, DAY_1.date(), 3, 2, Decimal("6.00")),
        (ink.id, DAY_1.date(), 4, 1, Decimal("4.00")),
        (pen.id, DAY_2.date(), 5, 1, Decimal("10.00")),
    }


def test_delivering_every_event_twice_changes_nothing():
    ann = make_customer()
    pen = make_product()
    order = make_order(ann, [(pen, 2)])
    set_status(order.id, "confirmed", "cancelled")
    services.update_customer(UpdateCustomer(customer_id=ann.id, name="Renamed"))
    services.update_product(UpdateProduct(product_id=pen.id, name="Renamed pen"))
    before = all_rows()

    events = read_events(Checkpoint.START, limit=1000)
    for event in events:
        project_live([event], list(PROJECTIONS))
    project_live(events, list(PROJECTIONS))

    assert all_rows() == before


def run_random_commands(rnd: random.Random, count: int) -> None:
    """Send a long random mix of valid and refused commands through the services."""
    from orders_write.exceptions import DomainError

    customers = [make_customer() for _ in range(6)]
    products = [
        make_product(category=rnd.choice(["books", "garden", "toys"]), unit_price=f"{n}.25")
        for n in range(1, 8)
    ]
    orders = []
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for step in range(count):
        moment = at(start + timedelta(hours=step * 7))
        choice = rnd.random()
        try:
            if choice < 0.4 or not orders:
                lines = [(p, rnd.randint(1, 4)) for p in rnd.sample(products, rnd.randint(1, 3))]
                orders.append(make_order(rnd.choice(customers), lines, context=moment).id)
            elif choice < 0.85:
                status = rnd.choice(["confirmed", "paid", "shipped", "delivered", "cancelled"])
                set_status(rnd.choice(orders), status)
            elif choice < 0.93:
                customer = rnd.choice(customers)
                services.update_customer(
                    UpdateCustomer(customer_id=customer.id, name=f"Name {step}")
                )
            else:
                product = rnd.choice(products)
                services.update_product(UpdateProduct(product_id=product.id, name=f"P {step}"))
        except DomainError:
            pass


# Transactional: on PostgreSQL a replay reads only committed events.
@pytest.mark.django_db(transaction=True)
def test_replaying_the_whole_store_gives_the_live_rows():
    run_random_commands(random.Random(7), 250)
    live = all_rows()

    assert verify(list(NAMES)) == []
    rebuild(list(NAMES))

    assert all_rows() == live


def test_a_command_commits_and_projects_when_the_cache_is_unreachable(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    pen = make_product()

    order = make_order(make_customer(), [(pen, 2)])

    assert OrderSummary.objects.filter(order_id=order.id).exists()
    assert ProductSales.objects.get(product_id=pen.id).total_quantity == 2
    assert not ProjectionFailure.objects.exists()

"""The query handler's functions, and the popular products' sales windows: ranked from the
windows, they give exactly what summing the daily rows gives."""

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.paginator import EmptyPage
from django.utils import timezone

from orders_read import queries
from orders_read.models import ProductSalesWindow
from orders_read.projections.product_sales import WINDOWS, window_totals
from orders_write import services
from orders_write.commands import CommandContext, UpdateProduct
from tests.conftest import make_customer, make_order, make_product, set_status

pytestmark = pytest.mark.django_db


def days_ago(days: int, hour: int = 12) -> CommandContext:
    day = timezone.now().date() - timedelta(days=days)
    return CommandContext(
        occurred_at=datetime.combine(day, datetime.min.time(), UTC).replace(hour=hour)
    )


def from_daily_rows(days: int) -> list[dict]:
    today = timezone.now().date()
    return queries._popular_from_daily_rows(today - timedelta(days=days - 1))


def from_windows(days: int) -> list[dict]:
    return queries._popular_from_windows(days, timezone.now().date())


def test_orders_by_customer_come_page_by_page_newest_first_with_the_count():
    # given
    ann, bob = make_customer(), make_customer()
    pen = make_product()
    placed = [make_order(ann, [(pen, 1)], context=days_ago(n)) for n in range(5)]
    make_order(bob, [(pen, 1)])

    # when
    first = queries.get_orders_by_customer(ann.id, page=1, size=2)
    last = queries.get_orders_by_customer(ann.id, page=3, size=2)

    # then
    assert first.paginator.count == 5
    assert [o.order_id for o in first] == [placed[0].id, placed[1].id]
    assert [o.order_id for o in last] == [placed[4].id]
    with pytest.raises(EmptyPage):
        queries.get_orders_by_customer(ann.id, page=4, size=2)


def test_search_orders_applies_every_criterion_and_the_ordering():
    # given
    ann = make_customer()
    pen, ink = make_product(unit_price="2.00"), make_product(unit_price="30.00")
    small = make_order(ann, [(pen, 1)], context=days_ago(3))
    large = make_order(ann, [(ink, 1)], context=days_ago(2))
    make_order(make_customer(), [(ink, 1)], context=days_ago(2))

    # when
    found = queries.search_orders(customer_id=ann.id, ordering=["-total_amount"])
    day = timezone.now().date() - timedelta(days=3)
    on_day = queries.search_orders(customer_id=ann.id, date_from=day, date_to=day)

    # then
    assert [o.order_id for o in found] == [large.id, small.id]
    assert [o.order_id for o in on_day] == [small.id]
    assert list(queries.search_orders(min_amount=30, max_amount=30, customer_id=ann.id)) == [
        queries.search_orders(customer_id=ann.id).get(order_id=large.id)
    ]


def test_order_history_lists_status_changes_oldest_first():
    order = make_order(make_customer(), [(make_product(), 1)])
    set_status(order.id, "confirmed", "paid")

    history = queries.get_order_history(order.id)

    assert [(c.status, c.version) for c in history] == [
        ("pending", 1),
        ("confirmed", 2),
        ("paid", 3),
    ]


def test_product_sales_are_the_products_days_between_two_days_included():
    # given
    pen = make_product()
    customer = make_customer()
    for days in (10, 5, 1):
        make_order(customer, [(pen, days)], context=days_ago(days))
    today = timezone.now().date()

    # when
    rows = queries.get_product_sales(
        pen.id, date_from=today - timedelta(days=5), date_to=today - timedelta(days=1)
    )

    # then
    assert [(r.sale_date, r.total_quantity) for r in rows] == [
        (today - timedelta(days=5), 5),
        (today - timedelta(days=1), 1),
    ]


def test_each_sales_window_keeps_the_days_up_to_the_products_last_sale():
    # given: sales 40, 20 and 3 days ago
    pen = make_product()
    customer = make_customer()
    for days in (40, 20, 3):
        make_order(customer, [(pen, 1)], context=days_ago(days))

    # then
    windows = {w.window_days: w for w in ProductSalesWindow.objects.filter(product_id=pen.id)}
    assert set(windows) == set(WINDOWS)
    last_sale = timezone.now().date() - timedelta(days=3)
    assert all(w.last_day == last_sale for w in windows.values())
    assert (windows[30].total_quantity, windows[7].total_quantity) == (2, 1)


def test_a_windows_totals_are_always_the_sums_over_its_days():
    # given: sales that keep a window where it is (same day, earlier days), move it on,
    # fall before it, and a cancellation
    pen, ink = make_product(unit_price="2.50"), make_product(unit_price="0.99")
    customer = make_customer()
    orders = [
        make_order(customer, [(pen, n % 3 + 1), (ink, 1)], context=days_ago(days, hour=n % 20))
        for n, days in enumerate((12, 12, 9, 3, 3, 5, 40, 2, 2, 31, 0, 8))
    ]
    set_status(orders[4].id, "cancelled")

    # then
    for window in ProductSalesWindow.objects.filter(product_id__in=[pen.id, ink.id]):
        totals = window_totals(window.days)
        assert (window.total_quantity, window.total_orders, window.total_revenue) == (
            totals["total_quantity"],
            totals["total_orders"],
            totals["total_revenue"],
        )
    assert from_windows(7) == from_daily_rows(7)
    assert from_windows(30) == from_daily_rows(30)


def test_popular_products_from_windows_equal_the_sum_of_daily_rows():
    # given: random sales over 70 days, some cancelled, a product renamed
    rnd = random.Random(5)
    products = [make_product(name=f"P{n}") for n in range(8)]
    customers = [make_customer() for _ in range(3)]
    for _ in range(60):
        lines = [(p, rnd.randint(1, 4)) for p in rnd.sample(products, k=rnd.randint(1, 3))]
        order = make_order(rnd.choice(customers), lines, context=days_ago(rnd.randint(0, 70)))
        if rnd.random() < 0.2:
            set_status(order.id, "cancelled")
    services.update_product(UpdateProduct(product_id=products[0].id, name="Renamed"))

    # then
    for days in WINDOWS:
        assert from_windows(days) == from_daily_rows(days)


def test_ties_beyond_the_first_windows_read_are_ranked_by_name():
    # given: 50 products that each sold one unit, in names ranked opposite to creation
    customer = make_customer()
    products = [make_product(name=f"P{99 - n:02}") for n in range(50)]
    for start in range(0, 50, 10):
        make_order(customer, [(p, 1) for p in products[start : start + 10]])
    make_order(customer, [(products[0], 1)], context=days_ago(3))

    # then
    for days in WINDOWS:
        assert from_windows(days) == from_daily_rows(days)
    assert [p["product_name"] for p in from_windows(30)][:2] == ["P99", "P50"]


def test_a_window_last_sold_days_ago_counts_only_the_days_still_in_the_asked_one():
    # given: sold 35 and 10 days ago, nothing since
    pen = make_product(name="Pen")
    make_order(make_customer(), [(pen, 4)], context=days_ago(35))
    make_order(make_customer(), [(pen, 2)], context=days_ago(10))

    # then: the 30-day window still holds day -10 (and not -35); the 7-day one nothing
    assert [(p["product_name"], p["total_quantity"]) for p in from_windows(30)] == [("Pen", 2)]
    assert from_windows(7) == []
    assert from_windows(30) == from_daily_rows(30)


def test_popular_products_sum_daily_rows_when_a_sale_is_dated_after_today():
    # given: a sale dated tomorrow (a clock set back since) moves the window past the first
    # day of today's, so the window no longer holds the sale of 29 days ago
    pen = make_product(name="Pen")
    make_order(make_customer(), [(pen, 3)], context=days_ago(29))
    make_order(make_customer(), [(pen, 5)], context=days_ago(-1))

    # when
    rows = queries.get_popular_products(days=30)

    # then: both sales, as the daily rows count them
    assert [(p["product_name"], p["total_quantity"]) for p in rows] == [("Pen", 8)]
    assert from_windows(30) is None  # the windows do not answer for today


def test_popular_products_of_a_window_not_kept_sum_the_daily_rows():
    pen = make_product(name="Pen")
    make_order(make_customer(), [(pen, 3)], context=days_ago(40))

    rows = queries.get_popular_products(days=60)

    assert [(p["product_name"], p["total_quantity"]) for p in rows] == [("Pen", 3)]
    assert 60 not in WINDOWS


def test_start_of_day_is_midnight_in_the_current_time_zone():
    assert queries.start_of_day(date(2026, 3, 1)).hour == 0

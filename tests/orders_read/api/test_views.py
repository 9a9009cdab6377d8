"""The query API over HTTP: lists, filters, ordering, pagination, details, analytics,
popular products, permissions, and the round trip from a command to the read tables."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders_read.cache import GENERATION_KEY
from orders_write import services
from orders_write.commands import CommandContext, UpdateOrderStatus, UpdateProduct
from orders_write.models import Event
from tests.conftest import (
    error_fields,
    make_customer,
    make_order,
    make_product,
    order_body,
    set_status,
)

pytestmark = pytest.mark.django_db

ORDERS = "/api/orders/"
POPULAR = "/api/products/popular/"


def order_url(order_id) -> str:
    return f"/api/orders/{order_id}/"


def analytics_url(customer_id) -> str:
    return f"/api/customers/{customer_id}/analytics/"


def at(*args: int) -> CommandContext:
    """Return a context that places a command at the given UTC time."""
    return CommandContext(occurred_at=datetime(*args, tzinfo=UTC))


def ids_of(response) -> list[str]:
    return [row["order_id"] for row in response.json()["results"]]


def listed(client, **params) -> list[str]:
    response = client.get(ORDERS, params)
    assert response.status_code == 200, response.content
    return ids_of(response)


def is_aware_iso_time(value: str) -> bool:
    return datetime.fromisoformat(value).tzinfo is not None


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The locmem cache outlives each test's rolled-back transaction."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def cheap(db):
    return make_product(name="Cheap", unit_price="5.00")


# --- GET /api/orders/: rows and their format ------------------------------------------------


def test_order_list_returns_summary_rows_newest_first(reader_api, customer, cheap):
    # given
    older = make_order(customer, [(cheap, 1)], context=at(2026, 1, 1, 9))
    newest = make_order(customer, [(cheap, 3)], context=at(2026, 1, 3, 9))
    middle = make_order(customer, [(cheap, 2)], context=at(2026, 1, 2, 9))

    # when
    response = reader_api.get(ORDERS)

    # then
    assert response.status_code == 200
    assert ids_of(response) == [str(newest.id), str(middle.id), str(older.id)]
    first = response.json()["results"][0]
    assert first["customer_id"] == str(customer.id)
    assert first["customer_name"] == customer.name
    assert first["status"] == "pending"
    assert first["item_count"] == 1  # order lines, as the tutorial counts them
    assert first["unit_count"] == 3
    assert first["version"] == 1
    assert first["total_amount"] == "15.00"


def test_order_list_shows_money_as_decimal_strings_and_times_with_time_zone(reader_api, customer):
    # given
    product = make_product(unit_price="6.25")
    make_order(customer, [(product, 2)], context=at(2026, 2, 3, 4, 5, 6))

    # when
    row = reader_api.get(ORDERS).json()["results"][0]

    # then
    assert row["total_amount"] == "12.50"
    assert is_aware_iso_time(row["order_date"])
    assert datetime.fromisoformat(row["order_date"]) == datetime(2026, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert is_aware_iso_time(row["projected_at"])


def test_order_list_shows_the_current_status(reader_api, order):
    # given
    set_status(order.id, "confirmed", "paid")

    # when
    row = reader_api.get(ORDERS).json()["results"][0]

    # then
    assert row["status"] == "paid"
    assert row["version"] == 3


# --- GET /api/orders/: filters -----------------------------------------------------------------


def test_customer_id_filter_keeps_only_that_customers_orders(reader_api, customer, cheap):
    # given
    mine = make_order(customer, [(cheap, 1)])
    theirs = make_order(make_customer(), [(cheap, 1)])

    # when
    ids = listed(reader_api, customer_id=str(customer.id))

    # then
    assert ids == [str(mine.id)]
    assert str(theirs.id) in listed(reader_api)


def test_status_filter_keeps_only_orders_in_that_status(reader_api, customer, cheap):
    # given
    pending = make_order(customer, [(cheap, 1)])
    cancelled = make_order(customer, [(cheap, 1)])
    set_status(cancelled.id, "cancelled")

    # when / then
    assert listed(reader_api, status="cancelled") == [str(cancelled.id)]
    assert listed(reader_api, status="pending") == [str(pending.id)]
    assert listed(reader_api, status="shipped") == []


def test_date_from_includes_the_whole_first_day_and_excludes_the_day_before(
    reader_api, customer, cheap
):
    # given
    day_before = make_order(customer, [(cheap, 1)], context=at(2026, 3, 3, 23, 59, 59))
    first_moment = make_order(customer, [(cheap, 1)], context=at(2026, 3, 4, 0, 0, 0))
    later = make_order(customer, [(cheap, 1)], context=at(2026, 3, 9, 12))

    # when
    ids = listed(reader_api, date_from="2026-03-04")

    # then
    assert ids == [str(later.id), str(first_moment.id)]
    assert str(day_before.id) in listed(reader_api)  # so the filter is what left it out


def test_date_to_includes_the_whole_last_day_and_excludes_the_day_after(
    reader_api, customer, cheap
):
    # given
    earlier = make_order(customer, [(cheap, 1)], context=at(2026, 3, 1, 12))
    last_moment = make_order(customer, [(cheap, 1)], context=at(2026, 3, 4, 23, 59, 59, 999000))
    day_after = make_order(customer, [(cheap, 1)], context=at(2026, 3, 5, 0, 0, 0))

    # when
    ids = listed(reader_api, date_to="2026-03-04")

    # then
    assert ids == [str(last_moment.id), str(earlier.id)]
    assert str(day_after.id) in listed(reader_api)  # so the filter is what left it out


def test_date_from_and_date_to_on_the_same_day_keep_that_day_only(reader_api, customer, cheap):
    # given
    make_order(customer, [(cheap, 1)], context=at(2026, 3, 3, 12))
    same_day = make_order(customer, [(cheap, 1)], context=at(2026, 3, 4, 12))
    make_order(customer, [(cheap, 1)], context=at(2026, 3, 5, 12))

    # when
    ids = listed(reader_api, date_from="2026-03-04", date_to="2026-03-04")

    # then
    assert ids == [str(same_day.id)]


def test_min_amount_keeps_totals_at_or_above_it(reader_api, customer, cheap):
    # given
    below = make_order(customer, [(cheap, 1)], context=at(2026, 1, 1))  # 5.00
    equal = make_order(customer, [(cheap, 2)], context=at(2026, 1, 2))  # 10.00
    above = make_order(customer, [(cheap, 3)], context=at(2026, 1, 3))  # 15.00

    # when
    ids = listed(reader_api, min_amount="10.00")

    # then
    assert ids == [str(above.id), str(equal.id)]
    assert str(below.id) in listed(reader_api)  # so the filter is what left it out


def test_max_amount_keeps_totals_at_or_below_it(reader_api, customer, cheap):
    # given
    below = make_order(customer, [(cheap, 1)], context=at(2026, 1, 1))  # 5.00
    equal = make_order(customer, [(cheap, 2)], context=at(2026, 1, 2))  # 10.00
    above = make_order(customer, [(cheap, 3)], context=at(2026, 1, 3))  # 15.00

    # when
    ids = listed(reader_api, max_amount="10")

    # then
    assert ids == [str(equal.id), str(below.id)]
    assert str(above.id) in listed(reader_api)  # so the filter is what left it out


def test_amount_filters_compare_cents_exactly(reader_api, customer):
    # given
    product = make_product(unit_price="10.01")
    order = make_order(customer, [(product, 1)])

    # when / then
    assert listed(reader_api, min_amount="10.01") == [str(order.id)]
    assert listed(reader_api, min_amount="10.02") == []
    assert listed(reader_api, max_amount="10.00") == []


def test_filters_combine_so_every_criterion_must_hold(reader_api, customer, cheap):
    # given
    other_customer = make_customer()
    match = make_order(customer, [(cheap, 4)], context=at(2026, 5, 10, 10))  # 20.00
    set_status(match.id, "confirmed")
    make_order(customer, [(cheap, 4)], context=at(2026, 5, 10, 11))  # still pending
    wrong_customer = make_order(other_customer, [(cheap, 4)], context=at(2026, 5, 10, 12))
    set_status(wrong_customer.id, "confirmed")
    too_early = make_order(customer, [(cheap, 4)], context=at(2026, 5, 8, 10))
    set_status(too_early.id, "confirmed")
    too_late = make_order(customer, [(cheap, 4)], context=at(2026, 5, 12, 10))
    set_status(too_late.id, "confirmed")
    too_small = make_order(customer, [(cheap, 1)], context=at(2026, 5, 10, 13))
    set_status(too_small.id, "confirmed")
    too_big = make_order(customer, [(cheap, 10)], context=at(2026, 5, 10, 14))
    set_status(too_big.id, "confirmed")

    # when
    ids = listed(
        reader_api,
        customer_id=str(customer.id),
        status="confirmed",
        date_from="2026-05-09",
        date_to="2026-05-11",
        min_amount="10",
        max_amount="30.00",
    )

    # then
    assert ids == [str(match.id)]


def test_unknown_customer_filter_gives_an_empty_page(reader_api, order):
    # when
    response = reader_api.get(ORDERS, {"customer_id": str(uuid4())})

    # then
    assert response.status_code == 200
    assert response.json()["results"] == []
    assert response.json()["next"] is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("status", "bogus"),
        ("date_from", "not-a-date"),
        ("date_to", "2026-02-30"),
        ("min_amount", "abc"),
        ("max_amount", "12,50"),
        ("min_amount", "NaN"),
        ("max_amount", "Infinity"),
        ("customer_id", "not-a-uuid"),
        ("min_amount", "1e400"),
        ("max_amount", "-12.50"),
        ("min_amount", "12.505"),
        ("ordering", "customer_name"),
        ("ordering", "order_date,total_amount"),
        ("page_size", "abc"),
        ("page_size", "0"),
        ("page_size", "101"),
    ],
)
def test_bad_filter_values_are_a_400_with_the_field_named(reader_api, order, name, value):
    # when
    response = reader_api.get(ORDERS, {name: value})

    # then
    assert response.status_code == 400
    assert error_fields(response) == {name}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("date_from", "0001-01-01"),
        ("min_amount", "999999999999.99"),
        ("max_amount", "0"),
    ],
)
def test_extreme_but_valid_filter_values_never_give_a_500(reader_api, order, name, value):
    # given
    reader_api.raise_request_exception = False

    # when
    response = reader_api.get(ORDERS, {name: value})

    # then
    assert response.status_code in (200, 400)


def test_date_to_on_the_last_representable_day_includes_every_order(reader_api, order):
    # given
    reader_api.raise_request_exception = False

    # when
    response = reader_api.get(ORDERS, {"date_to": "9999-12-31"})

    # then
    assert response.status_code == 200
    assert ids_of(response) == [str(order.id)]


# --- GET /api/orders/: ordering ----------------------------------------------------------------


@pytest.fixture
def three_orders(customer, cheap) -> dict[str, str]:
    """Orders whose dates and totals rank differently: a (oldest, 15.00), b (5.00), c (10.00)."""
    a = make_order(customer, [(cheap, 3)], context=at(2026, 1, 1))
    b = make_order(customer, [(cheap, 1)], context=at(2026, 1, 2))
    c = make_order(customer, [(cheap, 2)], context=at(2026, 1, 3))
    return {"a": str(a.id), "b": str(b.id), "c": str(c.id)}


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("order_date", "abc"),
        ("-order_date", "cba"),
        ("total_amount", "bca"),
        ("-total_amount", "acb"),
    ],
)
def test_ordering_sorts_by_date_or_total_either_way(reader_api, three_orders, ordering, expected):
    # when
    ids = listed(reader_api, ordering=ordering)

    # then
    assert ids == [three_orders[key] for key in expected]


def test_the_list_is_newest_first_without_an_ordering(reader_api, three_orders):
    # when
    ids = listed(reader_api)

    # then
    assert ids == [three_orders[key] for key in "cba"]


# --- GET /api/orders/: pagination --------------------------------------------------------------


def place_orders(count: int) -> list[str]:
    """Place `count` orders a minute apart; return their ids newest first."""
    customer, product = make_customer(), make_product()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ids = [
        str(
            make_order(
                customer,
                [(product, 1)],
                context=CommandContext(occurred_at=start + timedelta(minutes=n)),
            ).id
        )
        for n in range(count)
    ]
    return ids[::-1]


def test_order_list_pages_by_ten_by_default_with_links(reader_api):
    # given
    newest_first = place_orders(12)

    # when
    first = reader_api.get(ORDERS).json()
    second = reader_api.get(first["next"]).json()

    # then
    assert first["previous"] is None
    assert first["next"] is not None
    assert [row["order_id"] for row in first["results"]] == newest_first[:10]
    assert [row["order_id"] for row in second["results"]] == newest_first[10:]
    assert second["next"] is None
    assert second["previous"] is not None
    back = reader_api.get(second["previous"]).json()
    assert [row["order_id"] for row in back["results"]] == newest_first[:10]


def test_an_empty_page_size_gives_the_default_of_ten(reader_api):
    # given
    place_orders(11)

    # when
    response = reader_api.get(ORDERS, {"page_size": ""})

    # then
    assert response.status_code == 200
    assert len(response.json()["results"]) == 10


def test_pages_never_overlap_even_when_order_dates_tie(reader_api, customer, cheap):
    # given: every order placed at the same moment
    ids = {str(make_order(customer, [(cheap, 1)], context=at(2026, 4, 1, 12)).id) for _ in range(7)}

    # when
    pages, url, params = [], ORDERS, {"page_size": 3}
    while url:
        body = reader_api.get(url, params).json()
        pages.append([row["order_id"] for row in body["results"]])
        url, params = body["next"], None

    # then
    seen = [order_id for page in pages for order_id in page]
    assert len(seen) == len(set(seen)) == 7
    assert set(seen) == ids


def test_page_size_is_honoured_up_to_100(reader_api):
    # given
    place_orders(101)

    # when
    exactly_100 = reader_api.get(ORDERS, {"page_size": 100}).json()
    three = reader_api.get(ORDERS, {"page_size": 3}).json()

    # then
    assert len(exactly_100["results"]) == 100
    assert exactly_100["next"] is not None
    assert len(reader_api.get(exactly_100["next"]).json()["results"]) == 1
    assert len(three["results"]) == 3


@pytest.mark.parametrize(
    ("cursor", "status"),
    [("not-a-cursor", 404), ("ñ]", 404), ("YWJj", 200)],  # the last one reads as the first page
)
def test_a_cursor_this_api_did_not_make_is_no_page_or_the_first(reader_api, order, cursor, status):
    # when
    response = reader_api.get(ORDERS, {"cursor": cursor, "status": "pending"})

    # then
    assert response.status_code == status


def cursor_of(link: str) -> str:
    """Return the cursor a next or previous link carries."""
    return parse_qs(urlsplit(link).query)["cursor"][0]


def test_a_cursor_sent_alone_keeps_the_filters_it_was_made_with(reader_api, customer, cheap):
    # given: 3 confirmed orders among others, listed by total
    confirmed = [make_order(customer, [(cheap, n)]) for n in (1, 2, 3)]
    for order in confirmed:
        set_status(order.id, "confirmed")
    make_order(customer, [(cheap, 4)])
    filters = {"status": "confirmed", "ordering": "total_amount", "page_size": 2}
    first = reader_api.get(ORDERS, filters).json()

    # when: the next page is asked for with the cursor only, as a generated client does
    second = reader_api.get(ORDERS, {"cursor": cursor_of(first["next"])}).json()
    back = reader_api.get(ORDERS, {"cursor": cursor_of(second["previous"])}).json()

    # then
    pages = [[row["order_id"] for row in page["results"]] for page in (first, second, back)]
    assert pages == [[str(o.id) for o in confirmed[:2]], [str(confirmed[2].id)], pages[0]]
    assert second["next"] is None


def test_a_cursor_sent_with_other_filters_is_a_400(reader_api, customer, cheap):
    # given
    for _ in range(3):
        make_order(customer, [(cheap, 1)])
    first = reader_api.get(ORDERS, {"status": "pending", "page_size": 2}).json()

    # when
    response = reader_api.get(ORDERS, {"cursor": cursor_of(first["next"]), "status": "paid"})

    # then
    assert response.status_code == 400
    assert error_fields(response) == {"cursor"}
    assert "status=pending" in response.json()["errors"][0]["message"]


def test_listing_costs_the_same_number_of_queries_whatever_the_page_size(reader_api):
    # given
    place_orders(60)
    reader_api.get(ORDERS)  # the first request loads the user's permissions

    # when
    with CaptureQueriesContext(connection) as small_page:
        small = reader_api.get(ORDERS, {"page_size": 5})
    with CaptureQueriesContext(connection) as large_page:
        large = reader_api.get(ORDERS, {"page_size": 50})

    # then
    assert len(small.json()["results"]) == 5
    assert len(large.json()["results"]) == 50
    assert len(small_page.captured_queries) == len(large_page.captured_queries)
    pages = [q for q in large_page.captured_queries if "order_summary_view" in q["sql"]]
    assert len(pages) == 1  # the page: keyset pages need no count
    # The other tells which position the page reflects: the projection's state and the
    # store's head, read together.
    assert len(large_page.captured_queries) == 2


# --- GET /api/orders/{id}/ ---------------------------------------------------------------------


def test_order_details_show_items_addresses_payment_history_and_version(admin_api, customer):
    # given
    pen = make_product(name="Pen", category="office", unit_price="1.50")
    book = make_product(name="Book", category="books", unit_price="12.00")
    order = make_order(
        customer,
        [(pen, 3), (book, 1)],
        payment_method="paypal",
        context=CommandContext(actor="alice", occurred_at=datetime(2026, 3, 4, 5, tzinfo=UTC)),
    )
    services.update_order_status(
        UpdateOrderStatus(order_id=order.id, status="confirmed", reason="stock checked"),
        context=CommandContext(actor="bob", occurred_at=datetime(2026, 3, 4, 6, tzinfo=UTC)),
    )

    # when
    response = admin_api.get(order_url(order.id))

    # then
    assert response.status_code == 200
    details = response.json()
    assert details["order_id"] == str(order.id)
    assert details["customer_id"] == str(customer.id)
    assert details["customer_name"] == customer.name
    assert details["customer_email"] == customer.email
    assert details["status"] == "confirmed"
    assert details["total_amount"] == "16.50"
    assert details["payment_method"] == "paypal"
    items = {item["product_name"]: item for item in details["items"]}
    assert items["Pen"]["category"] == "office"
    assert items["Pen"]["quantity"] == 3
    assert Decimal(items["Pen"]["unit_price"]) == Decimal("1.50")
    assert Decimal(items["Pen"]["line_total"]) == Decimal("4.50")
    assert items["Book"]["category"] == "books"
    assert Decimal(items["Book"]["line_total"]) == Decimal("12.00")
    assert details["shipping_address"]["city"] == "Lyon"
    assert details["billing_address"]["postal_code"] == "69001"
    assert details["version"] == 2
    assert is_aware_iso_time(details["projected_at"])
    assert is_aware_iso_time(details["order_date"])


def test_order_details_list_every_status_change_in_order(reader_api, order):
    # given
    services.update_order_status(
        UpdateOrderStatus(order_id=order.id, status="confirmed"),
        context=CommandContext(actor="bob", occurred_at=datetime(2030, 1, 1, 8, tzinfo=UTC)),
    )
    services.update_order_status(
        UpdateOrderStatus(order_id=order.id, status="cancelled", reason="customer asked"),
        context=CommandContext(actor="carol", occurred_at=datetime(2030, 1, 2, 9, tzinfo=UTC)),
    )

    # when
    history = reader_api.get(order_url(order.id)).json()["status_history"]

    # then
    assert [(h["status"], h["changed_by"], h["reason"]) for h in history] == [
        ("pending", "system", ""),
        ("confirmed", "bob", ""),
        ("cancelled", "carol", "customer asked"),
    ]
    assert datetime.fromisoformat(history[2]["changed_at"]) == datetime(2030, 1, 2, 9, tzinfo=UTC)
    assert all(is_aware_iso_time(h["changed_at"]) for h in history)


def test_unknown_order_is_a_404(reader_api, order):
    # when
    response = reader_api.get(order_url(uuid4()))

    # then
    assert response.status_code == 404


def test_malformed_order_id_is_a_404_not_a_500(reader_api):
    # when
    response = reader_api.get("/api/orders/not-a-uuid/")

    # then
    assert response.status_code == 404


# --- GET /api/customers/{id}/analytics/ --------------------------------------------------------


def test_customer_analytics_returns_the_customers_row(admin_api, customer):
    # given
    book = make_product(category="books", unit_price="100.00")
    lamp = make_product(category="home", unit_price="30.00")
    make_order(customer, [(book, 1), (lamp, 2)], context=at(2026, 6, 1, 10))
    make_order(customer, [(lamp, 1)], context=at(2026, 6, 2, 10))

    # when
    response = admin_api.get(analytics_url(customer.id))

    # then
    assert response.status_code == 200
    row = response.json()
    assert row["customer_id"] == str(customer.id)
    assert row["customer_name"] == customer.name
    assert row["customer_email"] == customer.email
    assert row["total_orders"] == 2
    assert row["total_spent"] == "190.00"
    assert row["average_order_value"] == "95.00"
    assert row["favorite_category"] == "home"
    assert row["customer_segment"] == "regular"
    assert datetime.fromisoformat(row["last_order_date"]) == datetime(2026, 6, 2, 10, tzinfo=UTC)


def test_analytics_of_a_customer_without_orders_are_zero(reader_api, customer):
    # when
    row = reader_api.get(analytics_url(customer.id)).json()

    # then
    assert row["total_orders"] == 0
    assert row["total_spent"] == "0.00"
    assert row["last_order_date"] is None
    assert row["customer_segment"] == "new"


def test_analytics_of_an_unknown_customer_is_a_404(reader_api, customer):
    # when
    response = reader_api.get(analytics_url(uuid4()))

    # then
    assert response.status_code == 404


# --- GET /api/products/popular/ ----------------------------------------------------------------


def popular(client, **params) -> list[dict]:
    response = client.get(POPULAR, params)
    assert response.status_code == 200, response.content
    return response.json()


def days_ago(days: int, hour: int = 12) -> CommandContext:
    moment = datetime.combine(timezone.now().date() - timedelta(days=days), datetime.min.time())
    return CommandContext(occurred_at=moment.replace(hour=hour, tzinfo=UTC))


def test_popular_products_are_the_top_ten_by_units_sold(reader_api, customer):
    # given: product n sells n units
    products = [make_product(name=f"P{n:02}", unit_price="2.00") for n in range(1, 12)]
    make_order(customer, [(p, n) for n, p in enumerate(products, start=1)])

    # when
    rows = popular(reader_api, days=30)

    # then
    assert [row["product_name"] for row in rows] == [f"P{n:02}" for n in range(11, 1, -1)]
    top = rows[0]
    assert top["product_id"] == str(products[-1].id)
    assert top["category"] == "books"
    assert top["total_quantity"] == 11
    assert top["total_orders"] == 1
    assert top["total_revenue"] == "22.00"


def test_popular_products_default_to_the_last_30_days(reader_api, customer, cheap):
    # given
    make_order(customer, [(cheap, 2)])

    # when
    rows = popular(reader_api)

    # then
    assert [(row["product_name"], row["total_quantity"]) for row in rows] == [("Cheap", 2)]


def test_popular_products_break_ties_by_name(reader_api, customer):
    # given
    zebra = make_product(name="Zebra")
    apple = make_product(name="Apple")
    mango = make_product(name="Mango")
    make_order(customer, [(zebra, 2), (mango, 2), (apple, 2)])

    # when
    rows = popular(reader_api, days=30)

    # then
    assert [row["product_name"] for row in rows] == ["Apple", "Mango", "Zebra"]


def test_popular_products_add_up_units_and_orders_across_days(reader_api, customer, cheap):
    # given
    make_order(customer, [(cheap, 2)], context=days_ago(3))
    make_order(customer, [(cheap, 5)], context=days_ago(1))
    make_order(make_customer(), [(cheap, 1)])

    # when
    rows = popular(reader_api, days=30)

    # then
    assert [(row["total_quantity"], row["total_orders"], row["total_revenue"]) for row in rows] == [
        (8, 3, "40.00")
    ]


def test_popular_products_exclude_sales_older_than_the_window(reader_api, customer):
    # given: with days=30 the window starts 29 days before today
    recent = make_product(name="Recent")
    on_first_day = make_product(name="First day")
    old = make_product(name="Old")
    make_order(customer, [(recent, 1)], context=days_ago(0, hour=0))
    make_order(customer, [(on_first_day, 2)], context=days_ago(29, hour=0))
    make_order(customer, [(old, 50)], context=days_ago(30, hour=23))

    # when
    last_30_days = popular(reader_api, days=30)
    last_day = popular(reader_api, days=1)
    last_31_days = popular(reader_api, days=31)

    # then
    assert [row["product_name"] for row in last_30_days] == ["First day", "Recent"]
    assert [row["product_name"] for row in last_day] == ["Recent"]
    assert [row["product_name"] for row in last_31_days] == ["Old", "First day", "Recent"]


def test_popular_products_exclude_cancelled_orders(reader_api, customer):
    # given
    kept = make_product(name="Kept")
    dropped = make_product(name="Dropped")
    make_order(customer, [(kept, 1)])
    make_order(customer, [(kept, 1)])
    cancelled = make_order(customer, [(kept, 10), (dropped, 10)])
    set_status(cancelled.id, "confirmed", "cancelled")

    # when
    rows = popular(reader_api, days=30)

    # then
    assert [(row["product_name"], row["total_quantity"], row["total_orders"]) for row in rows] == [
        ("Kept", 2, 2)
    ]


@pytest.mark.parametrize("days", ["0", "-1", "abc", "1.5", "367"])
def test_popular_products_refuse_bad_days_with_a_400(reader_api, days):
    # when
    response = reader_api.get(POPULAR, {"days": days})

    # then
    assert response.status_code == 400
    assert error_fields(response) == {"days"}


def test_popular_products_show_a_new_order_on_the_next_call(reader_api, customer, cheap):
    # given: the answer is cached
    assert popular(reader_api, days=30) == []
    assert popular(reader_api, days=30) == []

    # when
    make_order(customer, [(cheap, 4)])

    # then
    assert [
        (row["product_name"], row["total_quantity"]) for row in popular(reader_api, days=30)
    ] == [("Cheap", 4)]


def test_a_sale_another_process_recorded_is_in_popular_products_at_its_position(
    reader_api, customer, cheap
):
    # given: this process has the answer cached
    assert popular(reader_api, days=30) == []
    generation = cache.get(GENERATION_KEY)

    # when: another server process records a sale (its cache is its own: ours is not told)
    sale = make_order(customer, [(cheap, 4)])
    cache.set(GENERATION_KEY, generation, timeout=None)
    position = Event.objects.filter(stream_id=sale.id).latest("position").position
    response = reader_api.get(POPULAR, {"days": 30, "min_position": position})

    # then
    assert int(response["X-Projection-Position"]) >= position
    assert [(row["product_name"], row["total_quantity"]) for row in response.json()] == [
        ("Cheap", 4)
    ]


def test_popular_products_stay_fresh_once_the_command_commits(
    reader_api, customer, cheap, django_capture_on_commit_callbacks
):
    # given: the answer is cached
    make_order(customer, [(cheap, 1)])
    assert popular(reader_api, days=30)[0]["total_quantity"] == 1

    # when
    with django_capture_on_commit_callbacks(execute=True):
        order = make_order(customer, [(cheap, 4)])

    # then
    assert popular(reader_api, days=30)[0]["total_quantity"] == 5

    # and when it is cancelled
    with django_capture_on_commit_callbacks(execute=True):
        set_status(order.id, "cancelled")

    # then
    assert popular(reader_api, days=30)[0]["total_quantity"] == 1


def test_popular_products_stay_fresh_when_the_cache_loses_its_generation_key(
    reader_api, customer, cheap
):
    # given: an answer cached before the order, and the cache then evicts the generation key
    assert popular(reader_api, days=30) == []
    make_order(customer, [(cheap, 4)])
    assert popular(reader_api, days=30)[0]["total_quantity"] == 4
    cache.delete(GENERATION_KEY)

    # when
    rows = popular(reader_api, days=30)

    # then
    assert [(row["product_name"], row["total_quantity"]) for row in rows] == [("Cheap", 4)]


def test_popular_products_show_a_cancellation_on_the_next_call(reader_api, customer, cheap):
    # given
    order = make_order(customer, [(cheap, 3)])
    assert popular(reader_api, days=30)[0]["total_quantity"] == 3

    # when
    set_status(order.id, "cancelled")

    # then
    assert popular(reader_api, days=30) == []


def test_popular_products_show_a_renamed_product_on_the_next_call(reader_api, customer, cheap):
    # given
    make_order(customer, [(cheap, 3)])
    assert popular(reader_api, days=30)[0]["product_name"] == "Cheap"

    # when
    services.update_product(UpdateProduct(product_id=cheap.id, name="Bargain"))

    # then
    assert popular(reader_api, days=30)[0]["product_name"] == "Bargain"


# --- who may read ------------------------------------------------------------------------------


READ_ENDPOINTS = ["order list", "order details", "customer analytics", "popular products"]


@pytest.fixture
def read_urls(order) -> dict[str, str]:
    return {
        "order list": ORDERS,
        "order details": order_url(order.id),
        "customer analytics": analytics_url(order.customer_id),
        "popular products": POPULAR,
    }


@pytest.mark.parametrize("endpoint", READ_ENDPOINTS)
def test_anonymous_users_cannot_read(anonymous_api, read_urls, endpoint):
    # when
    response = anonymous_api.get(read_urls[endpoint])

    # then
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("endpoint", READ_ENDPOINTS)
def test_a_bad_token_cannot_read(anonymous_api, read_urls, endpoint):
    # given
    anonymous_api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    # when
    response = anonymous_api.get(read_urls[endpoint])

    # then
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["code"] == "authentication_failed"


@pytest.mark.parametrize("endpoint", READ_ENDPOINTS)
def test_any_logged_in_user_can_read_without_model_permissions(reader_api, read_urls, endpoint):
    # when
    response = reader_api.get(read_urls[endpoint])

    # then
    assert response.status_code == 200


def test_a_user_with_only_read_access_cannot_place_orders(reader_api, customer, cheap):
    # when
    response = reader_api.post(ORDERS, order_body(customer, (cheap, 1)), format="json")

    # then
    assert response.status_code == 403
    assert listed(reader_api) == []


# --- end to end --------------------------------------------------------------------------------


def test_an_order_placed_over_http_can_be_read_back_from_the_query_api(admin_api, customer):
    # given
    product = make_product(name="Kettle", category="kitchen", unit_price="24.90")

    # when
    created = admin_api.post(ORDERS, order_body(customer, (product, 2)), format="json")
    changed = admin_api.post(
        f"/api/orders/{created.json()['order_id']}/status/",
        {"status": "confirmed", "reason": "paid by phone"},
        format="json",
    )

    # then
    assert created.status_code == 201, created.content
    assert changed.status_code == 200, changed.content
    order_id = created.json()["order_id"]
    details = admin_api.get(created["Location"]).json()
    assert details["order_id"] == order_id
    assert details["status"] == "confirmed"
    assert details["total_amount"] == "49.80"
    assert [(i["product_name"], i["quantity"]) for i in details["items"]] == [("Kettle", 2)]
    assert [(h["status"], h["changed_by"], h["reason"]) for h in details["status_history"]] == [
        ("pending", "admin", ""),
        ("confirmed", "admin", "paid by phone"),
    ]
    rows = admin_api.get(ORDERS, {"customer_id": str(customer.id)}).json()["results"]
    assert [(r["order_id"], r["status"], r["total_amount"], r["version"]) for r in rows] == [
        (order_id, "confirmed", "49.80", 2)
    ]
    analytics = admin_api.get(analytics_url(customer.id)).json()
    assert (analytics["total_orders"], analytics["total_spent"]) == (1, "49.80")
    assert popular(admin_api, days=1)[0]["product_name"] == "Kettle"


# --- the tutorial's queries, one endpoint each ------------------------------------------------


def customer_orders_url(customer_id) -> str:
    return f"/api/customers/{customer_id}/orders/"


def field_errors(response) -> dict[str, str]:
    return {error["field"]: error["message"] for error in response.json()["errors"]}


def test_customer_orders_come_by_page_and_size_with_count_and_links(reader_api, customer, cheap):
    # given
    placed = [make_order(customer, [(cheap, 1)], context=at(2026, 1, day, 9)) for day in (1, 2, 3)]
    make_order(make_customer(), [(cheap, 1)])

    # when
    first = reader_api.get(customer_orders_url(customer.id), {"size": 2}).json()
    second = reader_api.get(customer_orders_url(customer.id), {"page": 2, "size": 2}).json()

    # then
    assert first["count"] == second["count"] == 3
    assert [r["order_id"] for r in first["results"]] == [str(placed[2].id), str(placed[1].id)]
    assert [r["order_id"] for r in second["results"]] == [str(placed[0].id)]
    assert "page=2" in first["next"] and "size=2" in first["next"]
    assert first["previous"] is None and second["next"] is None
    assert "page=" not in second["previous"] and "size=2" in second["previous"]


def test_customer_orders_past_the_last_page_are_a_404(reader_api, order):
    response = reader_api.get(customer_orders_url(order.customer_id), {"page": 2})

    assert response.status_code == 404


def test_customer_without_orders_has_an_empty_first_page(reader_api, customer):
    response = reader_api.get(customer_orders_url(customer.id))

    assert response.status_code == 200
    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}


@pytest.mark.parametrize(("name", "value"), [("page", "0"), ("page", "x"), ("size", "101")])
def test_bad_page_or_size_is_a_400_naming_it(reader_api, customer, name, value):
    response = reader_api.get(customer_orders_url(customer.id), {name: value})

    assert response.status_code == 400
    assert name in field_errors(response)


@pytest.mark.parametrize(
    ("url", "name", "instead"),
    [
        (ORDERS, "page", "cursor"),
        (ORDERS, "size", "page_size"),
        ("customer-orders", "page_size", "size"),
        ("customer-orders", "cursor", "page"),
    ],
)
def test_a_paging_parameter_of_the_other_kind_is_a_400_naming_the_right_one(
    reader_api, customer, url, name, instead
):
    url = customer_orders_url(customer.id) if url == "customer-orders" else url

    response = reader_api.get(url, {name: "2"})

    assert response.status_code == 400
    assert f"`{instead}`" in field_errors(response)[name]


@pytest.mark.parametrize(
    "path",
    [
        "/api/orders/{order}/",
        "/api/orders/{order}/history/",
        "/api/customers/{customer}/analytics/",
        "/api/customers/{customer}/orders/",
        "/api/products/popular/",
        "/api/products/{product}/sales/",
        "/api/projections/",
        "/api/orders/",
    ],
)
def test_an_unknown_query_parameter_is_a_400_listing_the_ones_taken(
    reader_api, order, customer, product, path
):
    url = path.format(order=order.id, customer=customer.id, product=product.id)

    response = reader_api.get(url, {"colour": "blue"})

    assert response.status_code == 400
    assert "Query parameters of this endpoint" in field_errors(response)["colour"]


def test_format_is_taken_by_every_read_endpoint(reader_api, order):
    response = reader_api.get(order_url(order.id), {"format": "json"})

    assert response.status_code == 200


def test_order_history_lists_the_status_changes_oldest_first(reader_api, order):
    # given
    set_status(order.id, "confirmed", "cancelled")

    # when
    response = reader_api.get(f"/api/orders/{order.id}/history/")

    # then
    assert response.status_code == 200
    assert [(c["status"], c["version"]) for c in response.json()] == [
        ("pending", 1),
        ("confirmed", 2),
        ("cancelled", 3),
    ]
    assert set(response.json()[0]) == {
        "order_id", "status", "changed_by", "changed_at", "reason", "version"
    }  # fmt: skip


def test_history_of_an_unknown_order_is_a_404(reader_api):
    assert reader_api.get(f"/api/orders/{uuid4()}/history/").status_code == 404


def test_product_sales_list_the_products_days_between_date_from_and_date_to(
    reader_api, customer, cheap
):
    # given
    for day in (1, 2, 3):
        make_order(customer, [(cheap, day)], context=at(2026, 1, day, 9))

    # when
    response = reader_api.get(
        f"/api/products/{cheap.id}/sales/", {"date_from": "2026-01-02", "date_to": "2026-01-03"}
    )

    # then
    assert response.status_code == 200
    assert [(r["sale_date"], r["total_quantity"], r["total_orders"]) for r in response.json()] == [
        ("2026-01-02", 2, 1),
        ("2026-01-03", 3, 1),
    ]
    assert response.json()[0]["total_revenue"] == "10.00"


def test_product_sales_refuse_a_malformed_date_with_a_400(reader_api, product):
    response = reader_api.get(f"/api/products/{product.id}/sales/", {"date_from": "2026-13-01"})

    assert response.status_code == 400
    assert "date_from" in field_errors(response)


def test_every_link_names_its_row_s_own_resource(reader_api, order):
    api = "http://testserver/api"

    details = reader_api.get(f"/api/orders/{order.id}/").json()
    listed = reader_api.get("/api/orders/").json()
    analytics = reader_api.get(f"/api/customers/{order.customer_id}/analytics/").json()

    assert details["url"] == f"{api}/orders/{order.id}/"
    assert details["status_url"] == f"{api}/orders/{order.id}/status/"
    assert details["customer_analytics_url"] == f"{api}/customers/{order.customer_id}/analytics/"
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [row["url"] for row in rows] == [f"{api}/orders/{order.id}/"]
    assert analytics["url"] == f"{api}/customers/{order.customer_id}/analytics/"
    assert analytics["orders_url"] == f"{api}/orders/?customer_id={order.customer_id}"

"""The read models in the admin: browsable, searchable, filterable, and read-only for everyone."""

from datetime import UTC, datetime
from uuid import uuid4

import pytest
from django.urls import reverse

from orders_read.models import CustomerAnalytics, OrderDetails, OrderStatusChange, OrderSummary
from orders_write import services
from orders_write.commands import CommandContext, UpdateOrderStatus
from tests.conftest import make_customer, make_order, make_product, set_status

pytestmark = pytest.mark.django_db

READ_MODELS = [
    "ordersummary",
    "orderdetails",
    "orderstatuschange",
    "customeranalytics",
    "productsales",
]


def changelist(model: str) -> str:
    return reverse(f"admin:orders_read_{model}_changelist")


def page(client, url: str, **params) -> str:
    response = client.get(url, params)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    client.raise_request_exception = False
    return client


@pytest.fixture
def shop(db) -> dict:
    """Two customers: Ada (vip, a paid and a cancelled order) and Bo (new, one pending order)."""
    ada = make_customer(name="Ada Lovelace", email="ada@example.com")
    bo = make_customer(name="Bo Diddley", email="bo@example.com")
    piano = make_product(name="Grand Piano", category="music", unit_price="900.00")
    pen = make_product(name="Fountain Pen", category="office", unit_price="20.00")
    paid = make_order(ada, [(piano, 1), (pen, 2)], context=_on(2026, 3, 4))
    services.update_order_status(
        UpdateOrderStatus(order_id=paid.id, status="confirmed", reason="stock checked"),
        context=CommandContext(actor="clerk-joe", occurred_at=datetime(2026, 3, 5, tzinfo=UTC)),
    )
    set_status(paid.id, "paid")
    second = make_order(ada, [(pen, 10)], context=_on(2026, 3, 6))
    cancelled = make_order(ada, [(pen, 1)], context=_on(2026, 3, 7))
    set_status(cancelled.id, "cancelled")
    pending = make_order(bo, [(pen, 1)], context=_on(2026, 4, 1))
    return {
        "ada": ada,
        "bo": bo,
        "paid": paid,
        "second": second,
        "cancelled": cancelled,
        "pending": pending,
    }


def _on(year: int, month: int, day: int) -> CommandContext:
    return CommandContext(occurred_at=datetime(year, month, day, 12, tzinfo=UTC))


# --- browsing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "shown"),
    [
        ("ordersummary", "Ada Lovelace"),
        ("orderdetails", "bo@example.com"),
        ("orderstatuschange", "clerk-joe"),
        ("customeranalytics", "ada@example.com"),
        ("productsales", "Grand Piano"),
    ],
)
def test_every_read_model_changelist_loads_with_its_rows(admin_client, shop, model, shown):
    # when
    content = page(admin_client, changelist(model))

    # then
    assert shown in content


def test_order_summary_changelist_lists_every_order(admin_client, shop):
    # when
    content = page(admin_client, changelist("ordersummary"))

    # then
    for key in ("paid", "second", "cancelled", "pending"):
        assert str(shop[key].id) in content


# --- searching ---------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["ordersummary", "orderdetails"])
def test_searching_orders_by_customer_name_finds_only_theirs(admin_client, shop, model):
    # when
    content = page(admin_client, changelist(model), q="Diddley")

    # then
    assert str(shop["pending"].id) in content
    assert str(shop["paid"].id) not in content


@pytest.mark.parametrize("model", ["orderdetails", "customeranalytics"])
def test_searching_by_customer_email_finds_only_that_customer(admin_client, shop, model):
    # when
    content = page(admin_client, changelist(model), q="bo@example.com")

    # then
    assert "Bo Diddley" in content
    assert "Ada Lovelace" not in content


@pytest.mark.parametrize("model", ["ordersummary", "orderdetails", "orderstatuschange"])
def test_searching_for_an_orders_full_id_finds_only_that_order(admin_client, shop, model):
    # when
    content = page(admin_client, changelist(model), q=str(shop["paid"].id))

    # then
    assert str(shop["paid"].id) in content
    assert str(shop["pending"].id) not in content


def test_searching_analytics_for_a_customers_full_id_finds_that_customer(admin_client, shop):
    # when
    content = page(admin_client, changelist("customeranalytics"), q=str(shop["bo"].id))

    # then
    assert "Bo Diddley" in content
    assert "Ada Lovelace" not in content


@pytest.mark.parametrize("model", READ_MODELS)
@pytest.mark.parametrize("term", ["not-a-uuid", "Ada", "12.50", str(uuid4()), "'quoted text'"])
def test_searching_any_text_never_breaks_a_changelist(admin_client, shop, model, term):
    # when
    response = admin_client.get(changelist(model), {"q": term})

    # then
    assert response.status_code == 200


def test_searching_a_text_that_is_no_uuid_still_matches_names(admin_client, shop):
    # when
    content = page(admin_client, changelist("ordersummary"), q="Lovelace")

    # then
    assert str(shop["paid"].id) in content
    assert str(shop["pending"].id) not in content


# --- filtering ---------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["ordersummary", "orderdetails"])
def test_status_filter_shows_only_orders_in_that_status(admin_client, shop, model):
    # when
    content = page(admin_client, changelist(model), status__exact="cancelled")

    # then
    assert str(shop["cancelled"].id) in content
    assert str(shop["paid"].id) not in content
    assert str(shop["pending"].id) not in content


def test_status_filter_on_history_shows_only_those_changes(admin_client, shop):
    # when
    content = page(admin_client, changelist("orderstatuschange"), status__exact="confirmed")

    # then
    assert str(shop["paid"].id) in content
    assert str(shop["pending"].id) not in content


@pytest.mark.parametrize(
    ("segment", "shown", "hidden"),
    [("vip", "ada@example.com", "bo@example.com"), ("new", "bo@example.com", "ada@example.com")],
)
def test_segment_filter_shows_only_customers_in_that_segment(
    admin_client, shop, segment, shown, hidden
):
    # given
    assert CustomerAnalytics.objects.get(customer_id=shop["ada"].id).customer_segment == "vip"

    # when
    content = page(admin_client, changelist("customeranalytics"), customer_segment__exact=segment)

    # then
    assert shown in content
    assert hidden not in content


def test_date_filter_shows_only_orders_placed_in_the_range(admin_client, shop):
    # when
    content = page(
        admin_client,
        changelist("ordersummary"),
        order_date__gte="2026-04-01 00:00:00+00:00",
        order_date__lt="2026-04-02 00:00:00+00:00",
    )

    # then
    assert str(shop["pending"].id) in content
    assert str(shop["paid"].id) not in content


def test_date_hierarchy_drills_down_to_a_month(admin_client, shop):
    # when
    content = page(
        admin_client, changelist("ordersummary"), order_date__year="2026", order_date__month="3"
    )

    # then
    assert str(shop["paid"].id) in content
    assert str(shop["pending"].id) not in content


# --- the order details page --------------------------------------------------------------------


def test_order_details_page_shows_items_and_status_history(admin_client, shop):
    # given
    url = reverse("admin:orders_read_orderdetails_change", args=[shop["paid"].id])

    # when
    content = page(admin_client, url)

    # then
    assert "Grand Piano" in content
    assert "Fountain Pen" in content
    assert "music" in content
    assert "900.00" in content
    assert "40.00" in content  # the pens' line total
    assert "clerk-joe" in content
    assert "stock checked" in content
    assert "confirmed" in content
    assert "paid" in content
    assert 'name="_save"' not in content


# --- read-only, even for a superuser -----------------------------------------------------------


@pytest.mark.parametrize("model", READ_MODELS)
def test_read_models_cannot_be_added_in_the_admin(admin_client, model):
    # when
    response = admin_client.get(reverse(f"admin:orders_read_{model}_add"))

    # then
    assert response.status_code == 403


def test_order_details_cannot_be_changed_in_the_admin(admin_client, shop):
    # given
    order_id = shop["pending"].id
    url = reverse("admin:orders_read_orderdetails_change", args=[order_id])

    # when
    response = admin_client.post(
        url, {"status": "cancelled", "payment_method": "cash", "customer_name": "Mallory"}
    )

    # then
    assert response.status_code == 403
    details = OrderDetails.objects.get(order_id=order_id)
    assert (details.status, details.customer_name, details.payment_method) == (
        "pending",
        "Bo Diddley",
        "card",
    )


def test_order_summary_cannot_be_changed_in_the_admin(admin_client, shop):
    # given
    order_id = shop["pending"].id
    url = reverse("admin:orders_read_ordersummary_change", args=[order_id])

    # when
    response = admin_client.post(url, {"status": "delivered", "total_amount": "0.00"})

    # then
    assert response.status_code == 403
    summary = OrderSummary.objects.get(order_id=order_id)
    assert (summary.status, str(summary.total_amount)) == ("pending", "20.00")


@pytest.mark.parametrize("model", ["ordersummary", "orderdetails"])
def test_orders_cannot_be_deleted_in_the_admin(admin_client, shop, model):
    # given
    order_id = shop["pending"].id
    url = reverse(f"admin:orders_read_{model}_delete", args=[order_id])

    # when
    shown = admin_client.get(url)
    posted = admin_client.post(url, {"post": "yes"})

    # then
    assert shown.status_code == 403
    assert posted.status_code == 403
    assert OrderSummary.objects.filter(order_id=order_id).exists()
    assert OrderDetails.objects.filter(order_id=order_id).exists()


def test_status_changes_cannot_be_deleted_in_the_admin(admin_client, shop):
    # given
    change = OrderStatusChange.objects.filter(order_id=shop["paid"].id).first()
    url = reverse("admin:orders_read_orderstatuschange_delete", args=[change.pk])

    # when
    response = admin_client.post(url, {"post": "yes"})

    # then
    assert response.status_code == 403
    assert OrderStatusChange.objects.filter(pk=change.pk).exists()


@pytest.mark.parametrize("model", READ_MODELS)
def test_bulk_delete_is_not_offered_on_read_models(admin_client, shop, model):
    # when
    content = page(admin_client, changelist(model))

    # then
    assert "delete_selected" not in content


def test_bulk_delete_action_posted_anyway_deletes_nothing(admin_client, shop):
    # given
    selected = [str(shop["paid"].id), str(shop["pending"].id)]

    # when
    admin_client.post(
        changelist("ordersummary"),
        {"action": "delete_selected", "_selected_action": selected, "post": "yes"},
    )

    # then
    assert OrderSummary.objects.filter(order_id__in=selected).count() == 2

"""The read models in the admin: browsable, searchable, filterable, and read-only for everyone."""

import re
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from orders_read.models import CustomerAnalytics, OrderDetails, OrderStatusChange, OrderSummary
from orders_write import services
from orders_write.commands import CommandContext, UpdateOrderStatus
from tests.conftest import make_customer, make_order, make_product, read_csv, set_status

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


# --- lists as people read them: CSV export, id prefixes, newest first, labels ------------------


def export_url(model: str) -> str:
    return reverse(f"admin:orders_read_{model}_export")


@pytest.mark.parametrize("model", READ_MODELS)
def test_every_read_model_list_offers_a_csv_export_of_what_it_shows(admin_client, shop, model):
    content = page(admin_client, changelist(model), q="Ada")

    assert f'href="{export_url(model)}?q=Ada"' in content
    response = admin_client.get(export_url(model))
    assert response.status_code == 200
    assert response.streaming
    assert len(read_csv(response)) > 1


def test_the_export_writes_the_filtered_rows_only_every_page_of_them(admin_client, shop):
    response = admin_client.get(export_url("ordersummary"), {"status": "cancelled"})

    rows = read_csv(response)
    assert rows[0][:3] == ["order_id", "customer_id", "customer_name"]
    assert [row[0] for row in rows[1:]] == [str(shop["cancelled"].id)]
    assert response["Content-Disposition"].startswith('attachment; filename="ordersummary-')


def test_the_export_action_writes_the_selected_rows(admin_client, shop):
    selected = [str(shop["paid"].id), str(shop["pending"].id)]
    response = admin_client.post(
        changelist("ordersummary"), {"action": "export_csv", "_selected_action": selected}
    )

    assert sorted(row[0] for row in read_csv(response)[1:]) == sorted(selected)


def test_exported_text_never_starts_a_spreadsheet_formula(admin_client, shop):
    OrderSummary.objects.filter(order_id=shop["pending"].id).update(customer_name="=1+1")

    rows = read_csv(admin_client.get(export_url("ordersummary"), {"q": "1+1"}))
    assert rows[1][2] == "'=1+1"


def test_a_bad_filter_on_the_export_is_a_400(admin_client, shop):
    assert admin_client.get(export_url("ordersummary"), {"order_date__gte": "x"}).status_code == 400


def test_the_export_needs_the_view_permission(client, shop, django_user_model):
    client.force_login(django_user_model.objects.create_user("s", password="x", is_staff=True))

    assert client.get(export_url("ordersummary")).status_code == 403


@pytest.mark.parametrize("model", ["ordersummary", "orderdetails", "orderstatuschange"])
def test_the_eight_characters_a_list_shows_find_the_order(admin_client, shop, model):
    prefix = str(shop["pending"].id)[:8]

    content = page(admin_client, changelist(model), q=prefix)

    assert "Bo Diddley" in content or str(shop["pending"].id) in content
    assert str(shop["paid"].id)[:8] not in content or prefix == str(shop["paid"].id)[:8]


def test_lists_put_the_newest_first(admin_client, shop):
    content = page(admin_client, changelist("orderstatuschange"))

    times = re.findall(r'<td class="field-changed\b[^"]*">([^<]+)</td>', content)
    assert len(times) == 7
    assert times == sorted(times, reverse=True)


def test_payment_methods_show_as_people_say_them(admin_client, shop):
    content = page(admin_client, changelist("orderdetails"))

    assert "Card" in content and ">card<" not in content


def test_the_row_links_to_its_own_page_and_the_story_is_a_link_of_its_own(admin_client, shop):
    content = page(admin_client, changelist("ordersummary"))

    row_url = reverse("admin:orders_read_ordersummary_change", args=[shop["pending"].id])
    assert f'<a href="{row_url}"><span class="short-id"' in content
    assert f'<a href="{reverse("order-story", args=[shop["pending"].id])}">story</a>' in content


def test_read_only_rows_have_no_history_button(admin_client, shop):
    url = reverse("admin:orders_read_ordersummary_change", args=[shop["pending"].id])

    assert "historylink" not in page(admin_client, url)


def test_a_status_changed_by_an_admin_action_is_in_recent_actions(admin_client, shop):
    admin_client.post(
        reverse("admin:orders_write_order_changelist"),
        {"action": "mark_confirmed", "_selected_action": [str(shop["pending"].id)]},
    )

    entry = LogEntry.objects.get()
    assert entry.object_id == str(shop["pending"].id)
    assert entry.get_change_message() == "Changed status to confirmed."
    assert "Order " + str(shop["pending"].id) in page(admin_client, reverse("admin:index"))

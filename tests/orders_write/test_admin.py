"""The write-side admin: browsable, and every change goes through the command services."""

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.test import Client

from orders_write.event_reader import stream_events
from orders_write.models import Customer, Event, Order, Product
from tests.conftest import admin_url, make_customer, make_order, row_counts, set_status


def messages_of(response) -> list[str]:
    return [message.message for message in get_messages(response.wsgi_request)]


@pytest.mark.parametrize("model", ["customer", "product", "order", "event"])
def test_a_superuser_can_browse_the_changelist(superuser_client, order, model):
    response = superuser_client.get(admin_url(model, "changelist"))

    assert response.status_code == 200


@pytest.mark.parametrize("model", ["customer", "product", "order", "event"])
def test_a_superuser_can_search_the_changelist_with_any_text(superuser_client, order, model):
    response = superuser_client.get(admin_url(model, "changelist"), {"q": "not-an-id"})

    assert response.status_code == 200


@pytest.mark.parametrize("model", ["customer", "product", "order", "event"])
def test_a_superuser_can_open_a_change_page(superuser_client, order, model):
    pk = {
        "customer": order.customer_id,
        "product": order.items.get().product_id,
        "order": order.pk,
        "event": Event.objects.get(stream_id=order.pk).pk,
    }[model]

    response = superuser_client.get(admin_url(model, "change", pk))

    assert response.status_code == 200


# --- customers and products go through the services ---


def test_adding_a_customer_in_the_admin_records_customer_registered(superuser_client):
    response = superuser_client.post(
        admin_url("customer", "add"), {"name": "Ann Lee", "email": "ann@example.com"}
    )

    assert response.status_code == 302
    customer = Customer.objects.get(email="ann@example.com")
    event = Event.objects.get(stream_id=customer.id)
    assert (event.event_type, event.version) == ("CustomerRegistered", 1)
    assert (event.metadata["actor"], event.metadata["command"]) == ("admin", "RegisterCustomer")


def test_editing_a_customer_in_the_admin_records_customer_updated(superuser_client, customer):
    response = superuser_client.post(
        admin_url("customer", "change", customer.pk), {"name": "Renamed", "email": customer.email}
    )

    assert response.status_code == 302
    [event] = stream_events(customer.id)[1:]
    assert event.event_type == "CustomerUpdated"
    assert (event.data["name"], event.data["changed_fields"]) == ("Renamed", ["name"])
    assert Customer.objects.get(pk=customer.pk).version == 2


def test_saving_a_customer_unchanged_in_the_admin_records_nothing(superuser_client, customer):
    counts = row_counts()

    response = superuser_client.post(
        admin_url("customer", "change", customer.pk),
        {"name": customer.name, "email": customer.email},
    )

    assert response.status_code == 302
    assert row_counts() == counts


def test_adding_a_product_in_the_admin_records_product_added(superuser_client):
    response = superuser_client.post(
        admin_url("product", "add"), {"name": "Pen", "category": "office", "unit_price": "2.5"}
    )

    assert response.status_code == 302
    product = Product.objects.get(name="Pen")
    event = Event.objects.get(stream_id=product.id)
    assert (event.event_type, event.data["unit_price"]) == ("ProductAdded", "2.50")


def test_editing_a_product_in_the_admin_records_product_updated(superuser_client, product):
    response = superuser_client.post(
        admin_url("product", "change", product.pk),
        {"name": product.name, "category": product.category, "unit_price": "11.00"},
    )

    assert response.status_code == 302
    event = Event.objects.get(stream_id=product.id, version=2)
    assert (event.event_type, event.data["changed_fields"]) == ("ProductUpdated", ["unit_price"])


def test_adding_a_customer_with_an_email_already_taken_shows_a_form_error(superuser_client):
    make_customer(email="ann@example.com")
    counts = row_counts()

    response = superuser_client.post(
        admin_url("customer", "add"), {"name": "Other", "email": "ann@example.com"}
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert row_counts() == counts


@pytest.mark.parametrize(
    ("model", "data"),
    [
        ("customer", {"name": "Other Ann", "email": "ANN@example.com"}),
        ("product", {"name": "Pen", "category": "office", "unit_price": "-5.00"}),
    ],
    ids=["email taken in another case", "negative price"],
)
def test_input_the_services_refuse_is_a_form_error_not_a_500(superuser_client, model, data):
    make_customer(email="ann@example.com")
    superuser_client.raise_request_exception = False
    counts = row_counts()

    response = superuser_client.post(admin_url(model, "add"), data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert row_counts() == counts


@pytest.mark.parametrize("model", ["customer", "product", "order", "event"])
def test_nothing_can_be_deleted_in_the_admin(superuser_client, order, model):
    pk = {
        "customer": order.customer_id,
        "product": order.items.get().product_id,
        "order": order.pk,
        "event": Event.objects.get(stream_id=order.pk).pk,
    }[model]
    counts = row_counts()

    response = superuser_client.post(admin_url(model, "delete", pk), {"post": "yes"})

    assert response.status_code == 403
    assert row_counts() == counts


# --- orders change status only through the action ---


def change_status_action(client: Client, action: str, *orders: Order):
    return client.post(
        admin_url("order", "changelist"),
        {"action": action, "_selected_action": [str(order.pk) for order in orders]},
        follow=True,
    )


def test_the_status_action_changes_the_order_through_the_service(superuser_client, order):
    response = change_status_action(superuser_client, "mark_confirmed", order)

    assert response.status_code == 200
    row = Order.objects.get(pk=order.pk)
    assert (row.status, row.version) == ("confirmed", 2)
    event = Event.objects.get(stream_id=order.pk, version=2)
    assert (event.event_type, event.data["new_status"], event.data["changed_by"]) == (
        "OrderStatusUpdated",
        "confirmed",
        "admin",
    )
    assert any("1 order(s) changed to confirmed" in m for m in messages_of(response))


def test_an_invalid_transition_in_the_action_is_reported_not_a_500(
    superuser_client, order, customer, product
):
    shipped = make_order(customer, [(product, 1)])
    set_status(shipped.id, "confirmed", "paid", "shipped")
    counts = row_counts()

    response = change_status_action(superuser_client, "mark_cancelled", order, shipped)

    assert response.status_code == 200
    messages = messages_of(response)
    assert any("1 order(s) changed to cancelled" in m for m in messages)
    assert any(str(shipped.id) in m and "'shipped'" in m for m in messages)
    assert Order.objects.get(pk=shipped.pk).status == "shipped"
    assert Order.objects.get(pk=order.pk).status == "cancelled"
    assert row_counts()["Event"] == counts["Event"] + 1


def test_an_order_cannot_be_edited_or_added_in_the_admin(superuser_client, order):
    change_page = superuser_client.get(admin_url("order", "change", order.pk))
    counts = row_counts()

    posted = superuser_client.post(admin_url("order", "change", order.pk), {"status": "paid"})
    added = superuser_client.get(admin_url("order", "add"))

    assert b'name="_save"' not in change_page.content
    assert (posted.status_code, added.status_code) == (403, 403)
    assert row_counts() == counts


# --- the event store is read-only ---


def test_the_event_admin_has_no_add_change_or_delete(superuser_client, admin_user, customer):
    event = Event.objects.get(stream_id=customer.id)
    model_admin = admin.site.get_model_admin(Event)
    request = superuser_client.get(admin_url("event", "changelist")).wsgi_request
    request.user = admin_user

    added = superuser_client.get(admin_url("event", "add"))
    changed = superuser_client.post(admin_url("event", "change", event.pk), {"event_type": "X"})

    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, event)
    assert not model_admin.has_delete_permission(request, event)
    assert (added.status_code, changed.status_code) == (403, 403)
    assert Event.objects.get(pk=event.pk).event_type == "CustomerRegistered"

"""An order's story and a request's trace: the events, their commands, and the read rows."""

from uuid import uuid4

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from orders_write.models import Event
from tests.conftest import make_customer, make_order, make_product, order_body, set_status

pytestmark = pytest.mark.django_db


def story_url(order_id) -> str:
    return reverse("order-story", args=[order_id])


def test_the_story_lists_every_event_with_its_command_actor_and_ids(
    admin_client, customer, product
):
    order = make_order(customer, [(product, 2)])
    set_status(order.id, "confirmed", "paid")

    page = admin_client.get(story_url(order.id)).content.decode()

    assert page.count('class="story-event"') == 3
    assert page.count("UpdateOrderStatus") == 2 and "CreateOrder" in page
    for event in Event.objects.filter(stream_id=order.id):
        assert event.metadata["correlation_id"] in page
        assert event.metadata["causation_id"] in page
        assert reverse("admin:orders_write_event_change", args=[event.pk]) in page


def test_the_story_shows_the_version_each_read_table_holds(admin_client, customer, product):
    order = make_order(customer, [(product, 1)])
    set_status(order.id, "cancelled")

    page = admin_client.get(story_url(order.id)).content.decode()

    assert page.count("<td>version 2</td>") == 2
    assert "up to version 2" in page
    assert "does not count it (cancelled)" in page
    assert "0 of 1 line(s) counted" in page
    assert "behind the stream" not in page
    assert reverse("admin:orders_read_customeranalytics_change", args=[customer.id]) in page


def test_the_story_of_an_unknown_order_is_a_404(admin_client):
    assert admin_client.get(story_url(uuid4())).status_code == 404


def test_a_customer_stream_has_no_order_story(admin_client, customer):
    assert admin_client.get(story_url(customer.id)).status_code == 404


def test_a_correlation_id_finds_every_event_of_one_request(admin_client, admin_api, customer):
    product = make_product()
    correlation = str(uuid4())
    admin_api.post(
        "/api/orders/",
        order_body(customer, (product, 1)),
        format="json",
        HTTP_X_CORRELATION_ID=correlation,
    )
    make_order(customer, [(product, 1)])

    page = admin_client.get(reverse("event-trace"), {"correlation_id": correlation})

    assert page.status_code == 200
    assert page.content.decode().count('class="trace-event"') == 1
    assert "OrderCreated" in page.content.decode()


def test_a_malformed_correlation_id_is_a_400(admin_client):
    response = admin_client.get(reverse("event-trace"), {"correlation_id": "nope"})

    assert response.status_code == 400
    assert "Enter a correlation id" in response.content.decode()


def test_the_story_needs_the_event_view_permission(client, customer, product):
    order = make_order(customer, [(product, 1)])
    client.force_login(User.objects.create_user("staff", password="x", is_staff=True))

    assert client.get(story_url(order.id)).status_code == 403
    assert client.get(reverse("event-trace")).status_code == 403


def test_the_order_admin_pages_link_to_the_story(admin_client):
    order = make_order(make_customer(), [(make_product(), 1)])

    for url in (
        reverse("admin:orders_write_order_changelist"),
        reverse("admin:orders_read_ordersummary_changelist"),
        reverse("admin:orders_read_orderdetails_change", args=[order.id]),
        reverse("admin:orders_write_event_changelist"),
    ):
        assert story_url(order.id) in admin_client.get(url).content.decode(), url

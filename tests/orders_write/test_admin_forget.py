"""The admin's "Forget the selected customers" action: it asks for a reason, then forgets."""

import pytest
from django.contrib.admin import helpers
from django.contrib.auth.models import Permission, User
from django.test import Client

from orders_write.models import Customer, CustomerKey, Event
from orders_write.personal_data import FORGOTTEN_NAME
from tests.conftest import admin_url, make_customer

pytestmark = pytest.mark.django_db


def choose(customers: list[Customer], **extra: str) -> dict:
    return {
        "action": "forget",
        helpers.ACTION_CHECKBOX_NAME: [str(c.pk) for c in customers],
        **extra,
    }


def test_the_action_asks_for_a_reason_first_and_forgets_nobody(superuser_client, customer):
    page = superuser_client.post(admin_url("customer", "changelist"), choose([customer]))

    assert page.status_code == 200
    assert "Forget these customers" in page.content.decode()
    assert CustomerKey.objects.filter(customer_id=customer.pk).exists()


def test_the_action_forgets_every_selected_customer_with_the_reason(superuser_client):
    ann, bob = make_customer(), make_customer()

    response = superuser_client.post(
        admin_url("customer", "changelist"), choose([ann, bob], reason="Tickets 8 and 9")
    )

    assert response.status_code == 302
    assert set(Customer.objects.values_list("name", flat=True)) == {FORGOTTEN_NAME}
    events = Event.objects.filter(event_type="CustomerForgotten")
    assert {e.data["reason"] for e in events} == {"Tickets 8 and 9"}
    assert {e.metadata["actor"] for e in events} == {"admin"}


def test_the_action_reports_a_refused_customer_and_forgets_the_others(superuser_client):
    ann, bob = make_customer(), make_customer()
    url = admin_url("customer", "changelist")
    superuser_client.post(url, choose([ann], reason="Ticket 8"))

    response = superuser_client.post(url, choose([ann, bob], reason="Ticket 9"), follow=True)

    text = response.content.decode()
    assert "1 customer(s) forgotten." in text and "was forgotten at their request" in text
    assert Event.objects.filter(event_type="CustomerForgotten").count() == 2


def test_staff_without_the_forget_permission_are_not_offered_the_action(customer):
    staff = User.objects.create_user("clerk", password="clerk-pass-123", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__in=["view_customer"]))
    client = Client()
    client.force_login(staff)

    page = client.get(admin_url("customer", "changelist"))
    refused = client.post(admin_url("customer", "changelist"), choose([customer], reason="x"))

    assert page.status_code == 200 and 'value="forget"' not in page.content.decode()
    assert refused.status_code in (200, 302)
    assert CustomerKey.objects.filter(customer_id=customer.pk).exists()

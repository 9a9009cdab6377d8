"""Forgetting a customer: the key goes, the events stay, and their personal data reads as
placeholders everywhere while every number stays."""

from io import StringIO

import pytest
from axes.models import AccessAttempt
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from orders_read.models import CustomerAnalytics, OrderDetails, OrderSummary
from orders_read.projections import NAMES
from orders_read.rebuild.replay import projection_rows, rebuild, verify
from orders_write import services
from orders_write.commands import ForgetCustomer, UpdateCustomer
from orders_write.event_reader import stream_events
from orders_write.event_store import load_stream
from orders_write.exceptions import ForgottenCustomer, InvalidCommand
from orders_write.models import Customer, CustomerKey, Event, Order
from orders_write.personal_data import FORGOTTEN_ADDRESS, FORGOTTEN_NAME
from tests.conftest import ADDRESS, make_customer, make_order, set_status
from tests.privacy_scan import find_texts

NAME, EMAIL = "Zoë Quillfeather", "zoe.quill@example.org"


def all_rows() -> dict:
    return {name: projection_rows(name) for name in NAMES}


def forget(customer: Customer, reason: str = "Erasure request 2026-41") -> Customer:
    return services.forget_customer(ForgetCustomer(customer_id=customer.id, reason=reason))


@pytest.fixture
def zoe(db) -> Customer:
    return make_customer(NAME, EMAIL)


def test_stored_events_hold_personal_fields_only_sealed(zoe, product):
    make_order(zoe, [(product, 1)])

    stored = list(Event.objects.filter(event_type__in=["CustomerRegistered", "OrderCreated"]))

    assert {tuple(event.data["sealed"]["fields"]) for event in stored} == {
        ("name", "email"),
        ("customer_name", "customer_email", "shipping_address", "billing_address"),
    }
    texts = str([event.data for event in stored])
    assert NAME not in texts and EMAIL not in texts and ADDRESS["line1"] not in texts


def test_every_reader_sees_the_personal_fields_in_clear_while_the_key_exists(zoe, product):
    order = make_order(zoe, [(product, 1)])

    [(_, created)] = load_stream(order.id)

    assert (created["customer_name"], created["customer_email"]) == (NAME, EMAIL)
    assert created["shipping_address"] == {**ADDRESS, "line2": ""}
    assert stream_events(zoe.id)[0].data["name"] == NAME


def test_forgetting_deletes_the_key_and_records_an_event_without_personal_data(zoe):
    forget(zoe)

    assert not CustomerKey.objects.filter(customer_id=zoe.id).exists()
    forgotten = Event.objects.get(stream_id=zoe.id, event_type="CustomerForgotten")
    assert forgotten.data == {"customer_id": str(zoe.id), "reason": "Erasure request 2026-41"}
    assert forgotten.version == 2


def test_forgetting_puts_placeholders_in_the_write_rows(zoe, product):
    order = make_order(zoe, [(product, 2)])

    forget(zoe)

    row = Customer.objects.get(pk=zoe.id)
    assert (row.name, row.email, row.version) == (FORGOTTEN_NAME, None, 2)
    assert row.forgotten_at is not None
    order_row = Order.objects.get(pk=order.id)
    assert order_row.shipping_address == order_row.billing_address == FORGOTTEN_ADDRESS
    assert order_row.total_amount == order.total_amount


def test_forgetting_puts_placeholders_in_every_read_row_and_keeps_the_numbers(zoe, product):
    order = make_order(zoe, [(product, 3)])
    set_status(order.id, "confirmed")
    analytics_before = CustomerAnalytics.objects.values("total_orders", "total_spent").get()

    forget(zoe)

    summary = OrderSummary.objects.get(order_id=order.id)
    details = OrderDetails.objects.get(order_id=order.id)
    analytics = CustomerAnalytics.objects.get(customer_id=zoe.id)
    assert summary.customer_name == details.customer_name == analytics.customer_name
    assert summary.customer_name == FORGOTTEN_NAME
    assert details.customer_email == analytics.customer_email == ""
    assert details.shipping_address == details.billing_address == FORGOTTEN_ADDRESS
    assert (summary.total_amount, summary.status) == (order.total_amount, "confirmed")
    assert {"total_orders": analytics.total_orders, "total_spent": analytics.total_spent} == (
        analytics_before
    )


def test_the_stored_events_read_as_placeholders_once_forgotten(zoe, product):
    order = make_order(zoe, [(product, 1)])

    forget(zoe)

    [(_, created)] = load_stream(order.id)
    assert created["customer_name"] == FORGOTTEN_NAME
    assert created["customer_email"] == ""
    assert created["shipping_address"] == FORGOTTEN_ADDRESS
    assert created["total_amount"] == str(order.total_amount)


def test_a_forgotten_customers_orders_still_change_status(zoe, product):
    order = make_order(zoe, [(product, 1)])
    forget(zoe)

    set_status(order.id, "confirmed", "paid")

    assert OrderSummary.objects.get(order_id=order.id).status == "paid"


# Transactional: on PostgreSQL a replay reads only committed events.
@pytest.mark.django_db(transaction=True)
def test_verify_stays_clean_and_a_rebuild_reproduces_the_forgotten_state(zoe, product):
    order = make_order(zoe, [(product, 1)])
    set_status(order.id, "cancelled")
    make_order(make_customer(), [(product, 4)])
    forget(zoe)
    before = all_rows()

    assert verify(list(NAMES)) == []
    rebuild(list(NAMES))

    assert all_rows() == before
    assert verify(list(NAMES)) == []


def test_a_new_order_for_a_forgotten_customer_is_refused(zoe, product):
    forget(zoe)

    with pytest.raises(ForgottenCustomer, match="forgotten"):
        make_order(zoe, [(product, 1)])

    assert not Order.objects.exists()


def test_a_forgotten_customer_cannot_be_changed_or_forgotten_again(zoe):
    forget(zoe)
    events = Event.objects.count()

    with pytest.raises(ForgottenCustomer):
        services.update_customer(UpdateCustomer(customer_id=zoe.id, name="Back again"))
    with pytest.raises(ForgottenCustomer):
        forget(zoe)

    assert Event.objects.count() == events


def test_a_reason_that_names_the_customer_is_refused(zoe):
    for reason in (f"asked by {NAME}", f"mail from {EMAIL.upper()}", "  "):
        with pytest.raises(InvalidCommand) as refused:
            forget(zoe, reason)
        assert refused.value.field == "reason"

    assert CustomerKey.objects.filter(customer_id=zoe.id).exists()


def test_forgetting_erases_admin_log_entries_sessions_and_login_failures(zoe, admin_user):
    LogEntry.objects.create(
        user=admin_user,
        content_type=ContentType.objects.get_for_model(Customer),
        object_id=str(zoe.pk),
        object_repr=str(zoe),
        action_flag=ADDITION,
        change_message='[{"added": {}}]',
    )
    session = SessionStore()
    session["_messages"] = f'[["__json_message", 0, 25, "The customer {NAME} was added."]]'
    session.create()
    other = SessionStore()
    other["note"] = "nothing personal"
    other.create()
    AccessAttempt.objects.create(
        username=EMAIL,
        ip_address="10.0.0.1",
        user_agent="x",
        http_accept="*/*",
        path_info="/admin/login/",
        get_data="",
        post_data=f"username={EMAIL}",
        failures_since_start=1,
    )

    forget(zoe)

    assert LogEntry.objects.get().object_repr == FORGOTTEN_NAME
    assert not SessionStore().exists(session.session_key)
    assert Session.objects.filter(session_key=other.session_key).exists()
    assert not AccessAttempt.objects.exists()
    assert find_texts([NAME, EMAIL]) == []


def test_no_table_holds_the_forgotten_customers_data(zoe, product):
    make_order(zoe, [(product, 1)])
    assert find_texts([EMAIL])

    forget(zoe)

    assert find_texts([NAME, EMAIL, ADDRESS["line1"], "Lyon"]) == []


def test_forget_customer_command_forgets_and_prints_the_position(zoe):
    out = StringIO()

    call_command("forget_customer", str(zoe.id), "--reason", "Ticket 77", stdout=out)

    position = Event.objects.get(stream_id=zoe.id, event_type="CustomerForgotten").position
    assert f"at position {position}" in out.getvalue()
    assert Customer.objects.get(pk=zoe.id).name == FORGOTTEN_NAME


# Transactional: the migrations run as they do on a deployed database.
@pytest.mark.django_db(transaction=True)
def test_the_migration_seals_events_stored_in_clear_and_the_store_stays_append_only(product):
    zoe = make_customer(NAME, EMAIL)
    order = make_order(zoe, [(product, 1)])
    call_command("migrate", "orders_write", "0006", verbosity=0)
    assert Event.objects.get(stream_id=zoe.id).data["email"] == EMAIL

    call_command("migrate", "orders_write", verbosity=0)

    assert "email" not in Event.objects.get(stream_id=zoe.id).data
    [(_, created)] = load_stream(order.id)
    assert (created["customer_name"], created["customer_email"]) == (NAME, EMAIL)
    if connection.vendor == "postgresql":
        refused = pytest.raises(DatabaseError, match="append-only")
        with refused, transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE events SET version = version")

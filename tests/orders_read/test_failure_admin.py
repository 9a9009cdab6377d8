"""Operating projections from the admin and the API: failed events, retry, skip, status page."""

import re

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from orders_read.models import CustomerAnalytics, ProjectionFailure
from orders_read.projections import NAMES
from orders_read.running.status import projection_statuses
from orders_write.models import Event
from tests.conftest import age_of_oldest, left_to_apply, make_order, make_viewer

pytestmark = pytest.mark.django_db
# Retry and skip catch up from committed events only on PostgreSQL: those tests commit.
reads_the_event_store = pytest.mark.django_db(transaction=True)

FAILURES = reverse("admin:orders_read_projectionfailure_changelist")
STATUS_PAGE = "/admin/projections/"


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def failure(customer, product, broken_customer_analytics) -> ProjectionFailure:
    """customer_analytics fails, for real, on the customer's first order."""
    make_order(customer, [(product, 2)])
    return ProjectionFailure.objects.get()


def state_of(name: str) -> str:
    return next(s.state for s in projection_statuses() if s.name == name)


def head() -> int:
    return Event.objects.latest("position").position


def act(client, action: str, failure: ProjectionFailure, **fields):
    """Run an admin action on one failure from the changelist."""
    return client.post(FAILURES, {"action": action, "_selected_action": [failure.pk], **fields})


def test_failures_changelist_lists_a_real_failure(admin_client, failure):
    response = admin_client.get(FAILURES)

    page = response.content.decode()
    assert response.status_code == 200
    assert "customer_analytics" in page and "OrderCreated" in page
    assert "total_orders" in page
    assert f">#{failure.event_position}</a>" in page


@reads_the_event_store
def test_retry_after_repairing_the_cause_makes_the_projection_current(
    admin_client, failure, customer, broken_customer_analytics
):
    broken_customer_analytics()

    response = act(admin_client, "retry", failure)

    assert response.status_code == 302
    failure.refresh_from_db()
    assert failure.resolution == ProjectionFailure.RETRIED
    assert failure.resolved_at is not None
    assert state_of("customer_analytics") == "current"
    assert CustomerAnalytics.objects.get(customer_id=customer.id).total_orders == 1
    message = admin_client.get(FAILURES).content.decode().lower()
    assert re.search(r"customer_analytics: applied \d+ event\(s\); it is current\.", message)


@reads_the_event_store
def test_retry_while_the_cause_persists_keeps_the_failure_open(admin_client, failure):
    response = act(admin_client, "retry", failure)

    assert response.status_code == 302
    failure.refresh_from_db()
    assert failure.resolution == ""
    assert state_of("customer_analytics") == "stalled"
    assert "still fails on event #" in admin_client.get(FAILURES).content.decode()


def test_skip_first_asks_for_a_reason(admin_client, failure):
    response = act(admin_client, "skip", failure)

    page = response.content.decode()
    assert response.status_code == 200
    assert "<textarea" in page and 'name="reason"' in page
    assert f"event #{failure.event_position}" in page
    failure.refresh_from_db()
    assert failure.resolution == ""


def test_skip_refuses_an_empty_reason(admin_client, failure, broken_customer_analytics):
    broken_customer_analytics()

    response = act(admin_client, "skip", failure, confirm="yes", reason="   ")

    assert response.status_code == 200
    assert "Say why these events are skipped." in response.content.decode()
    failure.refresh_from_db()
    assert (failure.resolution, failure.resolved_by, failure.reason) == ("", "", "")
    assert state_of("customer_analytics") == "stalled"


@reads_the_event_store
def test_skip_with_a_reason_is_recorded_and_lets_the_projection_move_on(
    admin_client, admin_user, failure, customer, broken_customer_analytics
):
    broken_customer_analytics()

    response = act(admin_client, "skip", failure, confirm="yes", reason="counted by hand")

    assert response.status_code == 302
    failure.refresh_from_db()
    assert failure.resolution == ProjectionFailure.SKIPPED
    assert failure.resolved_by == admin_user.username
    assert failure.reason == "counted by hand"
    assert failure.resolved_at is not None
    assert state_of("customer_analytics") == "current"
    assert CustomerAnalytics.objects.get(customer_id=customer.id).total_orders == 0


def test_admin_index_links_to_the_projection_status_page(admin_client):
    response = admin_client.get(reverse("admin:index"))

    assert response.status_code == 200
    assert f'href="{STATUS_PAGE}"' in response.content.decode()


def test_projection_status_page_lists_every_projection_and_shows_a_stalled_one(
    admin_client, failure
):
    response = admin_client.get(STATUS_PAGE)

    page = response.content.decode()
    assert response.status_code == 200
    assert all(f"<td>{name}</td>" in page for name in NAMES)
    assert page.count("<td>current</td>") == len(NAMES) - 1
    assert ">stalled<" in page
    assert "total_orders" in page
    assert "lag (events)" in page and "lag (seconds)" in page


def test_projection_status_api_describes_each_projection(admin_client, failure):
    unapplied = left_to_apply(failure.event_position)
    waited = age_of_oldest(unapplied)

    response = admin_client.get("/api/projections/")

    assert response.status_code == 200
    statuses = {status["name"]: status for status in response.json()}
    assert sorted(statuses) == sorted(NAMES)
    for status in statuses.values():
        expected = {"name", "position", "lag", "lag_seconds", "state", "last_error"}
        expected |= {"open_failures", "last_error_at", "last_advanced_at"}
        assert expected <= set(status)
    analytics = statuses.pop("customer_analytics")
    assert analytics["state"] == "stalled"
    assert analytics["open_failures"] == 1
    assert analytics["lag"] == unapplied.count()
    assert waited <= analytics["lag_seconds"] <= age_of_oldest(unapplied)
    assert "total_orders" in analytics["last_error"]
    for status in statuses.values():
        assert (status["state"], status["position"], status["lag"]) == ("current", head(), 0)
        assert status["lag_seconds"] == 0
        assert (status["last_error"], status["open_failures"]) == ("", 0)
    assert 0 <= analytics["position"] < failure.event_position


def test_projection_status_api_needs_a_logged_in_user(client):
    assert client.get("/api/projections/").status_code in (401, 403)


def test_staff_without_the_projection_permission_cannot_open_the_status_page(client):
    client.force_login(User.objects.create_user("clerk", password="clerk-pass-123", is_staff=True))

    response = client.get(STATUS_PAGE)
    index = client.get(reverse("admin:index")).content.decode()

    assert response.status_code == 403
    assert f'href="{STATUS_PAGE}"' not in index


def test_non_staff_user_cannot_open_the_projection_status_page(client):
    client.force_login(User.objects.create_user("reader", password="reader-pass-123"))

    response = client.get(STATUS_PAGE)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_a_viewer_sees_only_the_class_and_position_of_a_projection_error(client, failure):
    client.force_login(make_viewer())

    response = client.get("/api/projections/")

    assert response.status_code == 200
    analytics = next(s for s in response.json() if s["name"] == "customer_analytics")
    error_class = failure.error.split(":")[0]
    assert analytics["last_error"] == f"{error_class} at position {failure.event_position}"
    assert "total_orders" not in response.content.decode()


def test_a_user_without_the_view_permission_cannot_read_projection_status(client, failure):
    client.force_login(User.objects.create_user("nobody", password="nobody-pass-123"))

    response = client.get("/api/projections/")

    assert response.status_code == 403
    assert "total_orders" not in response.content.decode()


# --- the failure's own page ---------------------------------------------------------------------


def change_page(failure: ProjectionFailure) -> str:
    return reverse("admin:orders_read_projectionfailure_change", args=[failure.pk])


def test_a_failures_page_has_retry_and_skip_buttons_that_post_the_actions(admin_client, failure):
    page = admin_client.get(change_page(failure)).content.decode()

    form = page[page.index('class="failure-actions"') :]
    assert f'action="{FAILURES}"' in page
    assert 'name="action" value="retry"' in form and 'name="action" value="skip"' in form
    assert f'name="_selected_action" value="{failure.pk}"' in form
    assert "historylink" not in page


def test_a_failures_traceback_is_monospace_and_collapsed_with_its_ids_linked(admin_client, failure):
    page = admin_client.get(change_page(failure)).content.decode()

    assert '<details class="traceback"><summary>Show the traceback (' in page
    assert '<pre class="traceback">Traceback (most recent call last):' in page
    events = reverse("admin:orders_write_event_changelist")
    assert f'href="{events}?stream_id={failure.stream_id}"' in page
    assert reverse("admin:orders_write_event_change", args=[failure.event_position]) in page


def test_a_viewer_gets_no_buttons_on_a_failures_page(client, failure):
    client.force_login(make_viewer())

    page = client.get(change_page(failure)).content.decode()
    assert 'name="action" value="retry"' not in page


def test_the_failure_list_shows_the_open_ones_unless_asked(admin_client, failure):
    ProjectionFailure.objects.filter(pk=failure.pk).update(resolution=ProjectionFailure.SKIPPED)

    assert f"#{failure.pk}<" not in admin_client.get(FAILURES).content.decode()
    resolved = admin_client.get(FAILURES, {"state": "resolved"}).content.decode()
    assert f"#{failure.pk}<" in resolved
    assert f"#{failure.pk}<" in admin_client.get(FAILURES, {"state": "all"}).content.decode()


def test_a_resolved_failure_leaves_the_status_without_its_error(failure):
    assert "total_orders" in projection_statuses()[NAMES.index("customer_analytics")].last_error

    ProjectionFailure.objects.filter(pk=failure.pk).update(resolution=ProjectionFailure.RETRIED)

    status = projection_statuses()[NAMES.index("customer_analytics")]
    assert (status.last_error, status.open_failures) == ("", 0)

"""Retries without an operator: each failed try of an event counts on its one open failure,
and a stalled projection is due for a retry once its failure has waited long enough."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from orders_read.models import ProjectionFailure, ProjectionState
from orders_read.running.retries import MAX_RETRY_WAIT_SECONDS, retries_due, retry_wait
from tests.conftest import make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def first_retry_after_ten_seconds(settings):
    settings.PROJECTION_RETRY_SECONDS = 10


def test_the_wait_doubles_at_each_failed_try_up_to_ten_minutes(first_retry_after_ten_seconds):
    waits = [retry_wait(attempts).total_seconds() for attempts in (1, 2, 3, 4, 8, 50)]

    assert waits == [10, 20, 40, 80, MAX_RETRY_WAIT_SECONDS, MAX_RETRY_WAIT_SECONDS]


def stall(projection: str, *, failed_seconds_ago: float, attempts: int = 1) -> None:
    ProjectionState.objects.update_or_create(name=projection, defaults={"stalled": True})
    ProjectionFailure.objects.create(
        projection=projection,
        event_position=7,
        event_type="OrderCreated",
        stream_id="00000000-0000-0000-0000-000000000001",
        error="OperationalError: the server closed the connection",
        failed_at=timezone.now() - timedelta(seconds=failed_seconds_ago),
        attempts=attempts,
    )


def test_a_stalled_projection_is_due_once_its_failure_has_waited(first_retry_after_ten_seconds):
    stall("customer_analytics", failed_seconds_ago=11)
    stall("product_sales", failed_seconds_ago=9)
    stall("order_summary", failed_seconds_ago=30, attempts=3)  # waits 40 s now

    assert retries_due() == {"customer_analytics"}
    assert retries_due(timezone.now() + timedelta(seconds=11)) == {
        "customer_analytics",
        "product_sales",
        "order_summary",
    }


def test_no_retry_is_due_when_retries_are_off_or_nothing_is_stalled(settings):
    stall("customer_analytics", failed_seconds_ago=3600)
    settings.PROJECTION_RETRY_SECONDS = 0
    assert retries_due() == set()

    settings.PROJECTION_RETRY_SECONDS = 10
    ProjectionState.objects.filter(name="customer_analytics").update(stalled=False)
    assert retries_due() == set()


@pytest.mark.django_db(transaction=True)  # catch-up reads committed events on PostgreSQL
def test_each_failed_try_counts_on_the_one_open_failure(
    customer, product, broken_customer_analytics
):
    make_order(customer, [(product, 2)])
    first = ProjectionFailure.objects.get()
    assert first.attempts == 1

    for _ in range(2):
        with pytest.raises(CommandError):
            call_command("catch_up_projections", "customer_analytics", verbosity=0)

    again = ProjectionFailure.objects.get()
    assert (again.pk, again.attempts) == (first.pk, 3)
    assert again.failed_at > first.failed_at
    broken_customer_analytics()
    call_command("catch_up_projections", "customer_analytics", verbosity=0)
    assert ProjectionFailure.objects.get().resolution == ProjectionFailure.RETRIED

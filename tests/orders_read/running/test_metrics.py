"""Prometheus metrics at /metrics: what they report and who may read them."""

import re

import pytest
from django.db import transaction
from django.test import Client
from prometheus_client import REGISTRY

from orders_read.models import ProjectionFailure
from orders_read.running.catch_up import catch_up
from orders_write import services
from orders_write.commands import UpdateOrderStatus
from orders_write.exceptions import InvalidTransition
from tests.conftest import age_of_oldest, left_to_apply, make_customer, make_order, make_product

pytestmark = pytest.mark.django_db


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scraped(text: str, name: str, projection: str) -> float:
    found = re.search(rf'^{name}{{projection="{projection}"}} (\S+)$', text, re.MULTILINE)
    assert found, f"{name} for {projection} missing"
    return float(found.group(1))


def scrape(settings, **headers: str):
    return Client().get("/metrics", **{f"HTTP_{k.upper()}": v for k, v in headers.items()})


def test_metrics_count_commands_by_outcome_and_time_them(settings):
    settings.DEBUG = True
    accepted = sample("orders_commands_total", command="create_order", outcome="accepted")
    refused = sample("orders_commands_total", command="update_order_status", outcome="refused")
    order = make_order(make_customer(), [(make_product(), 1)])
    with pytest.raises(InvalidTransition):
        services.update_order_status(UpdateOrderStatus(order_id=order.id, status="delivered"))

    text = scrape(settings).content.decode()

    assert sample("orders_commands_total", command="create_order", outcome="accepted") == (
        accepted + 1
    )
    assert sample("orders_commands_total", command="update_order_status", outcome="refused") == (
        refused + 1
    )
    assert 'orders_command_seconds_count{command="create_order"}' in text


def test_metrics_show_positions_lag_and_events_applied_of_current_projections(
    settings, django_capture_on_commit_callbacks
):
    settings.DEBUG = True
    applied = sample(
        "orders_projection_events_applied_total", projection="order_summary", by="command"
    )
    customer, product = make_customer(), make_product()
    with django_capture_on_commit_callbacks(execute=True):
        make_order(customer, [(product, 2)])

    text = scrape(settings).content.decode()

    head = float(re.search(r"^orders_event_store_head (\S+)$", text, re.MULTILINE).group(1))
    assert scraped(text, "orders_projection_position", "order_summary") == head > 0
    assert scraped(text, "orders_projection_lag_events", "order_summary") == 0
    assert scraped(text, "orders_projection_stalled", "order_summary") == 0
    assert scraped(text, "orders_projection_behind", "order_summary") == 0
    assert (
        sample("orders_projection_events_applied_total", projection="order_summary", by="command")
        == applied + 1
    )


def test_metrics_show_a_stalled_projection_its_lag_and_its_failure(settings, analytics_schema):
    settings.DEBUG = True
    failures = sample("orders_projection_failures_total", projection="customer_analytics")
    ann = make_customer()
    analytics_schema.break_column("total_orders")
    make_order(ann, [(make_product(), 1)])
    analytics_schema.repair()
    unapplied = left_to_apply(ProjectionFailure.objects.get().event_position)
    waited = age_of_oldest(unapplied)

    text = scrape(settings).content.decode()

    assert scraped(text, "orders_projection_stalled", "customer_analytics") == 1
    lag = scraped(text, "orders_projection_lag_events", "customer_analytics")
    assert lag == unapplied.count()
    lag_seconds = scraped(text, "orders_projection_lag_seconds", "customer_analytics")
    assert waited <= lag_seconds <= age_of_oldest(unapplied)
    assert scraped(text, "orders_projection_open_failures", "customer_analytics") == 1
    assert sample("orders_projection_failures_total", projection="customer_analytics") == (
        failures + 1
    )


def test_events_applied_count_only_once_their_batch_commits(
    analytics_schema, django_capture_on_commit_callbacks
):
    analytics_schema.break_column("total_orders")
    make_order(make_customer(), [(make_product(), 1)])
    analytics_schema.repair()
    labels = {"projection": "customer_analytics", "by": "catch_up"}
    before = sample("orders_projection_events_applied_total", **labels)

    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        catch_up("customer_analytics")
        raise RuntimeError("the worker is killed before the batch commits")
    rolled_back = sample("orders_projection_events_applied_total", **labels)
    with django_capture_on_commit_callbacks(execute=True):
        applied = catch_up("customer_analytics").applied

    assert rolled_back == before
    assert sample("orders_projection_events_applied_total", **labels) == before + applied > before


def test_metrics_need_the_bearer_token_when_one_is_set(settings):
    settings.METRICS_TOKEN = "s3cret-metrics-token"

    missing = scrape(settings)
    wrong = scrape(settings, authorization="Bearer nope")
    right = scrape(settings, authorization="Bearer s3cret-metrics-token")

    assert missing.status_code == wrong.status_code == 401
    assert missing["WWW-Authenticate"].startswith("Bearer")
    assert right.status_code == 200
    assert right["Content-Type"].startswith("text/plain")


def test_metrics_do_not_exist_in_production_without_a_token(settings):
    settings.DEBUG, settings.METRICS_TOKEN = False, ""

    assert scrape(settings).status_code == 404

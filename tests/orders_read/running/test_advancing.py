"""Workers advancing projections together (`advance_together`, what async mode's tasks run):
one read of the store per batch for all of them, rows kept between batches, and the
rebuild's shortcuts only where they hold. Called here directly, on the test database."""

import pytest
from django.conf import settings

from orders_read.models import CustomerAnalytics, OrderSummary, ProjectionFailure, ProjectionState
from orders_read.projections import BY_NAME, NAMES, models_of, shared_out
from orders_read.rebuild.replay import verify
from orders_read.running.catch_up import advance_together
from orders_write.event_reader import Checkpoint, checkpoint_at, count_events, head
from orders_write.models import Event
from tests.conftest import make_customer, make_order, make_product, set_status

pytestmark = [
    # Transactional: on PostgreSQL the store is read up to committed events only.
    pytest.mark.django_db(transaction=True),
    # Inline, commands write the rows themselves; async mode's test worker would race these.
    pytest.mark.skipif(settings.PROJECTION_MODE == "async", reason="inline mode's tests"),
]


def some_history() -> None:
    ann, bob = make_customer("Ann"), make_customer("Bob")
    pen, book = make_product("Pen", "office", "1.50"), make_product("Book", "books", "12.00")
    first = make_order(ann, [(pen, 4), (book, 1)])
    second = make_order(bob, [(book, 2)])
    make_order(ann, [(pen, 1)])
    set_status(first.id, "confirmed", "paid", "shipped")
    set_status(second.id, "cancelled")


def forget(names: list[str]) -> None:
    """Empty the named projections' tables and put them back at the start of the store."""
    for name in names:
        for model in models_of(name):
            model.objects.all().delete()
    ProjectionState.objects.filter(name__in=names).delete()


def checkpoint_of(name: str) -> Checkpoint:
    return ProjectionState.objects.get(name=name).checkpoint


def test_projections_advanced_together_from_empty_tables_match_a_replay():
    some_history()
    forget(list(NAMES))

    results = advance_together(list(NAMES), batch_size=4)

    assert verify(list(NAMES)) == []
    assert [(r.applied, r.failed_at) for r in results] == [(count_events(), None)] * len(NAMES)
    assert {checkpoint_of(name) for name in NAMES} == {checkpoint_at(head().position)}


def test_each_projection_applies_only_the_events_past_its_own_checkpoint():
    some_history()
    forget(["order_summary", "customer_analytics"])
    advance_together(["order_summary"], batch_size=100)

    results = advance_together(["order_summary", "customer_analytics"], batch_size=3)

    assert [(r.projection, r.applied) for r in results] == [
        ("order_summary", 0),
        ("customer_analytics", count_events()),
    ]
    assert verify(["order_summary", "customer_analytics"]) == []


def test_events_applied_already_change_nothing_when_applied_again():
    """A projection whose tables have rows looks for the rows it adds (no replay shortcut)."""
    some_history()
    # Inline, every row is written already; the checkpoints say nothing was applied.
    ProjectionState.objects.all().delete()
    totals = list(CustomerAnalytics.objects.values_list("customer_id", "total_orders"))

    results = advance_together(list(NAMES), batch_size=5)

    assert all(r.failed_at is None for r in results)
    assert list(CustomerAnalytics.objects.values_list("customer_id", "total_orders")) == totals
    assert verify(list(NAMES)) == []


def test_a_failing_projection_stops_at_its_event_and_the_others_go_on(analytics_schema):
    some_history()
    forget(list(NAMES))
    analytics_schema.break_column("total_orders")

    results = {r.projection: r for r in advance_together(list(NAMES), batch_size=4)}

    fed = Event.objects.filter(event_type__in=BY_NAME["customer_analytics"].by_type)
    first = fed.order_by("position").first()
    assert results["customer_analytics"].failed_at == first.position
    assert ProjectionState.objects.get(name="customer_analytics").stalled
    failure = ProjectionFailure.objects.get()
    assert (failure.projection, failure.event_position) == (
        "customer_analytics",
        first.position,
    )
    others = [name for name in NAMES if name != "customer_analytics"]
    assert all(results[name].failed_at is None for name in others)
    analytics_schema.repair()
    assert verify(others) == []
    assert OrderSummary.objects.count() == 3


def test_a_stalled_projection_is_left_to_catch_up():
    some_history()
    forget(["order_summary"])
    ProjectionState.objects.create(name="order_summary", stalled=True)

    [result] = advance_together(["order_summary"], batch_size=10)

    assert result.applied == 0
    assert OrderSummary.objects.count() == 0


def test_the_groups_share_every_projection_once_by_replay_cost():
    groups = shared_out(NAMES, 2)

    assert sorted(name for group in groups for name in group) == sorted(NAMES)
    costs = [sum(BY_NAME[name].replay_cost for name in group) for group in groups]
    assert max(costs) - min(costs) <= max(p.replay_cost for p in BY_NAME.values())
    assert shared_out(NAMES, 1) == [list(NAMES)]

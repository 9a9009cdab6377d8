"""Management commands as an operator runs them: status, catch-up, rebuild, verify, demo data."""

import re
import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command, get_commands, load_command_class
from django.db import connection, connections, transaction
from django.utils import timezone

from orders_read.models import CustomerAnalytics, OrderSummary, ProjectionFailure
from orders_read.projections import NAMES
from orders_read.rebuild.replay import projection_rows
from orders_read.running.status import projection_statuses
from orders_write.domain import STATUSES
from orders_write.event_reader import NO_HORIZON, Checkpoint, read_events
from orders_write.models import Customer, Event, Order, Product
from tests.conftest import (
    age_of_oldest,
    left_to_apply,
    make_customer,
    make_order,
    make_product,
    on_postgresql,
    set_status,
)

pytestmark = pytest.mark.django_db
# Catch-up, rebuild and verify read only committed events on PostgreSQL: those tests commit.
reads_the_event_store = pytest.mark.django_db(transaction=True)

COMMANDS = [
    "projection_status",
    "catch_up_projections",
    "rebuild_projections",
    "verify_projections",
    "seed_demo",
]
SMALL_DEMO = ["--customers", "6", "--products", "5", "--orders", "40"]
TINY_DEMO = ["--customers", "3", "--products", "3", "--orders", "12"]


def run(name: str, *args: str, **options) -> tuple[str, str]:
    """Run a management command; return what it wrote to stdout and stderr."""
    out, err = StringIO(), StringIO()
    call_command(name, *args, stdout=out, stderr=err, no_color=True, **options)
    return out.getvalue(), err.getvalue()


def run_failing(name: str, *args: str, **options) -> tuple[CommandError, str, str]:
    """Run a command that must fail; return its error and what it wrote."""
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as failure:
        call_command(name, *args, stdout=out, stderr=err, no_color=True, **options)
    return failure.value, out.getvalue(), err.getvalue()


def status_table(output: str) -> dict[str, list[str]]:
    """Parse projection_status output into {projection: [the columns after its name]}."""
    header, *lines = output.splitlines()
    assert header.split()[:5] == ["projection", "state", "position", "lag", "lag(s)"]
    rows = [line.split(maxsplit=6) for line in lines]
    return {name: rest for name, *rest in rows}


def head() -> int:
    return Event.objects.latest("position").position


def live_rows() -> dict:
    return {p: projection_rows(p) for p in NAMES}


def state_of(name: str) -> str:
    return next(s.state for s in projection_statuses() if s.name == name)


def place_orders(count: int = 4) -> list[Order]:
    """Place orders for two customers; cancel every other one."""
    customers = [make_customer(), make_customer()]
    books, toys = make_product(category="books"), make_product(category="toys", unit_price="7.50")
    orders = []
    for n in range(count):
        order = make_order(customers[n % 2], [(books, n + 1), (toys, 1)])
        if n % 2:
            set_status(order.id, "confirmed", "cancelled")
        orders.append(order)
    return orders


def corrupt_summary(order: Order, total: str = "999.99") -> None:
    OrderSummary.objects.filter(order_id=order.id).update(total_amount=total)


def corrupt_analytics(customer_id) -> None:
    CustomerAnalytics.objects.filter(customer_id=customer_id).update(total_orders=77)


@pytest.fixture
def stalled_customer(broken_customer_analytics) -> Customer:
    """A customer whose registration and order customer_analytics failed, for real, to apply."""
    ann = make_customer()
    make_order(ann, [(make_product(unit_price="5.00"), 2)])
    assert state_of("customer_analytics") == "stalled"
    return ann


# -- projection_status ------------------------------------------------------------------


def test_projection_status_prints_one_current_line_per_projection_at_the_head():
    place_orders(2)

    out, err = run("projection_status")

    table = status_table(out)
    assert sorted(table) == sorted(NAMES)
    for state, position, lag, lag_seconds, *_ in table.values():
        assert (state, int(position), int(lag), float(lag_seconds)) == ("current", head(), 0, 0)
    assert err == ""


def test_projection_status_shows_a_stalled_projection_with_its_lag_and_last_error(
    stalled_customer,
):
    unapplied = left_to_apply(ProjectionFailure.objects.get().event_position)
    waited = age_of_oldest(unapplied)

    out, _ = run("projection_status")

    table = status_table(out)
    assert len(out.splitlines()) == 1 + len(NAMES)
    state, _position, lag, lag_seconds, _advanced, error = table["customer_analytics"]
    assert state == "stalled" and int(lag) == unapplied.count()
    # Printed to a tenth of a second.
    assert round(waited, 1) <= float(lag_seconds) <= round(age_of_oldest(unapplied), 1)
    assert "total_orders" in error
    assert table["order_summary"][:4] == ["current", str(head()), "0", "0.0"]


def test_projection_status_shows_a_stalled_projection_at_the_last_event_it_applied(
    stalled_customer,
):
    out, _ = run("projection_status")

    _state, position, *_ = status_table(out)["customer_analytics"]
    first_failed = ProjectionFailure.objects.get().event_position
    assert 0 <= int(position) < first_failed <= head()


def test_projection_status_keeps_a_multi_line_error_on_its_projection_line(analytics_schema):
    ann = make_customer()
    analytics_schema.break_column("version")
    make_order(ann, [(make_product(), 1)])
    analytics_schema.repair()
    assert state_of("customer_analytics") == "stalled"

    out, _ = run("projection_status")

    # PostgreSQL's messages run over several lines ("...does not exist\nLINE 1: ...").
    assert len(out.splitlines()) == 1 + len(NAMES)
    assert "version" in status_table(out)["customer_analytics"][5]


@reads_the_event_store
def test_projection_status_forgets_an_error_once_it_is_resolved(
    stalled_customer, broken_customer_analytics
):
    broken_customer_analytics()
    run("catch_up_projections")

    out, _ = run("projection_status")

    assert status_table(out)["customer_analytics"][0] == "current"
    assert status_table(out)["customer_analytics"][5] == "-"


# -- catch_up_projections ---------------------------------------------------------------


@reads_the_event_store
def test_catch_up_projections_repairs_a_stalled_projection(
    stalled_customer, broken_customer_analytics
):
    broken_customer_analytics()

    out, err = run("catch_up_projections")

    assert "customer_analytics: applied" in out and err == ""
    assert state_of("customer_analytics") == "current"
    assert CustomerAnalytics.objects.get(customer_id=stalled_customer.id).total_orders == 1
    assert not ProjectionFailure.objects.filter(resolution="").exists()


@reads_the_event_store
def test_catch_up_projections_fails_with_non_zero_exit_while_the_failure_persists(
    stalled_customer,
):
    error, _, err = run_failing("catch_up_projections", "customer_analytics")

    assert error.returncode != 0
    assert "customer_analytics" in str(error)
    assert "customer_analytics" in err and "failed on event #" in err
    assert state_of("customer_analytics") == "stalled"
    assert ProjectionFailure.objects.filter(resolution="").exists()


def test_catch_up_projections_refuses_an_unknown_projection():
    error, out, _ = run_failing("catch_up_projections", "order_summary", "no_such_projection")

    assert "no_such_projection" in str(error)
    assert out == ""


# -- rebuild_projections ----------------------------------------------------------------


@reads_the_event_store
def test_rebuild_projections_without_input_restores_exactly_the_live_rows_with_progress():
    orders = place_orders()
    before = live_rows()
    corrupt_summary(orders[0])

    out, _ = run("rebuild_projections", "--no-input")

    assert live_rows() == before
    assert "events" in out and "/s" in out
    assert re.search(r"Rebuilt order_summary, .* from \d+ event\(s\)\.", out)
    assert all(s.state == "current" for s in projection_statuses())


@reads_the_event_store
def test_rebuild_projections_with_a_name_rebuilds_only_that_projection():
    orders = place_orders()
    before = live_rows()
    corrupt_summary(orders[0])
    corrupt_analytics(orders[0].customer_id)

    out, _ = run("rebuild_projections", "order_summary", "--no-input", "--batch-size", "3")

    after = live_rows()
    assert after["order_summary"] == before["order_summary"]
    assert after["customer_analytics"] != before["customer_analytics"]
    assert CustomerAnalytics.objects.get(customer_id=orders[0].customer_id).total_orders == 77
    assert "Rebuilt order_summary from" in out


def test_rebuild_projections_refuses_an_unknown_projection():
    error, _, _ = run_failing("rebuild_projections", "summary", "--no-input")

    assert "summary" in str(error) and "order_summary" in str(error)


def test_rebuild_projections_refuses_a_batch_size_below_one():
    place_orders(1)
    before = live_rows()

    error, _, _ = run_failing("rebuild_projections", "--no-input", "--batch-size", "0")

    assert "--batch-size" in str(error)
    assert live_rows() == before


def test_rebuild_projections_answered_no_cancels_and_changes_nothing(monkeypatch):
    orders = place_orders()
    corrupt_summary(orders[0])
    corrupted = live_rows()
    prompts = []
    monkeypatch.setattr("builtins.input", lambda prompt="": prompts.append(prompt) or "n")

    error, out, _ = run_failing("rebuild_projections")

    assert "cancelled" in str(error).lower()
    assert len(prompts) == 1 and "order_summary" in prompts[0]
    assert live_rows() == corrupted
    assert "events" not in out


@reads_the_event_store
def test_rebuild_projections_answered_yes_rebuilds(monkeypatch):
    orders = place_orders(2)
    before = live_rows()
    corrupt_summary(orders[0])
    monkeypatch.setattr("builtins.input", lambda prompt="": "y")

    run("rebuild_projections", "order_summary")

    assert live_rows() == before


# -- verify_projections (exit status and single rows: see test_lifecycle.py) -------------


@reads_the_event_store
def test_verify_projections_shows_the_first_rows_then_a_summary_of_the_rest():
    orders = place_orders()
    for order in orders[:3]:
        corrupt_summary(order)

    error, out, _ = run_failing("verify_projections", "order_summary", "--show", "1")

    lines = out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("order_summary_view [") and "total_amount" in lines[0]
    assert lines[1] == "... and 2 more differing row(s)"
    assert "3 row(s) differ in: order_summary_view" in str(error)


@reads_the_event_store
def test_verify_projections_reports_a_row_missing_from_the_live_table():
    orders = place_orders(2)
    OrderSummary.objects.filter(order_id=orders[1].id).delete()

    error, out, _ = run_failing("verify_projections")

    assert f"order_summary_view [{orders[1].id}]: missing from the live table" in out
    assert "1 row(s) differ" in str(error)


@on_postgresql
@reads_the_event_store
def test_verify_projections_passes_while_a_transaction_that_writes_no_events_is_open():
    """A long transaction elsewhere (a report, an idle session) must not fake differences."""
    opened, release = threading.Event(), threading.Event()

    def unrelated_transaction():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_current_xact_id()")
            opened.set()
            release.wait(10)
        connections.close_all()

    other = threading.Thread(target=unrelated_transaction)
    other.start()
    try:
        assert opened.wait(10)
        place_orders(2)

        out, _ = run("verify_projections")
    finally:
        release.set()
        other.join(10)

    assert "identical to a replay" in out


# -- seed_demo --------------------------------------------------------------------------


def test_seed_demo_creates_mixed_orders_over_90_days_through_the_services():
    started = timezone.now()

    out, _ = run("seed_demo", *SMALL_DEMO)

    assert "Demo data created." in out and "/s" in out
    assert (Customer.objects.count(), Product.objects.count(), Order.objects.count()) == (6, 5, 40)
    recorded = set(Event.objects.values_list("event_type", "stream_id"))
    assert all(("CustomerRegistered", c.id) in recorded for c in Customer.objects.all())
    assert all(("ProductAdded", p.id) in recorded for p in Product.objects.all())
    assert all(("OrderCreated", o.id) in recorded for o in Order.objects.all())
    assert OrderSummary.objects.count() == 40
    # The default seed takes orders to every status, cancelled included.
    assert set(Order.objects.values_list("status", flat=True)) == set(STATUSES)
    dates = sorted(Order.objects.values_list("order_date", flat=True))
    assert started - timedelta(days=90) <= dates[0] < started - timedelta(days=60)
    assert started - timedelta(days=30) < dates[-1] <= timezone.now()


def _without_ids_and_times(value):
    if isinstance(value, dict):
        return {
            key: _without_ids_and_times(item)
            for key, item in value.items()
            if not key.endswith("_id") and key not in {"order_date", "changed_at"}
        }
    if isinstance(value, list):
        return [_without_ids_and_times(item) for item in value]
    return value


class RolledBack(Exception):
    pass


def seeded_events(seed: str) -> list[tuple]:
    """Run seed_demo in a transaction that is rolled back; return its events without ids/times."""
    try:
        with transaction.atomic():
            run("seed_demo", *TINY_DEMO, "--seed", seed, verbosity=0)
            # Its own events are not settled yet (the transaction is still open): read them all.
            mine = read_events(Checkpoint.START, below=NO_HORIZON, limit=10_000)
            events = [
                (e.stream_type, e.version, e.event_type, _without_ids_and_times(e.data))
                for e in mine
            ]
            raise RolledBack
    except RolledBack:
        pass
    assert not Customer.objects.exists()
    return events


def test_seed_demo_is_deterministic_for_a_given_seed():
    first, again, other = seeded_events("7"), seeded_events("7"), seeded_events("8")

    assert len(first) > 3 + 3 + 12
    assert first == again
    assert first != other


def test_seed_demo_a_second_time_without_force_adds_nothing():
    run("seed_demo", "--customers", "2", "--products", "2", "--orders", "3")
    events = Event.objects.count()

    out, _ = run("seed_demo", "--customers", "2", "--products", "2", "--orders", "3")

    assert "already present" in out
    assert Event.objects.count() == events
    assert Customer.objects.count() == 2


def test_seed_demo_refuses_a_count_below_one():
    error, _, _ = run_failing("seed_demo", "--orders", "0")

    assert "--orders" in str(error)
    assert not Event.objects.exists()


# -- Django conventions -----------------------------------------------------------------


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_explains_itself_with_help(name, capsys):
    with pytest.raises(SystemExit) as exit_:
        call_command(name, "--help")

    assert exit_.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert help_text.startswith(f"usage: {name} [-h]")
    assert " ".join(load_command_class(get_commands()[name], name).help.split()) in help_text
    assert "--verbosity" in help_text


@pytest.mark.parametrize(
    "name, args",
    [
        pytest.param("catch_up_projections", [], marks=reads_the_event_store),
        pytest.param("rebuild_projections", ["--no-input"], marks=reads_the_event_store),
        pytest.param("verify_projections", [], marks=reads_the_event_store),
        ("seed_demo", ["--customers", "1", "--products", "1", "--orders", "1", "--force"]),
    ],
)
def test_commands_print_nothing_on_success_at_verbosity_0(name, args):
    place_orders(2)

    out, err = run(name, *args, verbosity=0)

    assert (out, err) == ("", "")


def test_seed_demo_on_a_seeded_database_prints_nothing_at_verbosity_0():
    place_orders(1)

    out, err = run("seed_demo", verbosity=0)

    assert (out, err) == ("", "")
    assert Order.objects.count() == 1

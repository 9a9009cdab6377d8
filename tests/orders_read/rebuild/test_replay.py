"""Rebuild and verify: a replay from the event store gives exactly the live rows, in batches
and in processes, while commands go on and the old tables keep serving."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from orders_read.models import CustomerAnalytics, OrderSummary
from orders_read.projections import NAMES
from orders_read.rebuild.replay import projection_rows, rebuild, verify
from orders_read.running.status import projection_statuses
from orders_write import services
from orders_write.commands import UpdateCustomer, UpdateProduct
from orders_write.models import Event
from tests.conftest import make_customer, make_order, make_product, on_postgresql, set_status

# Transactional: on PostgreSQL replays read only committed events.
pytestmark = pytest.mark.django_db(transaction=True)


def live_rows() -> dict:
    return {p: projection_rows(p) for p in NAMES}


def place_some_orders(count: int = 6) -> None:
    customers = [make_customer() for _ in range(3)]
    products = [make_product(category=c) for c in ("books", "toys", "garden", "books")]
    for n in range(count):
        order = make_order(customers[n % 3], [(products[n % 3], n + 1), (products[3], 1)])
        if n % 2:
            set_status(order.id, "confirmed", "cancelled")


def test_rebuild_gives_exactly_the_live_rows():
    place_some_orders()
    before = live_rows()

    rebuild(list(NAMES), batch_size=7)

    assert live_rows() == before
    assert all(s.state == "current" for s in projection_statuses())


@pytest.mark.parametrize(("batch_size", "keep_rows"), [(1, 100_000), (3, 100_000), (2, 0), (4, 3)])
def test_a_replay_in_batches_equals_the_live_rows_whatever_rows_it_keeps(batch_size, keep_rows):
    """Rows of shared tables kept between batches, and dropped when too many, give the rows
    that reading them back would give: across renames, cancellations and days sold again."""
    place_some_orders(8)
    ann, pen = make_customer(), make_product(category="toys")
    first = make_order(ann, [(pen, 2)])
    services.update_customer(UpdateCustomer(customer_id=ann.id, name="Ann Renamed"))
    services.update_product(UpdateProduct(product_id=pen.id, name="Pen", category="art"))
    second = make_order(ann, [(pen, 1)])
    set_status(first.id, "confirmed", "cancelled")
    set_status(second.id, "confirmed")

    assert verify(list(NAMES), batch_size=batch_size, keep_rows=keep_rows) == []


@on_postgresql
def test_rebuild_in_several_processes_gives_exactly_the_live_rows():
    place_some_orders()
    before = live_rows()
    shown = []

    replayed = rebuild(
        list(NAMES), batch_size=4, processes=3, progress=lambda d, t: shown.append(d)
    )

    assert live_rows() == before
    assert shown[-1] == replayed == Event.objects.count()
    assert all(s.state == "current" for s in projection_statuses())
    assert verify(list(NAMES), processes=2) == []


@pytest.mark.parametrize("processes", [1, pytest.param(2, marks=on_postgresql)])
def test_interrupted_rebuild_stops_its_processes_and_leaves_the_old_tables_serving(processes):
    place_some_orders()
    before = live_rows()

    def interrupt(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rebuild(list(NAMES), batch_size=2, processes=processes, progress=interrupt)

    assert live_rows() == before
    assert not [t for t in connection.introspection.table_names() if t.endswith("__rebuild")]
    rebuild(list(NAMES), processes=processes)
    assert live_rows() == before


def test_commands_accepted_during_a_rebuild_are_kept():
    place_some_orders()
    customer, product = make_customer(), make_product()
    placed = []

    def place_order_meanwhile(done: int, total: int) -> None:
        if not placed:
            placed.append(make_order(customer, [(product, 3)]))

    rebuild(list(NAMES), batch_size=5, progress=place_order_meanwhile)

    assert OrderSummary.objects.filter(order_id=placed[0].id).exists()
    assert CustomerAnalytics.objects.get(customer_id=customer.id).total_orders == 1
    assert verify(list(NAMES)) == []


def test_verify_projections_reports_a_corrupted_row_and_exits_1():
    place_some_orders(2)
    order = OrderSummary.objects.first()
    OrderSummary.objects.filter(order_id=order.order_id).update(total_amount="999.99")
    out = StringIO()

    with pytest.raises(CommandError, match="1 row"):
        call_command("verify_projections", stdout=out)

    assert str(order.order_id) in out.getvalue()
    assert "total_amount" in out.getvalue()


def test_verify_projections_passes_on_equal_tables():
    place_some_orders(2)
    out = StringIO()

    call_command("verify_projections", stdout=out)

    assert "identical" in out.getvalue()


def test_rebuilt_tables_keep_their_indexes():
    place_some_orders(2)

    rebuild(list(NAMES))

    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "order_summary_view")
    indexed = [c["columns"] for c in constraints.values() if c["index"]]
    assert ["customer_id", "order_date"] in indexed
    assert ["status", "order_date"] in indexed
    assert ["total_amount"] in indexed

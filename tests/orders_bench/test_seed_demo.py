"""Demo data that looks like a real shop's history."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Min
from django.utils import timezone

from orders_read.models import OrderStatusChange
from orders_write.models import Customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(db) -> None:
    call_command("seed_demo", customers=8, products=5, orders=40, stdout=StringIO())


def test_customers_are_registered_before_their_first_order(seeded):
    customers = Customer.objects.annotate(first_order=Min("orders__order_date"))

    assert all(c.created_at < c.first_order for c in customers if c.first_order)


def test_status_changes_are_spread_out_and_never_in_the_future(seeded):
    changes = list(OrderStatusChange.objects.values_list("order_id", "changed_at"))

    assert len({at for _, at in changes}) == len(changes)
    assert max(at for _, at in changes) <= timezone.now()

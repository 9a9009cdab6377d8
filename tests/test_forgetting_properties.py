"""Property: for random histories, forgetting a random customer leaves no byte of their name,
e-mail or address lines in any table of either database, changes no number, keeps
verify_projections clean, and a rebuild reproduces the forgotten state.

Each case starts from empty tables, registers two to four customers with distinctive names,
e-mails and addresses (some renamed along the way), places orders for them and moves the
orders through their statuses; then one customer is forgotten. `settle` brings the read side
up to date (inline mode: nothing to do; async mode: waits for the workers).
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from orders_read.models import CustomerAnalytics, OrderSummary, ProductSales
from orders_read.projections import NAMES
from orders_read.rebuild.replay import projection_rows, rebuild, verify
from orders_write import services
from orders_write.commands import (
    AddProduct,
    Address,
    CreateOrder,
    ForgetCustomer,
    OrderLine,
    RegisterCustomer,
    UpdateCustomer,
    UpdateOrderStatus,
)
from orders_write.models import Order
from tests.privacy_scan import find_texts
from tests.test_properties import NEXT_STATUSES, empty_every_table

# Tokens that make each customer's texts unique (none is part of another).
TOKENS = ("Alpha", "Bravo", "Kilo", "Tango")
letters = st.text(alphabet="bcdfghjkmnpqrstvwxzéøü", min_size=3, max_size=8)
slugs = st.text(alphabet="bcdfghjkmnpqrstvwxz", min_size=3, max_size=8)


@dataclass(frozen=True)
class Person:
    """A customer's texts: the first ones, and those a rename gives them (if any)."""

    name: str
    email: str
    line1: str
    line2: str
    city: str
    postal_code: str
    renamed: tuple[str, str] | None

    @property
    def current_email(self) -> str:
        return self.renamed[1] if self.renamed else self.email

    def texts(self) -> list[str]:
        texts = [self.name, self.email, self.line1, self.line2, self.city, self.postal_code]
        return texts + list(self.renamed or ())


@st.composite
def people(draw: st.DrawFn, token: str) -> Person:
    word, slug = draw(letters), draw(slugs)
    new_email = f"{slug}.new.{token}@example.net".lower()
    renamed = draw(st.none() | st.just((f"Qy{word} {token}", new_email)))
    return Person(
        name=f"Qx{word} {token}",
        email=f"{slug}.{token}@example.org".lower(),
        line1=f"{draw(st.integers(1, 999))} {word} Street {token}",
        line2=draw(st.sampled_from(["", f"Flat {word} {token}"])),
        city=f"{word}ville {token}",
        postal_code=f"PC{draw(st.integers(1000, 9999))}{token}",
        renamed=renamed,
    )


@dataclass(frozen=True)
class Purchase:
    buyer: int
    quantities: tuple[int, ...]
    moves: int
    cancel: bool


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[Person], list[Purchase], int]:
    count = draw(st.integers(2, 4))
    customers = [draw(people(TOKENS[i])) for i in range(count)]
    purchase = st.builds(
        Purchase,
        st.integers(0, count - 1),
        st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple),
        st.integers(0, 4),
        st.booleans(),
    )
    return customers, draw(st.lists(purchase, min_size=1, max_size=6)), draw(st.integers(0, 9))


def register(person: Person) -> object:
    return services.register_customer(RegisterCustomer(name=person.name, email=person.email))


def address_of(person: Person) -> Address:
    return Address(
        line1=person.line1,
        line2=person.line2,
        city=person.city,
        postal_code=person.postal_code,
        country="FR",
    )


def place(purchase: Purchase, customer: object, person: Person, products: list) -> None:
    lines = tuple(
        OrderLine(products[i].id, quantity) for i, quantity in enumerate(purchase.quantities)
    )
    order = services.create_order(
        CreateOrder(
            customer_id=customer.id,
            items=lines,
            shipping_address=address_of(person),
            payment_method="card",
        )
    )
    status = "pending"
    for step in range(purchase.moves):
        choices = NEXT_STATUSES[status]
        if not choices:
            break
        last = step == purchase.moves - 1
        status = "cancelled" if purchase.cancel and last and "cancelled" in choices else choices[0]
        services.update_order_status(UpdateOrderStatus(order_id=order.id, status=status))


def make_history(customers: list[Person], purchases: list[Purchase]) -> list:
    rows = [register(person) for person in customers]
    products = [
        services.add_product(AddProduct(name=f"Product {n}", category=c, unit_price=Decimal(p)))
        for n, (c, p) in enumerate([("books", "4.50"), ("toys", "12.00"), ("garden", "0.99")])
    ]
    for purchase in purchases:
        place(purchase, rows[purchase.buyer], customers[purchase.buyer], products)
    for row, person in zip(rows, customers, strict=True):
        if person.renamed:
            name, email = person.renamed
            services.update_customer(UpdateCustomer(customer_id=row.id, name=name, email=email))
    return rows


def numbers() -> dict[str, set]:
    """Every number the read side and the write side keep, by table."""
    return {
        "orders": set(Order.objects.values_list("id", "status", "total_amount", "version")),
        "summary": set(
            OrderSummary.objects.values_list(
                "order_id", "status", "total_amount", "item_count", "unit_count"
            )
        ),
        "analytics": set(
            CustomerAnalytics.objects.values_list(
                "customer_id",
                "total_orders",
                "total_spent",
                "average_order_value",
                "favorite_category",
                "customer_segment",
                "last_order_date",
            )
        ),
        "sales": set(
            ProductSales.objects.values_list(
                "product_id", "sale_date", "total_quantity", "total_orders", "total_revenue"
            )
        ),
    }


def all_rows() -> dict:
    return {name: projection_rows(name) for name in NAMES}


def forgetting_leaves_no_trace(
    customers: list[Person], purchases: list[Purchase], pick: int, settle: Callable[[], None]
) -> None:
    """Run one history, forget one customer, and check what must hold afterwards."""
    empty_every_table()
    rows = make_history(customers, purchases)
    forgotten = pick % len(customers)
    note(f"forgetting customer {forgotten}: {customers[forgotten]!r}")
    settle()
    before = numbers()
    assert find_texts([customers[forgotten].current_email]), "the scan sees the e-mail until"

    services.forget_customer(ForgetCustomer(customer_id=rows[forgotten].id, reason="Ticket 1"))
    settle()

    assert find_texts(customers[forgotten].texts()) == []
    kept = {p.current_email for i, p in enumerate(customers) if i != forgotten}
    assert {text for *_, text in find_texts(kept)} == kept
    assert numbers() == before
    assert verify(list(NAMES)) == []
    forgotten_rows = all_rows()
    rebuild(list(NAMES))
    assert all_rows() == forgotten_rows
    assert find_texts(customers[forgotten].texts()) == []


def run_cases(settle: Callable[[], None], *, examples: int) -> None:
    @settings(max_examples=examples, deadline=None, derandomize=True, database=None)
    @given(history=histories())
    def cases(history: tuple[list[Person], list[Purchase], int]) -> None:
        forgetting_leaves_no_trace(*history, settle=settle)

    cases()


# Transactional: on PostgreSQL a replay reads only committed events.
@pytest.mark.django_db(transaction=True)
def test_forgetting_a_random_customer_leaves_no_trace_and_changes_no_number():
    run_cases(lambda: None, examples=15)

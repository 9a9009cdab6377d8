"""Shared fixtures: API clients per kind of user, and factories that go through the services."""

import csv
import io
import itertools
from decimal import Decimal
from uuid import UUID

import pytest
from django.contrib.auth.models import Permission, User
from django.core.cache import cache
from django.db import connection
from django.db.models import QuerySet
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from access.groups import ensure_viewer_group
from orders_write import services
from orders_write.commands import (
    AddProduct,
    Address,
    CreateOrder,
    OrderLine,
    RegisterCustomer,
    UpdateOrderStatus,
)
from orders_write.models import Customer, Event, Order, Product

_numbers = itertools.count(1)

ADDRESS = {"line1": "1 Main Street", "city": "Lyon", "postal_code": "69001", "country": "FR"}


# Tests of concurrent transactions (SQLite serializes its writers).
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs concurrent PostgreSQL transactions"
)


def left_to_apply(failed_position: int) -> QuerySet[Event]:
    """Return the events a projection stalled at the event at `failed_position` has still to
    apply: that event and the later ones (on PostgreSQL, from its transaction's first event
    on, as catch-up reads whole transactions)."""
    failed = Event.objects.get(position=failed_position)
    if connection.vendor == "postgresql":
        return Event.objects.filter(transaction_id__gte=failed.transaction_id)
    return Event.objects.filter(position__gte=failed_position)


def age_of_oldest(events: QuerySet[Event]) -> float:
    """Return how many seconds ago the oldest of `events` was recorded."""
    oldest = min(events.values_list("recorded_at", flat=True))
    return (timezone.now() - oldest).total_seconds()


def error_fields(response) -> set[str | None]:
    """Return the fields an error response names, checking it has the API's one error shape."""
    body = response.json()
    assert set(body) == {"code", "message", "errors"}, body
    assert body["code"] == "invalid", body
    return {error["field"] for error in body["errors"]}


def make_customer(name: str | None = None, email: str | None = None) -> Customer:
    number = next(_numbers)
    return services.register_customer(
        RegisterCustomer(name=name or f"Customer {number}", email=email or f"c{number}@example.com")
    )


def make_product(
    name: str | None = None, category: str = "books", unit_price: str = "10.00"
) -> Product:
    return services.add_product(
        AddProduct(
            name=name or f"Product {next(_numbers)}",
            category=category,
            unit_price=Decimal(unit_price),
        )
    )


def make_order(
    customer: Customer, lines: list[tuple[Product, int]], order_id: UUID | None = None, **kwargs
) -> Order:
    return services.create_order(
        CreateOrder(
            customer_id=customer.id,
            items=tuple(OrderLine(product.id, quantity) for product, quantity in lines),
            shipping_address=Address(**ADDRESS),
            payment_method=kwargs.pop("payment_method", "card"),
            order_id=order_id,
        ),
        **kwargs,
    )


def set_status(order_id: UUID, *statuses: str) -> None:
    for status in statuses:
        services.update_order_status(UpdateOrderStatus(order_id=order_id, status=status))


def order_body(customer: Customer, *lines: tuple[Product, int], **extra) -> dict:
    return {
        "customer_id": str(customer.id),
        "items": [{"product_id": str(p.id), "quantity": q} for p, q in lines],
        "shipping_address": dict(ADDRESS),
        "payment_method": "card",
        **extra,
    }


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """With a read database of its own, let every database test use both databases."""
    from django.conf import settings

    if settings.READ_DATABASE == "default":
        return
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker and "databases" not in marker.kwargs:
            both = pytest.mark.django_db(*marker.args, **marker.kwargs, databases="__all__")
            item.add_marker(both, append=False)


@pytest.fixture(scope="session", autouse=True)
def read_replica_streams_the_test_database(request: pytest.FixtureRequest) -> None:
    """With a read replica (READ_REPLICA_URL), read the test database from the real replica:
    settings make it the read database's test mirror, so that no database is created on it
    and no test flushes it; the primary's test database streams to it."""
    from django.conf import settings
    from django.db import connections

    if settings.READ_REPLICA_DATABASE == settings.READ_DATABASE:
        return
    request.getfixturevalue("django_db_setup")
    replica = connections[settings.READ_REPLICA_DATABASE]
    replica.close()
    test_name = connections[settings.READ_DATABASE].settings_dict["NAME"]
    replica.settings_dict = {**settings.DATABASES[replica.alias], "NAME": test_name}


@pytest.fixture
def customer(db) -> Customer:
    return make_customer()


@pytest.fixture
def product(db) -> Product:
    return make_product()


@pytest.fixture
def admin_user(db) -> User:
    return User.objects.create_superuser("admin", "admin@example.com", "admin-pass-123")


@pytest.fixture
def superuser_client(client: Client, admin_user) -> Client:
    """A browser session of a superuser (the admin's pages)."""
    client.force_login(admin_user)
    return client


def admin_url(model: str, view: str, *args: object) -> str:
    return reverse(f"admin:orders_write_{model}_{view}", args=args)


@pytest.fixture
def admin_api(admin_user) -> APIClient:
    client = APIClient()
    _, token = AuthToken.objects.create(user=admin_user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def make_viewer(username: str = "reader") -> User:
    """Return a new user in the read-only `viewer` group (made again after a flush)."""
    from django.apps import apps

    user = User.objects.create_user(username, password=f"{username}-pass-123")
    user.groups.add(ensure_viewer_group(apps))
    return user


@pytest.fixture
def reader_api(db) -> APIClient:
    """A logged-in member of the `viewer` group: reads everything, may run no command."""
    client = APIClient()
    client.force_authenticate(make_viewer())
    return client


@pytest.fixture
def nobody_api(db) -> APIClient:
    """A logged-in user with no permissions at all."""
    client = APIClient()
    client.force_authenticate(User.objects.create_user("nobody", password="nobody-pass-123"))
    return client


@pytest.fixture
def clerk_api(db) -> APIClient:
    """A user allowed to place orders and change their status, nothing else."""
    user = User.objects.create_user("clerk", password="clerk-pass-123")
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="orders_write", codename__in=["add_order", "change_order"]
        )
    )
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def anonymous_api() -> APIClient:
    return APIClient()


def row_counts() -> dict[str, int]:
    """Count the rows of every write-side table, the event store included."""
    from orders_write.models import Event, OrderItem

    models = (Customer, Product, Order, OrderItem, Event)
    return {model.__name__: model.objects.count() for model in models}


@pytest.fixture
def order(customer, product) -> Order:
    """A pending order of two units of `product` (10.00 each)."""
    return make_order(customer, [(product, 2)])


@pytest.fixture(autouse=True)
def _empty_read_tables_after_transactional_tests(request):
    """Django's flush skips unmanaged tables, so transactional tests empty them here."""
    marker = request.node.get_closest_marker("django_db")
    if not (marker and marker.kwargs.get("transaction")):
        yield
        return
    request.getfixturevalue("transactional_db")
    yield
    from orders_read.projections import NAMES, models_of

    for projection in NAMES:
        for model in models_of(projection):
            model.objects.all().delete()


@pytest.fixture(autouse=True)
def _no_token_failures_from_earlier_tests() -> None:
    """Every test client calls from the loopback address: start each test with no wrong
    tokens counted against it."""
    from config import token_failures

    for address in ("127.0.0.1", "::1"):
        token_failures.forget(address)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings) -> None:
    """Hash test passwords cheaply: the default hasher costs ~0.3 s per user created."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class AnalyticsSchema:
    """customer_analytics_view's schema, broken for real by renaming a column (a bad deploy)."""

    def __init__(self) -> None:
        self.broken_column: str | None = None

    def break_column(self, column: str = "total_orders") -> None:
        assert self.broken_column is None, "repair the schema before breaking it again"
        self._rename(column, f"broken_{column}")
        self.broken_column = column

    def repair(self) -> None:
        if self.broken_column is not None:
            self._rename(f"broken_{self.broken_column}", self.broken_column)
            self.broken_column = None

    @staticmethod
    def _rename(old: str, new: str) -> None:
        from orders_read.database import read_connection

        with read_connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE customer_analytics_view RENAME COLUMN {old} TO {new}")


@pytest.fixture
def analytics_schema():
    """Yield the analytics table's schema for the test to break when it needs to.

    Whatever the test broke is repaired at teardown, so a failing test never leaves it broken.
    """
    schema = AnalyticsSchema()
    yield schema
    schema.repair()


@pytest.fixture
def broken_customer_analytics(analytics_schema):
    """Break the analytics table's schema for real; return a function that repairs it.

    The repair also runs at teardown, so a failing test never leaves the schema broken.
    """
    analytics_schema.break_column()
    return analytics_schema.repair


@pytest.fixture
def tight_throttle(settings, monkeypatch):
    """Allow 3 anonymous and 5 authenticated requests a minute, from an empty cache."""
    rates = {"anon": "3/minute", "user": "5/minute"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    # DRF copies the rates onto the throttle class when it is first imported.
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
    cache.clear()
    yield
    cache.clear()


def read_csv(response) -> list[list[str]]:
    """Return the rows of a (streamed) CSV response."""
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))

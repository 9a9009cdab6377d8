"""The benchmark behind `manage.py bench`: write rates (commands vs. plain CRUD), read latency
(read model vs. the same answer from the normalized write tables), rebuild speed and memory."""

import json
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, F, Max, Prefetch, Sum
from django.db.models.functions import TruncDate
from django.test import Client
from django.utils import timezone
from knox.models import AuthToken

from access.groups import ensure_viewer_group
from orders_bench.bulk_load import Catalogue, load_history
from orders_bench.environment import subprocess_environment
from orders_read import queries
from orders_read.cache import forget_popular_products
from orders_read.progress import Progress
from orders_write import domain, services
from orders_write.commands import Address, CreateOrder, OrderLine, UpdateOrderStatus
from orders_write.event_reader import count_events
from orders_write.event_store import load_stream
from orders_write.models import Customer, Order, OrderItem, Product
from orders_write.write_guard import writes_outside_services

ADDRESS = Address(line1="1 High Street", city="Leeds", postal_code="LS1", country="GB")


def percentiles(samples: list[float]) -> dict[str, float]:
    """Return p50/p95/p99 of durations in seconds, in milliseconds."""
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return {"p50": round(pick(0.50), 3), "p95": round(pick(0.95), 3), "p99": round(pick(0.99), 3)}


def timed_together(
    calls: int, reads: list[Callable[[], Any]], budget: float = 60.0
) -> list[list[float]]:
    """Time `reads` in turn, `calls` rounds after a warm-up (or for `budget` seconds, at
    least 20 rounds); return each one's durations."""
    for _ in range(min(5, calls)):
        for read in reads:
            read()
    durations: list[list[float]] = [[] for _ in reads]
    deadline = time.perf_counter() + budget
    while len(durations[0]) < calls and (len(durations[0]) < 20 or time.perf_counter() < deadline):
        for read, spent in zip(reads, durations, strict=True):
            started = time.perf_counter()
            read()
            spent.append(time.perf_counter() - started)
    return durations


class Benchmark:
    """Grow a dataset step by step and measure it at each size."""

    def __init__(self, *, customers: int, products: int, seed: int, calls: int, writes: int):
        self.customers, self.products, self.seed = customers, products, seed
        self.calls, self.writes = calls, writes
        self.rnd = random.Random(seed)  # noqa: S311 (benchmark inputs, not secrets)
        self.catalogue: Catalogue | None = None

    def grow_to(self, orders: int, progress: Progress | None = None) -> int:
        """Add orders in bulk, with their events, up to `orders` (`measure` rebuilds the reads)."""
        missing = orders - Order.objects.count()
        if missing > 0:
            catalogue = self.catalogue or existing_catalogue()
            self.catalogue = load_history(
                customers=self.customers,
                products=self.products,
                orders=missing,
                seed=self.seed + orders,
                catalogue=catalogue if catalogue.customers else None,
                progress=progress,
            )
        return Order.objects.count()

    def measure(self, *, rebuild: bool = True, workers: int = 0) -> dict[str, Any]:
        """Rebuild the read side (timed); with `workers` (async mode), time that many Celery
        worker processes draining the store from an empty read side too; then measure writes
        (async: with the workers running beside them, and their lag) and reads."""
        rebuilt = measure_rebuild() if rebuild else None
        drained = None
        if workers:
            from .drain import measure_drain

            drained = measure_drain(workers)
        return {
            "orders": Order.objects.count(),
            "events": count_events(),
            "rebuild": rebuilt,
            "drain": drained,
            "writes": self.measure_writes(workers=workers),
            "reads": self.measure_reads(),
            "under_writes": self.measure_reads_under_writes(),
        }

    # -- writes -----------------------------------------------------------------------------

    def measure_writes(self, rounds: int = 5, *, workers: int = 0) -> dict[str, Any]:
        """Orders created and statuses changed per second: commands vs. plain ORM CRUD; with
        `workers`, while that many Celery worker processes apply the commands' events (and
        the projections' lag is sampled)."""
        if not workers:
            return self._write_rounds(rounds)
        from .drain import lag_sampled, worker_running

        with worker_running(workers), lag_sampled() as lag:
            rates = self._write_rounds(rounds)
        return {**rates, "lag_seconds": lag, "worker_processes": workers}

    def _write_rounds(self, rounds: int) -> dict[str, Any]:
        per_round = max(1, self.writes // rounds)
        rates: dict[str, list[float]] = {
            k: [] for k in ("create", "crud_create", "status", "crud_status")
        }
        created: list[UUID] = []
        crud_orders: list[UUID] = []
        for _ in range(rounds):
            bodies = [self._order_body() for _ in range(per_round)]
            rates["create"].append(_rate(bodies, lambda b: created.append(self._create(b))))
            crud_bodies = [self._order_body() for _ in range(per_round)]
            rates["crud_create"].append(
                _rate(crud_bodies, lambda b: crud_orders.append(crud_create(b)))
            )
            rates["status"].append(_rate(created[-per_round:], self._confirm))
            rates["crud_status"].append(_rate(crud_orders[-per_round:], crud_confirm))
        remove_crud_orders(crud_orders)
        medians = {k: round(statistics.median(v), 1) for k, v in rates.items()}
        return {
            "create_per_s": medians["create"],
            "crud_create_per_s": medians["crud_create"],
            "create_ratio": round(medians["create"] / medians["crud_create"], 2),
            "status_per_s": medians["status"],
            "crud_status_per_s": medians["crud_status"],
            "status_ratio": round(medians["status"] / medians["crud_status"], 2),
        }

    def _order_body(self) -> CreateOrder:
        self.catalogue = self.catalogue or existing_catalogue()
        return order_body(self.rnd, self.catalogue)

    def _create(self, body: CreateOrder) -> UUID:
        return services.create_order(body).id

    def _confirm(self, order_id: UUID) -> None:
        services.update_order_status(UpdateOrderStatus(order_id=order_id, status="confirmed"))

    # -- reads ------------------------------------------------------------------------------

    def measure_reads(self) -> dict[str, Any]:
        """Time each query function, its endpoint over HTTP (DRF, token auth) and the same
        answer computed from the normalized write tables."""
        customers = list(Customer.objects.values_list("id", flat=True)[:2000])
        orders = list(Order.objects.values_list("id", flat=True).order_by("?")[:2000])
        products = list(Product.objects.values_list("id", flat=True))
        pick, client = self.rnd.choice, api_client()
        today = timezone.now().date()
        month = {"date_from": today - timedelta(days=29), "date_to": today}
        queries.get_popular_products(days=30)  # warm the cache
        cases = {
            "customer_orders_page": (
                lambda c: list(queries.get_orders_by_customer(c, page=1, size=10)),
                lambda c: client.get(f"/api/customers/{c}/orders/?page=1&size=10"),
                normalized_customer_orders,
                lambda: pick(customers),
            ),
            "order_details": (
                queries.get_order_details,
                lambda o: client.get(f"/api/orders/{o}/"),
                normalized_order_details,
                lambda: pick(orders),
            ),
            "order_history": (
                queries.get_order_history,
                lambda o: client.get(f"/api/orders/{o}/history/"),
                load_stream,
                lambda: pick(orders),
            ),
            "search_status_dates_amount": (
                lambda q: list(queries.search_orders(**q)[:20]),
                lambda q: client.get("/api/orders/", {**q, "page_size": 20}),
                lambda q: normalized_search(**q),
                self._search,
            ),
            "popular_products_cached": (
                lambda _: queries.get_popular_products(days=30),
                lambda _: client.get("/api/products/popular/?days=30"),
                lambda _: normalized_popular(timezone.now() - timedelta(days=29)),
                lambda: None,
            ),
            "popular_products_uncached": (
                lambda _: uncached(lambda: queries.get_popular_products(days=30)),
                lambda _: uncached(lambda: client.get("/api/products/popular/?days=30")),
                lambda _: normalized_popular(timezone.now() - timedelta(days=29)),
                lambda: None,
            ),
            "customer_analytics": (
                queries.get_customer_analytics,
                lambda c: client.get(f"/api/customers/{c}/analytics/"),
                normalized_analytics,
                lambda: pick(customers),
            ),
            "product_sales_month": (
                lambda p: list(queries.get_product_sales(p, **month)),
                lambda p: client.get(f"/api/products/{p}/sales/", month),
                lambda p: normalized_product_sales(p, **month),
                lambda: pick(products),
            ),
            "orders_list_page": (
                lambda _: list(queries.search_orders()[:10]),
                lambda _: client.get("/api/orders/?page_size=10"),
                lambda _: normalized_search(limit=10),
                lambda: None,
            ),
        }
        return {name: self._compare(*case) for name, case in cases.items()}

    def _compare(
        self,
        query: Callable[[Any], Any],
        endpoint: Callable[[Any], Any],
        normalized: Callable[[Any], Any],
        argument: Callable[[], Any],
    ) -> dict[str, Any]:
        # Interleaved, so that the three see the same load on a shared machine.
        query_ms, http_ms, normalized_ms = (
            percentiles(durations)
            for durations in timed_together(
                self.calls,
                [
                    lambda: query(argument()),
                    lambda: _ok(endpoint(argument())),
                    lambda: normalized(argument()),
                ],
            )
        )
        return {
            "query": query_ms,
            "http": http_ms,
            "normalized": normalized_ms,
            "http_over_query_p95": round(http_ms["p95"] / max(query_ms["p95"], 1e-6), 1),
            "speedup_p95": round(normalized_ms["p95"] / max(query_ms["p95"], 1e-6), 1),
        }

    def _search(self) -> dict[str, Any]:
        day = timezone.now().date() - timedelta(days=self.rnd.randint(30, 330))
        return {
            "status": self.rnd.choice(domain.STATUSES),
            "date_from": day,
            "date_to": day + timedelta(days=30),
            "min_amount": self.rnd.choice([50, 100, 200]),
        }

    def measure_reads_under_writes(self, rate: float = 50) -> dict[str, Any] | None:
        """Time the popular products (query function, cache as in production, and over HTTP)
        while another process places `rate` orders a second; None on SQLite."""
        if connection.vendor != "postgresql":
            return None
        client = api_client()
        with placing_orders(rate) as placed:
            query_ms, http_ms = (
                percentiles(durations)
                for durations in timed_together(
                    self.calls,
                    [
                        lambda: queries.get_popular_products(),
                        lambda: _ok(client.get("/api/products/popular/?days=30")),
                    ],
                )
            )
        return {"popular_products": {"query": query_ms, "http": http_ms}, **placed}


# -- the reads' helpers ------------------------------------------------------------------------


def api_client() -> Client:
    """Return a client that calls the API as an API client does (token, JSON)."""
    user, _ = get_user_model().objects.get_or_create(username="bench")
    user.groups.add(ensure_viewer_group(apps))
    _, token = AuthToken.objects.create(user=user)
    return Client(HTTP_AUTHORIZATION=f"Token {token}", HTTP_ACCEPT="application/json")


def _ok(response: Any) -> Any:
    if response.status_code >= 500 or response.status_code in (400, 401, 403):
        raise RuntimeError(f"{response.status_code}: {response.content[:200]!r}")
    return response


def uncached(read: Callable[[], Any]) -> Any:
    """Return `read()` as the first call after a sales change makes it."""
    forget_popular_products()
    return read()


@contextmanager
def placing_orders(rate: float) -> Iterator[dict[str, Any]]:
    """Place orders at `rate` a second in another process while the block runs; fill the
    yielded dict with the orders placed and the rate reached."""
    env = subprocess_environment()
    writer = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
        [sys.executable, "-m", "orders_bench.writer", "--rate", str(rate)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    placed: dict[str, Any] = {}
    try:
        if writer.stdout.readline().strip() != "ready":
            raise RuntimeError("The order writer did not start.")
        yield placed
    finally:
        writer.terminate()
        output = writer.communicate(timeout=60)[0].split()
    orders, seconds = int(output[0]), float(output[1])
    placed |= {"orders_placed": orders, "orders_per_s": round(orders / seconds, 1)}


def order_body(rnd: random.Random, catalogue: Catalogue) -> CreateOrder:
    """Return an order of 1 to 3 random lines for a random customer."""
    lines = rnd.sample(catalogue.products, k=rnd.choice([1, 2, 3]))
    return CreateOrder(
        customer_id=rnd.choice(catalogue.customers)[0],
        items=tuple(OrderLine(line.product_id, rnd.randint(1, 3)) for line in lines),
        shipping_address=ADDRESS,
        payment_method="card",
        order_id=uuid4(),
    )


def existing_catalogue() -> Catalogue:
    """Return the customers and products already in the write model."""
    customers = list(Customer.objects.values_list("id", "name", "email", "version"))
    products = [
        domain.PricedLine(p.id, p.name, p.category, 1, p.unit_price, p.version)
        for p in Product.objects.all()
    ]
    return Catalogue(customers, products)


def _rate(items: list[Any], action: Callable[[Any], Any]) -> float:
    started = time.perf_counter()
    for item in items:
        action(item)
    return len(items) / (time.perf_counter() - started)


# -- the plain CRUD baseline: the same rows through the ORM, no events, no projections ------
# It writes rows without events on purpose, as a tool (`writes_outside_services`), and removes
# them again at the end of the measurement.


def crud_create(body: CreateOrder) -> UUID:
    """Save an order and its items the plain Django way."""
    with writes_outside_services("bench_crud_baseline"):
        customer = Customer.objects.get(pk=body.customer_id)
        products = Product.objects.in_bulk([line.product_id for line in body.items])
        lines = [(products[line.product_id], line.quantity) for line in body.items]
        now = timezone.now()
        order = Order.objects.create(
            id=body.order_id,
            customer=customer,
            status=domain.PENDING,
            total_amount=sum((p.unit_price * q for p, q in lines), Decimal("0.00")),
            order_date=now,
            shipping_address=asdict(ADDRESS),
            billing_address=asdict(ADDRESS),
            payment_method=body.payment_method,
            version=1,
            updated_at=now,
        )
        OrderItem.objects.bulk_create(
            OrderItem(order=order, line_number=n, product=p, quantity=q, unit_price=p.unit_price)
            for n, (p, q) in enumerate(lines, start=1)
        )
        return order.id


def crud_confirm(order_id: UUID) -> None:
    """Change an order's status the plain Django way (load, check, save)."""
    with writes_outside_services("bench_crud_baseline"):
        order = Order.objects.select_for_update().get(pk=order_id)
        if not domain.can_transition(order.status, domain.CONFIRMED):
            raise ValueError(order.status)
        order.status, order.version = domain.CONFIRMED, order.version + 1
        order.save(update_fields=["status", "version"])


def remove_crud_orders(order_ids: list[UUID]) -> None:
    """Take the baseline's rows out again: they have no events and belong to no stream."""
    with writes_outside_services("bench_crud_baseline"):
        OrderItem.objects.filter(order_id__in=order_ids).delete()
        Order.objects.filter(id__in=order_ids).delete()


# -- the same answers from the normalized write tables ---------------------------------------


def normalized_customer_orders(customer_id: UUID) -> list:
    return list(
        Order.objects.filter(customer_id=customer_id)
        .select_related("customer")
        .annotate(item_count=Count("items"), unit_count=Sum("items__quantity"))
        .order_by("-order_date", "-id")[:10]
    )


def normalized_order_details(order_id: UUID) -> tuple:
    items = OrderItem.objects.select_related("product")
    order = (
        Order.objects.select_related("customer")
        .prefetch_related(Prefetch("items", queryset=items))
        .get(pk=order_id)
    )
    history = load_stream(order_id)
    return order, list(order.items.all()), history


def normalized_search(limit: int = 20, **criteria: Any) -> list:
    orders = Order.objects.select_related("customer").annotate(
        item_count=Count("items"), unit_count=Sum("items__quantity")
    )
    if criteria.get("status"):
        orders = orders.filter(status=criteria["status"])
    if criteria.get("date_from"):
        orders = orders.filter(order_date__gte=queries.start_of_day(criteria["date_from"]))
    if criteria.get("date_to"):
        orders = orders.filter(order_date__lt=queries.start_of_day(criteria["date_to"]))
    if criteria.get("min_amount") is not None:
        orders = orders.filter(total_amount__gte=criteria["min_amount"])
    return list(orders.order_by("-order_date", "-id")[:limit])


def normalized_popular(since: Any) -> list:
    return list(
        OrderItem.objects.filter(order__order_date__gte=since)
        .exclude(order__status=domain.CANCELLED)
        .values("product_id", "product__name", "product__category")
        .annotate(
            total_quantity=Sum("quantity"),
            total_orders=Count("order", distinct=True),
            total_revenue=Sum(F("quantity") * F("unit_price")),
        )
        .order_by("-total_quantity", "product__name")[:10]
    )


def normalized_product_sales(product_id: UUID, *, date_from: Any, date_to: Any) -> list:
    return list(
        OrderItem.objects.filter(
            product_id=product_id,
            order__order_date__gte=queries.start_of_day(date_from),
            order__order_date__lt=queries.start_of_day(date_to + timedelta(days=1)),
        )
        .exclude(order__status=domain.CANCELLED)
        .values(sale_date=TruncDate("order__order_date"))
        .annotate(
            total_quantity=Sum("quantity"),
            total_orders=Count("order", distinct=True),
            total_revenue=Sum(F("quantity") * F("unit_price")),
        )
        .order_by("sale_date")
    )


def normalized_analytics(customer_id: UUID) -> tuple:
    counted = Order.objects.filter(customer_id=customer_id).exclude(status=domain.CANCELLED)
    totals = counted.aggregate(
        orders=Count("id"), spent=Sum("total_amount"), last=Max("order_date")
    )
    favorite = (
        OrderItem.objects.filter(order__in=counted)
        .values("product__category")
        .annotate(units=Sum("quantity"))
        .order_by("-units", "product__category")
        .first()
    )
    customer = Customer.objects.get(pk=customer_id)
    return customer, totals, favorite


# -- rebuild ---------------------------------------------------------------------------------

REBUILD_SCRIPT = """
import resource, time, django
django.setup()
from django.core.management import call_command
started = time.perf_counter()
call_command("rebuild_projections", "--no-input", "--verbosity", "0", "--batch-size", "20000")
elapsed = time.perf_counter() - started
peaks = [resource.getrusage(w).ru_maxrss for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
print(elapsed, *peaks)
"""


def measure_rebuild() -> dict[str, Any]:
    """Rebuild every projection in a fresh process: events per second, and the peak memory
    of that process and of the largest replay process it forked."""
    events = count_events()
    env = subprocess_environment()
    finished = subprocess.run(  # noqa: S603 (our own interpreter and script)
        [sys.executable, "-c", REBUILD_SCRIPT], env=env, capture_output=True, text=True, check=True
    )
    elapsed, own_kb, child_kb = finished.stdout.split()[-3:]
    return {
        "events": events,
        "seconds": round(float(elapsed), 1),
        "events_per_s": round(events / float(elapsed)),
        "peak_memory_mb": round(int(own_kb) / 1024, 1),
        "replay_process_peak_memory_mb": round(int(child_kb) / 1024, 1),
    }


def as_json(results: list[dict[str, Any]]) -> str:
    """Return the results of every size as JSON."""
    return json.dumps(results, indent=2)

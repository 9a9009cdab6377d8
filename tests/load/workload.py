"""The load: HTTP clients that read, write and race on the same orders, recording every outcome."""

import http.client
import json
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .server import HOST

NEXT_STATUSES = {
    "pending": ("confirmed", "cancelled"),
    "confirmed": ("paid", "cancelled"),
    "paid": ("shipped", "cancelled"),
    "shipped": ("delivered",),
}
STATUSES = ("pending", "confirmed", "paid", "shipped", "delivered", "cancelled")
CATEGORIES = ("books", "garden", "kitchen", "office", "toys")
PAYMENT_METHODS = ("card", "paypal", "bank_transfer", "cash_on_delivery")
ADDRESS = {"line1": "1 Load Street", "city": "Leeds", "postal_code": "LS1", "country": "GB"}
ORDER_KINDS = ("create_order", "replay_order", "bad_order")
STATUS_KINDS = ("race_status", "status")
REQUESTS_PER_SECOND_CAP = 2000  # per client: bounds every loop by count as well as by time


@dataclass
class Outcome:
    """One request and what came of it."""

    kind: str
    method: str
    path: str
    status: int | None
    seconds: float
    error: str = ""
    body: Any = None
    sent: dict | None = None

    @property
    def verdict(self) -> str:
        """Classify: acknowledged (2xx), refused (4xx) or failed (5xx, or no answer)."""
        if self.status is None or self.status >= 500:
            return "failed"
        return "refused" if self.status >= 400 else "acknowledged"


class Client:
    """Send JSON requests with a token, one connection per request, and log each outcome."""

    def __init__(self, port: int, token: str, log: list[Outcome], timeout: float = 30) -> None:
        self.port, self.log, self.timeout = port, log, timeout
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}

    def call(self, kind: str, method: str, path: str, body: dict | None = None) -> Outcome:
        """Send one request; never raise on a server failure, record it instead."""
        started = time.perf_counter()
        connection = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
        try:
            payload = None if body is None else json.dumps(body)
            connection.request(method, path, body=payload, headers=self.headers)
            response = connection.getresponse()
            raw = response.read()
            outcome = Outcome(kind, method, path, response.status, 0.0, body=_json(raw), sent=body)
            if response.status == 502 and response.getheader("X-Correlation-ID") is None:
                # The proxy's answer, not the application's (every one of its answers carries
                # the header): the worker died mid-request, as a dropped connection says direct.
                outcome = Outcome(kind, method, path, None, 0.0, error="ProxyBadGateway", sent=body)
        except (OSError, http.client.HTTPException) as error:
            outcome = Outcome(kind, method, path, None, 0.0, error=type(error).__name__, sent=body)
        finally:
            connection.close()
        outcome.seconds = time.perf_counter() - started
        self.log.append(outcome)
        return outcome


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


@dataclass
class World:
    """What the clients know and share: the ids acknowledged so far and the contested orders."""

    customers: list[str] = field(default_factory=list)
    products: list[str] = field(default_factory=list)
    orders: list[str] = field(default_factory=list)
    hot: list[str] = field(default_factory=list)
    bodies: dict[str, dict] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def order_body(world: World, rng: random.Random) -> dict:
    """Return a valid order body with a client-chosen order_id."""
    products = rng.sample(world.products, rng.randint(1, min(3, len(world.products))))
    return {
        "order_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "customer_id": rng.choice(world.customers),
        "items": [{"product_id": p, "quantity": rng.randint(1, 5)} for p in products],
        "shipping_address": dict(ADDRESS),
        "payment_method": rng.choice(PAYMENT_METHODS),
    }


def create_order(client: Client, world: World, rng: random.Random) -> str | None:
    """Place a new order; return its id once acknowledged."""
    body = order_body(world, rng)
    with world.lock:
        world.bodies[body["order_id"]] = body
    outcome = client.call("create_order", "POST", "/api/orders/", body)
    if outcome.verdict != "acknowledged":
        return None
    with world.lock:
        world.orders.append(body["order_id"])
    return body["order_id"]


def replay_order(client: Client, world: World, rng: random.Random) -> None:
    """Re-send an earlier order unchanged: the same order comes back, never a second one."""
    with world.lock:
        body = world.bodies[rng.choice(list(world.bodies))] if world.bodies else None
    if body is not None:
        client.call("replay_order", "POST", "/api/orders/", body)


def bad_order(client: Client, world: World, rng: random.Random) -> None:
    """Send an order the server must refuse (unknown product, or quantity 0)."""
    body = order_body(world, rng)
    if rng.random() < 0.5:
        body["items"][0]["product_id"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    else:
        body["items"][0]["quantity"] = 0
    client.call("bad_order", "POST", "/api/orders/", body)


def race_status(client: Client, world: World, rng: random.Random) -> None:
    """Move a contested order on from the version just read, as every other client tries to."""
    with world.lock:
        index = rng.randrange(len(world.hot))
        order_id = world.hot[index]
    seen = client.call("detail", "GET", f"/api/orders/{order_id}/")
    if seen.status != 200:
        return
    following = NEXT_STATUSES.get(seen.body["status"])
    if following is None:
        replace_hot_order(client, world, rng, index, order_id)
        return
    target = following[0] if rng.random() < 0.85 else following[-1]
    body = {"status": target, "expected_version": seen.body["version"], "reason": "load race"}
    client.call("race_status", "POST", f"/api/orders/{order_id}/status/", body)


def replace_hot_order(
    client: Client, world: World, rng: random.Random, index: int, finished: str
) -> None:
    """Put a new contested order in place of one that reached a final status."""
    new = create_order(client, world, rng)
    with world.lock:
        if new and world.hot[index] == finished:
            world.hot[index] = new


def change_status(client: Client, world: World, rng: random.Random) -> None:
    """Ask for any status of any order, without expected_version (often an invalid move)."""
    with world.lock:
        order_id = rng.choice(world.orders)
    body = {"status": rng.choice(STATUSES)}
    client.call("status", "POST", f"/api/orders/{order_id}/status/", body)


def list_orders(client: Client, world: World, rng: random.Random) -> None:
    """List orders with a random mix of filters, ordering and page size."""
    params = {"page_size": str(rng.choice((5, 10, 20, 50)))}
    if rng.random() < 0.4:
        params["status"] = rng.choice(STATUSES)
    if rng.random() < 0.3:
        params["customer_id"] = rng.choice(world.customers)
    if rng.random() < 0.3:
        params["min_amount"] = str(rng.choice((10, 50, 100)))
    if rng.random() < 0.3:
        params["date_from"] = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    if rng.random() < 0.5:
        params["ordering"] = rng.choice(("-total_amount", "order_date", "-order_date"))
    query = "&".join(f"{name}={value}" for name, value in params.items())
    client.call("list", "GET", f"/api/orders/?{query}")


def order_details(client: Client, world: World, rng: random.Random) -> None:
    with world.lock:
        order_id = rng.choice(world.orders)
    client.call("detail", "GET", f"/api/orders/{order_id}/")


def customer_analytics(client: Client, world: World, rng: random.Random) -> None:
    with world.lock:
        customer_id = rng.choice(world.customers)
    client.call("analytics", "GET", f"/api/customers/{customer_id}/analytics/")


def popular_products(client: Client, world: World, rng: random.Random) -> None:
    client.call("popular", "GET", f"/api/products/popular/?days={rng.randint(1, 90)}")


def projection_status(client: Client, world: World, rng: random.Random) -> None:
    client.call("projections", "GET", "/api/projections/")


def register_customer(client: Client, world: World, rng: random.Random) -> None:
    number = uuid.UUID(int=rng.getrandbits(128), version=4).hex
    body = {"name": f"Load Customer {number[:8]}", "email": f"load-{number}@example.com"}
    outcome = client.call("create_customer", "POST", "/api/customers/", body)
    if outcome.verdict == "acknowledged":
        with world.lock:
            world.customers.append(outcome.body["customer_id"])


def add_product(client: Client, world: World, rng: random.Random) -> None:
    price = f"{rng.randint(1, 300)}.{rng.randint(0, 99):02d}"
    name = f"Load product {rng.getrandbits(32):08x}"
    body = {"name": name, "category": rng.choice(CATEGORIES), "unit_price": price}
    outcome = client.call("create_product", "POST", "/api/products/", body)
    if outcome.verdict == "acknowledged":
        with world.lock:
            world.products.append(outcome.body["product_id"])


Operation = Callable[[Client, World, random.Random], Any]

# Each operation with its weight: reads and writes, a quarter of the traffic racing.
OPERATIONS: tuple[tuple[Operation, int], ...] = (
    (list_orders, 14),
    (order_details, 10),
    (customer_analytics, 5),
    (popular_products, 4),
    (projection_status, 2),
    (create_order, 16),
    (replay_order, 4),
    (bad_order, 3),
    (race_status, 26),
    (change_status, 10),
    (register_customer, 3),
    (add_product, 3),
)


def seed_world(
    client: Client, rng: random.Random, customers: int, products: int, hot: int
) -> World:
    """Create the customers, products and contested orders the load starts from."""
    world = World()
    for _ in range(customers):
        register_customer(client, world, rng)
    for _ in range(products):
        add_product(client, world, rng)
    if not world.customers or not world.products:
        raise RuntimeError("Could not create the starting customers and products.")
    for _ in range(hot):
        order_id = create_order(client, world, rng)
        if order_id:
            world.hot.append(order_id)
    if not world.hot:
        raise RuntimeError("Could not create the contested orders.")
    return world


def drive(client: Client, world: World, rng: random.Random, deadline: float) -> None:
    """Run weighted random operations until the deadline (or the request cap) is reached."""
    operations, weights = zip(*OPERATIONS, strict=True)
    cap = int(max(deadline - time.monotonic(), 1) * REQUESTS_PER_SECOND_CAP)
    for _ in range(cap):
        if time.monotonic() >= deadline:
            return
        rng.choices(operations, weights)[0](client, world, rng)

"""After the load: compare what the clients were told with what the database holds."""

import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import psycopg

from .server import manage
from .workload import ORDER_KINDS, STATUS_KINDS, Outcome


@dataclass
class Store:
    """The write side as the database holds it."""

    events: dict[str, list[tuple[int, str, dict]]]  # stream id -> [(version, type, data)]
    stream_types: dict[str, str]
    orders: dict[str, tuple[str, int]]  # order id -> (status, version)
    item_counts: dict[str, int]
    customers: set[str]
    products: set[str]


@dataclass
class Findings:
    """Violations (the run fails on any) and notes for the report."""

    violations: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def fail(self, message: str) -> None:
        self.violations.append(message)


def load_store(database_url: str) -> Store:
    """Read the event store and the write tables."""
    with psycopg.connect(database_url) as connection:
        rows = connection.execute(
            "SELECT stream_type, stream_id::text, version, event_type, data "
            "FROM events ORDER BY stream_id, version"
        ).fetchall()
        orders = connection.execute("SELECT id::text, status, version FROM orders").fetchall()
        items = connection.execute(
            "SELECT order_id::text, count(*) FROM order_items GROUP BY order_id"
        ).fetchall()
        customers = connection.execute("SELECT id::text FROM customers").fetchall()
        products = connection.execute("SELECT id::text FROM products").fetchall()
    events: dict[str, list[tuple[int, str, dict]]] = defaultdict(list)
    stream_types = {}
    for stream_type, stream_id, version, event_type, data in rows:
        events[stream_id].append((version, event_type, data))
        stream_types[stream_id] = stream_type
    return Store(
        events=dict(events),
        stream_types=stream_types,
        orders={order_id: (status, version) for order_id, status, version in orders},
        item_counts=dict(items),
        customers={row[0] for row in customers},
        products={row[0] for row in products},
    )


def check_all(log: list[Outcome], store: Store, database_url: str) -> Findings:
    """Run every check; return what they found."""
    findings = Findings()
    check_no_server_errors(log, findings)
    check_order_creations(log, store, findings)
    check_status_changes(log, store, findings)
    check_registrations(log, store, findings, "create_customer", "customer", "customer_id")
    check_registrations(log, store, findings, "create_product", "product", "product_id")
    check_streams_match_rows(store, findings)
    check_projections(database_url, findings)
    return findings


def check_no_server_errors(log: list[Outcome], findings: Findings) -> None:
    """A 5xx answer is a bug: a killed worker drops its connection, it never answers 500."""
    for outcome in log:
        if outcome.status is not None and outcome.status >= 500:
            findings.fail(f"{outcome.method} {outcome.path} answered {outcome.status}")


def check_order_creations(log: list[Outcome], store: Store, findings: Findings) -> None:
    """Acknowledged orders exist once; refused ones left nothing; cut ones are all or nothing."""
    attempts: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in log:
        if outcome.kind in ORDER_KINDS:
            attempts[outcome.sent["order_id"]].append(outcome)
    created = Counter(
        stream_id
        for stream_id, events in store.events.items()
        for _, event_type, _ in events
        if event_type == "OrderCreated"
    )
    present = absent = 0
    for order_id, tries in attempts.items():
        verdicts = {outcome.verdict for outcome in tries}
        if "acknowledged" in verdicts:
            _check_acknowledged_order(order_id, tries, created, store, findings)
        elif _order_trace(order_id, tries[0].sent, created, store) == "none":
            absent += "failed" in verdicts
        elif "failed" not in verdicts:
            findings.fail(f"order {order_id} was refused but left a trace in the database")
        elif _order_trace(order_id, tries[0].sent, created, store) == "partial":
            findings.fail(f"order {order_id} was cut off and is only partly written")
        else:
            present += 1
    for order_id in created.keys() - attempts.keys():
        findings.fail(f"order {order_id} is in the event store but no client asked for it")
    findings.notes.append(
        f"unacknowledged order creations cut by a failure: {present} fully present, "
        f"{absent} fully absent"
    )


def _check_acknowledged_order(
    order_id: str, tries: list[Outcome], created: Counter, store: Store, findings: Findings
) -> None:
    if created[order_id] != 1:
        findings.fail(f"acknowledged order {order_id} has {created[order_id]} OrderCreated events")
    if _order_trace(order_id, tries[0].sent, created, store) != "full":
        findings.fail(f"acknowledged order {order_id} is not fully written")
    for outcome in tries:
        if outcome.verdict == "acknowledged" and outcome.body.get("order_id") != order_id:
            findings.fail(f"order {order_id} was acknowledged as {outcome.body.get('order_id')}")


def _order_trace(order_id: str, sent: dict, created: Counter, store: Store) -> str:
    """Say whether an order is fully written ('full'), not at all ('none'), or 'partial'."""
    parts = (
        created[order_id] == 1,
        order_id in store.orders,
        store.item_counts.get(order_id, 0) == len(sent["items"]),
    )
    if all(parts):
        return "full"
    untouched = not created[order_id] and order_id not in store.orders
    return "none" if untouched and not store.item_counts.get(order_id) else "partial"


def check_status_changes(log: list[Outcome], store: Store, findings: Findings) -> None:
    """Each acknowledged change is its event; no order has more changes than were asked."""
    acknowledged: Counter = Counter()
    failed: Counter = Counter()
    claimed: set[tuple[str, int]] = set()
    for outcome in log:
        if outcome.kind not in STATUS_KINDS:
            continue
        order_id = outcome.path.split("/")[3]
        if outcome.verdict == "failed":
            failed[order_id] += 1
        if outcome.verdict != "acknowledged":
            continue
        acknowledged[order_id] += 1
        version, status = outcome.body["version"], outcome.body["status"]
        if (order_id, version) in claimed:
            findings.fail(f"two acknowledged changes of order {order_id} claim version {version}")
        claimed.add((order_id, version))
        if not _has_status_event(store, order_id, version, status):
            findings.fail(f"acknowledged change of {order_id} to {status} (v{version}) is missing")
    for order_id in acknowledged.keys() | failed.keys():
        changes = sum(
            event_type == "OrderStatusUpdated"
            for _, event_type, _ in store.events.get(order_id, [])
        )
        if not acknowledged[order_id] <= changes <= acknowledged[order_id] + failed[order_id]:
            findings.fail(
                f"order {order_id} has {changes} status events for {acknowledged[order_id]} "
                f"acknowledged and {failed[order_id]} failed requests"
            )


def _has_status_event(store: Store, order_id: str, version: int, status: str) -> bool:
    return any(
        v == version and event_type == "OrderStatusUpdated" and data.get("new_status") == status
        for v, event_type, data in store.events.get(order_id, [])
    )


def check_registrations(
    log: list[Outcome], store: Store, findings: Findings, kind: str, stream_type: str, key: str
) -> None:
    """Each acknowledged customer/product has one stream; no stream nobody asked for."""
    acknowledged = [o.body[key] for o in log if o.kind == kind and o.verdict == "acknowledged"]
    failed = sum(o.kind == kind and o.verdict == "failed" for o in log)
    streams = {s for s, t in store.stream_types.items() if t == stream_type}
    rows = store.customers if stream_type == "customer" else store.products
    for stream_id in acknowledged:
        if stream_id not in streams or stream_id not in rows:
            findings.fail(f"acknowledged {stream_type} {stream_id} is missing")
    if not len(acknowledged) <= len(streams) <= len(acknowledged) + failed:
        findings.fail(
            f"{len(streams)} {stream_type} streams for {len(acknowledged)} acknowledged "
            f"and {failed} failed requests"
        )
    if rows != streams:
        findings.fail(f"{stream_type} rows and streams differ: {sorted(rows ^ streams)[:5]}")


def check_streams_match_rows(store: Store, findings: Findings) -> None:
    """Every order stream is gap-free and its replay equals the order's row."""
    order_streams = {s for s, t in store.stream_types.items() if t == "order"}
    for order_id in order_streams:
        problem = _stream_problem(store.events[order_id], store.orders.get(order_id))
        if problem:
            findings.fail(f"order {order_id}: {problem}")
    for order_id in store.orders.keys() - order_streams:
        findings.fail(f"order row {order_id} has no events")


def _stream_problem(events: list[tuple[int, str, dict]], row: tuple[str, int] | None) -> str:
    if [version for version, _, _ in events] != list(range(1, len(events) + 1)):
        return "stream versions have gaps"
    if events[0][1] != "OrderCreated":
        return f"stream starts with {events[0][1]}"
    status = events[0][2].get("status", "pending")
    for _, event_type, data in events[1:]:
        if event_type != "OrderStatusUpdated" or data.get("old_status") != status:
            return f"event {event_type} does not follow status {status}"
        status = data["new_status"]
    if row != (status, len(events)):
        return f"row {row} differs from the replay ({status}, {len(events)})"
    return ""


def check_projections(database_url: str, findings: Findings) -> None:
    """Catch up any stalled projection (and say so), then verify each against a replay."""
    stalled = _stalled_projections(database_url)
    if stalled:
        findings.notes.append(f"stalled projections caught up: {', '.join(stalled)}")
        try:
            manage("catch_up_projections", database_url=database_url)
        except RuntimeError as error:
            findings.fail(f"catch_up_projections failed: {error}")
    else:
        findings.notes.append("no projection stalled")
    try:
        output = manage("verify_projections", database_url=database_url)
        findings.notes.append("verify_projections: " + output.strip().splitlines()[-1])
    except RuntimeError as error:
        findings.fail(f"verify_projections reported differences: {error}")


def _stalled_projections(database_url: str) -> list[Any]:
    # In async mode the projections' state lives in the read database.
    with psycopg.connect(os.environ.get("READ_DATABASE_URL") or database_url) as connection:
        rows = connection.execute(
            "SELECT name FROM orders_read_projectionstate WHERE stalled ORDER BY name"
        ).fetchall()
    return [row[0] for row in rows]

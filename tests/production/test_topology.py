"""Production as users deploy it: the README's gunicorn (`gunicorn -c config/gunicorn.py`,
four worker processes, DEBUG off) on a scratch PostgreSQL database, without Redis, one
trusted proxy in front (TRUSTED_PROXY_COUNT=1; requests say which client the proxy saw in
X-Forwarded-For). Each request opens a connection of its own, so requests spread over the
workers: what one worker does, every other must agree with.

Its own CI step: `pytest -m production_topology -s` (it prints what it measures).
`TOPOLOGY_DATABASE_URL` names the PostgreSQL server (default: the local one).
"""

import json
import os
import re
import socket
import time
from collections.abc import Iterator
from http.client import HTTPConnection
from http.cookies import SimpleCookie
from urllib.parse import urlencode
from uuid import uuid4

import pytest

from tests.load.run_admin_fuzz import collected_static_files
from tests.load.server import ADMIN_DATABASE_URL, HOST, Server, live_server, manage

pytestmark = pytest.mark.production_topology

WORKERS = 4
REQUESTS = 5 * WORKERS  # enough for every worker to answer some
FAILURE_LIMIT = 5
STATEMENT_TIMEOUT_SECONDS = 5
HOSTILE_REGEX = r"(.*)(.*)(.*)(.*)(.*)\5\4\3\2\1x"
SEEDED_ORDERS = 430


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    admin_url = os.environ.get("TOPOLOGY_DATABASE_URL", ADMIN_DATABASE_URL)
    settings = {
        "AXES_FAILURE_LIMIT": str(FAILURE_LIMIT),
        "TRUSTED_PROXY_COUNT": "1",
        "STATEMENT_TIMEOUT_SECONDS": str(STATEMENT_TIMEOUT_SECONDS),
    }
    with (
        collected_static_files(admin_url),
        live_server(
            admin_url=admin_url, workers=WORKERS, prefix="orders_topology", settings=settings
        ) as running,
    ):
        load_orders(running.database_url)
        yield running


def load_orders(database_url: str) -> None:
    """Add SEEDED_ORDERS orders in bulk (the benchmark's loader), then project them."""
    load = f"load_history(customers=60, products=20, orders={SEEDED_ORDERS}, days=20)"
    code = f"from orders_bench.bulk_load import load_history; {load}"
    manage("shell", "-v0", "-c", code, database_url=database_url)
    manage("rebuild_projections", "--no-input", "--processes=1", database_url=database_url)


class Answer:
    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body
        self.text = body.decode(errors="replace")

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def cookies(self) -> dict[str, str]:
        jar = SimpleCookie()
        for name, value in self.headers:
            if name.lower() == "set-cookie":
                jar.load(value)
        return {name: morsel.value for name, morsel in jar.items()}

    def json(self) -> object:
        return json.loads(self.body)


def call(
    server: Server,
    method: str,
    path: str,
    *,
    body: str | None = None,
    headers: dict[str, str] | None = None,
    cookies: dict[str, str] | None = None,
    client: str = "10.1.0.1",
    timeout: float = 30,
) -> Answer:
    """Send one request on a connection of its own, as the proxy would for `client`."""
    sent = {"X-Forwarded-For": client, "Connection": "close", **(headers or {})}
    if cookies:
        sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    connection = HTTPConnection(HOST, server.port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        return Answer(response.status, response.getheaders(), response.read())
    finally:
        connection.close()


def api(server: Server, method: str, path: str, payload: dict | None = None, **kw) -> Answer:
    headers = {"Authorization": f"Token {server.token}", "Content-Type": "application/json"}
    return call(
        server, method, path, body=json.dumps(payload) if payload else None, headers=headers, **kw
    )


def log_in(server: Server, username: str, password: str, client: str = "10.1.0.1") -> Answer:
    """Log into the admin as a browser does (login form, CSRF token); return the answer."""
    form = call(server, "GET", "/admin/login/", client=client)
    csrf = form.cookies()["csrftoken"]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)[1]
    fields = {"username": username, "password": password, "csrfmiddlewaretoken": token}
    return call(
        server,
        "POST",
        "/admin/login/?next=/admin/",
        body=urlencode(fields),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        cookies={"csrftoken": csrf},
        client=client,
    )


def session_of(server: Server) -> dict[str, str]:
    """Log the superuser in; return the browser's cookies (session and CSRF)."""
    answer = log_in(server, "load-admin", server.password)
    assert answer.status == 302, answer.text[:300]
    form = call(server, "GET", "/admin/", cookies=answer.cookies())
    return {**answer.cookies(), **form.cookies()}


def csrf_token(server: Server, path: str, cookies: dict[str, str]) -> str:
    page = call(server, "GET", path, cookies=cookies)
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]


def post_form(server: Server, path: str, fields: dict, cookies: dict[str, str]) -> Answer:
    fields = {**fields, "csrfmiddlewaretoken": csrf_token(server, path, cookies)}
    return call(
        server,
        "POST",
        path,
        body=urlencode(fields, doseq=True),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        cookies=cookies,
    )


# --- one truth across processes -------------------------------------------------------------


def test_a_logout_ends_the_session_on_every_worker(server):
    cookies = session_of(server)
    assert call(server, "GET", "/admin/", cookies=cookies).status == 200

    logout = call(
        server,
        "POST",
        "/admin/logout/",
        body=urlencode({"csrfmiddlewaretoken": csrf_token(server, "/admin/", cookies)}),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        cookies=cookies,
    )
    opened = [call(server, "GET", "/admin/", cookies=cookies).status for _ in range(REQUESTS)]

    print(
        f"\nlogout: the old session cookie opened /admin/ {opened.count(200)} of {REQUESTS} times"
    )
    assert logout.status == 200
    assert opened.count(200) == 0


def test_a_sale_is_in_popular_products_on_every_worker_at_its_position(server):
    for _ in range(REQUESTS):  # every worker has an answer to remember
        assert api(server, "GET", "/api/products/popular/?days=30").status == 200
    customer = api(
        server, "POST", "/api/customers/", {"name": "Top Buyer", "email": f"{uuid4()}@example.com"}
    )
    product = api(
        server,
        "POST",
        "/api/products/",
        {"name": f"Bestseller {uuid4().hex[:6]}", "category": "books", "unit_price": "1.00"},
    )
    sale = api(
        server,
        "POST",
        "/api/orders/",
        {
            "customer_id": customer.json()["customer_id"],
            "items": [{"product_id": product.json()["product_id"], "quantity": 100_000}],
            "shipping_address": {
                "line1": "1 Road",
                "city": "Leeds",
                "postal_code": "LS1",
                "country": "GB",
            },
            "payment_method": "card",
        },
    )
    position = sale.json()["position"]

    stale, plain, waited = 0, [], []
    for n in range(2 * REQUESTS):
        query = "?days=30" if n % 2 else f"?days=30&min_position={position}"
        answer = api(server, "GET", f"/api/products/popular/{query}")
        (plain if n % 2 else waited).append(answer)
        top = answer.json()[0]["product_id"]
        reported = int(answer.header("X-Projection-Position"))
        stale += top != product.json()["product_id"] or reported < position

    print(f"\npopular products after a sale: {stale} of {2 * REQUESTS} answers stale")
    assert sale.status == 201
    assert stale == 0


def test_admin_messages_show_on_the_next_page(server):
    cookies = session_of(server)
    changelist = "/admin/orders_write/order/"
    pending = api(server, "GET", "/api/orders/?status=pending&page_size=6").json()["results"]
    shown = 0
    for order in pending:
        action = post_form(
            server,
            changelist,
            {
                "action": "mark_confirmed",
                "select_across": "0",
                "index": "0",
                "_selected_action": [order["order_id"]],
            },
            cookies,
        )
        page = call(server, "GET", action.header("Location") or changelist, cookies=cookies)
        shown += "1 order(s) changed to confirmed." in page.text

    print(f"\nadmin messages: {shown} of {len(pending)} shown on the next page")
    assert len(pending) == 6
    assert shown == len(pending)


# --- no client can hold the server ------------------------------------------------------------


def test_half_open_connections_do_not_delay_another_clients_request(server):
    held = []
    for _ in range(2 * WORKERS):
        sock = socket.create_connection((HOST, server.port))
        sock.sendall(b"GET /api/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")  # and never more
        held.append(sock)
    try:
        time.sleep(0.5)  # the workers have taken them
        seconds = []
        for _ in range(REQUESTS):
            started = time.monotonic()
            answer = api(server, "GET", "/api/", timeout=60)
            seconds.append(time.monotonic() - started)
            assert answer.status == 200
    finally:
        for sock in held:
            sock.close()

    slowest = max(seconds)
    print(f"\nwith {len(held)} half-open connections: slowest of {REQUESTS} took {slowest:.3f} s")
    assert max(seconds) < 1


def test_a_hostile_admin_filter_answers_within_the_statement_timeout(server):
    cookies = session_of(server)
    path = "/admin/orders_read/ordersummary/?" + urlencode({"customer_name__regex": HOSTILE_REGEX})

    started = time.monotonic()
    answer = call(server, "GET", path, cookies=cookies, timeout=120)
    seconds = time.monotonic() - started

    print(f"\nhostile admin filter over {SEEDED_ORDERS} orders: {answer.status} in {seconds:.3f} s")
    assert answer.status in (302, 400)
    assert seconds < STATEMENT_TIMEOUT_SECONDS


# --- lockouts that lock out the right people --------------------------------------------------


def test_wrong_tokens_never_refuse_a_right_one_from_the_same_address(server):
    client = "10.2.0.1"
    wrong = [
        call(
            server,
            "GET",
            "/api/orders/",
            headers={"Authorization": f"Token {uuid4().hex * 2}"},
            client=client,
        ).status
        for _ in range(2 * FAILURE_LIMIT)
    ]
    right = [api(server, "GET", "/api/orders/", client=client).status for _ in range(REQUESTS)]

    print(
        f"\nwrong tokens: {wrong}; then right ones: {right.count(200)} of {REQUESTS} answered 200"
    )
    assert set(wrong) <= {401, 429}  # past the limit a process answers 429 (counts its own)
    assert right == [200] * REQUESTS


def test_wrong_passwords_lock_out_that_user_from_that_address_only(server):
    attacker, elsewhere = "10.3.0.1", "10.3.0.2"
    failures = [
        log_in(server, "load-admin", "wrong-password", client=attacker).status
        for _ in range(FAILURE_LIMIT)
    ]

    from_attacker = log_in(server, "load-admin", server.password, client=attacker).status
    from_elsewhere = log_in(server, "load-admin", server.password, client=elsewhere).status

    print(
        f"\nwrong passwords {failures}; the right one: {from_attacker} from that address, "
        f"{from_elsewhere} from another"
    )
    assert from_attacker == 429
    assert from_elsewhere == 302

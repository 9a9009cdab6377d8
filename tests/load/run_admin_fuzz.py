"""Fuzz the admin with hostile requests against a production-style server on PostgreSQL.

    python -m tests.load.run_admin_fuzz [--per-page 250] [--seed 20260101]

Logs into the admin, seeds a few customers, products and orders through the API, then sends
every change list (found on the admin index) and the admin's own pages hostile parameters:
NUL characters, years 0, -1, 9999 and 10000, numbers like 10**30, forged cursors, date
hierarchy and filter parameters with bad values, search, ordering and page garbage; and
change, history and delete URLs with garbage ids. Any 5xx, or a request without an answer,
is a failure: exits 1 listing them.
"""

import argparse
import http.client
import os
import random
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import quote, urlencode

from .server import (
    HOST,
    USERNAME,
    Server,
    add_server_arguments,
    exit_on_sigterm,
    live_server,
    manage,
)
from .workload import Client, seed_world

HUGE = 10**30
HOSTILE_VALUES = (
    "\x00",
    "paid\x00",
    "",
    "0",
    "-1",
    "9999",
    "10000",
    str(HUGE),
    str(-HUGE),
    "1e999999",
    "NaN",
    "-Infinity",
    "' OR 1=1--",
    "0000-00-00",
    "0001-01-01",
    "9999-12-31",
    "10000-01-01",
    "2026-13-45 25:61:61",
    "9999-12-31T23:59:59+14:00",
    "cD0nIE9SIDE9MS0t",  # a forged cursor: base64 of p=' OR 1=1--
    '{"a": [}',
    "%",
    "\\",
    "\u2603\ufffd",
    "x" * 3000,
)
DATE_PARTS = {
    "year": ("0", "-1", "1", "9999", "10000", str(HUGE)),
    "month": ("0", "12", "13", str(HUGE)),
    "day": ("0", "31", "32", str(HUGE)),
}
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ \[")
GENERIC_PARAMS = ("q", "o", "p", "e", "all", "_changelist_filters", "_to_field", "cursor")
GARBAGE_IDS = ("garbage", "\x00", "0", "-1", str(HUGE), "9999-12-31", "' OR 1=1--", "..%2F..")
# The admin's own pages, with the parameters they take.
PAGES = {
    "/admin/dashboard/": ("days",),
    "/admin/trace/": ("correlation_id",),
    "/admin/projections/": (),
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-page", type=int, default=250, help="Requests per change list.")
    parser.add_argument("--seed", type=int, default=20260101, help="Sampling seed.")
    parser.add_argument("--clients", type=int, default=3, help="Requests in flight at once.")
    add_server_arguments(parser, workers=3)
    return parser.parse_args(argv)


@dataclass
class Result:
    method: str
    target: str
    status: int | None
    detail: str = ""
    form: dict | None = None


@dataclass
class AdminSession:
    """A logged-in admin session over plain HTTP (cookies kept by hand)."""

    port: int
    cookies: dict[str, str] = field(default_factory=dict)

    def request(
        self, method: str, target: str, form: dict[str, str] | None = None
    ) -> tuple[int | None, str, str]:
        """Send one request; return status, Location and body (status None: no answer)."""
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode(form)
            headers |= {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-CSRFToken": self.cookies.get("csrftoken", ""),
                "Referer": f"http://{HOST}:{self.port}/admin/",
            }
        connection = http.client.HTTPConnection(HOST, self.port, timeout=30)
        try:
            connection.request(method, target, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode(errors="replace")
            for header in response.headers.get_all("Set-Cookie") or []:
                cookie = SimpleCookie(header)
                self.cookies |= {name: morsel.value for name, morsel in cookie.items()}
            return response.status, response.getheader("Location", ""), text
        except (OSError, http.client.HTTPException) as error:
            return None, "", type(error).__name__
        finally:
            connection.close()

    def log_in(self, password: str) -> None:
        """Log in through the admin's login form; raise if that fails."""
        self.request("GET", "/admin/login/")
        status, location, body = self.request(
            "POST",
            "/admin/login/?next=/admin/",
            {
                "username": USERNAME,
                "password": password,
                "csrfmiddlewaretoken": self.cookies.get("csrftoken", ""),
                "next": "/admin/",
            },
        )
        if status != 302 or "sessionid" not in self.cookies:
            reason = re.findall(r"<p>(.*?)</p>", body, re.S)[:3]
            raise RuntimeError(f"Admin login failed: {status} {location} {reason}")


def seed(server: Server, seed_value: int) -> None:
    """Create a few customers, products and orders through the API."""
    seed_world(Client(server.port, server.token, []), random.Random(seed_value), 3, 3, 3)


def changelists(session: AdminSession) -> list[str]:
    """Return the path of every change list the admin index links to."""
    status, _, body = session.request("GET", "/admin/")
    if status != 200:
        raise RuntimeError(f"The admin index answered {status}")
    return sorted(set(re.findall(r'href="(/admin/[a-z_]+/[a-z_]+/)"', body)))


def page_parameters(body: str) -> tuple[set[str], set[str], list[str]]:
    """Return a change list's filter parameters, its date fields and its objects' ids."""
    params = {
        name
        for query in re.findall(r'href="\?([^"#]*)"', body)
        for name, _, _ in (pair.partition("=") for pair in query.replace("&amp;", "&").split("&"))
        if name
    }
    dates = {  # date hierarchies, and date filters (their links name a range)
        name.rsplit("__", 1)[0] for name in params if name.endswith(("__year", "__gte"))
    }
    ids = re.findall(r'href="/admin/[a-z_]+/[a-z_]+/([^/"]+)/change/', body)
    return params - {"o", "p", "q", "e", "all"}, dates, ids


def q(value: str) -> str:
    return quote(value, safe="")


def changelist_targets(path: str, body: str) -> list[str]:
    """Return every hostile GET of one change list."""
    filters, dates, _ = page_parameters(body)
    targets = [
        f"{path}?{q(name)}={q(value)}"
        for name in sorted(filters | set(GENERIC_PARAMS))
        for value in HOSTILE_VALUES
    ]
    for date_field in sorted(dates):
        for year in DATE_PARTS["year"]:
            base = f"{path}?{date_field}__year={year}"
            targets.append(base)
            targets += [f"{base}&{date_field}__month={m}" for m in DATE_PARTS["month"]]
            targets += [
                f"{base}&{date_field}__month=12&{date_field}__day={d}" for d in DATE_PARTS["day"]
            ]
        for lookup in ("gte", "lt", "date", "year__gt", "isnull"):
            targets += [f"{path}?{date_field}__{lookup}={q(v)}" for v in HOSTILE_VALUES[:20]]
    return targets


def object_targets(path: str, ids: list[str]) -> list[tuple[str, str, dict | None]]:
    """Return hostile requests on one model's objects: garbage ids, hostile preserved filters."""
    targets: list[tuple[str, str, dict | None]] = []
    for object_id in GARBAGE_IDS:
        for view in ("change", "history", "delete"):
            targets.append(("GET", f"{path}{q(object_id)}/{view}/", None))
    for object_id in ids[:1]:
        for value in ("\x00", str(HUGE), "o=x&p=-1&e=" + str(HUGE), "order_date__year=9999"):
            targets.append(
                ("GET", f"{path}{object_id}/change/?_changelist_filters={q(value)}", None)
            )
    return targets


def action_targets(path: str, body: str) -> list[tuple[str, str, dict | None]]:
    """Return actions posted with hostile selections (none confirmed: nothing is deleted)."""
    actions = re.findall(r'<option value="([a-z_]+)"', body)
    return [
        ("POST", path, {"action": action, "_selected_action": value, "index": "0"})
        for action in actions
        for value in ("\x00", "garbage", str(HUGE), "-1")
    ]


def page_targets() -> list[tuple[str, str, dict | None]]:
    return [
        ("GET", f"{page}?{name}={q(value)}", None)
        for page, names in PAGES.items()
        for name in (*names, "e", "q")
        for value in HOSTILE_VALUES
    ]


def plan(session: AdminSession, per_page: int, rng: random.Random) -> Iterator[tuple]:
    """Yield (changelist, method, target, form) for every request of the run."""
    for path in changelists(session):
        status, _, body = session.request("GET", path)
        if status != 200:
            yield path, "GET", path, None  # reported as it answers
            continue
        gets = [("GET", target, None) for target in changelist_targets(path, body)]
        others = object_targets(path, page_parameters(body)[2]) + action_targets(path, body)
        chosen = rng.sample(gets, min(len(gets), max(per_page - len(others), 0)))
        for method, target, form in [*chosen, *others]:
            yield path, method, target, form
    for method, target, form in page_targets():
        yield target.split("?")[0], method, target, form


def send(session: AdminSession, item: tuple) -> tuple[str, Result]:
    page, method, target, form = item
    if form is not None:
        form = {**form, "csrfmiddlewaretoken": session.cookies.get("csrftoken", "")}
    status, location, body = session.request(method, target, form)
    detail = location or body[:200].replace("\n", " ")
    return page, Result(method, target, status, detail, form)


def server_error_blocks(log: str) -> list[str]:
    """Return each "Internal Server Error" line of the server's log with its traceback."""
    blocks: list[list[str]] = []
    inside = False
    for line in log.splitlines():
        if LOG_LINE.match(line):
            inside = "Internal Server Error" in line
            if inside:
                blocks.append([line])
        elif inside:
            blocks[-1].append(line)
    return ["\n".join(block) for block in blocks]


def report(results: list[tuple[str, Result]], seconds: float, server_errors: int) -> list[Result]:
    """Print counts per page and status class; return the failures."""
    by_page: dict[str, Counter] = {}
    for page, result in results:
        kind = f"{result.status // 100}xx" if result.status else "no answer"
        by_page.setdefault(page, Counter())[kind] += 1
    for page, counts in sorted(by_page.items()):
        shown = ", ".join(f"{kind}: {n}" for kind, n in sorted(counts.items()))
        print(f"  {page:<48} {sum(counts.values()):>4} requests ({shown})")
    failures = [r for _, r in results if r.status is None or r.status >= 500]
    print(
        f"== admin fuzzing: {len(results)} requests on {len(by_page)} pages in {seconds:.1f} s, "
        f"{len(failures)} failures; server errors logged: {server_errors}"
    )
    for failure in failures[:50]:
        print(f"  FAIL {failure.status} {failure.method} {failure.target[:150]!r} {failure.form}")
        print(f"       {failure.detail[:200]}")
    return failures


@contextmanager
def collected_static_files(database_url: str) -> Iterator[None]:
    """Collect the static files into a scratch folder for the server (the admin's pages need
    them with DEBUG off)."""
    with tempfile.TemporaryDirectory(prefix="orders_admin_fuzz_static_") as folder:
        saved = os.environ.get("STATIC_ROOT")
        os.environ["STATIC_ROOT"] = folder
        try:
            manage("collectstatic", "--no-input", database_url=database_url)
            yield
        finally:
            os.environ.pop("STATIC_ROOT")
            if saved is not None:
                os.environ["STATIC_ROOT"] = saved


def main(argv: list[str] | None = None) -> int:
    """Start a server, fuzz its admin, report; return 1 on any failure."""
    args = parse_args(argv)
    exit_on_sigterm()
    with (
        collected_static_files(args.database_url),
        live_server(
            admin_url=args.database_url,
            workers=args.workers,
            port=args.port,
            prefix="orders_admin_fuzz",
        ) as server,
    ):
        seed(server, args.seed)
        session = AdminSession(server.port)
        session.log_in(server.password)
        started = time.perf_counter()
        items = list(plan(session, args.per_page, random.Random(args.seed)))
        with ThreadPoolExecutor(args.clients) as pool:
            results = list(pool.map(lambda item: send(session, item), items))
        seconds = time.perf_counter() - started
        logged = server.log_path.read_text(errors="replace")
        server_errors = logged.count("Internal Server Error")
        if server_errors:
            print(*server_error_blocks(logged)[:3], sep="\n")
    failures = report(results, seconds, server_errors)
    return 1 if failures or server_errors else 0


if __name__ == "__main__":
    sys.exit(main())

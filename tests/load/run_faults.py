"""Fault run: async mode with a Redis and a read database of the run's own, killed, frozen and
stopped under a steady client (commands and reads, each traced by its X-Correlation-ID).

    python -m tests.load.run_faults --database-url postgres://postgres@127.0.0.1:5432/postgres

Checks, per fault: commands keep answering 2xx when only the write database is needed; every
request answers within `ANSWER_WITHIN_SECONDS`; errors come in the API's shape (a 503 with
Retry-After); no command the client saw fail is committed afterwards (by its order_id); the
projections are current again within `CURRENT_WITHIN_SECONDS` of the repair. Prints what the
client saw and the recovery times; exits 1 on any failed check.
"""

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory

import psycopg

from .fault_services import OwnPostgres, OwnRedis, own_postgres, own_redis
from .lag import PROJECTIONS
from .server import (
    HOST,
    PYTHON,
    ROOT,
    Server,
    add_server_arguments,
    app_role,
    exit_on_sigterm,
    free_port,
    prepare_database,
    scratch_database,
    server_environment,
    start_celery,
    start_gunicorn,
    wait_until_ready,
)

FAULT_SECONDS = 10
ANSWER_WITHIN_SECONDS = 5
CURRENT_WITHIN_SECONDS = 15
# The read database's own restart and reconnections come on top (no limit in the issue).
READ_DB_CURRENT_WITHIN_SECONDS = 30
WORKER_START_SECONDS = 60
ALIVE = "orders_projection_workers_alive"
CLIENT_TIMEOUT_SECONDS = 15
COMMANDS_PER_SECOND = 5
READS_PER_SECOND = 3
WAITERS = 3
METRICS_TOKEN = "fault-run"
ADDRESS = {"line1": "1 Fault Street", "city": "Leeds", "postal_code": "LS1", "country": "GB"}


@dataclass
class Answer:
    kind: str  # command, read or wait
    fault: str
    status: int  # 0: no answer within the client's timeout
    seconds: float
    body: dict | None
    retry_after: str | None
    order_id: str = ""


@dataclass
class Run:
    server: Server
    redis: OwnRedis
    read_db: OwnPostgres
    environment: dict[str, str]
    logs: Path
    fault: str = "none"
    answers: list[Answer] = field(default_factory=list)
    acknowledged: list[tuple[str, int]] = field(default_factory=list)  # order_id, position
    problems: list[str] = field(default_factory=list)
    recoveries: dict[str, float | None] = field(default_factory=dict)
    customer_id: str = ""
    product_id: str = ""

    def call(self, kind: str, method: str, path: str, body: dict | None = None) -> Answer:
        """Send one request as the client does; record and return what it saw."""
        headers = {
            "Authorization": f"Token {self.server.token}",
            "X-Correlation-ID": str(uuid.uuid4()),
            "Content-Type": "application/json",
        }
        connection = http.client.HTTPConnection(HOST, self.server.port, CLIENT_TIMEOUT_SECONDS)
        started, fault = time.monotonic(), self.fault
        try:
            connection.request(method, path, json.dumps(body) if body else None, headers)
            response = connection.getresponse()
            raw, status, retry_after = (
                response.read(),
                response.status,
                response.getheader("Retry-After"),
            )
        except (TimeoutError, OSError):
            raw, status, retry_after = b"", 0, None
        finally:
            connection.close()
        answer = Answer(kind, fault, status, time.monotonic() - started, _json(raw), retry_after)
        self.answers.append(answer)
        return answer

    def place_order(self) -> None:
        order_id = str(uuid.uuid4())
        body = {
            "customer_id": self.customer_id,
            "items": [{"product_id": self.product_id, "quantity": 1}],
            "shipping_address": ADDRESS,
            "payment_method": "card",
            "order_id": order_id,
        }
        answer = self.call("command", "POST", "/api/orders/", body)
        answer.order_id = order_id
        if answer.status == 201:
            self.acknowledged.append((order_id, answer.body["position"]))

    def read(self, number: int) -> None:
        if number % 2 or not self.acknowledged:
            self.call("read", "GET", "/api/orders/?page_size=5")
        else:
            self.call("read", "GET", f"/api/orders/{self.acknowledged[-1][0]}/")

    def wait_for_position(self) -> None:
        if self.acknowledged:
            order_id, position = self.acknowledged[-1]
            self.call("wait", "GET", f"/api/orders/{order_id}/?min_position={position}")

    def check(self, condition: bool, message: str) -> None:
        print(("ok    " if condition else "FAIL  ") + message, flush=True)
        if not condition:
            self.problems.append(message)


def _json(raw: bytes) -> dict | None:
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def steadily(action: Callable[[int], None], per_second: float, stop: threading.Event) -> None:
    """Call `action` about `per_second` times a second until `stop` is set."""
    number = 0
    while not stop.is_set():
        started = time.monotonic()
        action(number)
        number += 1
        stop.wait(max(0.0, 1 / per_second - (time.monotonic() - started)))


@contextmanager
def steady_client(run: Run, *, waiters: int = 0) -> Iterator[None]:
    """Run the steady client (commands and reads; `waiters` clients reading their own
    writes) while the block runs."""
    stop = threading.Event()
    plan = [
        (lambda n: run.place_order(), COMMANDS_PER_SECOND / 2),
        (lambda n: run.place_order(), COMMANDS_PER_SECOND / 2),
        (run.read, READS_PER_SECOND),
        *[(lambda n: run.wait_for_position(), 10)] * waiters,
    ]
    threads = [threading.Thread(target=steadily, args=(a, rate, stop)) for a, rate in plan]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(CLIENT_TIMEOUT_SECONDS + 5)


def during(run: Run, fault: str, *, waiters: int = 0) -> list[Answer]:
    """Run the steady client for FAULT_SECONDS under `fault`; return what it saw."""
    run.fault = fault
    start = len(run.answers)
    with steady_client(run, waiters=waiters):
        time.sleep(FAULT_SECONDS)
    run.fault = "none"
    return run.answers[start:]


def seconds_until_current(run: Run, limit: float = CURRENT_WITHIN_SECONDS) -> float | None:
    """Under the steady client, wait until every projection has applied every event recorded
    before now (the outage's backlog); return how long that took (None past `limit`)."""
    started = time.monotonic()
    with psycopg.connect(run.server.database_url, autocommit=True) as write:
        backlog = write.execute("SELECT COALESCE(MAX(position), 0) FROM events").fetchone()[0]
    with steady_client(run):
        while time.monotonic() - started < limit:
            if _slowest_projection(run) >= backlog:
                return time.monotonic() - started
            time.sleep(0.2)
    return None


def _slowest_projection(run: Run) -> int:
    """Return the position of the projection furthest behind (0 if the read side is down)."""
    try:
        with psycopg.connect(run.server.read_database_url, connect_timeout=2) as read:
            rows = read.execute("SELECT position FROM orders_read_projectionstate").fetchall()
    except psycopg.OperationalError:
        return 0
    return min(row[0] for row in rows) if len(rows) == len(PROJECTIONS) else 0


def check_answers(run: Run, answers: list[Answer], *, commands_succeed: bool) -> None:
    """Check what the client saw during a fault."""
    fault = answers[0].fault if answers else "?"
    slowest = max((a.seconds for a in answers), default=0)
    run.check(all(a.status for a in answers), f"{fault}: every request answered")
    run.check(slowest < ANSWER_WITHIN_SECONDS, f"{fault}: slowest answer {slowest:.2f} s")
    shaped = [a for a in answers if a.status >= 400]
    run.check(
        all(a.body and set(a.body) == {"code", "message", "errors"} for a in shaped),
        f"{fault}: {len(shaped)} errors, all in the API's error shape",
    )
    unavailable = [a for a in answers if a.status == 503]
    run.check(all(a.retry_after for a in unavailable), f"{fault}: every 503 has Retry-After")
    if commands_succeed:
        commands = [a for a in answers if a.kind == "command"]
        run.check(
            commands and all(a.status == 201 for a in commands),
            f"{fault}: {len(commands)} commands, all 201",
        )


def check_failed_commands_not_committed(run: Run) -> None:
    """Check that no command the client saw fail (an error or no answer) is in the store."""
    failed = [a.order_id for a in run.answers if a.kind == "command" and a.status != 201]
    acknowledged = [order_id for order_id, _ in run.acknowledged]
    with psycopg.connect(run.server.database_url) as connection:
        found = Counter(
            str(row[0])
            for row in connection.execute(
                "SELECT stream_id FROM events WHERE event_type = 'OrderCreated'"
            )
        )
    committed = [order_id for order_id in failed if found[order_id]]
    run.check(not committed, f"{len(failed)} commands failed; committed later: {len(committed)}")
    run.check(
        all(found[order_id] == 1 for order_id in acknowledged),
        f"{len(acknowledged)} acknowledged commands, each in the store exactly once",
    )


def summary(run: Run, fault: str) -> str:
    answers = [a for a in run.answers if a.fault == fault]
    statuses = Counter(
        f"{a.kind} {a.status or 'timeout'}"
        + (f" {a.body['code']}" if a.status >= 400 and a.body else "")
        for a in answers
    )
    commands = sorted(a.seconds for a in answers if a.kind == "command")
    p90 = commands[int(0.9 * (len(commands) - 1))] if commands else 0
    p50 = statistics.median(commands) if commands else 0
    return (
        f"{fault:<22} {', '.join(f'{n} {k}' for k, n in sorted(statuses.items()))}; "
        f"commands p50 {p50 * 1000:.0f} ms p90 {p90 * 1000:.0f} ms; "
        f"slowest {max((a.seconds for a in answers), default=0):.2f} s"
    )


def redis_killed(run: Run) -> None:
    run.redis.kill()
    check_answers(run, during(run, "Redis killed"), commands_succeed=True)
    run.redis.start()
    recovered = seconds_until_current(run)
    run.recoveries["Redis back (after kill)"] = recovered
    run.check(recovered is not None, f"Redis back: projections current in {_s(recovered)}")


def redis_frozen(run: Run) -> None:
    run.redis.freeze()
    try:
        check_answers(run, during(run, "Redis frozen"), commands_succeed=False)
    finally:
        run.redis.thaw()
    recovered = seconds_until_current(run)
    run.recoveries["Redis thawed"] = recovered
    run.check(recovered is not None, f"Redis thawed: projections current in {_s(recovered)}")


def worker_stopped(run: Run) -> None:
    worker = run.server.celery[0]
    worker.terminate()
    worker.wait(30)
    given_back = _sweeps_waiting(run)  # reserved by the worker, queued again as it stopped
    answers = during(run, "worker stopped", waiters=WAITERS)
    check_answers(run, answers, commands_succeed=True)
    commands = sorted(a.seconds for a in answers if a.kind == "command")
    p90 = commands[int(0.9 * (len(commands) - 1))]
    run.check(p90 < 1, f"worker stopped: command p90 {p90 * 1000:.0f} ms with {WAITERS} waiters")
    sweeps = _sweeps_waiting(run)
    run.check(
        sweeps <= max(given_back, 1),
        f"worker stopped: {sweeps} sweep(s) waiting after {FAULT_SECONDS} s "
        f"({given_back} given back by the stopped worker)",
    )
    alive = _metric(run, ALIVE)
    run.check(alive == 0, f"worker stopped: /metrics {ALIVE} {alive}")
    run.server.celery[0] = _start_worker(run)
    # A new process loads Django first (many seconds on a busy machine): time the catching
    # up from the moment it runs sweeps.
    started = _seconds_until(lambda: _metric(run, ALIVE) == 1, WORKER_START_SECONDS)
    run.check(started is not None, f"worker restarted: sweeping after {_s(started)}")
    recovered = seconds_until_current(run)
    run.recoveries["worker restarted"] = recovered
    run.check(recovered is not None, f"worker back: projections current in {_s(recovered)}")


def _seconds_until(condition: Callable[[], bool], limit: float) -> float | None:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > limit:
            return None
        time.sleep(0.5)
    return time.monotonic() - started


def read_db_stopped(run: Run) -> None:
    run.read_db.stop()
    answers = during(run, "read database stopped")
    check_answers(run, answers, commands_succeed=True)
    reads = [a for a in answers if a.kind == "read"]
    run.check(
        any(a.status == 503 and a.body["code"] == "read_side_unavailable" for a in reads),
        "read database stopped: reads answer 503 read_side_unavailable",
    )
    run.read_db.start()
    recovered = seconds_until_current(run, READ_DB_CURRENT_WITHIN_SECONDS)
    run.recoveries["read database restarted"] = recovered
    run.check(recovered is not None, f"read database back: current in {_s(recovered)}")


def read_db_frozen(run: Run) -> None:
    run.read_db.freeze()
    try:
        check_answers(run, during(run, "read database frozen"), commands_succeed=True)
    finally:
        run.read_db.thaw()
    recovered = seconds_until_current(run, READ_DB_CURRENT_WITHIN_SECONDS)
    run.recoveries["read database thawed"] = recovered
    run.check(recovered is not None, f"read database thawed: current in {_s(recovered)}")


def _s(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds:.1f} s"


def _sweeps_waiting(run: Run) -> int:
    import redis

    client = redis.Redis.from_url(run.environment["CELERY_BROKER_URL"], socket_timeout=2)
    messages = client.lrange("celery", 0, -1)
    return sum(json.loads(m)["headers"]["task"] == "orders_read.tasks.sweep" for m in messages)


def _metric(run: Run, name: str) -> float | None:
    connection = http.client.HTTPConnection(HOST, run.server.port, timeout=10)
    connection.request("GET", "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    page = connection.getresponse().read().decode()
    connection.close()
    values = [line.split()[-1] for line in page.splitlines() if line.startswith(f"{name} ")]
    return float(values[0]) if values else None


def _start_worker(run: Run) -> subprocess.Popen:
    """Start a Celery worker again, as the run's first one was started."""
    command = [
        PYTHON,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "--concurrency=2",
        "--loglevel=WARNING",
    ]
    with (run.logs / "celery-worker-2.log").open("wb") as log:
        return subprocess.Popen(  # noqa: S603 (fixed argument list)
            command,
            cwd=ROOT,
            env=server_environment(run.server.database_url, **run.environment),
            stdout=log,
            stderr=log,
        )


SCENARIOS = [redis_killed, redis_frozen, worker_stopped, read_db_stopped, read_db_frozen]


def seed(run: Run) -> None:
    customer = run.call(
        "seed", "POST", "/api/customers/", {"name": "Fay Ult", "email": "fay@example.com"}
    )
    product = run.call(
        "seed",
        "POST",
        "/api/products/",
        {"name": "Fuse", "category": "parts", "unit_price": "2.50"},
    )
    run.customer_id, run.product_id = customer.body["customer_id"], product.body["product_id"]


def wait_for_worker(run: Run) -> None:
    """Start the faults once the worker sweeps and has applied the seed: a fault that hits a
    worker still loading Django times its start-up, not the recovery."""
    started = _seconds_until(lambda: _metric(run, ALIVE) == 1, WORKER_START_SECONDS)
    run.check(started is not None, f"worker started: sweeping after {_s(started)}")
    current = seconds_until_current(run, WORKER_START_SECONDS)
    run.check(current is not None, f"worker started: projections current after {_s(current)}")


def wait_until_up(server: Server, tries: int = 4) -> None:
    """Wait for gunicorn as `wait_until_ready` does, longer on a busy machine."""
    for attempt in range(tries):
        try:
            wait_until_ready(server)
            return
        except RuntimeError:
            if server.process.poll() is not None or attempt == tries - 1:
                raise


@contextmanager
def fault_server(
    admin_url: str, redis: OwnRedis, read_db: OwnPostgres, workers: int
) -> Iterator[Run]:
    """Start gunicorn, a Celery worker and beat in async mode on a scratch write database of
    `admin_url`'s server and a read database on the run's own cluster."""
    urls = {"REDIS_URL": redis.url(0), "CELERY_BROKER_URL": redis.url(1)}
    with (
        scratch_database(admin_url, "orders_faults") as url,
        scratch_database(read_db.admin_url, "orders_faults_read") as read_url,
        TemporaryDirectory(prefix="orders_faults_") as logs,
    ):
        saved = dict(os.environ)
        os.environ.update(urls, READ_DATABASE_URL=read_url, PROJECTION_MODE="async")
        try:
            token = prepare_database(url, "fault-run-password")
            with app_role(url) as (role, environment):
                environment = {**environment, "CONN_MAX_AGE": "0", "METRICS_TOKEN": METRICS_TOKEN}
                port = free_port()
                log_path = Path(logs) / "gunicorn.log"
                process = start_gunicorn(
                    url, port=port, workers=workers, log_path=log_path, **environment
                )
                server = Server(
                    port=port,
                    token=token,
                    database_url=url,
                    process=process,
                    log_path=log_path,
                    read_database_url=read_url,
                    app_role=role,
                )
                server.celery = start_celery(url, Path(logs), **environment)
                try:
                    wait_until_up(server)
                    yield Run(server, redis, read_db, {**urls, **environment}, Path(logs))
                finally:
                    server.stop()
        finally:
            os.environ.clear()
            os.environ.update(saved)


def report(run: Run) -> None:
    """Print what the client saw under each fault, and the recovery times."""
    print("\nwhat the client saw:")
    for fault in dict.fromkeys(a.fault for a in run.answers if a.fault != "none"):
        print("  " + summary(run, fault))
    print("recovery (projections current again):")
    for moment, seconds in run.recoveries.items():
        print(f"  {moment:<26} {_s(seconds)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_server_arguments(parser, workers=4)
    names = [scenario.__name__ for scenario in SCENARIOS]
    parser.add_argument("--only", nargs="+", choices=names, default=names, help="Faults to run.")
    parser.add_argument("--keep-logs", type=Path, help="Copy the servers' logs to this folder.")
    args = parser.parse_args(argv)
    exit_on_sigterm()
    started = time.monotonic()
    with (
        own_redis() as redis,
        own_postgres() as read_db,
        fault_server(args.database_url, redis, read_db, args.workers) as run,
    ):
        seed(run)
        wait_for_worker(run)
        for scenario in SCENARIOS:
            if scenario.__name__ in args.only:
                scenario(run)
        check_failed_commands_not_committed(run)
        report(run)
        if args.keep_logs:
            shutil.copytree(run.logs, args.keep_logs, dirs_exist_ok=True)
    print(f"fault run: {time.monotonic() - started:.0f} s, {len(run.problems)} failed check(s)")
    return 1 if run.problems else 0


if __name__ == "__main__":
    sys.exit(main())

"""Load and faults: drive a production-style server with reads and racing writes, SIGKILL
workers meanwhile, then check that nothing acknowledged was lost, nothing cut off was
half-written, and every projection equals a replay of the event store.

    python -m tests.load.run_load --duration 20 --clients 8

Prints throughput, latency percentiles per kind of request and error counts; exits 1 if
any check fails.
"""

import argparse
import contextlib
import random
import statistics
import sys
import threading
import time
from collections import Counter, defaultdict

from .checks import Findings, check_all, load_store
from .lag import LagProbe, sample, seconds_until_current
from .proxy import BEHIND_ONE_PROXY, nginx_in_front
from .server import (
    Server,
    add_server_arguments,
    async_projections,
    exit_on_sigterm,
    live_server,
)
from .workload import Client, Outcome, World, drive, seed_world

RESPAWN_WAIT_SECONDS = 15
CURRENT_WITHIN_SECONDS = 10
LAG_SAMPLE_SECONDS = 0.2


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=20, help="Seconds of load.")
    parser.add_argument("--clients", type=int, default=8, help="Concurrent client threads.")
    parser.add_argument(
        "--kills", type=int, default=0, help="Workers to SIGKILL (default: 1 per 5 s)."
    )
    parser.add_argument("--hot-orders", type=int, default=3, help="Orders all clients race on.")
    parser.add_argument("--seed", type=int, default=1, help="Random seed of the clients.")
    parser.add_argument(
        "--mode",
        choices=["inline", "async"],
        default="inline",
        help="async: a read database of its own, Celery worker and beat; Celery pool "
        "processes are SIGKILLed too, and lag is sampled.",
    )
    parser.add_argument(
        "--proxy",
        action="store_true",
        help="Send the clients through nginx with deploy/nginx/proxy.conf, as in production.",
    )
    add_server_arguments(parser, workers=4)
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.clients < 1 or args.workers < 2:
        parser.error("need a positive duration, 1 client and 2 workers at least")
    args.kills = args.kills or max(1, int(args.duration // 5))
    return args


def kill_workers(server: Server, args: argparse.Namespace, stop: threading.Event) -> None:
    """SIGKILL a busy worker at evenly spaced moments of the run."""
    rng = random.Random(args.seed)
    started = time.monotonic()
    for number in range(1, args.kills + 1):
        moment = started + args.duration * number / (args.kills + 1)
        if stop.wait(max(0.0, moment - time.monotonic())):
            return
        workers = server.busiest_workers()
        if workers:
            server.kill_worker(rng.choice(workers))
        if pool := server.celery_children():
            server.kill_celery_child(rng.choice(pool))


def run(server: Server, args: argparse.Namespace, log: list[Outcome]) -> float:
    """Seed the data, then run the clients and the killer for the duration; return its length."""
    rng = random.Random(args.seed)
    world = seed_world(Client(server.entry_port, server.token, log), rng, 12, 10, args.hot_orders)
    deadline = time.monotonic() + args.duration
    stop = threading.Event()
    threads = [threading.Thread(target=kill_workers, args=(server, args, stop), daemon=True)]
    threads += [
        threading.Thread(
            target=_client, args=(server, world, args.seed + n, deadline, log), daemon=True
        )
        for n in range(args.clients)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads[1:]:
        thread.join(args.duration + 120)
    stop.set()
    threads[0].join(5)
    return time.monotonic() - started


def _client(server: Server, world: World, seed: int, deadline: float, log: list) -> None:
    drive(Client(server.entry_port, server.token, log), world, random.Random(seed), deadline)


def check_server_survived(server: Server, args: argparse.Namespace, findings: Findings) -> None:
    """The master must still run and have replaced every killed worker."""
    if server.process.poll() is not None:
        findings.fail(f"gunicorn's master exited ({server.process.returncode})")
        return
    deadline = time.monotonic() + RESPAWN_WAIT_SECONDS
    while len(server.worker_pids()) < args.workers and time.monotonic() < deadline:
        time.sleep(0.2)
    if len(server.worker_pids()) < args.workers:
        findings.fail(f"only {len(server.worker_pids())} of {args.workers} workers are running")
    if not server.kills:
        findings.fail("no worker was killed")


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Return the nearest-rank percentile of already sorted values."""
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def report(log: list[Outcome], seconds: float, args: argparse.Namespace, server: Server) -> None:
    """Print throughput, latency per kind of request, and outcomes."""
    print(
        f"== load: {seconds:.1f} s, {args.clients} clients, {args.workers} workers: "
        f"{len(log)} requests, {len(log) / seconds:.1f} req/s"
    )
    print(f"{'kind':<16}{'count':>7}{'ack':>7}{'refused':>8}{'failed':>7}", end="")
    print(f"{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'mean ms':>9}")
    by_kind: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in log:
        by_kind[outcome.kind].append(outcome)
    for kind, outcomes in sorted(by_kind.items()):
        verdicts = Counter(outcome.verdict for outcome in outcomes)
        times = sorted(outcome.seconds * 1000 for outcome in outcomes)
        print(
            f"{kind:<16}{len(outcomes):>7}{verdicts['acknowledged']:>7}{verdicts['refused']:>8}"
            f"{verdicts['failed']:>7}{percentile(times, 0.5):>9.1f}{percentile(times, 0.95):>9.1f}"
            f"{percentile(times, 0.99):>9.1f}{statistics.fmean(times):>9.1f}"
        )
    statuses = Counter(outcome.status or outcome.error for outcome in log)
    print("== outcomes by class:", dict(Counter(outcome.verdict for outcome in log)))
    print("== responses by status or error:", dict(sorted(statuses.items(), key=str)))
    conflicts = Counter(
        outcome.body.get("code") for outcome in log if outcome.status == 409 and outcome.body
    )
    print("== 409 codes:", dict(conflicts))
    print(f"== faults: {len(server.kills)} worker(s) SIGKILLed (pids {server.kills})")
    if server.celery:
        print(f"== faults: {len(server.celery_kills)} Celery pool process(es) SIGKILLed")


def watch_lag(server: Server, args: argparse.Namespace, log: list, findings: Findings) -> float:
    """Run the load while sampling the projections' lag; then wait until they are current."""
    probe = LagProbe(server.database_url, server.read_database_url)
    samples: list[float] = []
    stop = threading.Event()
    sampler = threading.Thread(target=sample, args=(probe, stop, samples, LAG_SAMPLE_SECONDS))
    sampler.start()
    try:
        seconds = run(server, args, log)
    finally:
        stop.set()
        sampler.join()
    drained = seconds_until_current(probe, CURRENT_WITHIN_SECONDS)
    probe.close()
    ordered = sorted(samples) or [0.0]
    findings.notes.append(
        f"lag during the load: p50 {percentile(ordered, 0.5):.2f} s, "
        f"p95 {percentile(ordered, 0.95):.2f} s, max {ordered[-1]:.2f} s ({len(samples)} samples)"
    )
    if drained is None:
        findings.fail(f"projections still lag {CURRENT_WITHIN_SECONDS} s after the load ended")
    else:
        findings.notes.append(f"every projection current {drained:.2f} s after the load ended")
    if server.celery and not server.celery_kills:
        findings.fail("no Celery pool process was killed")
    return seconds


def main(argv: list[str] | None = None) -> int:
    """Run the load, the faults and the checks; return 0 if every check holds."""
    args = parse_args(argv)
    exit_on_sigterm()
    log: list[Outcome] = []
    findings = Findings()
    with (
        async_projections(args.database_url, "orders_load")
        if args.mode == "async"
        else contextlib.nullcontext(),
        live_server(
            admin_url=args.database_url,
            workers=args.workers,
            port=args.port,
            settings=BEHIND_ONE_PROXY if args.proxy else None,
        ) as server,
        nginx_in_front(server.port) if args.proxy else contextlib.nullcontext(server.port) as entry,
    ):
        server.entry_port = entry
        if args.mode == "async":
            seconds = watch_lag(server, args, log, findings)
        else:
            seconds = run(server, args, log)
        check_server_survived(server, args, findings)
        server.stop()
        report(log, seconds, args, server)
        checked = check_all(log, load_store(server.database_url), server.database_url)
        findings.violations += checked.violations
        findings.notes += checked.notes
    for note in findings.notes:
        print(f"== {note}")
    for violation in findings.violations[:50]:
        print(f"VIOLATION: {violation}")
    if findings.violations:
        print(f"== FAILED: {len(findings.violations)} violation(s)")
        return 1
    print("== OK: every acknowledged command is stored exactly once, nothing half-written")
    return 0


if __name__ == "__main__":
    sys.exit(main())

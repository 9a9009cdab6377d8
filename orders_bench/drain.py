"""Async mode: how fast Celery workers drain a backlog, from an empty read side to every
projection at the head of the store, and how far they lag behind commands."""

import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.db import connections

from config.celery import app
from orders_bench.environment import subprocess_environment
from orders_read.database import read_connection
from orders_read.models import ProjectionFailure, ProjectionState
from orders_read.projections import NAMES, models_of
from orders_read.running.tasks import sweep
from orders_write.event_reader import Checkpoint, checkpoint_at, count_events, head, lag

ROOT = Path(__file__).resolve().parents[1]
POLL_SECONDS = 0.5


LAG_SAMPLE_SECONDS = 0.1


@contextmanager
def worker_running(concurrency: int) -> Iterator[None]:
    """Run a Celery worker with `concurrency` processes while the block runs."""
    connections.close_all()
    worker = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
        [sys.executable, "-m", "celery", "-A", "config", "worker",
         f"--concurrency={concurrency}", "--loglevel=WARNING"],
        cwd=ROOT, env=subprocess_environment(), stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        while not app.control.ping(timeout=0.5):
            if worker.poll() is not None:
                raise RuntimeError("the Celery worker exited")
        yield
    finally:
        worker.terminate()
        worker.wait(60)


def measure_drain(concurrency: int) -> dict[str, Any]:
    """Empty the read side, start a Celery worker with `concurrency` processes, and time it
    until every projection has applied every event; events per second."""
    events = count_events()
    forget_read_side()
    with worker_running(concurrency):
        started = time.perf_counter()
        sweep.delay()
        wait_until_current()
        elapsed = time.perf_counter() - started
    return {
        "events": events,
        "seconds": round(elapsed, 1),
        "events_per_s": round(events / elapsed),
        "worker_processes": concurrency,
    }


def forget_read_side() -> None:
    """Empty every read table and reset every projection to the start of the store."""
    with read_connection.cursor() as cursor:
        for name in NAMES:
            for model in models_of(name):
                cursor.execute(f"TRUNCATE {read_connection.ops.quote_name(model._meta.db_table)}")
    ProjectionState.objects.all().delete()
    ProjectionFailure.objects.all().delete()


def _passed(state: ProjectionState, target: Checkpoint) -> bool:
    return state.stalled or state.checkpoint >= target


def wait_until_current() -> None:
    """Wait until every projection's checkpoint is at the head of the store (or stalled)."""
    target = checkpoint_at(head().position)
    while True:
        states = {s.name: s for s in ProjectionState.objects.all()}
        if all(
            n in states and (states[n].stalled or states[n].checkpoint >= target) for n in NAMES
        ):
            return
        time.sleep(POLL_SECONDS)


def lag_seconds() -> float:
    """Return how long ago the oldest event some projection has not applied was recorded."""
    states = {s.name: s.checkpoint for s in ProjectionState.objects.all()}
    return max(lag(states.get(name, Checkpoint.START)).seconds for name in NAMES)


@contextmanager
def lag_sampled() -> Iterator[dict[str, Any]]:
    """Sample the projections' lag every LAG_SAMPLE_SECONDS while the block runs; fill the
    yielded dict with its percentiles."""
    samples: list[float] = []
    stop = threading.Event()

    def sample() -> None:
        try:
            while not stop.wait(LAG_SAMPLE_SECONDS):
                samples.append(lag_seconds())
        finally:
            connections.close_all()

    sampler = threading.Thread(target=sample, name="lag sampler")
    sampler.start()
    figures: dict[str, Any] = {}
    try:
        yield figures
    finally:
        stop.set()
        sampler.join()
    ordered = sorted(samples) or [0.0]
    cuts = statistics.quantiles(ordered, n=100) if len(ordered) > 1 else ordered * 99
    figures |= {"p50": cuts[49], "p95": cuts[94], "max": ordered[-1], "samples": len(samples)}

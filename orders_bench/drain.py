"""Async mode: how fast Celery workers drain a backlog, from an empty read side to every
projection at the head of the store."""

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.db import connections

from config.celery import app
from orders_read.database import read_connection
from orders_read.models import ProjectionFailure, ProjectionState
from orders_read.projections import NAMES, models_of
from orders_read.running.tasks import sweep
from orders_write.event_reader import Checkpoint, checkpoint_at, count_events, head

ROOT = Path(__file__).resolve().parents[1]
POLL_SECONDS = 0.5


def measure_drain(concurrency: int) -> dict[str, Any]:
    """Empty the read side, start a Celery worker with `concurrency` processes, and time it
    until every projection has applied every event; events per second."""
    events = count_events()
    forget_read_side()
    connections.close_all()
    worker = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
        [sys.executable, "-m", "celery", "-A", "config", "worker",
         f"--concurrency={concurrency}", "--loglevel=WARNING"],
        cwd=ROOT, env=os.environ.copy(),
    )  # fmt: skip
    try:
        while not app.control.ping(timeout=0.5):
            if worker.poll() is not None:
                raise RuntimeError("the Celery worker exited")
        started = time.perf_counter()
        sweep.delay()
        wait_until_current()
        elapsed = time.perf_counter() - started
    finally:
        worker.terminate()
        worker.wait(60)
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

"""Run parts of a replay in forked processes, each with its own database connection, and
report their progress together."""

import multiprocessing
import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from django.db import connections

from orders_read.progress import Progress
from orders_write.event_reader import Checkpoint

Replay = Callable[[list[str], Callable[[int], None]], Checkpoint]
POLL_SECONDS = 0.2


def in_processes(
    replay: Replay, parts: list[list[str]], total: int, progress: Progress | None
) -> Checkpoint:
    """Run `replay` on each part (in this process when there is one part); return the last
    event replayed, which every part reaches."""
    if len(parts) == 1:
        done = [0]

        def on_batch(n: int) -> None:
            done[0] += n
            if progress:
                progress(done[0], max(total, done[0]))

        return replay(parts[0], on_batch)
    return _forked(replay, parts, total, progress)


def _forked(
    replay: Replay, parts: list[list[str]], total: int, progress: Progress | None
) -> Checkpoint:
    context = multiprocessing.get_context("fork")
    counts = context.Array("q", len(parts))
    results = context.SimpleQueue()
    # A forked child must not share the parent's connection.
    connections.close_all()
    children = [
        context.Process(target=_child, args=(replay, part, i, counts, results))
        for i, part in enumerate(parts)
    ]
    try:
        for child in children:
            child.start()
        _watch(children, counts, total, progress)
    finally:
        for child in children:
            if child.is_alive():
                child.terminate()
                child.join()
    return max(Checkpoint(*results.get()) for _ in children)


def _child(replay: Replay, part: list[str], index: int, counts: Any, results: Any) -> None:
    parent = os.getppid()

    def on_batch(n: int) -> None:
        if os.getppid() != parent:
            raise SystemExit("The rebuild that started this replay process is gone.")
        counts[index] += n

    try:
        checkpoint = replay(part, on_batch)
        results.put((checkpoint.transaction_id, checkpoint.position))
        code = 0
    except BaseException:
        traceback.print_exc(file=sys.stderr)
        code = 1
    connections.close_all()
    sys.stderr.flush()
    # Leave without the parent's exit handlers (test runners, servers).
    os._exit(code)


def _watch(children: list, counts: Any, total: int, progress: Progress | None) -> None:
    shown = -1
    while any(child.is_alive() for child in children):
        if any(child.exitcode not in (None, 0) for child in children):
            raise RuntimeError("A replay process failed (its error is printed above).")
        if progress and min(counts) != shown:
            shown = min(counts)
            progress(shown, max(total, shown))
        time.sleep(POLL_SECONDS)
    if any(child.exitcode != 0 for child in children):
        raise RuntimeError("A replay process failed (its error is printed above).")
    if progress:
        progress(min(counts), max(total, min(counts)))

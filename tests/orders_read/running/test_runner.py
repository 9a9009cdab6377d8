"""The runner: inline or async is decided once, at start-up, by `OrdersReadConfig.ready()`;
the rest of the read side asks the runner, never the setting."""

import ast
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings

from orders_read.running.inline import InlineRunner
from orders_read.running.runner import active_runner
from orders_read.running.workers import WorkerRunner
from orders_write.event_reader import Checkpoint

ROOT = Path(__file__).resolve().parents[3]
CHECKPOINT = Checkpoint(transaction_id=7, position=41)
PACKAGES = ("config", "access", "orders_write", "orders_read", "orders_bench")


def test_ready_chooses_the_runner_of_the_projection_mode():
    runner = active_runner()

    assert runner is apps.get_app_config("orders_read").runner
    assert runner.mode == settings.PROJECTION_MODE
    expected = WorkerRunner if settings.PROJECTION_MODE == "async" else InlineRunner
    assert type(runner) is expected


def test_no_module_but_the_app_config_reads_the_projection_mode():
    production = [path for package in PACKAGES for path in (ROOT / package).rglob("*.py")]
    readers = sorted(
        str(path.relative_to(ROOT))
        for path in production
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Attribute) and node.attr == "PROJECTION_MODE"
    )

    assert readers == ["orders_read/apps.py"]


@pytest.mark.parametrize(
    ("runner", "stalled", "reflected"),
    [
        (InlineRunner(), False, None),
        (InlineRunner(), True, CHECKPOINT),
        (WorkerRunner(), False, CHECKPOINT),
        (WorkerRunner(), True, CHECKPOINT),
    ],
)
def test_a_read_reflects_the_head_inline_unless_stalled_and_the_checkpoint_async(
    runner, stalled, reflected
):
    assert runner.reflected(stalled, CHECKPOINT) == reflected


def test_inline_every_command_may_write_while_a_worker_needs_the_projection_lock():
    with InlineRunner().writing("order_summary") as held:
        assert held is True
    assert (InlineRunner.applied_by, WorkerRunner.applied_by) == ("catch_up", "worker")

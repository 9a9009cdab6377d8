"""Each command sent over HTTP has a time budget, counted from the moment its request
arrived (`COMMAND_BUDGET_SECONDS`): one that would commit after it is rolled back instead,
so that a client that gave up waiting never finds its command committed later."""

import time
from contextvars import ContextVar

from django.conf import settings
from django.core.signals import request_finished, request_started

from .exceptions import CommandTimedOut

_arrived: ContextVar[float | None] = ContextVar("request_arrived", default=None)


def _request_arrived(**kwargs: object) -> None:
    _arrived.set(time.monotonic())


def _request_finished(**kwargs: object) -> None:
    _arrived.set(None)


request_started.connect(_request_arrived, dispatch_uid="orders_write.budget.started")
request_finished.connect(_request_finished, dispatch_uid="orders_write.budget.finished")


def refuse_if_over_budget() -> None:
    """Raise CommandTimedOut if the current request has spent its command budget (commands
    run outside a request have none)."""
    arrived = _arrived.get()
    if arrived is None:
        return
    spent = time.monotonic() - arrived
    if spent > settings.COMMAND_BUDGET_SECONDS:
        raise CommandTimedOut(
            f"The command took {spent:.1f} s, past its budget of "
            f"{settings.COMMAND_BUDGET_SECONDS:g} s, and was not committed; send it again."
        )

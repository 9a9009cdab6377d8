"""Refuse write-model changes made outside the command services."""

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

from django.db import IntegrityError, models, transaction

from .budget import refuse_if_over_budget
from .exceptions import ConcurrencyConflict, DomainError, WriteOutsideService
from .metrics import COMMAND_SECONDS, COMMANDS

P = ParamSpec("P")
R = TypeVar("R")

_current_service: ContextVar[str | None] = ContextVar("current_service", default=None)


@contextmanager
def _running(service_name: str) -> Iterator[None]:
    token = _current_service.set(service_name)
    try:
        yield
    finally:
        _current_service.reset(token)


@contextmanager
def writes_outside_services(tool_name: str) -> Iterator[None]:
    """Let a tool write write-model rows directly, in one transaction, bypassing the services.

    Inside the block the guard allows `save`, `delete` and bulk writes of write-model rows
    (events stay append-only). Nothing is recorded for the tool and no signal is sent, so
    the read side does not see these rows: the tool must append the events that match its
    rows itself (or remove its rows again before it finishes), and then rebuild the
    projections (`manage.py rebuild_projections`). For tools such as the benchmark's bulk
    loader, never for the product's own writes, which go through `command_service`.
    """
    with transaction.atomic(), _running(f"tool:{tool_name}"):
        yield


def command_service(func: Callable[P, R]) -> Callable[P, R]:
    """Run `func` in one transaction as the only code allowed to write the write model."""

    @functools.wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        name, outcome = func.__name__, "failed"
        with COMMAND_SECONDS.labels(name).time():
            try:
                with transaction.atomic(), _running(name):
                    result = func(*args, **kwargs)
                    # Refuse before committing, never after: past this point the command
                    # stands, and what runs after the commit cannot delay the answer much.
                    refuse_if_over_budget()
                outcome = "accepted"
                return result
            except IntegrityError as error:
                # A unique key (stream version, order id, e-mail) taken by a concurrent command.
                outcome = "refused"
                raise ConcurrencyConflict(
                    "Another command changed the same data; retry."
                ) from error
            except DomainError:
                outcome = "refused"
                raise
            finally:
                COMMANDS.labels(name, outcome).inc()

    return run


def ensure_in_service(model: type[models.Model], operation: str) -> None:
    """Raise unless a command service is running."""
    if _current_service.get() is None:
        raise WriteOutsideService(
            f"{model.__name__}.{operation}() outside a command service: "
            f"{model.__name__} rows change only through {model.written_by} "
            "in orders_write.services, so that every change is recorded as an event."
        )


class ServiceOnlyQuerySet(models.QuerySet):
    """A queryset whose bulk writes are allowed only inside a command service."""

    def update(self, **kwargs: Any) -> int:
        ensure_in_service(self.model, "update")
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        ensure_in_service(self.model, "delete")
        return super().delete()

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list[Any]:
        ensure_in_service(self.model, "bulk_create")
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs: Any, *args: Any, **kwargs: Any) -> int:
        ensure_in_service(self.model, "bulk_update")
        return super().bulk_update(objs, *args, **kwargs)


class ServiceOnlyModel(models.Model):
    """A write-model row that only the command services may save or delete."""

    written_by = "the command services"

    objects = ServiceOnlyQuerySet.as_manager()

    class Meta:
        abstract = True
        base_manager_name = "objects"

    def save(self, *args: Any, **kwargs: Any) -> None:
        ensure_in_service(type(self), "save")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        ensure_in_service(type(self), "delete")
        return super().delete(*args, **kwargs)

"""What the application depends on, and which of it is down.

Commands need only the write database; reads need the read database; Redis (the shared cache
and the Celery broker) and the projection workers only make the read side current sooner.
A request that fails because a database cannot be reached gets a 503 that says which side
(in the API's error shape under /api/, as a page saying what is down elsewhere).
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from config.api.errors import DATABASE_UNAVAILABLE, ErrorCode, error_body, unavailable_side
from config.celery import app
from orders_read.running.runner import active_runner

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Dependency:
    name: str
    needed_for: str
    up: bool
    problem: str = ""


def dependency_statuses() -> list[Dependency]:
    """Check each dependency once, with its short timeout; say which are down."""
    checks: list[tuple[str, str, Callable[[], None]]] = [
        ("write database", "commands, sign-in, the admin", _database_check("default")),
    ]
    if settings.READ_DATABASE != "default":
        checks.append(("read database", "reads, projections", _database_check("read")))
    if settings.READ_REPLICA_DATABASE != settings.READ_DATABASE:
        replica = _database_check(settings.READ_REPLICA_DATABASE)
        checks.append(("read replica", "the API's reads", replica))
    if settings.REDIS_URL:
        checks.append(("Redis cache", "shared throttles and caches", _cache_check))
    if active_runner().uses_workers:
        checks += [
            ("Celery broker", "nudging the projection workers", _broker_check),
            ("projection workers", "keeping the read side current", _workers_check),
        ]
    return [_checked(*check) for check in checks]


def _checked(name: str, needed_for: str, check: Callable[[], None]) -> Dependency:
    try:
        check()
    except Exception as error:
        return Dependency(name, needed_for, up=False, problem=f"{type(error).__name__}: {error}")
    return Dependency(name, needed_for, up=True)


def _database_check(alias: str) -> Callable[[], None]:
    def check() -> None:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")

    return check


def _cache_check() -> None:
    caches["default"]._cache.get_client(write=True).ping()


def _broker_check() -> None:
    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=settings.REDIS_TIMEOUT_SECONDS)


def _workers_check() -> None:
    alive, age = active_runner().workers_heartbeat()
    if not alive:
        raise RuntimeError("no sweep ever ran" if age is None else f"last sweep {age:.0f} s ago")


def dependencies_page(request: HttpRequest) -> HttpResponse:
    """Show each dependency, what it is needed for, and whether it is down."""
    from django.contrib import admin
    from django.template.response import TemplateResponse

    context = {
        **admin.site.each_context(request),
        "title": "Dependencies",
        "dependencies": dependency_statuses(),
    }
    return TemplateResponse(request, "admin/dependencies.html", context)


class UnavailableMiddleware:
    """Answer a request that could not reach a database with a 503 saying what is down: in
    the API's error shape under /api/ (DRF's views do so themselves), as a page elsewhere."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DATABASE_UNAVAILABLE):
            return None
        error = unavailable_side(request)
        if request.path.startswith("/api/"):
            body = error_body(ErrorCode(error.default_code), str(error.detail))
            response: HttpResponse = JsonResponse(body, status=503)
        else:
            page = render_to_string("unavailable.html", {"dependencies": dependency_statuses()})
            response = HttpResponse(page, status=503)
        response["Retry-After"] = str(error.wait)
        return response

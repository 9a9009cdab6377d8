"""One correlation id per request: taken from `X-Correlation-ID` when it is a UUID, made
otherwise; returned in that header, put on each log line and on the events a command records."""

import logging
from collections.abc import Callable
from contextvars import ContextVar
from uuid import UUID, uuid4

from django.http import HttpRequest, HttpResponse

HEADER = "X-Correlation-ID"
NO_REQUEST = "-"

_current: ContextVar[UUID | None] = ContextVar("correlation_id", default=None)


def incoming_or_new(value: str | None) -> UUID:
    """Return the UUID a client sent, or a new one if it sent none or something else."""
    try:
        return UUID(value) if value else uuid4()
    except ValueError:
        return uuid4()


def request_correlation_id(request: HttpRequest) -> UUID:
    """Return the correlation id of a request (a new one if the middleware did not run)."""
    correlation_id = getattr(request, "correlation_id", None)
    return correlation_id if isinstance(correlation_id, UUID) else incoming_or_new(None)


class CorrelationIdMiddleware:
    """Give each request its correlation id, for its log lines, its events and its response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.correlation_id = incoming_or_new(request.headers.get(HEADER))
        token = _current.set(request.correlation_id)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response[HEADER] = str(request.correlation_id)
        return response


class CorrelationIdFilter(logging.Filter):
    """Add `correlation_id` to every record: the request's, or `-` outside requests."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Django logs a response's 4xx once the middleware has returned: its record names the
        # request.
        request = getattr(record, "request", None)
        correlation_id = getattr(request, "correlation_id", None) or _current.get()
        record.correlation_id = str(correlation_id) if correlation_id else NO_REQUEST
        return True

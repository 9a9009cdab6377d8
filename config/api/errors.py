"""The API's one error shape: every error code in one place, and the handler that renders them."""

import logging
from collections.abc import Iterator
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404
from django.utils.log import log_response
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler

from config.database_failures import failed_databases
from orders_write.exceptions import CommandTimedOut, DomainError, InvalidCommand, NotFound

logger = logging.getLogger(__name__)


class ErrorCode(StrEnum):
    """Every `code` an API error can carry (add a code here and it is in the schema)."""

    INVALID = "invalid"
    PARSE_ERROR = "parse_error"
    NOT_AUTHENTICATED = "not_authenticated"
    AUTHENTICATION_FAILED = "authentication_failed"
    PERMISSION_DENIED = "permission_denied"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    NOT_ACCEPTABLE = "not_acceptable"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    INVALID_TRANSITION = "invalid_transition"
    CONCURRENCY_CONFLICT = "concurrency_conflict"
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
    CUSTOMER_FORGOTTEN = "customer_forgotten"
    THROTTLED = "throttled"
    PROJECTION_BEHIND = "projection_behind"
    READ_SIDE_UNAVAILABLE = "read_side_unavailable"
    WRITE_SIDE_UNAVAILABLE = "write_side_unavailable"
    COMMAND_TIMED_OUT = "command_timed_out"
    SERVER_ERROR = "server_error"


ERROR_MEANINGS: dict[ErrorCode, str] = {
    ErrorCode.INVALID: "400: bad input; `errors` names each field or query parameter",
    ErrorCode.PARSE_ERROR: "400: the body is not valid JSON (or form data)",
    ErrorCode.NOT_AUTHENTICATED: "401: no credentials were sent",
    ErrorCode.AUTHENTICATION_FAILED: "401: the credentials are wrong",
    ErrorCode.PERMISSION_DENIED: "403: no permission (or a session request without CSRF token)",
    ErrorCode.NOT_FOUND: "404: no such resource",
    ErrorCode.METHOD_NOT_ALLOWED: "405: the path does not take this method",
    ErrorCode.NOT_ACCEPTABLE: "406: no representation matches the Accept header",
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: "415: the body's content type is not accepted",
    ErrorCode.INVALID_TRANSITION: "409: the order's status rules refuse the change",
    ErrorCode.CONCURRENCY_CONFLICT: "409: another command changed the data first; reload, retry",
    ErrorCode.IDEMPOTENCY_CONFLICT: "409: an order_id re-sent with a different body",
    ErrorCode.CUSTOMER_FORGOTTEN: "409: the customer was forgotten; nothing new is recorded",
    ErrorCode.THROTTLED: "429: too many requests; retry after `Retry-After` seconds",
    ErrorCode.PROJECTION_BEHIND: "503: the read side has not reached the asked position yet",
    ErrorCode.READ_SIDE_UNAVAILABLE: "503: the read database cannot be reached; commands work",
    ErrorCode.WRITE_SIDE_UNAVAILABLE: "503: the write database cannot be reached",
    ErrorCode.COMMAND_TIMED_OUT: "503: the command ran past its time budget and was not committed",
    ErrorCode.SERVER_ERROR: "500: the server failed; its log has the request's correlation id",
}

CODES = frozenset(code.value for code in ErrorCode)
ERROR_CHOICES = [(code.value, ERROR_MEANINGS[code]) for code in ErrorCode]

# The code an error gets when its exception names none of ours.
CODE_FOR_STATUS: dict[int, ErrorCode] = {
    400: ErrorCode.INVALID,
    401: ErrorCode.NOT_AUTHENTICATED,
    403: ErrorCode.PERMISSION_DENIED,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    406: ErrorCode.NOT_ACCEPTABLE,
    409: ErrorCode.CONCURRENCY_CONFLICT,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    429: ErrorCode.THROTTLED,
    500: ErrorCode.SERVER_ERROR,
    503: ErrorCode.PROJECTION_BEHIND,
}


class FieldErrorOutput(serializers.Serializer):
    field = serializers.CharField(
        allow_null=True,
        help_text="Dotted path of the field or query parameter, e.g. `items.0.quantity` or "
        "`shipping_address.city`; null when the error is about the request as a whole.",
    )
    code = serializers.CharField(help_text="What is wrong, e.g. `required`, `min_value`.")
    message = serializers.CharField()


class ErrorOutput(serializers.Serializer):
    """The body of every error response."""

    code = serializers.ChoiceField(choices=ERROR_CHOICES)
    message = serializers.CharField()
    errors = FieldErrorOutput(many=True, help_text="Field errors (empty unless code is invalid).")


class ProjectionBehind(exceptions.APIException):
    """The projections did not reach the position a read waits for in time."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = (
        "The read model has not reached min_position yet; retry after Retry-After seconds."
    )
    default_code = ErrorCode.PROJECTION_BEHIND.value

    def __init__(self, detail: str | None = None, *, wait: int = 1) -> None:
        super().__init__(detail)
        self.wait = wait  # DRF's handler turns it into Retry-After


class Unavailable(exceptions.APIException):
    """A database the request needs cannot be reached now (503, with `Retry-After`)."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    wait = 5  # seconds, sent as Retry-After


class ReadSideUnavailable(Unavailable):
    default_detail = (
        "The read database cannot be reached; commands still work. Retry after Retry-After seconds."
    )
    default_code = ErrorCode.READ_SIDE_UNAVAILABLE.value


class WriteSideUnavailable(Unavailable):
    default_detail = "The write database cannot be reached; retry after Retry-After seconds."
    default_code = ErrorCode.WRITE_SIDE_UNAVAILABLE.value


# A connection refused, lost or timed out (including a statement timeout).
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)

STATUS_FOR_ERROR: dict[type[DomainError], int] = {
    NotFound: status.HTTP_404_NOT_FOUND,
    CommandTimedOut: status.HTTP_503_SERVICE_UNAVAILABLE,
}


def error_body(code: ErrorCode, message: str, errors: list[dict[str, Any]] | None = None) -> dict:
    """Return the one error shape."""
    return {"code": code.value, "message": message, "errors": errors or []}


def handle_api_exception(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Render every API error, domain or DRF, in the one error shape."""
    if isinstance(exc, DATABASE_UNAVAILABLE):
        exc = unavailable_side(context.get("request"))
    exc = as_api_exception(exc)
    response = exception_handler(exc, context)  # sets WWW-Authenticate, Retry-After
    if response is not None:
        response.data = api_error_body(exc, response.status_code)
    if isinstance(exc, ProjectionBehind) and "request" in context:
        # Lag is expected, not a server error: a warning, never an alert mailed to ADMINS.
        request = context["request"]
        log_response("Projection behind: %s", request.path, response=response, level="warning")
    return response


def unavailable_side(request: Any) -> Unavailable:
    """Return the 503 naming the side whose database the request could not reach."""
    failed = failed_databases()
    read_side = {settings.READ_DATABASE, settings.READ_REPLICA_DATABASE}
    reads = getattr(request, "method", "GET") in SAFE_METHODS
    if read_side & failed and (reads or "default" not in failed):
        error: Unavailable = ReadSideUnavailable()
    else:
        error = WriteSideUnavailable()
    logger.warning("%s: %s", error.default_code, ", ".join(sorted(failed)) or "a database")
    return error


def as_api_exception(exc: Exception) -> Exception:
    """Turn domain and Django errors into the DRF exception of their status."""
    if isinstance(exc, InvalidCommand):
        field = exc.field or api_settings.NON_FIELD_ERRORS_KEY
        return exceptions.ValidationError({field: [exc.message]}, code=exc.code)
    if isinstance(exc, DomainError):
        error = exceptions.APIException(exc.message, code=exc.code)
        error.status_code = STATUS_FOR_ERROR.get(type(exc), status.HTTP_409_CONFLICT)
        if error.status_code == status.HTTP_503_SERVICE_UNAVAILABLE:
            error.wait = 1  # nothing was committed: sending it again is safe
        return error
    if isinstance(exc, Http404):
        return exceptions.NotFound(*exc.args)
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied(*exc.args)
    return exc


def api_error_body(exc: Exception, status_code: int) -> dict[str, Any]:
    """Return the error shape for an APIException answered with `status_code`."""
    default = CODE_FOR_STATUS.get(status_code, ErrorCode.INVALID)
    if isinstance(exc, exceptions.ValidationError):
        errors = list(field_errors(exc.detail))
        return error_body(default, summary(errors), errors)
    detail = getattr(exc, "detail", str(exc))
    code = getattr(detail, "code", None)
    return error_body(ErrorCode(code) if code in CODES else default, str(detail))


def field_errors(detail: Any, path: tuple[str, ...] = ()) -> Iterator[dict[str, Any]]:
    """Flatten DRF's nested error details into one entry per message, with its dotted path."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            inner = () if key == api_settings.NON_FIELD_ERRORS_KEY else (str(key),)
            yield from field_errors(value, (*path, *inner))
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            nested = isinstance(value, (dict, list))
            yield from field_errors(value, (*path, str(index)) if nested else path)
    else:
        code = getattr(detail, "code", None) or ErrorCode.INVALID.value
        yield {"field": ".".join(path) or None, "code": code, "message": str(detail)}


def summary(errors: list[dict[str, Any]]) -> str:
    """Return a one-line message that lists the field errors."""
    parts = [f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in errors]
    return "Invalid input. " + " ".join(parts) if parts else "Invalid input."

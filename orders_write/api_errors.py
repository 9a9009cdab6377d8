"""Map domain errors to the HTTP contract in one place."""

from typing import Any

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from .exceptions import (
    ConcurrencyConflict,
    DomainError,
    IdempotencyConflict,
    InvalidCommand,
    InvalidTransition,
    NotFound,
)

STATUS_FOR_ERROR: dict[type[DomainError], int] = {
    InvalidCommand: status.HTTP_400_BAD_REQUEST,
    NotFound: status.HTTP_404_NOT_FOUND,
    InvalidTransition: status.HTTP_409_CONFLICT,
    ConcurrencyConflict: status.HTTP_409_CONFLICT,
    IdempotencyConflict: status.HTTP_409_CONFLICT,
}


def handle_api_exception(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Render domain errors per the contract; leave everything else to DRF."""
    if not isinstance(exc, DomainError):
        return exception_handler(exc, context)
    code = STATUS_FOR_ERROR.get(type(exc), status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, InvalidCommand):
        return Response({exc.field or "non_field_errors": [exc.message]}, status=code)
    return Response({"detail": exc.message, "code": exc.code}, status=code)

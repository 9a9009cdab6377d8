"""The domain's error hierarchy; the API maps each to one HTTP status and code."""


class DomainError(Exception):
    """Base class of every error a command can end in."""

    code = "domain_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidCommand(DomainError):
    """The command's values break a rule (unknown product, bad quantity, ...)."""

    code = "invalid"


class NotFound(DomainError):
    """The command targets an aggregate that does not exist."""

    code = "not_found"


class InvalidTransition(DomainError):
    """The order's status rules refuse the change."""

    code = "invalid_transition"


class ConcurrencyConflict(DomainError):
    """Another writer changed the aggregate since it was loaded."""

    code = "concurrency_conflict"


class IdempotencyConflict(DomainError):
    """A client-chosen id was reused with a different request."""

    code = "idempotency_conflict"


class ForgottenCustomer(DomainError):
    """The customer was forgotten at their request: nothing new is recorded about them."""

    code = "customer_forgotten"


class WriteOutsideService(RuntimeError):
    """A write-model row was changed outside the command services."""


class CommandTimedOut(DomainError):
    """The command ran past its time budget, so it was rolled back instead of committed."""

    code = "command_timed_out"

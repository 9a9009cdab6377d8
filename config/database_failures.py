"""Which databases the current request failed to reach (for the 503 that names the side)."""

from django.core.signals import request_started
from django.db import connections


def failed_databases() -> set[str]:
    """Return the aliases of the databases the current request failed to use."""
    return {conn.alias for conn in connections.all(initialized_only=True) if conn.errors_occurred}


def _forget_earlier_failures(**kwargs: object) -> None:
    # Django clears the flag of an open connection; one that never opened keeps it.
    for conn in connections.all(initialized_only=True):
        if conn.connection is None:
            conn.errors_occurred = False


request_started.connect(_forget_earlier_failures, dispatch_uid="config.dependencies.forget")

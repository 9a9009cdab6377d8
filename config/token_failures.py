"""Wrong API tokens counted per client address: past `AXES_FAILURE_LIMIT` of them in a window
of `AXES_COOLOFF_TIME` from the first, each further wrong token from that address gets a 429
with `Retry-After` (the window's end) instead of a 401. A right token is never refused: tokens
are long random secrets, so guessing is slowed down, not the clients that hold one."""

import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from rest_framework.exceptions import Throttled

from .client_address import client_address

PREFIX = "token-failures"


def key_of(address: str) -> str:
    """Return the cache key that counts the failures of one client address."""
    return f"{PREFIX}:{address}"


def forget(address: str) -> None:
    """Forget the failures of one client address."""
    cache.delete_many([key_of(address), f"{key_of(address)}:start"])


def _window() -> int:
    return max(1, int(settings.AXES_COOLOFF_TIME.total_seconds()))


def refuse_if_too_many(request: HttpRequest) -> None:
    """Raise Throttled (429, `Retry-After`) if the client has sent too many wrong tokens."""
    key = key_of(client_address(request))
    if (cache.get(key) or 0) <= settings.AXES_FAILURE_LIMIT:
        return
    started = cache.get(f"{key}:start", time.time())
    raise Throttled(
        wait=max(1, round(started + _window() - time.time())),
        detail="Too many wrong tokens from this address.",
    )


def record_failure(request: HttpRequest) -> None:
    """Count one wrong token from the request's client address."""
    key = key_of(client_address(request))
    if cache.add(key, 0, _window()):
        cache.set(f"{key}:start", time.time(), _window())
    try:
        cache.incr(key)
    except ValueError:  # the window ended between add and incr
        cache.set(key, 1, _window())

"""Wrong API tokens counted per client address: past `AXES_FAILURE_LIMIT` failures in a window
of `AXES_COOLOFF_TIME` from the first, every token from that address gets a 429 until the
window ends (a valid one too, so that guessing tells nothing), except a token the process
accepted within `TOKEN_CACHE_SECONDS`, which no guess can be."""

import time

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from rest_framework.exceptions import Throttled

PREFIX = "token-failures"


def _key(request: HttpRequest) -> str:
    return key_of(get_client_ip_address(request))


def key_of(address: str) -> str:
    """Return the cache key that counts the failures of one client address."""
    return f"{PREFIX}:{address}"


def forget(address: str) -> None:
    """Forget the failures of one client address."""
    cache.delete_many([key_of(address), f"{key_of(address)}:start"])


def _window() -> int:
    return max(1, int(settings.AXES_COOLOFF_TIME.total_seconds()))


def refuse_if_locked_out(request: HttpRequest) -> None:
    """Raise Throttled (429, `Retry-After`) if the client has too many failures."""
    key = _key(request)
    if (cache.get(key) or 0) < settings.AXES_FAILURE_LIMIT:
        return
    started = cache.get(f"{key}:start", time.time())
    raise Throttled(
        wait=max(1, round(started + _window() - time.time())),
        detail="Too many wrong tokens from this address.",
    )


def record_failure(request: HttpRequest) -> None:
    """Count one wrong token from the request's client address."""
    key = _key(request)
    if cache.add(key, 0, _window()):
        cache.set(f"{key}:start", time.time(), _window())
    try:
        cache.incr(key)
    except ValueError:  # the window ended between add and incr
        cache.set(key, 1, _window())

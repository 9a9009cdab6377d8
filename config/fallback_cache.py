"""The shared Redis cache, degraded to each process's memory while Redis is unreachable.

Throttles, wrong-token counts and cached reads then count in each process (a client gets a
little more than its rate; a cached read lives only in the process that computed it) instead
of failing every request. The outage is logged once when it starts and once when it ends;
while it lasts, Redis is tried again only every `RETRY_SECONDS`, so that a frozen Redis costs
one timeout per process and interval, not one per request.
"""

import logging
import time
from typing import Any

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

RETRY_SECONDS = 2.0
UNREACHABLE = (RedisConnectionError, RedisTimeoutError)

# Per process and Redis location: the monotonic time until which Redis is not tried (absent
# while it is reachable). Django makes a cache object per thread; they share this.
_down_until: dict[str, float] = {}


class FallbackRedisCache(RedisCache):
    """Django's Redis cache that falls back to local memory while Redis is unreachable."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._location = server
        self._local = LocMemCache(f"fallback:{server}", {"OPTIONS": {"MAX_ENTRIES": 10_000}})

    def is_reachable(self) -> bool:
        """Tell whether Redis answered the last call (or is due to be tried again)."""
        return _down_until.get(self._location, 0.0) <= time.monotonic()

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self.is_reachable():
            try:
                result = getattr(super(), name)(*args, **kwargs)
            except UNREACHABLE as error:
                self._went_down(error)
            else:
                if _down_until.pop(self._location, None) is not None:
                    logger.warning("Redis is reachable again: the shared cache is back in use.")
                return result
        return getattr(self._local, name)(*args, **kwargs)

    def _went_down(self, error: Exception) -> None:
        if self._location not in _down_until:
            logger.warning(
                "Redis is unreachable (%s): counting in this process's memory until it is "
                "back; nudges to the projection workers are skipped.",
                error,
            )
        _down_until[self._location] = time.monotonic() + RETRY_SECONDS

    def add(self, *args: Any, **kwargs: Any) -> bool:
        return self._call("add", *args, **kwargs)

    def get(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("get", *args, **kwargs)

    def set(self, *args: Any, **kwargs: Any) -> None:
        return self._call("set", *args, **kwargs)

    def touch(self, *args: Any, **kwargs: Any) -> bool:
        return self._call("touch", *args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> bool:
        return self._call("delete", *args, **kwargs)

    def get_many(self, *args: Any, **kwargs: Any) -> dict:
        return self._call("get_many", *args, **kwargs)

    def has_key(self, *args: Any, **kwargs: Any) -> bool:
        return self._call("has_key", *args, **kwargs)

    def incr(self, *args: Any, **kwargs: Any) -> int:
        return self._call("incr", *args, **kwargs)

    def set_many(self, *args: Any, **kwargs: Any) -> list:
        return self._call("set_many", *args, **kwargs)

    def delete_many(self, *args: Any, **kwargs: Any) -> None:
        return self._call("delete_many", *args, **kwargs)

    def clear(self) -> None:
        return self._call("clear")


def shared_cache_reachable() -> bool:
    """Tell whether the default cache is shared and reachable (local memory never is)."""
    from django.core.cache import caches

    cache = caches["default"]
    return isinstance(cache, FallbackRedisCache) and cache.is_reachable()

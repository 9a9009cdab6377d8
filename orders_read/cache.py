"""The popular-products cache, forgotten whenever projected sales change."""

import time
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.db import transaction

GENERATION_KEY = "orders_read:popular_products:generation"
TIMEOUT_SECONDS = 300


def cached_popular_products(key: str, compute: Callable[[], Any], *, position: int) -> Any:
    """Return the cached answer for `key` at the sales projection's `position` in the current
    sales generation, computing it once.

    The position in the key keeps every process, each with a cache of its own or not, from
    answering with sales older than the position it reports; the generation, bumped at each
    sale and rebuild, forgets answers in the processes that share this cache.
    """
    generation = cache.get_or_set(GENERATION_KEY, time.time_ns, timeout=None)
    return cache.get_or_set(
        f"orders_read:popular_products:{generation}:{position}:{key}", compute, TIMEOUT_SECONDS
    )


def forget_popular_products() -> None:
    """Invalidate cached answers now and again once the sales change commits.

    The second bump covers a reader that cached the old sales between the first bump
    and the commit.
    """
    _bump_generation()
    # After the commit nothing can be undone any more: a failure there is only logged.
    transaction.on_commit(_bump_generation, robust=True)


def _bump_generation() -> None:
    # A lost key restarts from the clock, never from a generation used before.
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:
        cache.set(GENERATION_KEY, time.time_ns(), timeout=None)

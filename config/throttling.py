"""API request rates counted with one cache increment per request.

DRF's own throttles keep the time of every request of the last period in one cache entry and
read and rewrite it whole on each request, so a client sending many requests (100,000 an hour
are allowed) made each of its requests slower. These count requests in a window that starts
with a client's first request and lasts the rate's period.
"""

from typing import Any

from rest_framework import throttling
from rest_framework.request import Request

from .client_address import client_address


class CountingThrottle(throttling.SimpleRateThrottle):
    """Allow `num_requests` per client in each window of `duration` seconds."""

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        if self.cache.add(self.key, 0, self.duration):
            self.cache.set(f"{self.key}:start", self.now, self.duration)
        try:
            count = self.cache.incr(self.key)
        except ValueError:  # the window ended between add and incr
            self.cache.set(self.key, count := 1, self.duration)
        return count <= self.num_requests

    def get_ident(self, request: Request) -> str:
        """Return the client's address as the settings define it (never a claimed one)."""
        return client_address(request)

    def wait(self) -> float:
        """Return the seconds left in the client's window."""
        started = self.cache.get(f"{self.key}:start", self.now)
        return max(1.0, started + self.duration - self.now)


class AnonRateThrottle(CountingThrottle, throttling.AnonRateThrottle):
    """Limit anonymous requests per client IP (`anon` rate)."""


class UserRateThrottle(CountingThrottle, throttling.UserRateThrottle):
    """Limit each user's requests (`user` rate)."""

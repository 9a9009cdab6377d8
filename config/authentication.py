"""API token authentication that remembers, for a few seconds per process, which user a token
belongs to, so that a read does not spend a query on its credentials every time."""

import copy
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

MAX_REMEMBERED = 10_000

# token key -> (user, token, monotonic time the entry expires)
_remembered: dict[str, tuple[Any, Token, float]] = {}


class RememberedTokenAuthentication(TokenAuthentication):
    """`Authorization: Token KEY`, checked against the database at most once every
    `TOKEN_CACHE_SECONDS` per process and key.

    Deleting a token or changing a user forgets every remembered token in the process that
    made the change at once; other processes refuse it within `TOKEN_CACHE_SECONDS`.
    """

    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        now = time.monotonic()
        remembered = _remembered.get(key)
        if remembered is None or remembered[2] <= now:
            user, token = super().authenticate_credentials(key)
            if len(_remembered) >= MAX_REMEMBERED:
                _remembered.clear()
            remembered = _remembered[key] = (user, token, now + settings.TOKEN_CACHE_SECONDS)
        # A copy per request: permission caches set on one request's user stay with it.
        return copy.copy(remembered[0]), remembered[1]


def forget_remembered_tokens(**kwargs: Any) -> None:
    """Forget every remembered token (a token was deleted, or a user changed)."""
    _remembered.clear()


post_delete.connect(forget_remembered_tokens, sender=Token, dispatch_uid="forget_tokens_token")
for signal in (post_save, post_delete):
    signal.connect(
        forget_remembered_tokens,
        sender=get_user_model(),
        dispatch_uid=f"forget_tokens_user_{signal is post_save}",
    )

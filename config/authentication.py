"""API token authentication (django-rest-knox: tokens stored as digests) that remembers, for a
few seconds per process, which user a token belongs to, so that a read does not spend a query
on its credentials every time, and that slows down guessing (`token_failures`)."""

import binascii
import copy
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.models import AuthToken
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from . import token_failures

MAX_REMEMBERED = 10_000

# token digest -> (user, token, monotonic time the entry expires); never the token itself
_remembered: dict[str, tuple[Any, AuthToken, float]] = {}


class RememberedTokenAuthentication(TokenAuthentication):
    """`Authorization: Token KEY`, checked against the database at most once every
    `TOKEN_CACHE_SECONDS` per process and token.

    The user is remembered with their permissions. Deleting a token, or changing a user, their
    groups or permissions, or a group's permissions, forgets every remembered token in the
    process that made the change at once; other processes see the change within
    `TOKEN_CACHE_SECONDS`. Using a token writes nothing (no renewal of its expiry).
    """

    def authenticate(self, request: Request) -> tuple[Any, AuthToken] | None:
        if not self._sends_token(request):
            return None
        try:
            return super().authenticate(request)
        except AuthenticationFailed:
            # Only wrong tokens are slowed down: a right one is always answered.
            token_failures.record_failure(request)
            token_failures.refuse_if_too_many(request)
            raise

    def _sends_token(self, request: Request) -> bool:
        header = request.META.get("HTTP_AUTHORIZATION", "").split()
        return bool(header) and header[0].lower() == self.authenticate_header(request).lower()

    def authenticate_credentials(self, token: bytes) -> tuple[Any, AuthToken]:
        try:
            digest = hash_token(token.decode())
        except (UnicodeDecodeError, TypeError, binascii.Error) as error:
            raise AuthenticationFailed("Invalid token.") from error
        now = time.monotonic()
        remembered = _remembered.get(digest)
        if remembered is None or remembered[2] <= now:
            user, auth_token = self._look_up(digest)
            if len(_remembered) >= MAX_REMEMBERED:
                _remembered.clear()
            remembered = _remembered[digest] = (
                user,
                auth_token,
                now + settings.TOKEN_CACHE_SECONDS,
            )
        user, auth_token, _ = remembered
        if auth_token.expiry is not None and auth_token.expiry <= timezone.now():
            _remembered.pop(digest, None)
            raise AuthenticationFailed("Token expired.")
        # A copy per request: permission caches set on one request's user stay with it.
        return copy.copy(user), auth_token

    def _look_up(self, digest: str) -> tuple[Any, AuthToken]:
        auth_token = AuthToken.objects.select_related("user").filter(digest=digest).first()
        if auth_token is None:
            raise AuthenticationFailed("Invalid token.")
        user, auth_token = self.validate_user(auth_token)
        user.get_all_permissions()  # loaded once, remembered with the user
        return user, auth_token


def forget_remembered_tokens(**kwargs: Any) -> None:
    """Forget every remembered token (a token was deleted, or a user or their permissions
    changed)."""
    _remembered.clear()


post_delete.connect(forget_remembered_tokens, sender=AuthToken, dispatch_uid="forget_tokens_token")
for signal in (post_save, post_delete):
    signal.connect(
        forget_remembered_tokens,
        sender=get_user_model(),
        dispatch_uid=f"forget_tokens_user_{signal is post_save}",
    )
for relation in (
    get_user_model().groups.through,
    get_user_model().user_permissions.through,
    Group.permissions.through,
):
    m2m_changed.connect(
        forget_remembered_tokens, sender=relation, dispatch_uid=f"forget_tokens_{relation}"
    )

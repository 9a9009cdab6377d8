"""The client's address, from one setting: TRUSTED_PROXY_COUNT."""

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """Return the address of the client that sent `request`.

    Each trusted proxy appends the address it received the request from to X-Forwarded-For,
    so the entry TRUSTED_PROXY_COUNT from the end is the one the outermost proxy saw; entries
    before it are whatever the client claimed, and are never believed.
    """
    connected = request.META.get("REMOTE_ADDR", "")
    count = settings.TRUSTED_PROXY_COUNT
    if count == 0:
        return connected
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [address for address in forwarded if address]
    return forwarded[-count] if len(forwarded) >= count else connected

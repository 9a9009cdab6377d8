"""Make an API token for a user and print it, as DRF's command of this name does: the only
time it is shown (only its digest is stored)."""

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from knox.models import AuthToken


class Command(BaseCommand):
    help = (
        "Create an API token for USER and print `Generated token KEY for user USER`, once "
        "(store it: it cannot be shown again)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "-r", "--reset", action="store_true", help="Delete the user's other tokens first."
        )
        parser.add_argument(
            "--expiry-days",
            type=int,
            default=None,
            help="Days until the token expires (default: never).",
        )

    def handle(
        self, *args: Any, username: str, reset: bool, expiry_days: int | None, **options: Any
    ) -> None:
        if expiry_days is not None and expiry_days < 1:
            raise CommandError("--expiry-days must be at least 1.")
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        if reset:
            AuthToken.objects.filter(user=user).delete()
        expiry = timedelta(days=expiry_days) if expiry_days else None
        _, token = AuthToken.objects.create(user=user, expiry=expiry)
        self.stdout.write(f"Generated token {token} for user {username}")

"""The NAME arguments shared by the projection commands."""

from django.core.management.base import CommandError, CommandParser

from orders_read.projections import NAMES
from orders_read.rebuild import projection_names


def add_projection_names(parser: CommandParser) -> None:
    """Accept projection names as positional arguments (none means all)."""
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"Projections (default: all): {', '.join(NAMES)}."
    )


def chosen_projections(names: list[str]) -> list[str]:
    """Return the named projections, or all; an unknown name is a CommandError."""
    try:
        return projection_names(names)
    except ValueError as error:
        raise CommandError(error) from error

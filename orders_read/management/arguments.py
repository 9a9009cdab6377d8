"""The arguments shared by the projection commands."""

import os

from django.core.management.base import CommandError, CommandParser

from orders_read.projections import NAMES
from orders_read.rebuild.replay import projection_names


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


def add_processes(parser: CommandParser) -> None:
    """Accept --processes: how many processes replay projections side by side."""
    parser.add_argument(
        "--processes",
        type=int,
        default=min(os.cpu_count() or 1, 4),
        help="Processes replaying projections side by side (PostgreSQL only; "
        "default: the CPUs, at most 4).",
    )


def chosen_processes(processes: int) -> int:
    """Return --processes, refusing less than one."""
    if processes < 1:
        raise CommandError("--processes must be at least 1.")
    return processes

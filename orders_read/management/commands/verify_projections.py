from django.core.management.base import BaseCommand, CommandError, CommandParser

from orders_read.management.arguments import (
    add_processes,
    add_projection_names,
    chosen_processes,
    chosen_projections,
)
from orders_read.management.privileges import as_table_owner
from orders_read.rebuild.replay import Difference, verify


class Command(BaseCommand):
    help = (
        "Compare each read table with a fresh replay of the event store; exit 1 on any difference."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_projection_names(parser)
        parser.add_argument("--show", type=int, default=20, help="Differing rows to print in full.")
        add_processes(parser)

    def handle(
        self, *args: object, names: list[str], show: int, processes: int, **options: object
    ) -> None:
        projections = chosen_projections(names)
        with as_table_owner("verify_projections"):
            differences = verify(projections, processes=chosen_processes(processes))
        for difference in differences[:show]:
            self.stdout.write(self._describe(difference))
        if len(differences) > show:
            self.stdout.write(f"... and {len(differences) - show} more differing row(s)")
        if differences:
            tables = sorted({d.table for d in differences})
            raise CommandError(f"{len(differences)} row(s) differ in: {', '.join(tables)}")
        if options["verbosity"] >= 1:
            self.stdout.write(
                self.style.SUCCESS(f"{', '.join(projections)}: identical to a replay.")
            )

    def _describe(self, difference: Difference) -> str:
        key = ", ".join(str(part) for part in difference.key)
        if difference.live is None:
            return f"{difference.table} [{key}]: missing from the live table"
        if difference.replayed is None:
            return f"{difference.table} [{key}]: in the live table but not in a replay"
        changed = {
            column: (value, difference.replayed[column])
            for column, value in difference.live.items()
            if value != difference.replayed[column]
        }
        return f"{difference.table} [{key}]: " + "; ".join(
            f"{column} live={live!r} replay={replayed!r}"
            for column, (live, replayed) in changed.items()
        )

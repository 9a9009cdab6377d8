from django.core.management.base import BaseCommand, CommandError, CommandParser

from orders_read.management.arguments import (
    add_processes,
    add_projection_names,
    chosen_processes,
    chosen_projections,
)
from orders_read.management.privileges import as_table_owner
from orders_read.progress import ProgressBar
from orders_read.rebuild.replay import REPLAY_BATCH_SIZE, rebuild


class Command(BaseCommand):
    help = (
        "Rebuild projections from the event store into new tables and swap them in; "
        "reads keep using the old tables until the new ones are complete."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_projection_names(parser)
        parser.add_argument(
            "--batch-size", type=int, default=REPLAY_BATCH_SIZE, help="Events per batch."
        )
        add_processes(parser)
        parser.add_argument(
            "--no-input", action="store_false", dest="interactive", help="Do not ask to confirm."
        )

    def handle(
        self, *args: object, names: list[str], batch_size: int, processes: int, **options: object
    ) -> None:
        projections = chosen_projections(names)
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        if options["interactive"] and not self._confirmed(projections):
            raise CommandError("Rebuild cancelled.")
        bar = ProgressBar(self.stdout, "rebuild", "events", enabled=options["verbosity"] >= 1)
        with as_table_owner("rebuild_projections"):
            replayed = rebuild(
                projections,
                batch_size=batch_size,
                progress=bar.update,
                processes=chosen_processes(processes),
            )
        bar.finish()
        if options["verbosity"] >= 1:
            self.stdout.write(
                self.style.SUCCESS(f"Rebuilt {', '.join(projections)} from {replayed} event(s).")
            )

    def _confirmed(self, projections: list[str]) -> bool:
        answer = input(f"Rebuild {', '.join(projections)} from the event store? [y/N] ")
        return answer.strip().lower() in {"y", "yes"}

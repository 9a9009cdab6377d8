from django.core.management.base import BaseCommand, CommandError, CommandParser

from orders_read.management.arguments import add_projection_names, chosen_projections
from orders_read.running.catch_up import catch_up


class Command(BaseCommand):
    help = "Apply, in order, every event each projection has not applied yet."

    def add_arguments(self, parser: CommandParser) -> None:
        add_projection_names(parser)
        parser.add_argument("--batch-size", type=int, default=1000, help="Events per transaction.")

    def handle(self, *args: object, names: list[str], batch_size: int, **options: object) -> None:
        projections = chosen_projections(names)
        failed = []
        for projection in projections:
            result = catch_up(projection, batch_size=batch_size)
            if result.failed_at is not None:
                failed.append(projection)
                self.stderr.write(
                    f"{projection}: applied {result.applied} event(s), "
                    f"failed on event #{result.failed_at} (see projection_status)"
                )
            elif options["verbosity"] >= 1:
                self.stdout.write(f"{projection}: applied {result.applied} event(s), current")
        if failed:
            raise CommandError(f"Catch-up stopped at a failing event for: {', '.join(failed)}")

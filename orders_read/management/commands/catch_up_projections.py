from django.core.management.base import BaseCommand, CommandError, CommandParser

from orders_read.projector import catch_up
from orders_read.rebuild import projection_names


class Command(BaseCommand):
    help = "Apply, in order, every event each projection has not applied yet."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("names", nargs="*", metavar="NAME", help="Projections (default: all).")
        parser.add_argument("--batch-size", type=int, default=1000, help="Events per transaction.")

    def handle(self, *args: object, names: list[str], batch_size: int, **options: object) -> None:
        try:
            projections = projection_names(names)
        except ValueError as error:
            raise CommandError(error) from error
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

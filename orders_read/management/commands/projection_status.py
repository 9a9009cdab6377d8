from django.core.management.base import BaseCommand

from orders_read.running.status import projection_statuses


class Command(BaseCommand):
    help = (
        "Show each projection's position, lag (in events and seconds), state, last error and "
        "when it last advanced."
    )

    def handle(self, *args: object, **options: object) -> None:
        header = (
            f"{'projection':<22}{'state':<9}{'position':>10}{'lag':>8}{'lag(s)':>10}  "
            f"{'last advanced':<34}"
        )
        self.stdout.write(header + "last error")
        for status in projection_statuses():
            advanced = status.last_advanced_at.isoformat() if status.last_advanced_at else "-"
            line = (
                f"{status.name:<22}{status.state:<9}{status.position:>10}{status.lag:>8}"
                f"{status.lag_seconds:>10.1f}  "
                f"{advanced:<34}{' '.join(status.last_error.split())[:80] or '-'}"
            )
            style = self.style.ERROR if status.state == "stalled" else self.style.SUCCESS
            self.stdout.write(style(line))

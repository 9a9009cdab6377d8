from django.apps import AppConfig
from django.conf import settings


class OrdersReadConfig(AppConfig):
    name = "orders_read"
    verbose_name = "Orders (read side)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Choose the runner of PROJECTION_MODE, and connect each event's signal to its
        receiver: the projections whose handler tables name the event (inline), or the
        nudge of the projection workers (async)."""
        from orders_write.signals import SIGNAL_FOR_EVENT_TYPE

        from .projections import event_classes
        from .running.inline import InlineRunner
        from .running.workers import WorkerRunner

        runners = {"inline": InlineRunner, "async": WorkerRunner}
        self.runner = runners[settings.PROJECTION_MODE]()
        for event_class in event_classes():
            event_type = event_class.__name__
            SIGNAL_FOR_EVENT_TYPE[event_type].connect(
                self.runner.receiver(event_class),
                weak=False,
                dispatch_uid=f"orders_read.project_{event_type}",
            )

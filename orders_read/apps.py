from django.apps import AppConfig


class OrdersReadConfig(AppConfig):
    name = "orders_read"
    verbose_name = "Orders (read side)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Connect each event's signal to the projections whose handler tables name it
        (inline mode), or to the nudge of the projection workers (async mode)."""
        from orders_write.signals import SIGNAL_FOR_EVENT_TYPE

        from .projections import event_types
        from .running.catch_up import inline_receiver
        from .running.mode import projections_are_async
        from .running.nudges import nudge_after_commit

        for event_type in event_types():
            receiver = (
                nudge_after_commit if projections_are_async() else inline_receiver(event_type)
            )
            SIGNAL_FOR_EVENT_TYPE[event_type].connect(
                receiver, weak=False, dispatch_uid=f"orders_read.project_{event_type}"
            )

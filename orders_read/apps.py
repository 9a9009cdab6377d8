from django.apps import AppConfig


class OrdersReadConfig(AppConfig):
    name = "orders_read"
    verbose_name = "Orders (read side)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Connect each event's signal to the projections whose handler tables name it."""
        from orders_write.signals import SIGNAL_FOR_EVENT_TYPE

        from .projections import event_types
        from .projector import inline_receiver

        for event_type in event_types():
            SIGNAL_FOR_EVENT_TYPE[event_type].connect(
                inline_receiver(event_type),
                weak=False,
                dispatch_uid=f"orders_read.project_{event_type}",
            )

from django.apps import AppConfig


class OrdersReadConfig(AppConfig):
    name = "orders_read"
    verbose_name = "Orders (read side)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Connect every projection receiver (see `projections.HANDLERS`) to its event's signal."""
        from orders_write.signals import SIGNAL_FOR_EVENT_TYPE

        from .projections import HANDLERS
        from .projector import inline_receiver

        for event_type, projection, handler in HANDLERS:
            SIGNAL_FOR_EVENT_TYPE[event_type].connect(
                inline_receiver(projection, handler),
                weak=False,
                dispatch_uid=f"orders_read.{projection}.{handler.__name__}",
            )

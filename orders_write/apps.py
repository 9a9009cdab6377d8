from django.apps import AppConfig


class OrdersWriteConfig(AppConfig):
    name = "orders_write"
    verbose_name = "Orders (write side)"
    default_auto_field = "django.db.models.BigAutoField"

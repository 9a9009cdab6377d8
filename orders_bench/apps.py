from django.apps import AppConfig


class OrdersBenchConfig(AppConfig):
    name = "orders_bench"
    verbose_name = "Orders (benchmark and demo data)"

from django.apps import AppConfig


class OrdersWriteConfig(AppConfig):
    name = "orders_write"
    verbose_name = "Orders (write side)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Make every admin, Django's own too, refuse lookups the database cannot run (every
        app's admin module is loaded by now: the admin app comes first)."""
        from django.contrib import admin

        from config.admin_lookups import protect_every_admin

        protect_every_admin(admin.site)

from django.apps import AppConfig


class AccessConfig(AppConfig):
    """Who may do what: API tokens, the read-only viewer group."""

    name = "access"
    default_auto_field = "django.db.models.BigAutoField"

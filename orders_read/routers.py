"""Send the read side's models to the read database (its reads within `from_replica` to the
replica) and the rest to the write database."""

from typing import Any

from django.conf import settings
from django.db import models

from .database import reads_alias

READ_APP = "orders_read"


class ReadSideRouter:
    """Route `orders_read` to `settings.READ_DATABASE`; migrate each app on its own side."""

    def db_for_read(self, model: type[models.Model], **hints: Any) -> str | None:
        return reads_alias() if model._meta.app_label == READ_APP else None

    def db_for_write(self, model: type[models.Model], **hints: Any) -> str | None:
        return settings.READ_DATABASE if model._meta.app_label == READ_APP else None

    def allow_relation(self, obj1: models.Model, obj2: models.Model, **hints: Any) -> bool | None:
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        if db == "read_replica":
            return False
        if settings.READ_DATABASE == "default":
            return None
        return db == settings.READ_DATABASE if app_label == READ_APP else db == "default"

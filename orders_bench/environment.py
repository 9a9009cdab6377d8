"""The environment of the processes a benchmark starts (a rebuild, an order writer, Celery
workers): the databases this process uses, the test databases under tests."""

import os

from django.conf import settings
from django.db import connections


def database_url(alias: str) -> str:
    """Return the URL of the database behind `alias`."""
    s = connections[alias].settings_dict
    password = f":{s['PASSWORD']}" if s["PASSWORD"] else ""
    port = f":{s['PORT']}" if s["PORT"] else ""
    return f"postgres://{s['USER']}{password}@{s['HOST'] or 'localhost'}{port}/{s['NAME']}"


def subprocess_environment() -> dict[str, str]:
    """Return this process's environment, with the URLs of the databases it uses."""
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    if connections["default"].vendor != "postgresql":
        return environment
    environment["DATABASE_URL"] = database_url("default")
    if settings.READ_DATABASE != "default":
        environment["READ_DATABASE_URL"] = database_url(settings.READ_DATABASE)
    return environment

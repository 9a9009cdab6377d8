"""Project configuration; the Celery app loads with Django so tasks sent from it use it."""

from .celery import app as celery_app

__all__ = ["celery_app"]

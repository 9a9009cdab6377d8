"""How the projections run: inline in each command's transaction, or async on Celery workers."""

from django.conf import settings


def projections_are_async() -> bool:
    """Tell whether Celery workers, not the commands, advance the projections."""
    return settings.PROJECTION_MODE == "async"

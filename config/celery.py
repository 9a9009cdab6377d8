"""The Celery application of PROJECTION_MODE=async: `celery -A config worker` advances the
projections, `celery -A config beat` sends their periodic sweep."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
# The read side's tasks live in its `running` wing.
app.autodiscover_tasks(["orders_read.running"])

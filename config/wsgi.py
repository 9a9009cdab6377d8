"""WSGI entry point."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Web requests get the short statement timeout (settings.STATEMENT_TIMEOUT_SECONDS).
os.environ.setdefault("ORDERS_WEB_PROCESS", "1")

application = get_wsgi_application()

"""The project's settings with the logging tests' URLconf, for a production-style server."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "tests.failing_urls"

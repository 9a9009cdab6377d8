"""Log levels for expected refusals: a warning, never an error that pages or mails someone."""

import logging


class AsWarning(logging.Filter):
    """Lower the records a logger passes on to WARNING (at most)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.WARNING:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True

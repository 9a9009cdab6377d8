"""The Celery worker's consumer, made to come back as soon as the broker does.

Celery retries a lost broker connection after 2 s, then 4, 6, ... up to 30 s apart, so a
worker could stand still for many seconds after Redis returned. This one tries every
`RECONNECT_SECONDS`.
"""

import functools
from typing import Any

from celery.worker.consumer import Consumer

RECONNECT_SECONDS = 1.0


class QuickReconnectConsumer(Consumer):
    """Try the broker again every `RECONNECT_SECONDS` while it is unreachable."""

    def ensure_connected(self, conn: Any) -> Any:
        conn.ensure_connection = functools.partial(
            conn.ensure_connection,
            interval_start=RECONNECT_SECONDS,
            interval_step=0,
            interval_max=RECONNECT_SECONDS,
        )
        return super().ensure_connected(conn)

"""The Celery worker's consumer, made to come back as soon as the broker does.

Celery retries a lost broker connection after 2 s, then 4, 6, ... up to 30 s apart, so a
worker could stand still for many seconds after Redis returned. This one tries every
`RECONNECT_SECONDS`.

Before it reconnects, Celery tears the lost connection down: kombu closes its channels, then
detaches the connection from its transport, then Celery closes the connection once more.
Against a dead Redis, kombu stops closing channels at the first one that fails, and the
channel that consumes the tasks can be left open. Its second close then gives the tasks it
holds unacknowledged back through a transport that no longer knows its broker: an
AttributeError, which the worker takes for an unrecoverable error, and it exits. This one
closes every channel first, whichever fail.
"""

import contextlib
import functools
from typing import Any

from celery.worker.consumer import Consumer
from kombu import Connection

RECONNECT_SECONDS = 1.0


class QuickReconnectConsumer(Consumer):
    """Try the broker again every `RECONNECT_SECONDS` while it is unreachable; close every
    channel of a lost connection before Celery tears it down."""

    def ensure_connected(self, conn: Any) -> Any:
        conn.ensure_connection = functools.partial(
            conn.ensure_connection,
            interval_start=RECONNECT_SECONDS,
            interval_step=0,
            interval_max=RECONNECT_SECONDS,
        )
        return super().ensure_connected(conn)

    def on_connection_error_after_connected(self, exc: Exception) -> None:
        close_channels(self.connection)
        super().on_connection_error_after_connected(exc)


def close_channels(connection: Connection) -> None:
    """Close every channel of a lost `connection`, going on past those whose close fails
    because the broker is away."""
    errors = connection.connection_errors + connection.channel_errors
    # Only kombu's virtual transports (Redis among them) list their channels.
    for channel in list(getattr(connection.transport, "channels", ())):
        with contextlib.suppress(errors):
            channel.close()

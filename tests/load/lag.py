"""Projection lag in async mode, sampled from outside: seconds since the oldest event some
projection has not applied yet was recorded (0 when every projection is current)."""

import threading
import time

import psycopg

PROJECTIONS = (
    "order_summary",
    "order_details",
    "order_status_history",
    "customer_analytics",
    "product_sales",
)
OLDEST_UNAPPLIED_SQL = """
    SELECT EXTRACT(EPOCH FROM clock_timestamp() - MIN(recorded_at))
    FROM events WHERE (transaction_id, position) > (%s, %s)
"""


class LagProbe:
    """Connections to the write and read databases, reused sample after sample."""

    def __init__(self, database_url: str, read_database_url: str) -> None:
        self.write = psycopg.connect(database_url, autocommit=True)
        self.read = psycopg.connect(read_database_url, autocommit=True)

    def seconds(self) -> float:
        """Return the largest lag of any projection, in seconds."""
        rows = self.read.execute(
            "SELECT name, transaction_id, position FROM orders_read_projectionstate"
        ).fetchall()
        checkpoints = {name: (tx, position) for name, tx, position in rows}
        lags = [
            self.write.execute(OLDEST_UNAPPLIED_SQL, checkpoints.get(name, (0, 0))).fetchone()[0]
            for name in PROJECTIONS
        ]
        return max(float(lag or 0) for lag in lags)

    def close(self) -> None:
        self.write.close()
        self.read.close()


def sample(probe: LagProbe, stop: threading.Event, samples: list[float], every: float) -> None:
    """Append the lag every `every` seconds until `stop` is set."""
    while not stop.wait(every):
        samples.append(probe.seconds())


def seconds_until_current(probe: LagProbe, limit: float) -> float | None:
    """Wait until no projection lags; return how long that took (None past `limit`)."""
    started = time.monotonic()
    while probe.seconds() > 0:
        if time.monotonic() - started > limit:
            return None
        time.sleep(0.05)
    return time.monotonic() - started

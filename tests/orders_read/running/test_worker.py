"""The worker's consumer when its Redis dies: it tears the lost connection down without an
error of its own, so that it goes on to reconnect (Redis of the test's own, killed)."""

import shutil
import time
from collections.abc import Iterator
from unittest.mock import Mock

import pytest
from kombu import Connection, Consumer, Exchange, Producer, Queue

from config.celery import app
from orders_read.running.worker import QuickReconnectConsumer
from tests.load.fault_services import OwnRedis, own_redis

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")

TASKS = Queue("celery", Exchange("celery", "direct"), "celery")
# Like the worker's remote-control queue: a fanout queue deleted with its channel.
CONTROL = Queue("worker.pidbox", Exchange("worker.pidbox", "fanout"), auto_delete=True)


@pytest.fixture
def redis_server() -> Iterator[OwnRedis]:
    with own_redis() as server:
        yield server


def connection_as_a_worker_holds_it(server: OwnRedis) -> Connection:
    """Connect as the worker does, and leave the connection as the worker's usually is when
    Redis dies: a second channel on a fanout queue, a task delivered and not yet
    acknowledged, and the next BRPOP waiting for its answer."""
    connection = app.connection_for_read(server.url(1))
    delivered = []
    # The tasks' channel is the connection's first, as in the worker.
    tasks = Consumer(
        connection.default_channel,
        [TASKS],
        callbacks=[lambda body, message: delivered.append(message)],
    )
    control = connection.channel()
    Consumer(control, [CONTROL], callbacks=[lambda body, message: None]).consume()
    control.client  # noqa: B018 (the channel's own Redis client, as a worker's has by then)
    tasks.consume()
    with app.connection_for_write(server.url(1)) as sender:
        Producer(sender).publish({"task": 1}, exchange=TASKS.exchange, routing_key="celery")
    deadline = time.monotonic() + 10
    while drained(connection) or not delivered:
        assert time.monotonic() < deadline, "the task was not delivered"
    return connection


def drained(connection: Connection) -> bool:
    """Handle what the broker sent; return False once nothing came within 0.2 s."""
    try:
        connection.drain_events(timeout=0.2)
    except TimeoutError:
        return False
    return True


def test_the_worker_tears_down_a_lost_connection_that_held_an_unacknowledged_task(redis_server):
    consumer = QuickReconnectConsumer(
        on_task_request=None, app=app, controller=Mock(), pool=Mock(num_processes=2)
    )
    consumer.connection = connection_as_a_worker_holds_it(redis_server)
    redis_server.kill()

    consumer.on_connection_error_after_connected(ConnectionError("Connection closed by server."))

    assert consumer.connection is None

"""Services of the fault run's own, to kill, stop and freeze: a Redis server and a PostgreSQL
cluster (Debian's binaries), each on a free loopback port, keeping nothing once stopped."""

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from .server import HOST, free_port

POSTGRES_BIN = Path(os.environ.get("POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))
START_TIMEOUT_SECONDS = 30


class OwnRedis:
    """A redis-server process with no persistence: killed, it comes back empty."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def url(self, db: int) -> str:
        return f"redis://{HOST}:{self.port}/{db}"

    def start(self) -> None:
        command = [
            "redis-server", "--port", str(self.port), "--bind", HOST, "--save", "",
            "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning",
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)  # noqa: S603
        client = redis.Redis(host=HOST, port=self.port, socket_timeout=1)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a frozen one must be able to die
            self.process.kill()
            self.process.wait(10)

    def freeze(self) -> None:
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.process.send_signal(signal.SIGCONT)


class OwnPostgres:
    """A PostgreSQL cluster in a temporary folder, run as the `postgres` user when this
    runs as root."""

    def __init__(self) -> None:
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="orders_fault_pg_"))
        self.data = self.folder / "data"

    @property
    def admin_url(self) -> str:
        return f"postgres://postgres@{HOST}:{self.port}/postgres"

    def _run(self, *command: str, check: bool = True) -> None:
        as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run(  # noqa: S603 (fixed argument lists)
            [*as_postgres, *command], check=check, capture_output=True, timeout=120
        )

    def initialize(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        self._run(str(POSTGRES_BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "-A", "trust", "--no-sync")  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses={HOST} -k {self.folder} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(str(POSTGRES_BIN / "pg_ctl"), "-D", str(self.data), "-o", options,
                  "-l", str(self.folder / "log"), "-w", "-t", "60", "start")  # fmt: skip

    def stop(self, *, check: bool = True) -> None:
        self.thaw()
        self._run(str(POSTGRES_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast",
                  "-w", "stop", check=check)  # fmt: skip

    def _postmaster(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def freeze(self) -> None:
        """Stop the postmaster (SIGSTOP): new connections wait, the open ones go on."""
        os.kill(self._postmaster(), signal.SIGSTOP)

    def thaw(self) -> None:
        if (pid := self._postmaster()) is not None:
            os.kill(pid, signal.SIGCONT)

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


@contextmanager
def own_redis() -> Iterator[OwnRedis]:
    """Start a Redis of the run's own; kill it at the end."""
    server = OwnRedis()
    server.start()
    try:
        yield server
    finally:
        server.kill()


@contextmanager
def own_postgres() -> Iterator[OwnPostgres]:
    """Start a PostgreSQL cluster of the run's own; stop and remove it at the end."""
    cluster = OwnPostgres()
    try:
        cluster.initialize()
        cluster.start()
        try:
            yield cluster
        finally:
            cluster.stop(check=False)
    finally:
        cluster.remove()

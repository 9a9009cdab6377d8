"""Start and stop a production-style server for the load run and the fuzzer.

A scratch PostgreSQL database, migrated by its owner, with a superuser and its API token;
gunicorn with several workers, DEBUG off, bound to the loopback interface only, connected as
the application's least-privileged role (`manage.py create_app_role`).
"""

import argparse
import http.client
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
HOST = "127.0.0.1"
ADMIN_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"
USERNAME = "load-admin"
READY_TIMEOUT_SECONDS = 30
# The one gunicorn configuration; options after it (workers, bind) win over its own.
GUNICORN = [PYTHON, "-m", "gunicorn", "-c", "config/gunicorn.py"]
STOP_TIMEOUT_SECONDS = 15


@dataclass
class Server:
    """A running gunicorn master on a scratch database (async mode: with a read database
    of its own and Celery worker and beat processes). The URLs are the owner's; the server
    and the workers connect as `app_role`."""

    port: int
    token: str
    database_url: str
    process: subprocess.Popen
    log_path: Path
    kills: list[int] = field(default_factory=list)
    read_database_url: str = ""
    celery: list[subprocess.Popen] = field(default_factory=list)
    celery_kills: list[int] = field(default_factory=list)
    app_role: str = ""
    password: str = ""  # the superuser's, for an admin session
    entry_port: int = 0  # where clients connect: a proxy in front, or gunicorn itself

    def celery_children(self) -> list[int]:
        """Return the pids of the Celery worker's pool processes (they run the tasks)."""
        return [pid for worker in self.celery[:1] for pid in children_of(worker.pid)]

    def kill_celery_child(self, pid: int) -> None:
        """SIGKILL one Celery pool process, mid-task if it is running one."""
        os.kill(pid, signal.SIGKILL)
        self.celery_kills.append(pid)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def worker_pids(self) -> list[int]:
        """Return the pids of the master's live worker processes."""
        return children_of(self.process.pid)

    def busiest_workers(self) -> list[int]:
        """Return the workers holding the most sockets (a client's on top of the listener's
        and the database's): those most likely to be in the middle of a request."""
        counts = {pid: _socket_count(pid) for pid in self.worker_pids()}
        most = max(counts.values(), default=0)
        return [pid for pid, count in counts.items() if count == most]

    def kill_worker(self, pid: int) -> None:
        """SIGKILL one worker, as the OOM killer or a crash would."""
        os.kill(pid, signal.SIGKILL)
        self.kills.append(pid)

    def stop(self) -> None:
        """Stop the master and its workers (gracefully, then by force); safe to call twice."""
        for process in self.celery:
            _stop(process)
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            for pid in self.worker_pids():
                os.kill(pid, signal.SIGKILL)
            self.process.kill()
            self.process.wait(STOP_TIMEOUT_SECONDS)

    def log_tail(self, lines: int = 30) -> str:
        """Return the end of gunicorn's log."""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT_SECONDS)


def children_of(pid: int) -> list[int]:
    """List a process's child pids from /proc."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children.extend(int(child) for child in (task / "children").read_text().split())
        except OSError:
            continue
    return sorted(set(children))


def _socket_count(pid: int) -> int:
    try:
        links = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
    except OSError:
        return 0
    return sum(link.startswith("socket:") for link in links)


def add_server_arguments(parser: argparse.ArgumentParser, *, workers: int) -> None:
    """Add the options every run takes: gunicorn's workers, its port, the PostgreSQL server."""
    parser.add_argument("--workers", type=int, default=workers, help="gunicorn workers.")
    parser.add_argument("--port", type=int, default=0, help="Port (default: a free one).")
    parser.add_argument(
        "--database-url",
        default=ADMIN_DATABASE_URL,
        help="PostgreSQL server on which a scratch database is created and dropped.",
    )


def free_port() -> int:
    """Return a loopback TCP port that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def server_environment(database_url: str, **extra: str) -> dict[str, str]:
    """Return the environment of a production-style process on `database_url`."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": HOST,
        # Plain HTTP on the loopback interface: no TLS to redirect to.
        "SECURE_SSL_REDIRECT": "0",
        "THROTTLE_USER": "100000000/hour",
        "THROTTLE_ANON": "100000000/hour",
        # The fuzzer sends wrong tokens on purpose, all from the loopback address.
        "AXES_FAILURE_LIMIT": "100000000",
        "CONN_MAX_AGE": "60",
        **extra,
    }


def manage(*args: str, database_url: str, **extra: str) -> str:
    """Run a manage.py command on `database_url`; return its output, raise on failure."""
    result = subprocess.run(  # noqa: S603 (fixed argument list)
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=server_environment(database_url, **extra),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


@contextmanager
def scratch_database(admin_url: str, prefix: str) -> Iterator[str]:
    """Create a fresh database, yield its URL, and drop it afterwards."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def prepare_database(database_url: str, password: str) -> str:
    """Migrate the database(s) and create a superuser with `password`; return the superuser's
    API token."""
    manage("migrate", "--no-input", database_url=database_url)
    if os.environ.get("READ_DATABASE_URL"):
        manage("migrate", "--no-input", "--database=read", database_url=database_url)
    manage(
        "createsuperuser",
        "--no-input",
        f"--username={USERNAME}",
        "--email=load-admin@example.com",
        database_url=database_url,
        DJANGO_SUPERUSER_PASSWORD=password,
    )
    return manage("drf_create_token", USERNAME, database_url=database_url).split()[2]


def as_role(database_url: str, role: str) -> str:
    """Return `database_url` with `role` as its user."""
    parts = urlsplit(database_url)
    return urlunsplit(parts._replace(netloc=f"{role}@{parts.hostname}:{parts.port or 5432}"))


@contextmanager
def app_role(database_url: str) -> Iterator[tuple[str, dict[str, str]]]:
    """Create the application's role on the database(s) (as their owner); yield it with the
    environment that connects as it; drop it afterwards."""
    role = f"orders_app_{secrets.token_hex(4)}"
    owner_urls = [database_url, *filter(None, [os.environ.get("READ_DATABASE_URL")])]
    try:
        manage("create_app_role", role, database_url=database_url)
        environment = {"DATABASE_URL": as_role(database_url, role)}
        if len(owner_urls) > 1:
            manage("create_app_role", role, "--database=read", database_url=database_url)
            environment["READ_DATABASE_URL"] = as_role(owner_urls[1], role)
        yield role, environment
    finally:
        for url in owner_urls:
            with psycopg.connect(url, autocommit=True) as connection:
                connection.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        with psycopg.connect(database_url, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def start_gunicorn(
    database_url: str, *, port: int, workers: int, log_path: Path, **environment: str
) -> subprocess.Popen:
    """Start gunicorn's master on the loopback interface, as the README does
    (`gunicorn -c config/gunicorn.py`)."""
    command = [*GUNICORN, f"--workers={workers}", f"--bind={HOST}:{port}", "--log-level=warning"]
    with log_path.open("wb") as log:
        return subprocess.Popen(  # noqa: S603 (fixed argument list)
            command,
            cwd=ROOT,
            env=server_environment(database_url, **environment),
            stdout=log,
            stderr=log,
        )


def wait_until_ready(server: Server) -> None:
    """Wait until the API answers an authenticated request; raise if it never does."""
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        connection = http.client.HTTPConnection(HOST, server.port, timeout=5)
        try:
            connection.request("GET", "/api/", headers={"Authorization": f"Token {server.token}"})
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
        finally:
            connection.close()
    raise RuntimeError(f"gunicorn did not become ready:\n{server.log_tail()}")


def check_connected_as(role: str, database_url: str) -> None:
    """Raise unless the server's connections to the database log in as `role`."""
    with psycopg.connect(database_url) as connection:
        users = connection.execute(
            "SELECT DISTINCT usename FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    if users != [(role,)]:
        raise RuntimeError(f"The server should connect as {role!r} only, not as {users}.")


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so that a stopped run still stops gunicorn and drops its
    database."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))


def start_celery(database_url: str, logs: Path, **environment: str) -> list[subprocess.Popen]:
    """Start a Celery worker (two pool processes) and Celery beat (the sweep)."""
    celery = [PYTHON, "-m", "celery", "-A", "config"]
    commands = {
        "worker": [*celery, "worker", "--concurrency=2", "--loglevel=WARNING"],
        "beat": [*celery, "beat", "--loglevel=WARNING"],
    }
    processes = []
    for name, command in commands.items():
        with (logs / f"celery-{name}.log").open("wb") as log:
            processes.append(
                subprocess.Popen(  # noqa: S603 (fixed argument list)
                    command,
                    cwd=ROOT,
                    env=server_environment(database_url, **environment),
                    stdout=log,
                    stderr=log,
                )
            )
    wait_for_celery_worker(celery, server_environment(database_url, **environment))
    return processes


def wait_for_celery_worker(celery: list[str], environment: dict[str, str]) -> None:
    """Wait until the Celery worker answers a ping (so that the load starts with workers that
    take tasks); raise if it never does."""
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        pinged = subprocess.run(  # noqa: S603 (fixed argument list)
            [*celery, "inspect", "ping", "--timeout", "1"],
            cwd=ROOT, env=environment, capture_output=True, check=False, timeout=60,
        )  # fmt: skip
        if pinged.returncode == 0:
            return
    raise RuntimeError("the Celery worker did not answer a ping")


@contextmanager
def async_projections(admin_url: str, prefix: str) -> Iterator[None]:
    """Run the processes started inside in async mode: a scratch read database, and Redis
    databases of their own for the cache and the Celery broker (emptied first)."""
    import redis

    urls = {
        "REDIS_URL": "redis://127.0.0.1:6379/13",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/12",
    }
    for url in urls.values():
        redis.Redis.from_url(url).flushdb()
    with scratch_database(admin_url, f"{prefix}_read") as read_url:
        saved = dict(os.environ)
        os.environ.update(urls, READ_DATABASE_URL=read_url, PROJECTION_MODE="async")
        try:
            yield
        finally:
            os.environ.clear()
            os.environ.update(saved)


@contextmanager
def live_server(
    *,
    admin_url: str = ADMIN_DATABASE_URL,
    workers: int = 4,
    port: int = 0,
    prefix: str = "orders_load",
    settings: dict[str, str] | None = None,
) -> Iterator[Server]:
    """Yield a running server on a scratch database of `admin_url`'s server; clean up after.

    `settings`: environment variables of the server's own, over `server_environment`'s.
    With READ_DATABASE_URL set (see `async_projections`), Celery worker and beat run too."""
    with (
        scratch_database(admin_url, prefix) as url,
        tempfile.TemporaryDirectory(prefix="orders_gunicorn_") as logs,
    ):
        password = secrets.token_urlsafe(24)
        token = prepare_database(url, password)
        with app_role(url) as (role, environment):
            port = port or free_port()
            log_path = Path(logs) / "gunicorn.log"
            process = start_gunicorn(
                url,
                port=port,
                workers=workers,
                log_path=log_path,
                **environment,
                **(settings or {}),
            )
            server = Server(
                port=port,
                entry_port=port,
                token=token,
                database_url=url,
                process=process,
                log_path=log_path,
                app_role=role,
                password=password,
            )
            if read_url := os.environ.get("READ_DATABASE_URL", ""):
                server.read_database_url = read_url
                server.celery = start_celery(url, Path(logs), **environment)
            try:
                wait_until_ready(server)
                check_connected_as(role, url)
                yield server
            finally:
                server.stop()

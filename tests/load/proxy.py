"""nginx in front of a test server, with the repository's proxy configuration
(deploy/nginx/proxy.conf), on the loopback interface; stopped afterwards."""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .server import HOST, ROOT, free_port

PROXY_CONF = ROOT / "deploy" / "nginx" / "proxy.conf"
READY_TIMEOUT_SECONDS = 10
# A server behind this proxy takes the client's address from its X-Forwarded-For entry.
BEHIND_ONE_PROXY = {"TRUSTED_PROXY_COUNT": "1"}

MAIN = """
daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
{user}
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    upstream orders_gunicorn {{ server {host}:{upstream}; keepalive 16; }}
    server {{
        listen {host}:{port};
        include {proxy_conf};
    }}
}}
"""


def nginx_available() -> bool:
    """Tell whether the nginx command exists (Debian: apt-get install nginx)."""
    return shutil.which("nginx") is not None


@contextmanager
def nginx_in_front(upstream_port: int) -> Iterator[int]:
    """Run nginx in front of the server on `upstream_port`; yield the port clients use."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="orders_nginx_") as folder:
        # Run by root, nginx's workers would run as nobody; these run as whoever starts them.
        user = "user root;" if os.geteuid() == 0 else ""
        config = Path(folder) / "nginx.conf"
        config.write_text(
            MAIN.format(
                folder=folder,
                user=user,
                host=HOST,
                upstream=upstream_port,
                port=port,
                proxy_conf=PROXY_CONF,
            )
        )
        process = subprocess.Popen(  # noqa: S603 (fixed argument list)
            ["nginx", "-p", folder, "-c", str(config)],  # noqa: S607 (nginx from PATH)
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_listening(port, process, Path(folder) / "error.log")
            yield port
        finally:
            process.terminate()
            process.wait(10)


def _wait_until_listening(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    error = log.read_text() if log.exists() else ""
    raise RuntimeError(f"nginx did not start:\n{error}")

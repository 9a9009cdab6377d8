"""The one gunicorn configuration: `gunicorn -c config/gunicorn.py` (options given on the
command line after it win, e.g. `--bind`).

Threaded workers, so that a client that sends its request slowly holds one thread, not a
whole process: each worker has more threads than the server is expected to hold half-sent
requests (twice its worker processes), so even a worker that accepted every one of them still
serves. A buffering reverse proxy in front (deploy/nginx.conf) takes slow clients off the
workers entirely.
"""

import os
import tempfile
from typing import Any

wsgi_app = "config.wsgi:application"
bind = [os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")]
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", str(2 * workers + 1)))
# A request running longer than this is killed with its worker (the database's statement
# timeout, STATEMENT_TIMEOUT_SECONDS, ends a slow query well before).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "10"))
keepalive = 5

# Error log (worker starts, kills, timeouts) on stderr, at the application's level; access
# lines only when asked for (the reverse proxy logs every request).
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "INFO").lower()
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None


def on_starting(server: Any) -> None:
    """Give `gunicornc` a control socket named after the bound address (unless
    GUNICORN_CONTROL_SOCKET names one), so that two servers never share one."""
    address = server.cfg.bind[0].replace("/", "_").replace(":", "-")
    folder = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    default = os.path.join(folder, f"orders-gunicorn-{address}.ctl")
    server.cfg.set("control_socket", os.environ.get("GUNICORN_CONTROL_SOCKET") or default)

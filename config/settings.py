"""Settings for the orders CQRS project, driven by environment variables."""

import os
from datetime import timedelta
from email.utils import getaddresses
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = os.environ.get("DEBUG", "1").lower() in {"1", "true", "yes", "on"}

_DEV_SECRET_KEY = "django-insecure-local-development-only"  # noqa: S105 (DEBUG only)
SECRET_KEY = os.environ.get("SECRET_KEY", _DEV_SECRET_KEY if DEBUG else "")
if not DEBUG and (not SECRET_KEY or SECRET_KEY == _DEV_SECRET_KEY):
    raise ImproperlyConfigured("Set SECRET_KEY to a real secret when DEBUG is off.")

ALLOWED_HOSTS = [
    host.strip()
    for host in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver").split(",")
    if host.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "axes",
    "access",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "orders_write",
    "orders_read",
    "orders_bench",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Each request's correlation id: on its log lines, its events and its X-Correlation-ID.
    "config.correlation.CorrelationIdMiddleware",
    # A NUL character in a path, query string or form body is a 400 before any view runs.
    "config.nul_bytes.RejectNulMiddleware",
    # A database that cannot be reached is a 503 saying what is down, not a 500.
    "config.dependencies.UnavailableMiddleware",
    # In production, serves collectstatic's compressed, hashed files (admin, browsable API,
    # Swagger UI); with DEBUG on, runserver serves them from the apps.
    *([] if DEBUG else ["whitenoise.middleware.WhiteNoiseMiddleware"]),
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a login refused for too many failures into the lockout page (429).
    "axes.middleware.AxesMiddleware",
]

# Axes first: it refuses a login from a locked-out user or client before checking the password.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"


# Every statement on PostgreSQL ends after this many seconds (0: no limit): web requests
# (config/wsgi.py marks their processes) get a short one, so no request can keep the database
# busy; management commands and Celery workers, which rebuild and replay, their own.
WEB_PROCESS = os.environ.get("ORDERS_WEB_PROCESS") == "1"
STATEMENT_TIMEOUT_SECONDS = float(
    os.environ.get("STATEMENT_TIMEOUT_SECONDS", "5")
    if WEB_PROCESS
    else os.environ.get("COMMAND_STATEMENT_TIMEOUT_SECONDS", "3600")
)
# How long opening a database connection may take before the request is refused with a 503
# (libpq counts whole seconds, at least 2): a database that hangs must not hold a worker.
DATABASE_CONNECT_TIMEOUT_SECONDS = int(os.environ.get("DATABASE_CONNECT_TIMEOUT_SECONDS", "2"))


def _database(url: str) -> dict:
    database = dj_database_url.parse(url, conn_max_age=int(os.environ.get("CONN_MAX_AGE", "0")))
    options = database.setdefault("OPTIONS", {})
    if database["ENGINE"] == "django.db.backends.postgresql":
        # Short OLTP queries: JIT compilation costs more than it saves.
        timeout_ms = round(STATEMENT_TIMEOUT_SECONDS * 1000)
        options.setdefault("options", f"-c jit=off -c statement_timeout={timeout_ms}")
        options.setdefault("connect_timeout", DATABASE_CONNECT_TIMEOUT_SECONDS)
    if database["ENGINE"] == "django.db.backends.sqlite3":
        # Wait for the write lock instead of failing at once when writers overlap.
        options.update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
    return database


# The write database holds the write model and the event store; the read database (by
# default the same one) holds the read tables, projection checkpoints and failures.
_WRITE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
_READ_URL = os.environ.get("READ_DATABASE_URL") or _WRITE_URL
DATABASES = {"default": _database(_WRITE_URL)}
if _READ_URL != _WRITE_URL:
    DATABASES["read"] = _database(_READ_URL)
READ_DATABASE = "read" if "read" in DATABASES else "default"
# A streaming replica of the read database that serves the API's reads (async mode only).
_REPLICA_URL = os.environ.get("READ_REPLICA_URL")
if _REPLICA_URL:
    if READ_DATABASE == "default":
        raise ImproperlyConfigured(
            "READ_REPLICA_URL names a streaming replica of the read database: set "
            "READ_DATABASE_URL (its primary, which the workers write) and PROJECTION_MODE=async."
        )
    # Tests create no database on it: the primary's test database streams to it.
    DATABASES["read_replica"] = {**_database(_REPLICA_URL), "TEST": {"MIRROR": "read"}}
READ_REPLICA_DATABASE = "read_replica" if _REPLICA_URL else READ_DATABASE
DATABASE_ROUTERS = ["orders_read.routers.ReadSideRouter"]

# inline: projections run in each command's transaction. async: commands commit only the
# write model and events; Celery workers advance the projections.
PROJECTION_MODE = os.environ.get("PROJECTION_MODE", "inline")
if PROJECTION_MODE not in {"inline", "async"}:
    raise ImproperlyConfigured("PROJECTION_MODE must be 'inline' or 'async'.")
if PROJECTION_MODE == "inline" and READ_DATABASE != "default":
    raise ImproperlyConfigured(
        "PROJECTION_MODE=inline applies the projections inside each command's transaction, so "
        "the read tables must be in the write database: unset READ_DATABASE_URL (or make it "
        "equal to DATABASE_URL), or set PROJECTION_MODE=async."
    )
# How long a read that names a min_position waits for the projections behind it.
READ_WAIT_SECONDS = float(os.environ.get("READ_WAIT_SECONDS", "2"))
# How many such reads may wait at once in one server process (others get 503 at once).
READ_WAITERS_PER_PROCESS = int(os.environ.get("READ_WAITERS_PER_PROCESS", "4"))
# How often Celery beat sweeps every projection forward (a nudge lost is caught then).
PROJECTION_SWEEP_SECONDS = float(os.environ.get("PROJECTION_SWEEP_SECONDS", "2"))
# Async mode: the sweep retries a stalled projection this long after it failed, then after
# twice as long at each failed retry (at most 10 minutes apart); 0 leaves retries to operators.
PROJECTION_RETRY_SECONDS = float(os.environ.get("PROJECTION_RETRY_SECONDS", "10"))
# Most events a worker applies in one read-database transaction.
PROJECTION_BATCH_SIZE = int(os.environ.get("PROJECTION_BATCH_SIZE", "5000"))
# Async mode: the projections are advanced in this many groups, each by one task that reads
# the store once per batch for all of its group (match the workers' processes).
PROJECTION_WORKER_GROUPS = int(os.environ.get("PROJECTION_WORKER_GROUPS", "2"))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# A command that would answer later than this after its request arrived is rolled back and
# refused (503 `command_timed_out`): a client that gave up never finds it committed later.
COMMAND_BUDGET_SECONDS = float(os.environ.get("COMMAND_BUDGET_SECONDS", "4"))

# The cache holds only what may differ between server processes: request and wrong-token
# counts (shared through Redis, per process without it) and answers whose key says what they
# reflect (a projection's position, a day, a minute). Sessions, lockouts and the projections'
# positions live in the database, which every process sees. Every Redis call (cache and
# broker) gives up after REDIS_TIMEOUT_SECONDS; while Redis is unreachable the cache counts in
# each process's memory (config.fallback_cache).
REDIS_URL = os.environ.get("REDIS_URL", "")
REDIS_TIMEOUT_SECONDS = float(os.environ.get("REDIS_TIMEOUT_SECONDS", "0.5"))
CACHES = {
    "default": (
        {
            "BACKEND": "config.fallback_cache.FallbackRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "socket_timeout": REDIS_TIMEOUT_SECONDS,
                "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
            },
        }
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "orders"}
    )
}

# Celery, for PROJECTION_MODE=async: Redis is the broker; `celery -A config worker` and
# `celery -A config beat` run the projection workers and their periodic sweep.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A web request that sends a task waits at most REDIS_TIMEOUT_SECONDS, once: nudges are
# skipped while the broker is away (the sweep catches up).
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_TIMEOUT_SECONDS
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_timeout": max(REDIS_TIMEOUT_SECONDS, 2.0),
    "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
    "max_retries": 0,
}
CELERY_TASK_PUBLISH_RETRY = False
# Workers try the broker again every second while it is away, instead of backing off.
CELERY_WORKER_CONSUMER = "orders_read.running.worker:QuickReconnectConsumer"
# At most one sweep waits for a worker at a time (orders_read.running.beat).
CELERY_BEAT_SCHEDULER = "orders_read.running.beat:OneSweepPendingScheduler"
CELERY_BEAT_SCHEDULE = {
    "sweep-projections": {
        "task": "orders_read.tasks.sweep",
        "schedule": PROJECTION_SWEEP_SECONDS,
    }
}
if PROJECTION_MODE == "async":
    _engines = {database["ENGINE"] for database in DATABASES.values()}
    if _engines != {"django.db.backends.postgresql"}:
        raise ImproperlyConfigured("PROJECTION_MODE=async needs PostgreSQL databases.")
    if not CELERY_BROKER_URL or not REDIS_URL:
        raise ImproperlyConfigured(
            "PROJECTION_MODE=async needs REDIS_URL: the Celery broker, and the shared cache "
            "through which commands nudge the workers."
        )

# Sessions in the database: a logout ends the session for every server process at once.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
# Messages (the admin's) kept in the session: no cookie signer built for every API request.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
# How long a process trusts an API token it has checked (0: check on every request).
TOKEN_CACHE_SECONDS = float(os.environ.get("TOKEN_CACHE_SECONDS", "30"))
# API tokens: random, shown once when made, stored as SHA-512 digests; never renewed by use.
REST_KNOX = {
    "AUTH_HEADER_PREFIX": "Token",
    "TOKEN_TTL": None,  # `drf_create_token --expiry-days N` sets an expiry per token
    "AUTO_REFRESH": False,
}

# The client's address: the address the connection comes from, or, behind
# TRUSTED_PROXY_COUNT reverse proxies that each append to X-Forwarded-For, the address the
# outermost of them saw. Login lockouts, wrong-token counts and request rates all use it.
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be 0 or more.")

# Failed logins: after AXES_FAILURE_LIMIT failures for one username from one client address,
# logins for that username from that address are refused (429) for AXES_COOLOFF_MINUTES after
# the last failure (in the database, so every server process agrees). Wrong API tokens from
# an address past the same limit get 429 instead of 401; right tokens are always answered.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "10"))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "config.client_address.client_address"
AXES_LOCKOUT_CALLABLE = "config.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = False
AXES_VERBOSE = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # With DEBUG on, files are served from the apps as they are (no collectstatic needed).
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Money is shown with this ISO 4217 code in the admin and on the dashboard.
CURRENCY = os.environ.get("CURRENCY", "EUR").strip().upper()
if not (len(CURRENCY) == 3 and CURRENCY.isalpha()):
    raise ImproperlyConfigured("CURRENCY must be a three-letter ISO 4217 code, e.g. EUR.")

REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header makes missing or wrong credentials a 401.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "config.authentication.RememberedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "EXCEPTION_HANDLER": "config.api.errors.handle_api_exception",
    "DEFAULT_SCHEMA_CLASS": "config.api.schema.ApiSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "config.throttling.AnonRateThrottle",
        "config.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("THROTTLE_ANON", "60/minute"),
        "user": os.environ.get("THROTTLE_USER", "100000/hour"),
    },
    "COERCE_DECIMAL_TO_STRING": True,
    "VIEW_DESCRIPTION_FUNCTION": "config.browsable_api.describe_view",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "config.browsable_api.CommandFormsRenderer",
    ],
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Orders CQRS API",
    "DESCRIPTION": (
        "Commands change the write model and record events; queries read the denormalized "
        "read tables that projections keep current."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "Status": "orders_write.domain.STATUSES",
        "PaymentMethod": "orders_write.domain.PAYMENT_METHODS",
        "ErrorCode": "config.api.errors.ERROR_CHOICES",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "orders_read.api.freshness.document_positions",
        "orders_write.api.document_event_positions",
        "config.api.schema.reference_enums_in_parameters",
        "config.api.schema.link_operations",
    ],
}

# Log lines go to stderr with the request's correlation id; a 500 is one ERROR line from
# django.request with its traceback (and an e-mail to ADMINS when they are set).
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").strip().upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured("LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL.")
_TO_STDERR = {"handlers": ["stderr"], "level": LOG_LEVEL, "propagate": False}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "correlation_id": {"()": "config.correlation.CorrelationIdFilter"},
        "as_warning": {"()": "config.log_levels.AsWarning"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "formatters": {
        "line": {
            "format": "%(asctime)s %(levelname)s [%(correlation_id)s] %(name)s: %(message)s",
        },
    },
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "filters": ["correlation_id"],
            "formatter": "line",
        },
        "mail_admins": {
            "class": "django.utils.log.AdminEmailHandler",
            "level": "ERROR",
            "filters": ["require_debug_false"],
        },
    },
    "loggers": {
        "django": {**_TO_STDERR, "handlers": ["stderr", "mail_admins"]},
        # An oversized body is a client's mistake, answered 400: a warning, never mailed.
        "django.security.RequestDataTooBig": {**_TO_STDERR, "filters": ["as_warning"]},
        "orders_read": _TO_STDERR,
        "orders_write": _TO_STDERR,
        "config": _TO_STDERR,
    },
}

# Who gets an e-mail about each server error: "Name <address>", comma-separated.
ADMINS = getaddresses([os.environ.get("ADMINS", "")])
ADMINS = [(name, address) for name, address in ADMINS if address]
if any("@" not in address for _, address in ADMINS):
    raise ImproperlyConfigured('ADMINS must be e-mail addresses, e.g. "Ops <ops@example.com>".')

# Bearer token Prometheus sends to read /metrics; without it /metrics exists only with DEBUG.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")

if not DEBUG:
    # HTTPS only by default; each can be turned off, e.g. for a server on the loopback interface.
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "1") == "1"
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_SSL_REDIRECT = os.environ.get("SECURE_SSL_REDIRECT", "1") == "1"
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = os.environ.get("SECURE_HSTS_INCLUDE_SUBDOMAINS", "1") == "1"
    SECURE_HSTS_PRELOAD = os.environ.get("SECURE_HSTS_PRELOAD", "1") == "1"
    if os.environ.get("TRUST_X_FORWARDED_PROTO") == "1":
        # Behind a TLS-terminating proxy that sets this header (and strips clients' own).
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

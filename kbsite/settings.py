"""kbsite settings: one module, every value read from the environment (see `.env.example`).

Defaults are the embedded mode that `make run` and `make test` use: SQLite in `var/`, Celery tasks
run in-process, a local-memory cache. Setting DATABASE_URL and REDIS_URL switches to PostgreSQL,
a Redis broker and cache, and a separate Celery worker, with no other change.
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from kbsite.env import database_config, env_bool, env_int, env_list, env_str, redis_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("KBSITE_VAR_DIR") or BASE_DIR / "var")

# --- core -----------------------------------------------------------------------------------
DEBUG = env_bool("DEBUG", default=False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set: export a long random SECRET_KEY (or DEBUG=true for local work)."
        )
    SECRET_KEY = "insecure-development-key-only-used-with-DEBUG-on"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "django_htmx",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "kbsite",
    "knowledge",
    "postmortems",
    "metrics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "kbsite.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "kbsite.middleware.IdempotencyKeyMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "kbsite.urls"
WSGI_APPLICATION = "kbsite.wsgi.application"
ASGI_APPLICATION = "kbsite.asgi.application"

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
                "kbsite.context_processors.notifications",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
CONN_MAX_AGE = env_int("CONN_MAX_AGE", default=60)
if DATABASE_URL:
    DATABASES = {"default": database_config(DATABASE_URL, conn_max_age=CONN_MAX_AGE)}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "kbsite.sqlite3",
            # Several gunicorn workers and the in-process jobs share one file: wait for locks
            # instead of failing, and let readers run beside the writer.
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache, broker, jobs --------------------------------------------------------------------
REDIS_URL = redis_url("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env_str("CACHE_URL") or REDIS_URL,
            "KEY_PREFIX": "kbsite",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # How long an unacknowledged (acks_late) task waits before Redis hands it to another worker.
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", default=3600, minimum=1),
}

# --- auth -----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", default=60 * 60 * 12, minimum=60)

# --- HTTPS and hardening --------------------------------------------------------------------
# HTTPS=true is for deployments behind TLS: it turns on redirects, secure cookies and HSTS.
HTTPS = env_bool("HTTPS", default=False)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", default=31_536_000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
if env_bool("TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- i18n, static, media --------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or VAR_DIR / "media")
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- email ----------------------------------------------------------------------------------
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env_int("EMAIL_PORT", default=587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=True)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "kbsite <kbsite@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "kbsite.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # DRF views are exempt from LoginRequiredMiddleware, so the API says it explicitly.
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "kbsite.api.pagination.CursorPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "kbsite.api.errors.exception_handler",
    # JSON only, with the request-size limit and a nesting limit enforced (DRF's own parser
    # checks neither).
    "DEFAULT_PARSER_CLASSES": ["kbsite.api.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "PAGE_SIZE": 25,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "kbsite API",
    "DESCRIPTION": "Knowledge-centered incident postmortems: incidents, postmortems, knowledge "
    "articles and KPIs. Authenticate with `Authorization: Token <key>`.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The enum hook is drf-spectacular's default. The errors hook runs last: it documents the
    # errors every operation shares (401, 429, 400/413/415 on bodies, 404 on addresses with an
    # object in them) and gives every error response its example.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "kbsite.api.idempotency_schema.document_idempotency_key",
        "kbsite.api.schema_hooks.document_shared_errors",
    ],
    # Fields named alike (status, state, kind) carry different choice sets in different apps:
    # name each enum after its model so that the schema stays unambiguous.
    "ENUM_NAME_OVERRIDES": {
        "ArticleStateEnum": "knowledge.models.ArticleState",
        "FeedbackKindEnum": "knowledge.models.ArticleFeedback.Kind",
        "IncidentStatusEnum": "postmortems.models.IncidentStatus",
        "PostmortemStateEnum": "postmortems.models.PostmortemState",
        "FindingKindEnum": "postmortems.models.Finding.Kind",
        "TimelineEntryKindEnum": "postmortems.models.TimelineEntry.Kind",
        "ActionItemStatusEnum": "postmortems.models.ActionItem.Status",
    },
}

# --- logging --------------------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# --- rate limits and webhooks (integrations) --------------------------------------------------
# Proxies in front of the site that append to X-Forwarded-For; 0 trusts only REMOTE_ADDR, so a
# client cannot choose the address its rate limit is counted under.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", default=0)
# Failed sign-ins allowed per window, per username and per client address.
SIGNIN_RATE_LIMIT_PER_USERNAME = env_int("SIGNIN_RATE_LIMIT_PER_USERNAME", default=10, minimum=1)
SIGNIN_RATE_LIMIT_PER_IP = env_int("SIGNIN_RATE_LIMIT_PER_IP", default=50, minimum=1)
SIGNIN_RATE_WINDOW_SECONDS = env_int("SIGNIN_RATE_WINDOW_SECONDS", default=300, minimum=1)
# API requests allowed per window for each person (all their tokens and sessions together).
API_RATE_LIMIT = env_int("API_RATE_LIMIT", default=600, minimum=1)
API_RATE_WINDOW_SECONDS = env_int("API_RATE_WINDOW_SECONDS", default=60, minimum=1)
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = ["kbsite.ratelimit.ApiRateThrottle"]
# Outgoing webhooks: private, loopback and link-local targets are refused unless this is true.
WEBHOOK_ALLOW_PRIVATE_TARGETS = env_bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", default=False)
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", default=5, minimum=1)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", default=5, minimum=1)
WEBHOOK_RETRY_BACKOFF_SECONDS = env_int("WEBHOOK_RETRY_BACKOFF_SECONDS", default=30, minimum=1)
WEBHOOK_PAUSE_AFTER_FAILURES = env_int("WEBHOOK_PAUSE_AFTER_FAILURES", default=10, minimum=1)
WEBHOOK_DELIVERY_RETENTION_DAYS = env_int("WEBHOOK_DELIVERY_RETENTION_DAYS", default=30, minimum=1)
# Hours an API answer stays kept for replay to a POST retried with the same Idempotency-Key.
IDEMPOTENCY_KEY_TTL_HOURS = env_int("IDEMPOTENCY_KEY_TTL_HOURS", default=24, minimum=1)
# Alert ingestion (/api/v1/ingest/<source>/): deliveries allowed per window from one address,
# counted before the secret is checked so that guessing secrets is slow.
INGEST_RATE_LIMIT = env_int("INGEST_RATE_LIMIT", default=300, minimum=1)
INGEST_RATE_WINDOW_SECONDS = env_int("INGEST_RATE_WINDOW_SECONDS", default=60, minimum=1)
# A PagerDuty event that occurred longer ago than this is refused as a replay.
INGEST_REPLAY_TOLERANCE_SECONDS = env_int("INGEST_REPLAY_TOLERANCE_SECONDS", default=300, minimum=1)
# Received payloads kept in each integration's log (older ones are deleted as new ones arrive).
INGEST_LOG_KEEP = env_int("INGEST_LOG_KEEP", default=200, minimum=1)

# --- markdown import (postmortems and knowledge articles) -----------------------------------
# Per file, per upload (zip members counted unpacked), and files per upload or zip.
IMPORT_MAX_FILE_BYTES = env_int("IMPORT_MAX_FILE_BYTES", default=5 * 1024 * 1024, minimum=1)
IMPORT_MAX_UPLOAD_BYTES = env_int("IMPORT_MAX_UPLOAD_BYTES", default=20 * 1024 * 1024, minimum=1)
IMPORT_MAX_FILES = env_int("IMPORT_MAX_FILES", default=50, minimum=1)
# Incidents whose stored KPI facts are refreshed per transaction (metrics.facts).
KPI_FACTS_BATCH = env_int("KPI_FACTS_BATCH", default=5000, minimum=1)
# Events within this many seconds of the first one share one recompute of their month.
KPI_COALESCE_SECONDS = env_int("KPI_COALESCE_SECONDS", default=15, minimum=0)

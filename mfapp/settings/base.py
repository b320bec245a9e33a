"""Settings shared by every environment. Configuration comes only from the environment."""

from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

SECRET_KEY = env("DJANGO_SECRET_KEY", default="insecure-local-development-key-change-me")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "django_filters",
    "django.forms",
    "django_htmx",
    "template_partials",
    "django_celery_beat",
    "csp",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "mfapp.core",
    "mfapp.tenancy",
    "mfapp.dashboard",
    "mfapp.audit",
    "mfapp.catalog",
    "mfapp.machines",
    "mfapp.orders",
    "mfapp.production",
    "mfapp.scheduling",
    "mfapp.sustainability",
    "mfapp.integrations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "mfapp.tenancy.middleware.TenantMiddleware",
    # Last, as django-axes asks: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "mfapp.urls"
WSGI_APPLICATION = "mfapp.wsgi.application"

FORM_RENDERER = "mfapp.core.web.FormRenderer"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            # {% partialdef %} everywhere without {% load partials %}, as in Django 6.
            "builtins": ["template_partials.templatetags.partials"],
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "mfapp.tenancy.context_processors.tenant",
            ],
        },
    },
]


def database_settings(database: dict) -> dict:
    if database["ENGINE"] == "django.db.backends.postgresql":
        # Django's backend plus the row-level security settings in every transaction
        # (mfapp.core.rls). Server-side cursors would outlive the transaction that set them,
        # and break under a transaction-pooling proxy.
        database["ENGINE"] = "mfapp.core.postgresql"
        database["DISABLE_SERVER_SIDE_CURSORS"] = True
    if database["ENGINE"] == "django.db.backends.sqlite3":
        # Writers take the lock when their transaction begins, so a read-then-write transaction
        # (the overlap check before a plan is saved) waits its turn instead of failing.
        database.setdefault("OPTIONS", {})["transaction_mode"] = "IMMEDIATE"
    return database


DATABASES = {
    "default": database_settings(
        env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'mfapp.sqlite3'}")
    ),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DJANGO_CONN_MAX_AGE", default=0))
# The PostgreSQL role the application connects as: granted data access, never the schema, by
# `migrate` run as the tables' owner (docs/security.md, "Row-level security").
MFAPP_DATABASE_APP_ROLE = env("MFAPP_DATABASE_APP_ROLE", default="")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a locked-out username+IP before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- web security headers (docs/security.md) ---------------------------------------------------
# No inline script or style anywhere: htmx's indicator <style> is switched off in base.html
# (includeIndicatorStyles: false) and charts are coloured with SVG attributes.
CONTENT_SECURITY_POLICY = {
    # Swagger UI (drf-spectacular) loads its bundle from a CDN with an inline bootstrap script.
    "EXCLUDE_URL_PREFIXES": ["/api/docs/"],
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- request and upload size limits (docs/security.md, "Bad input") ----------------------------
# Request bodies other than files (JSON API calls, forms) are read into memory up to 2 MB; a
# larger one is refused. The largest legitimate body, a bulk of 1,000 meter readings with every
# field at its longest, is about 0.85 MB.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# The largest form, a new order with 100 lines, posts about 320 fields.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
# Uploaded files stay in memory and never reach the disk: a request over 2 MB keeps no file at
# all. The only upload, the orders CSV (at most 1 MB), is refused by its size before its body is
# read (mfapp.orders.views). A second file field needs DATA_UPLOAD_MAX_NUMBER_FILES raised.
FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.MemoryFileUploadHandler"]
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = 1

# --- login lockout (django-axes) -----------------------------------------------------------------
# Five failed logins for one username from one address lock that pair out for 15 minutes
# (the admin's login too); a success resets the count.
AXES_ENABLED = env.bool("MFAPP_AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("MFAPP_AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("MFAPP_AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False
# Behind N reverse proxies that each append to X-Forwarded-For, the client is the N-th address
# from the right (anything further left is whatever the client claimed). 0: REMOTE_ADDR.
TRUSTED_PROXY_COUNT = env.int("MFAPP_TRUSTED_PROXY_COUNT", default=0)


def _axes_client_ip(request) -> str | None:
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [address for address in forwarded if address]
    if TRUSTED_PROXY_COUNT and len(forwarded) >= TRUSTED_PROXY_COUNT:
        return forwarded[-TRUSTED_PROXY_COUNT]
    return request.META.get("REMOTE_ADDR")


AXES_CLIENT_IP_CALLABLE = _axes_client_ip

# --- two-step sign-in (django-otp; mfapp/tenancy/two_factor.py) ------------------------------
OTP_TOTP_ISSUER = "mfapp"
# The admin lists devices without their TOTP keys and backup codes.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("MFAPP_STATIC_ROOT", default=VAR_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "media/"

EMAIL_BACKEND = env(
    "DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", default="mfapp <noreply@localhost>")


# The cache of tenant reads (mfapp.core.tenant_cache): Redis when MFAPP_CACHE_URL names one,
# shared by every web process and worker; `off` turns caching off; unset, this process's
# memory (one process: `make run`). Production requires the variable.
def cache_settings(url: str) -> dict:
    if url == "off":
        return {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    backend = (
        {"BACKEND": "mfapp.core.cache.RedisCache", "LOCATION": url}
        if url
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
    return {"default": {**backend, "KEY_PREFIX": "mfapp", "TIMEOUT": 300}}


CACHES = cache_settings(env("MFAPP_CACHE_URL", default=""))

# Celery: without a broker, tasks run eagerly in-process (the embedded default).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL or None)
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_TIMEZONE = TIME_ZONE
# Defaults for tasks without their own limits; scheduling and reports set theirs (tasks.py).
CELERY_TASK_TIME_LIMIT = 15 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 10 * 60
# Lose nothing: a message is acknowledged after its task ran, so a worker killed mid-task
# (SIGKILL, OOM, a lost host) leaves it unacknowledged and the broker delivers it again; each
# worker process reserves one message at a time, so a dead one strands no others.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis redelivers an unacknowledged message after the visibility timeout. It must be longer
# than the longest hard time limit (reports: 30 min) and the longest countdown (a webhook
# retry: 30 s x 2^6 = 32 min), else a task still running or waiting is delivered twice: 2 h.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("MFAPP_BROKER_VISIBILITY_TIMEOUT", default=2 * 3600),
}
CELERY_TASK_DEFAULT_QUEUE = "default"
# CPU-bound planning, reports and outgoing HTTP each get their own queue (and workers).
CELERY_TASK_ROUTES = {
    "mfapp.scheduling.*": {"queue": "scheduling"},
    "mfapp.sustainability.*": {"queue": "reports"},
    "mfapp.integrations.webhook_*": {"queue": "webhooks"},
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "mfapp.core.openapi.TenantAutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "mfapp.core.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "mfapp.core.pagination.Pagination",
    "EXCEPTION_HANDLER": "mfapp.core.api.api_exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "mfapp API",
    "DESCRIPTION": (
        "The integrations API of mfapp, the microfactory platform. Authenticate with a tenant's "
        "API key: `Authorization: Bearer mfk_…`. Every error answers "
        '`{"message": "...", "extra": {...}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"EventTypeEnum": "mfapp.integrations.models.EventType"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "mfapp.core.openapi.add_error_responses",
    ],
}

# Outgoing webhooks: production refuses private, loopback and link-local targets (SSRF).
WEBHOOK_ALLOW_PRIVATE_TARGETS = env.bool("MFAPP_WEBHOOK_ALLOW_PRIVATE_TARGETS", default=False)
WEBHOOK_TIMEOUT_SECONDS = 10
WEBHOOK_MAX_ATTEMPTS = 8
WEBHOOK_RETRY_BASE_SECONDS = env.float("MFAPP_WEBHOOK_RETRY_BASE_SECONDS", default=30.0)
IDEMPOTENCY_KEY_TTL_HOURS = 48

# How long CP-SAT may improve a site's plan after the dispatcher's first valid one.
SCHEDULING_TIME_LIMIT_SECONDS = env.float("MFAPP_SCHEDULING_TIME_LIMIT_SECONDS", default=10.0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},  # about 15 INFO lines per PDF otherwise
        "fontTools": {"level": "WARNING"},
    },
}

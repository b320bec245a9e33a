"""Test settings: fast hasher, in-memory e-mail, plain static storage."""

import os

from .base import *  # noqa: F403
from .base import CELERY_BROKER_TRANSPORT_OPTIONS, DATABASES, env

SECRET_KEY = "test-only-secret-key"  # noqa: S105
DEBUG = False
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# The manifest storage needs collectstatic; live_server serves from the finders instead.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": env("MFAPP_TEST_SQLITE_NAME", default=None)}

# Tests deliver webhooks to a local HTTP server on 127.0.0.1, and retry quickly.
WEBHOOK_ALLOW_PRIVATE_TARGETS = True
WEBHOOK_RETRY_BASE_SECONDS = 0.2
WEBHOOK_TIMEOUT_SECONDS = 2
# Also read by the worker subprocess (same settings module); the kill-the-worker test gives
# its worker a longer solve through the environment, so there is time to kill it mid-run.
SCHEDULING_TIME_LIMIT_SECONDS = env.float("MFAPP_TEST_SCHEDULING_TIME_LIMIT_SECONDS", default=2.0)
# Unacknowledged messages whose visibility timeout passed are restored every second (not 10 s),
# so a test that shortens the timeout (MFAPP_BROKER_VISIBILITY_TIMEOUT) sees redelivery soon.
# Every test session has its own broker keys, so two suites on one Redis (a developer's run
# beside CI's) never take each other's tasks; the worker subprocess inherits the prefix.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,
    "unacked_restore_interval": 1,
    "global_keyprefix": env("MFAPP_TEST_BROKER_KEYPREFIX", default=f"mfapp-test-{os.getpid()}:"),
}

# No cache by default: a test runs inside a transaction that never commits, so the data
# versions that invalidate cached reads would never move. tests/core/test_tenant_cache.py
# turns a real one on around committed writes.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}

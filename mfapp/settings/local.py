"""Embedded default for `make run`: SQLite under var/, eager Celery, debug on."""

from .base import *  # noqa: F403
from .base import CELERY_BROKER_URL, VAR_DIR, env

VAR_DIR.mkdir(exist_ok=True)  # the default SQLite database and media live here

DEBUG = env.bool("DJANGO_DEBUG", default=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Without a broker the plan is computed inside the request that triggered it: keep it short.
SCHEDULING_TIME_LIMIT_SECONDS = env.float(
    "MFAPP_SCHEDULING_TIME_LIMIT_SECONDS", default=10.0 if CELERY_BROKER_URL else 3.0
)

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mfapp.settings.local")

app = Celery("mfapp")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

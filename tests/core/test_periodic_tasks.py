import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from mfapp.celery import app
from mfapp.core.management.commands.setup_periodic_tasks import PERIODIC_TASKS

pytestmark = pytest.mark.django_db


def test_setup_periodic_tasks_is_idempotent_and_names_real_tasks():
    call_command("setup_periodic_tasks")
    call_command("setup_periodic_tasks")

    rows = {t.name: t for t in PeriodicTask.objects.select_related("crontab")}
    assert set(rows) == set(PERIODIC_TASKS)
    app.loader.import_default_modules()
    for name, (task, cron) in PERIODIC_TASKS.items():
        assert rows[name].task == task
        assert task in app.tasks
        assert (rows[name].crontab.minute, rows[name].crontab.hour) == (
            cron["minute"],
            cron.get("hour", "*"),
        )

"""A real Celery worker consumes tasks from Redis and shares the test database.

On PostgreSQL (CI's second run) the worker is a separate `celery worker` process; on SQLite,
whose in-memory test database a subprocess cannot open, it runs in a thread of this process.
Both use the real broker."""

import pytest
from django.db import connection

from mfapp.core.tasks import worker_check

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def test_worker_runs_a_task_against_the_test_database(celery_worker):
    result = worker_check.delay().get(timeout=30)

    assert result == {
        "status": "ok",
        "database": connection.vendor,
        "name": str(connection.settings_dict["NAME"]),
    }

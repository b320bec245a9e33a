from typing import Any

from celery import shared_task
from django.db import connection


@shared_task(name="mfapp.core.worker_check")
def worker_check() -> dict[str, Any]:
    """Operations check: a worker answers and reaches the same database as the web process.
    `celery -A mfapp call mfapp.core.worker_check` from any host with the broker URL."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {
        "status": "ok",
        "database": connection.vendor,
        "name": str(connection.settings_dict["NAME"]),
    }

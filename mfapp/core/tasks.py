from typing import Any

import redis.exceptions
from celery import shared_task
from django.db import OperationalError, connection
from kombu.exceptions import OperationalError as BrokerOperationalError

# Errors worth another try, with backoff: the database or the broker is busy, restarting or
# briefly unreachable. Anything else is a bug or bad data, and retrying would only repeat it.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    OperationalError,
    BrokerOperationalError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)
# Keyword arguments of @shared_task for a task that retries transient errors: 1, 2, 4 ... s
# (with jitter), at most 5 min apart, 5 times.
TRANSIENT_RETRY: dict[str, Any] = {
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 5,
}


@shared_task(name="mfapp.core.worker_check", soft_time_limit=20, time_limit=30)
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

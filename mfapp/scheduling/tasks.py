from celery import shared_task
from django.conf import settings

from mfapp.core.tasks import TRANSIENT_RETRY
from mfapp.scheduling.models import ScheduleRun
from mfapp.scheduling.selectors import schedule_run_get
from mfapp.tenancy.selectors import tenant_get

BUSY_RETRY_SECONDS = 5  # another run of the site is running: look again shortly
BUSY_MAX_RETRIES = 360  # half an hour
# The solver stops itself after SCHEDULING_TIME_LIMIT_SECONDS; loading the site and saving
# the plan come on top. Soft limit: the run is marked failed; hard limit: the process is killed.
SOFT_TIME_LIMIT = int(settings.SCHEDULING_TIME_LIMIT_SECONDS) + 50  # 60 s by default
TIME_LIMIT = SOFT_TIME_LIMIT + 30  # 90 s by default


@shared_task(
    name="mfapp.scheduling.run_schedule",
    bind=True,
    acks_late=True,
    soft_time_limit=SOFT_TIME_LIMIT,
    time_limit=TIME_LIMIT,
    **TRANSIENT_RETRY,
)
def run_schedule(self, *, tenant_id: int, run_id: int) -> str:
    """Execute one queued schedule run. Safe to run twice: a finished run is skipped. A run
    left "running" is skipped too, unless this message is a redelivery: the worker that ran it
    died (the visibility timeout outlasts the hard time limit, so it is not still running)
    and the run is started over."""
    from mfapp.scheduling.services import schedule_run_execute  # services enqueue this task

    tenant = tenant_get(tenant_id=tenant_id)
    run = schedule_run_get(tenant=tenant, run_id=run_id)
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    resume = redelivered and run.status == ScheduleRun.Status.RUNNING
    if run.status != ScheduleRun.Status.QUEUED and not resume:
        return f"skipped ({run.status})"
    run = schedule_run_execute(run=run, resume=resume)
    if run.status == ScheduleRun.Status.QUEUED:
        raise self.retry(countdown=BUSY_RETRY_SECONDS, max_retries=BUSY_MAX_RETRIES)
    return str(run.status)

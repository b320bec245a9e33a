from celery import shared_task

from mfapp.scheduling.models import ScheduleRun
from mfapp.scheduling.selectors import schedule_run_get
from mfapp.tenancy.selectors import tenant_get

BUSY_RETRY_SECONDS = 5  # another run of the site is running: look again shortly
BUSY_MAX_RETRIES = 360  # half an hour


@shared_task(name="mfapp.scheduling.run_schedule", bind=True, acks_late=True)
def run_schedule(self, *, tenant_id: int, run_id: int) -> str:
    """Execute one queued schedule run. Safe to run twice: a run that is not queued any more
    is skipped."""
    from mfapp.scheduling.services import schedule_run_execute  # services enqueue this task

    tenant = tenant_get(tenant_id=tenant_id)
    run = schedule_run_get(tenant=tenant, run_id=run_id)
    if run.status != ScheduleRun.Status.QUEUED:
        return f"skipped ({run.status})"
    run = schedule_run_execute(run=run)
    if run.status == ScheduleRun.Status.QUEUED:
        raise self.retry(countdown=BUSY_RETRY_SECONDS, max_retries=BUSY_MAX_RETRIES)
    return str(run.status)

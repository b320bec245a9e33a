"""Report tasks, routed to the `reports` queue by CELERY_TASK_ROUTES ("mfapp.sustainability.*")."""

import zoneinfo
from datetime import date, timedelta

from celery import shared_task
from django.utils import timezone

from mfapp.core.tasks import TRANSIENT_RETRY
from mfapp.sustainability.selectors import tenants_for_monthly_reports
from mfapp.tenancy.selectors import site_get, tenant_get

# A year of a large tenant takes minutes: be generous. Soft limit: the row is marked failed;
# hard limit: the process is killed (the longest of all tasks: the visibility timeout outlasts it).
SOFT_TIME_LIMIT = 25 * 60
TIME_LIMIT = 30 * 60


@shared_task(
    name="mfapp.sustainability.generate_report",
    acks_late=True,
    soft_time_limit=SOFT_TIME_LIMIT,
    time_limit=TIME_LIMIT,
    **TRANSIENT_RETRY,
)
def generate_report(
    tenant_id: int, start: str, end: str, site_id: int | None = None
) -> dict[str, object]:
    """Compute the report of (tenant, period, site) into its one row. Idempotent: running it
    again refreshes the same row, never a second one; a row left "running" by a worker that
    died is simply computed again when the message is redelivered."""
    from mfapp.sustainability.services import report_generate_for_period  # services enqueue us

    tenant = tenant_get(tenant_id=tenant_id)
    site = site_get(tenant=tenant, site_id=site_id) if site_id is not None else None
    report = report_generate_for_period(
        tenant=tenant, start=date.fromisoformat(start), end=date.fromisoformat(end), site=site
    )
    return {"report_id": report.pk, "status": report.status}


def previous_month(today: date) -> tuple[date, date]:
    end = today.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


@shared_task(name="mfapp.sustainability.generate_monthly_reports", **TRANSIENT_RETRY)
def generate_monthly_reports() -> int:
    """Beat, on the 1st: one report task per active tenant for the month that just ended (in
    the tenant's own time zone: at 12:05 UTC the 1st has begun everywhere and no 2nd has ended)."""
    count = 0
    for tenant in tenants_for_monthly_reports():
        today = timezone.localdate(timezone=zoneinfo.ZoneInfo(tenant.timezone))
        start, end = previous_month(today)
        generate_report.delay(tenant.pk, start.isoformat(), end.isoformat(), None)
        count += 1
    return count

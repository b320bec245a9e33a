from django.db.models import QuerySet

from mfapp.core.exceptions import NotFound
from mfapp.scheduling.models import ScheduleRun
from mfapp.tenancy.models import Site, Tenant


def schedule_run_get(*, tenant: Tenant, run_id: int) -> ScheduleRun:
    try:
        return ScheduleRun.objects.for_tenant(tenant).select_related("site").get(pk=run_id)
    except (ScheduleRun.DoesNotExist, ValueError, TypeError):
        raise NotFound("Schedule run not found.") from None


def schedule_run_list(
    *, tenant: Tenant, site_id: int | None = None, status: str | None = None
) -> QuerySet[ScheduleRun]:
    qs = (
        ScheduleRun.objects.for_tenant(tenant).select_related("site").order_by("-created_at", "-id")
    )
    if site_id is not None:
        qs = qs.filter(site_id=site_id)
    if status:
        qs = qs.filter(status=status)
    return qs


def schedule_run_latest_for_site(*, site: Site, status: str | None = None) -> ScheduleRun | None:
    """The site's newest run (of `status`, if given), or None."""
    qs = ScheduleRun.objects.for_tenant(site.tenant).filter(site=site)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id").first()

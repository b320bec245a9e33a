from django.db.models import Count, QuerySet

from mfapp.core.exceptions import NotFound
from mfapp.machines.models import Machine, MaintenanceWindow
from mfapp.tenancy.models import Tenant


def machine_get(*, tenant: Tenant, machine_id: int) -> Machine:
    try:
        return Machine.objects.for_tenant(tenant).select_related("site").get(pk=machine_id)
    except (Machine.DoesNotExist, ValueError, TypeError):
        raise NotFound("Machine not found.") from None


def machine_list(
    *, tenant: Tenant, site_id: int | None = None, status: str | None = None
) -> QuerySet[Machine]:
    qs = Machine.objects.for_tenant(tenant).select_related("site").order_by("site__name", "name")
    if site_id is not None:
        qs = qs.filter(site_id=site_id)
    if status:
        qs = qs.filter(status=status)
    return qs


def machine_status_counts(*, tenant: Tenant) -> dict[str, int]:
    rows = Machine.objects.for_tenant(tenant).values("status").annotate(n=Count("id"))
    return {row["status"]: row["n"] for row in rows}


def maintenance_window_list(*, tenant: Tenant, machine_id: int) -> QuerySet[MaintenanceWindow]:
    return MaintenanceWindow.objects.for_tenant(tenant).filter(machine_id=machine_id)

from django.db.models import QuerySet

from mfapp.audit.models import AuditEvent
from mfapp.tenancy.models import Tenant


def audit_event_list(
    *, tenant: Tenant, target_type: str | None = None, target_id: int | None = None
) -> QuerySet[AuditEvent]:
    qs = AuditEvent.objects.for_tenant(tenant).select_related("actor_user")
    if target_type is not None:
        qs = qs.filter(target_type=target_type)
    if target_id is not None:
        qs = qs.filter(target_id=target_id)
    return qs

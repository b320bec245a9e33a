"""What the audit tests share: events at chosen instants (created_at is set on insert, so it
is moved afterwards, as the demo data does)."""

from datetime import UTC, datetime
from typing import Any

from mfapp.audit.models import AuditEvent
from mfapp.tenancy.models import Tenant
from tests.factories import AuditEventFactory

T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


def event_at(tenant: Tenant, at: datetime, **fields: Any) -> AuditEvent:
    event = AuditEventFactory(tenant=tenant, **fields)
    AuditEvent.objects.for_tenant(tenant).filter(pk=event.pk).update(created_at=at)
    event.created_at = at
    return event


def newest_first(tenant: Tenant) -> list[int]:
    """Every event id of `tenant` in the log's order."""
    return list(
        AuditEvent.objects.for_tenant(tenant)
        .order_by("-created_at", "-id")
        .values_list("pk", flat=True)
    )

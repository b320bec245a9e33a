from typing import Any

from django.db import models

from mfapp.audit.models import AuditEvent
from mfapp.tenancy.actors import Actor


def audit_record(
    *,
    actor: Actor,
    verb: str,
    target: models.Model,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    message: str = "",
) -> AuditEvent:
    return AuditEvent.objects.create(
        tenant=actor.tenant,
        actor_user=actor.user,
        actor_label=actor.label[:200],
        verb=verb,
        target_type=target._meta.label_lower,
        target_id=target.pk,
        target_repr=str(target)[:200],
        before=before or {},
        after=after or {},
        message=message,
    )

"""Plain field updates and deletions, the same way for every model: permission, lock,
validate, save, audit. Business actions (transitions) have their own services."""

from typing import Any, TypeVar

from django.db import models, transaction
from django.db.models import ProtectedError

from mfapp.audit.services import audit_record
from mfapp.core.exceptions import ApplicationError, Conflict
from mfapp.core.serialization import jsonable
from mfapp.core.transitions import lock
from mfapp.core.validation import clean_and_save
from mfapp.tenancy.actors import Actor
from mfapp.tenancy.permissions import require_permission

M = TypeVar("M", bound=models.Model)


def reject_unknown_fields(fields: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise ApplicationError(
            f"Unknown field(s): {', '.join(unknown)}.",
            {"fields": {name: ["Unknown or read-only field."] for name in unknown}},
        )


@transaction.atomic
def instance_update(
    *,
    actor: Actor,
    instance: M,
    fields: dict[str, Any],
    allowed: set[str],
    permission: str,
) -> M:
    require_permission(actor, permission)
    reject_unknown_fields(fields, allowed)
    instance = lock(actor, instance)
    before = {name: jsonable(getattr(instance, name)) for name in fields}
    for name, value in fields.items():
        setattr(instance, name, value)
    clean_and_save(instance)
    audit_record(
        actor=actor,
        verb=f"{instance._meta.model_name}.updated",
        target=instance,
        before=before,
        after={name: jsonable(getattr(instance, name)) for name in fields},
    )
    return instance


@transaction.atomic
def instance_delete(*, actor: Actor, instance: models.Model, permission: str) -> None:
    require_permission(actor, permission)
    instance = lock(actor, instance)
    label = instance._meta.verbose_name
    audit_record(
        actor=actor,
        verb=f"{instance._meta.model_name}.deleted",
        target=instance,
        before=_snapshot(instance),  # the only trace the row leaves
    )
    try:
        with transaction.atomic():
            instance.delete()
    except ProtectedError:
        raise Conflict(
            f"This {label} is still used by other records; remove or reassign them first."
        ) from None


_NOT_SNAPSHOT = {"id", "tenant", "created_at", "updated_at"}


def _snapshot(instance: models.Model) -> dict[str, Any]:
    """Every own field of a row (foreign keys as ids), as JSON values."""
    return {
        field.attname if field.is_relation else field.name: jsonable(
            getattr(instance, field.attname)
        )
        for field in instance._meta.concrete_fields
        if field.name not in _NOT_SNAPSHOT
    }

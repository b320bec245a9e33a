"""One way to move a status: check the transition, lock the row, save, audit."""

from collections.abc import Collection
from typing import Any, TypeVar

from django.db import models
from django.db.models import F
from django.utils.text import capfirst

from mfapp.audit.services import audit_record
from mfapp.core.exceptions import Conflict, NotFound
from mfapp.core.serialization import jsonable
from mfapp.integrations.events import webhook_status_changed
from mfapp.tenancy.actors import Actor

M = TypeVar("M", bound=models.Model)


def ensure_same_tenant(actor: Actor, instance: models.Model) -> None:
    """An object of another tenant is treated exactly like a missing one."""
    if instance.tenant_id != actor.tenant.pk:  # type: ignore[attr-defined]
        raise NotFound(f"{capfirst(instance._meta.verbose_name)} not found.")


def lock(actor: Actor, instance: M) -> M:
    """A fresh copy of `instance`, row-locked until the transaction ends (PostgreSQL)."""
    ensure_same_tenant(actor, instance)
    manager = type(instance).objects  # type: ignore[attr-defined]
    return manager.for_tenant(actor.tenant).select_for_update(of=("self",)).get(pk=instance.pk)


def change_status(
    *,
    actor: Actor,
    instance: M,
    to: str,
    allowed_from: Collection[str],
    verb: str,
    changes: dict[str, Any] | None = None,
    message: str = "",
    expected_version: int | None = None,
) -> M:
    """Move `instance` (already locked) to status `to`, or raise Conflict with a clear reason.

    Models with a `version` field (Batch) also get an optimistic check: the version is raised
    by a conditional UPDATE (`WHERE version = <the version read>`), and no row updated means
    someone else changed the object meanwhile. `expected_version`, when given, is the version
    the caller acted on (e.g. the page it saw): any other current version is a Conflict too."""
    versioned = _has_version(instance)
    read_version = getattr(instance, "version", None)
    if versioned and expected_version is not None and read_version != expected_version:
        raise changed_meanwhile(instance)
    current = instance.status  # type: ignore[attr-defined]
    if current not in allowed_from:
        raise transition_conflict(instance, to, allowed_from)
    changes = changes or {}
    if versioned:
        _version_bump(instance)
    instance.status = to  # type: ignore[attr-defined]
    for field, value in changes.items():
        setattr(instance, field, value)
    instance.save(update_fields=["status", "updated_at", *changes])
    audit_record(
        actor=actor,
        verb=verb,
        target=instance,
        before={"status": current},
        after={"status": to, **{k: jsonable(v) for k, v in changes.items()}},
        message=message,
    )
    webhook_status_changed(instance=instance, previous_status=current)
    return instance


def _has_version(instance: models.Model) -> bool:
    return any(field.name == "version" for field in instance._meta.concrete_fields)


def _version_bump(instance: models.Model) -> None:
    """version -> version + 1, only if nobody raised it since `instance` was read."""
    manager = type(instance).objects  # type: ignore[attr-defined]
    read = instance.version  # type: ignore[attr-defined]
    rows = manager.for_tenant(instance.tenant_id)  # type: ignore[attr-defined]
    updated = rows.filter(pk=instance.pk, version=read).update(version=F("version") + 1)
    if updated != 1:
        raise changed_meanwhile(instance)
    instance.version = read + 1  # type: ignore[attr-defined]


def changed_meanwhile(instance: models.Model) -> Conflict:
    label = instance._meta.verbose_name
    return Conflict(
        f"{capfirst(label)} {instance} was changed meanwhile by someone else; reload it and "
        "try again.",
        {"version": instance.version},  # type: ignore[attr-defined]
    )


def transition_conflict(instance: models.Model, to: str, allowed_from: Collection[str]) -> Conflict:
    label = instance._meta.verbose_name
    wanted = dict(instance._meta.get_field("status").choices)[to]
    now = instance.get_status_display()  # type: ignore[attr-defined]
    return Conflict(
        f"Cannot move {label} {instance} to {wanted.lower()}: it is {now.lower()}.",
        {"status": instance.status, "allowed_from": sorted(allowed_from)},  # type: ignore[attr-defined]
    )

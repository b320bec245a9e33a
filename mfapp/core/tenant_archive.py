"""Export one tenant's data to a single archive, and restore it into a database without it.

The archive is a zip file:
- `manifest.json`: format and version, the tenant, when, the row count and SHA-256 of every
  data file, the models deliberately left out, and the applied migrations of every app whose
  rows it holds;
- one JSON-lines file per model, in dependency order: `tenancy.tenant.jsonl` (one row),
  `auth.user.jsonl` (the tenant's members only), then every tenant-scoped model.

Rows keep their old primary keys in the archive; the import gives every row a new one and
rewrites each foreign key (and `AuditEvent.target_id`) through the old-to-new mapping. What
is exported, remapped, kept verbatim or left out is listed in `EXCLUDED_MODELS`, `USER_FIELDS`
and the docstring of `tenant_import`.
"""

import hashlib
import json
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connection, models, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from mfapp.core import rls
from mfapp.core.models import TenantScopedModel
from mfapp.integrations.models import IdempotencyRecord
from mfapp.tenancy.models import Membership, Tenant

FORMAT = "mfapp-tenant-archive"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"

# Tenant-owned models deliberately not exported, and why. Every other concrete
# TenantScopedModel is exported (a test checks that the two sets cover all of them).
EXCLUDED_MODELS: dict[type[models.Model], str] = {
    IdempotencyRecord: (
        "a short-lived replay cache of API responses; its stored bodies name the old ids, so "
        "replaying one after a restore would answer with ids that no longer exist"
    ),
}
TENANT_FIELDS = ("slug", "name", "country", "timezone", "currency", "is_active")
# What a member's account carries over. Staff/superuser flags, permissions, groups and
# last_login stay behind: an archive never grants platform rights.
USER_FIELDS = ("username", "email", "first_name", "last_name", "password", "is_active")
TIMESTAMPS = ("created_at", "updated_at")


class ArchiveError(Exception):
    """The archive cannot be written or restored; the message says why, for a person."""


@dataclass
class ArchiveSummary:
    path: Path
    tenant_slug: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def describe(self) -> str:
        parts = ", ".join(f"{label} {n}" for label, n in self.counts.items() if n)
        return f"{self.total} rows ({parts})"


# --- which models, in which order ------------------------------------------------------------


def _label(model: type[models.Model]) -> str:
    return model._meta.label_lower


def tenant_scoped_models() -> list[type[models.Model]]:
    """Every concrete (non-abstract, non-proxy) TenantScopedModel installed."""
    return [
        model
        for model in apps.get_models()
        if issubclass(model, TenantScopedModel) and not model._meta.proxy
    ]


def _foreign_keys(model: type[models.Model]) -> list[models.ForeignKey]:
    return [
        f
        for f in model._meta.concrete_fields
        if f.is_relation and f.many_to_one and f.name != "tenant"
    ]


def exported_models() -> list[type[models.Model]]:
    """The tenant-scoped models the archive holds, parents before children (self-references
    are restored in a second pass). Raises if a model points somewhere the archive can't
    follow, so a new model cannot be exported half-right."""
    user_model = get_user_model()
    wanted = [m for m in tenant_scoped_models() if m not in EXCLUDED_MODELS]
    wanted.sort(key=_label)
    pending = {m: set() for m in wanted}
    for model in wanted:
        for fk in _foreign_keys(model):
            target = fk.related_model
            if target is model or target in (Tenant, user_model):
                continue
            if target not in pending:
                raise ArchiveError(
                    f"{model._meta.label}.{fk.name} points to {target._meta.label}, which the "
                    "tenant archive does not export; add it or teach the archive a natural key."
                )
            pending[model].add(target)
    ordered: list[type[models.Model]] = []
    while pending:
        ready = [m for m, deps in pending.items() if not deps - set(ordered)]
        if not ready:
            raise ArchiveError(f"Foreign-key cycle between {sorted(map(_label, pending))}.")
        for model in ready:
            ordered.append(model)
            del pending[model]
    return ordered


# --- values to and from JSON -----------------------------------------------------------------


def _to_json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()  # full precision, with the offset
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    if value is None or isinstance(value, str | int | float | bool | list | dict):
        return value
    raise ArchiveError(f"Cannot archive a value of type {type(value).__name__}.")


def _row(obj: models.Model, fields: Iterable[models.Field]) -> dict[str, Any]:
    return {f.attname: _to_json(f.value_from_object(obj)) for f in fields}


def _from_json(model_field: models.Field, value: Any) -> Any:
    if value is None or isinstance(model_field, models.JSONField):
        return value
    return model_field.to_python(value)


# --- export ----------------------------------------------------------------------------------


def _applied_migrations(app_labels: Iterable[str]) -> dict[str, list[str]]:
    applied = MigrationRecorder(connection).applied_migrations()
    labels = set(app_labels)
    state: dict[str, list[str]] = {label: [] for label in sorted(labels)}
    for app_label, name in applied:
        if app_label in labels:
            state[app_label].append(name)
    return {label: sorted(names) for label, names in state.items()}


def tenant_export(*, tenant: Tenant, path: Path | str) -> ArchiveSummary:
    """Write every row of `tenant` (and its members' accounts) to a zip archive at `path`."""
    with rls.tenant_context(tenant.pk):
        return _tenant_export(tenant=tenant, path=path)


def _tenant_export(*, tenant: Tenant, path: Path | str) -> ArchiveSummary:
    path = Path(path)
    user_model = get_user_model()
    members = set(Membership.objects.for_tenant(tenant).values_list("user_id", flat=True))
    files: dict[str, bytes] = {}
    counts: dict[str, int] = {}

    def add(label: str, rows: Iterable[dict[str, Any]]) -> None:
        lines = [json.dumps(row, sort_keys=True, ensure_ascii=False) for row in rows]
        files[f"{label}.jsonl"] = "".join(line + "\n" for line in lines).encode()
        counts[label] = len(lines)

    add(
        _label(Tenant),
        [{"id": tenant.pk, **_row(tenant, _fields(Tenant, (*TENANT_FIELDS, *TIMESTAMPS)))}],
    )
    users = user_model.objects.filter(pk__in=members).order_by("pk")
    add(_label(user_model), [_row(u, _fields(user_model, ("id", *USER_FIELDS))) for u in users])
    model_list = exported_models()
    for model in model_list:
        fields = [f for f in model._meta.concrete_fields if f.name != "tenant"]
        user_fks = [f.attname for f in _foreign_keys(model) if f.related_model is user_model]
        rows = []
        queryset = model._default_manager.for_tenant(tenant).order_by("pk")
        for obj in queryset.iterator(chunk_size=2000):
            row = _row(obj, fields)
            for attname in user_fks:  # someone who is no longer a member: not exported
                if row[attname] is not None and row[attname] not in members:
                    row[attname] = None
            rows.append(row)
        add(_label(model), rows)

    app_labels = {Tenant._meta.app_label, user_model._meta.app_label}
    app_labels |= {m._meta.app_label for m in model_list}
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "tenant": {"slug": tenant.slug, "name": tenant.name},
        "exported_at": timezone.now().isoformat(),
        "models": [
            {"label": label, "file": name, "rows": counts[label], "sha256": _sha256(data)}
            for name, data in files.items()
            for label in [name.removesuffix(".jsonl")]
        ],
        "excluded_models": {_label(m): why for m, why in EXCLUDED_MODELS.items()},
        "migrations": _applied_migrations(app_labels),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False))
        for name, data in files.items():
            archive.writestr(name, data)
    partial.replace(path)  # a crash mid-write never leaves a half archive under the name
    return ArchiveSummary(path=path, tenant_slug=tenant.slug, counts=counts)


def _fields(model: type[models.Model], names: Iterable[str]) -> list[models.Field]:
    return [model._meta.get_field(name) for name in names]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- reading an archive ----------------------------------------------------------------------


@dataclass
class _Archive:
    manifest: dict[str, Any]
    rows: dict[str, list[dict[str, Any]]]  # label -> rows, in the manifest's order


def read_archive(path: Path | str) -> _Archive:
    """Open and check everything before touching the database: format, version, checksums,
    JSON, and that no model or column is unknown here."""
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = json.loads(archive.read(MANIFEST))
            _check_manifest(manifest)
            rows = {}
            for entry in manifest["models"]:
                data = archive.read(entry["file"])
                if _sha256(data) != entry["sha256"]:
                    raise ArchiveError(f"{entry['file']} does not match its checksum.")
                rows[entry["label"]] = [json.loads(line) for line in data.decode().splitlines()]
                if len(rows[entry["label"]]) != entry["rows"]:
                    raise ArchiveError(f"{entry['file']} does not hold {entry['rows']} rows.")
    except FileNotFoundError as error:
        raise ArchiveError(f"No archive at {path}.") from error
    except (zipfile.BadZipFile, zlib.error, KeyError, EOFError, OSError) as error:
        raise ArchiveError(f"The archive {path} is corrupt or incomplete ({error}).") from error
    except (ValueError, TypeError) as error:  # JSON, UTF-8, or a malformed manifest
        raise ArchiveError(f"The archive {path} is corrupt ({error}).") from error
    return _Archive(manifest=manifest, rows=rows)


def _check_manifest(manifest: Any) -> None:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArchiveError("This is not an mfapp tenant archive.")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ArchiveError(
            f"Archive format version {manifest.get('format_version')!r} is not supported "
            f"(this version reads {FORMAT_VERSION})."
        )
    labels = [entry["label"] for entry in manifest["models"]]
    user_label = _label(get_user_model())
    known = {_label(Tenant), user_label} | {_label(m) for m in exported_models()}
    unknown = sorted(set(labels) - known)
    if unknown:
        raise ArchiveError(f"The archive holds models this database does not: {unknown}.")
    if labels[:2] != [_label(Tenant), user_label]:
        raise ArchiveError("The archive's manifest does not start with the tenant and its users.")
    applied = _applied_migrations(manifest["migrations"])
    newer = sorted(
        f"{app}.{name}"
        for app, names in manifest["migrations"].items()
        for name in set(names) - set(applied[app])
    )
    if newer:
        raise ArchiveError(
            "The archive comes from a newer database schema; migrate this database first "
            f"(missing here: {', '.join(newer)})."
        )


# --- import ----------------------------------------------------------------------------------


@contextmanager
def _original_timestamps(model_list: Iterable[type[models.Model]]) -> Iterator[None]:
    """Keep the archived created_at/updated_at instead of stamping the import time. This
    flips auto_now on the model fields for the duration of the import (process-wide; the
    import runs from a management command)."""
    changed = []
    for model in model_list:
        for name in TIMESTAMPS:
            model_field = model._meta.get_field(name)
            changed.append((model_field, model_field.auto_now, model_field.auto_now_add))
            model_field.auto_now = model_field.auto_now_add = False
    try:
        yield
    finally:
        for model_field, auto_now, auto_now_add in changed:
            model_field.auto_now, model_field.auto_now_add = auto_now, auto_now_add


def tenant_import(*, path: Path | str) -> Tenant:
    """Restore an archive written by `tenant_export`; see `tenant_import_summary`."""
    return tenant_import_summary(path=path)[0]


def tenant_import_summary(*, path: Path | str) -> tuple[Tenant, ArchiveSummary]:
    """Restore an archive written by `tenant_export`, all or nothing, under new primary keys.

    - The tenant's slug must not exist here.
    - Members are matched by username: an existing account is reused as it is (password,
      names and flags untouched); a missing one is created with the archived password hash.
    - Every foreign key follows the old-to-new mapping, and so does `AuditEvent.target_id`
      when its target type is the tenant, a user or an exported model; a target deleted
      before the export becomes 0 (names nothing) rather than a stranger's new id.
    - JSON contents are kept verbatim: audit before/after, webhook payloads (the record of
      what was sent, under the same event_id) and report snapshots are history.
    - Rows are inserted with bulk_create: no save() overrides, signals, audit events or
      webhooks run for the restored rows.
    """
    archive = read_archive(path)
    slug = archive.manifest["tenant"]["slug"]
    user_model = get_user_model()
    by_label = {_label(m): m for m in exported_models()}
    model_list = [by_label[label] for label in archive.rows if label in by_label]
    with transaction.atomic():
        if Tenant.objects.filter(slug=slug).exists():
            raise ArchiveError(f"A tenant with the slug {slug!r} exists already; not imported.")
        ids: dict[str, dict[int, int]] = {}
        with _original_timestamps([Tenant, *model_list]):
            tenant = _import_tenant(archive.rows[_label(Tenant)])
            ids[_label(Tenant)] = {archive.rows[_label(Tenant)][0]["id"]: tenant.pk}
            ids[_label(user_model)] = _import_users(archive.rows[_label(user_model)])
            with rls.tenant_context(tenant.pk):  # its rows are written as the new tenant
                for model in model_list:
                    rows = archive.rows[_label(model)]
                    ids[_label(model)] = _import_rows(model, tenant, rows, ids)
                _remap_audit_targets(tenant, ids)
    counts = {label: len(rows) for label, rows in archive.rows.items()}
    return tenant, ArchiveSummary(path=Path(path), tenant_slug=tenant.slug, counts=counts)


def _import_tenant(rows: list[dict[str, Any]]) -> Tenant:
    if len(rows) != 1:
        raise ArchiveError("The archive must hold exactly one tenant.")
    row = rows[0]
    tenant = Tenant(**_values(Tenant, row, skip={"id"}))
    tenant.full_clean(validate_unique=False)
    tenant.save(force_insert=True)
    return tenant


def _import_users(rows: list[dict[str, Any]]) -> dict[int, int]:
    user_model = get_user_model()
    existing = {
        u.get_username(): u.pk
        for u in user_model.objects.filter(username__in=[r["username"] for r in rows])
    }
    mapping = {}
    for row in rows:
        if row["username"] not in existing:
            user = user_model(**_values(user_model, row, skip={"id"}))
            user.save(force_insert=True)
            existing[row["username"]] = user.pk
        mapping[row["id"]] = existing[row["username"]]
    return mapping


def _values(model: type[models.Model], row: dict[str, Any], skip: set[str]) -> dict[str, Any]:
    values = {}
    for attname, value in row.items():
        if attname in skip:
            continue
        try:
            model_field = next(f for f in model._meta.concrete_fields if f.attname == attname)
        except StopIteration:
            raise ArchiveError(
                f"{model._meta.label} has no field {attname!r} in this database."
            ) from None
        values[attname] = _from_json(model_field, value)
    return values


def _import_rows(
    model: type[models.Model],
    tenant: Tenant,
    rows: list[dict[str, Any]],
    ids: dict[str, dict[int, int]],
) -> dict[int, int]:
    fks = {f.attname: f for f in _foreign_keys(model)}
    self_refs = [a for a, f in fks.items() if f.related_model is model]
    objs, old_ids, deferred = [], [], []
    for row in rows:
        values = _values(model, row, skip={"id", *self_refs})
        for attname, fk in fks.items():
            if attname in self_refs or values.get(attname) is None:
                continue
            target = ids[_label(fk.related_model)]
            if values[attname] not in target:
                raise ArchiveError(
                    f"{model._meta.label} row {row['id']}: {fk.name} {values[attname]} is not "
                    "in the archive."
                )
            values[attname] = target[values[attname]]
        objs.append(model(tenant=tenant, **values))
        old_ids.append(row["id"])
        deferred.append({a: row.get(a) for a in self_refs})
    created = model._default_manager.bulk_create(objs, batch_size=500)
    if any(obj.pk is None for obj in created):
        raise ArchiveError("This database does not return ids from bulk inserts.")
    mapping = dict(zip(old_ids, (obj.pk for obj in created), strict=True))
    if self_refs:  # now that every row of the model has its new id
        changed = []
        for obj, refs in zip(created, deferred, strict=True):
            for attname, old in refs.items():
                if old is not None:
                    setattr(obj, attname, mapping[old])
                    changed.append(obj)
        if changed:
            model._default_manager.for_tenant(tenant).bulk_update(
                changed, self_refs, batch_size=500
            )
    return mapping


def _remap_audit_targets(tenant: Tenant, ids: dict[str, dict[int, int]]) -> None:
    from mfapp.audit.models import AuditEvent

    events = AuditEvent.objects.for_tenant(tenant).only("pk", "target_type", "target_id")
    changed = []
    for event in events.iterator(chunk_size=2000):
        if event.target_type not in ids:
            continue  # a type the archive does not hold: the number is kept as it was
        new = ids[event.target_type].get(event.target_id, 0)  # deleted since: 0 names nothing
        if new != event.target_id:
            event.target_id = new
            changed.append(event)
    if changed:  # bulk_update leaves updated_at alone
        AuditEvent.objects.for_tenant(tenant).bulk_update(changed, ["target_id"], batch_size=500)

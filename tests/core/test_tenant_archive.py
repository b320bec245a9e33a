import json
import re
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import models
from django.utils import timezone

from mfapp.audit.models import AuditEvent
from mfapp.core.demo_data import seed_demo
from mfapp.core.models import TenantScopedModel
from mfapp.core.tenant_archive import (
    EXCLUDED_MODELS,
    MANIFEST,
    USER_FIELDS,
    ArchiveError,
    exported_models,
    tenant_export,
    tenant_import,
    tenant_scoped_models,
)
from mfapp.scheduling.models import ScheduleRun
from mfapp.tenancy.models import ApiKey, Membership, Tenant
from tests.factories import (
    AuditEventFactory,
    MembershipFactory,
    ScheduleRunFactory,
    UserFactory,
    factory_for_model,
)

pytestmark = pytest.mark.django_db
User = get_user_model()
SKIP = {"id", "tenant"}


# --- helpers ---------------------------------------------------------------------------------
def _label(model: type[models.Model]) -> str:
    return model._meta.label_lower


def _members(tenant: Tenant) -> set[int]:
    return set(Membership.objects.for_tenant(tenant).values_list("user_id", flat=True))


def canonical_dump(tenant: Tenant) -> dict[str, list[str]]:
    """Every row of the tenant as JSON without ids; a foreign key is replaced by the whole
    natural content of the row it points to (recursively), a user by the username, and an
    audit event's target_id by its target's content. Rows of a model are sorted."""
    tables: dict[str, dict[int, dict[str, Any]]] = {
        _label(Tenant): {tenant.pk: Tenant.objects.filter(pk=tenant.pk).values().get()},
        _label(User): {  # what an account carries over (not date_joined, last_login, flags)
            u["id"]: u
            for u in User.objects.filter(pk__in=_members(tenant)).values("id", *USER_FIELDS)
        },
    }
    for model in exported_models():
        tables[_label(model)] = {
            row["id"]: row for row in model._default_manager.for_tenant(tenant).values()
        }
    memo: dict[tuple[str, int], Any] = {}

    def natural(label: str, pk: int | None) -> Any:
        if pk is None:
            return None
        if label == _label(User):
            return tables[label][pk]["username"]
        if label == _label(Tenant):
            return tables[label][pk]["slug"]
        if (label, pk) not in memo:
            row = tables[label].get(pk)
            memo[label, pk] = "missing" if row is None else content(label, row)
        return memo[label, pk]

    def content(label: str, row: dict[str, Any]) -> dict[str, Any]:
        model = next(m for m in exported_models() if _label(m) == label)
        out = {}
        for f in model._meta.concrete_fields:
            if f.name in SKIP:
                continue
            value = row[f.attname]
            if f.is_relation:
                value = natural(_label(f.related_model), value)
            out[f.name] = value
        if model is AuditEvent:
            target = row["target_type"]
            out["target_id"] = natural(target, row["target_id"]) if target in tables else "?"
        return out

    dump = {
        _label(Tenant): [tables[_label(Tenant)][tenant.pk]],
        _label(User): list(tables[_label(User)].values()),
    }
    for row in dump[_label(Tenant)] + dump[_label(User)]:
        row.pop("id")
    for model in exported_models():
        dump[_label(model)] = [
            content(_label(model), row) for row in tables[_label(model)].values()
        ]
    return {
        label: sorted(json.dumps(r, sort_keys=True, default=str) for r in rows)
        for label, rows in dump.items()
    }


def delete_tenant(tenant: Tenant) -> None:
    """Remove the tenant, all its rows, and the accounts that belonged to it alone."""
    members = _members(tenant)
    for model in reversed([*exported_models(), *EXCLUDED_MODELS]):
        model._default_manager.for_tenant(tenant).delete()
    for user in User.objects.filter(pk__in=members):
        if not Membership.objects.for_user(user).exists():
            user.delete()
    tenant.delete()


def every_model_in(tenant: Tenant) -> None:
    """At least one row of every tenant-scoped model, built by the factories."""
    factories = factory_for_model()
    for model in tenant_scoped_models():
        if not model._default_manager.for_tenant(tenant).exists():
            factories[model](tenant=tenant)


def _counts() -> dict[str, int]:
    counts = {
        _label(m): sum(m._default_manager.for_tenant(t).count() for t in Tenant.objects.all())
        for m in tenant_scoped_models()
    }
    counts["tenant"] = Tenant.objects.count()
    counts["user"] = User.objects.count()
    return counts


def _rewrite(source: Path, target: Path, change: dict[str, bytes]) -> None:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            new.writestr(name, change.get(name, old.read(name)))


def _manifest(path: Path) -> dict[str, Any]:
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read(MANIFEST))


# --- tests -----------------------------------------------------------------------------------
def test_every_tenant_scoped_model_is_exported_or_excluded_on_purpose():
    def concrete(cls: type) -> set[type]:
        found = set()
        for sub in cls.__subclasses__():
            if not sub._meta.abstract and not sub._meta.proxy:
                found.add(sub)
            found |= concrete(sub)
        return found

    every = concrete(TenantScopedModel)
    exported = set(exported_models())

    assert set(tenant_scoped_models()) == every
    assert exported | set(EXCLUDED_MODELS) == every
    assert not exported & set(EXCLUDED_MODELS)
    assert all(reason for reason in EXCLUDED_MODELS.values())
    order = exported_models()  # parents first
    for index, model in enumerate(order):
        for f in model._meta.concrete_fields:
            if f.is_relation and f.related_model in exported and f.related_model is not model:
                assert order.index(f.related_model) < index, (model, f.name)


def test_round_trip_of_a_seeded_tenant_is_lossless(tmp_path):
    seed_demo()
    tenant = Tenant.objects.get(slug="northwind")
    every_model_in(tenant)  # the models the demo leaves empty (webhooks, API keys ...)
    first = ScheduleRunFactory(tenant=tenant)
    ScheduleRunFactory(tenant=tenant, site=first.site, previous_run=first)
    AuditEventFactory(tenant=tenant, target_type="orders.order", target_id=987654321)  # gone
    before = canonical_dump(tenant)
    own_user = User.objects.get(username="owner@northwind.test")
    own_hash = own_user.password
    other = Tenant.objects.get(slug="rhone")
    other_before = canonical_dump(other)
    assert all(before[_label(m)] for m in exported_models()), "every model has rows"

    summary = tenant_export(tenant=tenant, path=tmp_path / "northwind.zip")
    delete_tenant(tenant)
    assert not User.objects.filter(username="owner@northwind.test").exists()
    restored = tenant_import(path=summary.path)

    assert restored.pk != tenant.pk
    assert canonical_dump(restored) == before
    assert canonical_dump(other) == other_before
    owner = User.objects.get(username="owner@northwind.test")
    assert owner.password == own_hash
    assert owner.check_password("microfactory-demo")
    assert summary.counts[_label(AuditEvent)] == AuditEvent.objects.for_tenant(restored).count()


def test_existing_user_is_reused_and_keeps_their_password(tenant, other_tenant, tmp_path):
    shared = UserFactory(username="shared@example.com")
    MembershipFactory(tenant=tenant, user=shared)
    MembershipFactory(tenant=other_tenant, user=shared)
    path = tenant_export(tenant=tenant, path=tmp_path / "acme.zip").path
    delete_tenant(tenant)
    shared.set_password("changed-since-the-export-1")
    shared.save()

    restored = tenant_import(path=path)

    membership = Membership.objects.for_tenant(restored).get()
    assert membership.user_id == shared.pk
    shared.refresh_from_db()
    assert shared.check_password("changed-since-the-export-1")


def test_archive_holds_nothing_of_another_tenant(tenant, other_tenant, tmp_path):
    every_model_in(tenant)
    every_model_in(other_tenant)
    shared = UserFactory(is_staff=True)
    MembershipFactory(tenant=tenant, user=shared)
    MembershipFactory(tenant=other_tenant, user=shared)
    staff = UserFactory(is_staff=True, is_superuser=True)  # no member of acme
    ApiKey.objects.for_tenant(tenant).update(created_by=staff)

    path = tenant_export(tenant=tenant, path=tmp_path / "acme.zip").path

    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read(MANIFEST))
        rows = {
            entry["label"]: [json.loads(x) for x in archive.read(entry["file"]).splitlines()]
            for entry in manifest["models"]
        }
    assert manifest["tenant"] == {"slug": "acme", "name": "Acme Microfactory"}
    assert [r["slug"] for r in rows["tenancy.tenant"]] == ["acme"]
    for model in exported_models():
        mine = set(model._default_manager.for_tenant(tenant).values_list("id", flat=True))
        assert {r["id"] for r in rows[_label(model)]} == mine, model
        assert "tenant_id" not in rows[_label(model)][0]
    assert not {_label(m) for m in EXCLUDED_MODELS} & set(rows)
    users = rows[_label(User)]
    assert {u["id"] for u in users} == _members(tenant)
    assert staff.pk not in {u["id"] for u in users}
    assert all(set(u) == {"id", "username", "email", "first_name", "last_name", "password",
                          "is_active"} for u in users)  # fmt: skip
    assert [k["created_by_id"] for k in rows["tenancy.apikey"]] == [None]
    assert {e["label"]: e["rows"] for e in manifest["models"]} == {
        label: len(r) for label, r in rows.items()
    }
    assert manifest["format_version"] == 1
    assert "tenancy" in manifest["migrations"]
    assert manifest["exported_at"]


def test_import_over_an_existing_slug_is_refused_and_changes_nothing(tenant, tmp_path):
    every_model_in(tenant)
    path = tenant_export(tenant=tenant, path=tmp_path / "acme.zip").path
    before = _counts()

    with pytest.raises(CommandError, match="'acme' exists already"):
        call_command("import_tenant", str(path))

    assert _counts() == before


def _bad_fk(path: Path) -> dict[str, bytes]:
    """The last model's file with a foreign key to nowhere, checksum recomputed: the failure
    comes half-way through the import."""
    import hashlib

    manifest = _manifest(path)
    entry = next(
        e
        for e in reversed(manifest["models"])
        if e["rows"] and e["label"] == "production.qualitycheck"
    )
    with zipfile.ZipFile(path) as archive:
        lines = archive.read(entry["file"]).decode().splitlines()
    row = json.loads(lines[0])
    row["batch_id"] = 999_999_999
    data = "\n".join([json.dumps(row), *lines[1:]]).encode() + b"\n"
    entry["sha256"] = hashlib.sha256(data).hexdigest()
    return {entry["file"]: data, MANIFEST: json.dumps(manifest).encode()}


def _flipped_byte(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        data = bytearray(archive.read("catalog.product.jsonl"))
    data[5] ^= 0x01
    return {"catalog.product.jsonl": bytes(data)}


def _future_version(path: Path) -> dict[str, bytes]:
    manifest = _manifest(path) | {"format_version": 99}
    return {MANIFEST: json.dumps(manifest).encode()}


def _newer_schema(path: Path) -> dict[str, bytes]:
    manifest = _manifest(path)
    manifest["migrations"]["orders"].append("9999_from_the_future")
    return {MANIFEST: json.dumps(manifest).encode()}


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("truncated", "corrupt"),
        ("not_a_zip", "corrupt"),
        (_flipped_byte, "checksum"),
        (_future_version, "version 99 is not supported"),
        (_newer_schema, "newer database schema"),
        (_bad_fk, "is not in the archive"),
    ],
)
def test_a_damaged_archive_is_refused_and_changes_nothing(tenant, tmp_path, damage, message):
    every_model_in(tenant)
    good = tenant_export(tenant=tenant, path=tmp_path / "acme.zip").path
    delete_tenant(tenant)
    bad = tmp_path / "bad.zip"
    if damage == "truncated":
        bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif damage == "not_a_zip":
        bad.write_text("hello")
    else:
        _rewrite(good, bad, damage(good))
    before = _counts()

    with pytest.raises(ArchiveError, match=message):
        tenant_import(path=bad)

    assert _counts() == before
    assert not Tenant.objects.filter(slug="acme").exists()
    tenant_import(path=good)  # the undamaged archive still restores


def test_commands_print_a_summary(tenant, tmp_path, capsys):
    every_model_in(tenant)
    path = tmp_path / "out" / "acme.zip"

    call_command("export_tenant", "acme", "--output", str(path))
    delete_tenant(tenant)
    call_command("import_tenant", str(path))

    out = capsys.readouterr().out
    assert f"Exported tenant acme to {path}: " in out
    assert "Imported tenant acme: " in out
    assert "tenancy.tenant 1" in out
    assert re.search(r"Imported tenant acme: \d+ rows \(.*catalog\.product \d+", out)
    assert Tenant.objects.filter(slug="acme").exists()


def test_export_of_an_unknown_tenant_is_an_error(db, tmp_path):
    with pytest.raises(CommandError, match="No tenant with the slug 'nobody'"):
        call_command("export_tenant", "nobody", "--output", str(tmp_path / "x.zip"))


def test_timestamps_survive_the_round_trip(tenant, tmp_path):
    run = ScheduleRunFactory(tenant=tenant)
    past = timezone.now() - timedelta(days=400)
    ScheduleRun.objects.for_tenant(tenant).update(created_at=past, updated_at=past)
    path = tenant_export(tenant=tenant, path=tmp_path / "acme.zip").path
    delete_tenant(tenant)

    restored = tenant_import(path=path)

    copy = ScheduleRun.objects.for_tenant(restored).get()
    assert copy.pk != run.pk or restored.pk != tenant.pk
    assert (copy.created_at, copy.updated_at) == (past, past)

import hashlib
from datetime import timedelta

import pytest
from django.forms.models import model_to_dict
from django.utils import timezone

from mfapp.core.exceptions import ApplicationError, Conflict, PermissionDenied
from mfapp.tenancy.models import ApiKey
from mfapp.tenancy.services import api_key_authenticate, api_key_create, api_key_revoke
from tests.factories import ApiKeyFactory, audit_count, audit_events, member_actor


def test_create_returns_the_secret_once_and_stores_only_its_hash(tenant):
    owner = member_actor(tenant, "owner")

    api_key, raw_key = api_key_create(actor=owner, name="Shopify", read_only=True)

    api_key.refresh_from_db()
    assert raw_key.startswith(f"mfk_{api_key.prefix}_")
    assert len(api_key.prefix) == 8
    assert api_key.hashed_key == hashlib.sha256(raw_key.encode()).hexdigest()
    stored = [str(value) for value in model_to_dict(api_key).values()]
    stored += [str(api_key.prefix), str(api_key.hashed_key)]
    assert [value for value in stored if raw_key in value or raw_key[12:] in value] == []
    assert (api_key.name, api_key.read_only, api_key.created_by) == ("Shopify", True, owner.user)
    assert (api_key.is_active, api_key.last_used_at) == (True, None)
    [event] = audit_events(tenant, verb="api_key.created", target=api_key)
    assert (event.after, event.actor_label) == ({"read_only": True}, owner.label)
    assert raw_key not in str(event.after) + event.message + event.target_repr


def test_read_write_is_the_default(tenant, system):
    api_key, _ = api_key_create(actor=system, name="ERP")

    api_key.refresh_from_db()
    assert api_key.read_only is False


def test_two_keys_get_different_secrets(tenant, system):
    first, first_raw = api_key_create(actor=system, name="One")
    second, second_raw = api_key_create(actor=system, name="Two")

    assert first_raw != second_raw
    assert first.hashed_key != second.hashed_key


def test_duplicate_name_is_refused(tenant, system):
    api_key_create(actor=system, name="Shop")

    with pytest.raises(ApplicationError) as exc_info:
        api_key_create(actor=system, name="Shop")

    assert exc_info.value.extra == {
        "fields": {"name": ["An API key with this name exists already."]}
    }
    assert ApiKey.objects.for_tenant(tenant).count() == 1


@pytest.mark.parametrize("role", ["manager", "operator", "viewer"])
def test_only_owners_manage_api_keys(tenant, role):
    actor = member_actor(tenant, role)
    existing = ApiKeyFactory(tenant=tenant)

    with pytest.raises(PermissionDenied):
        api_key_create(actor=actor, name="Nope")
    with pytest.raises(PermissionDenied):
        api_key_revoke(actor=actor, api_key=existing)

    assert list(ApiKey.objects.for_tenant(tenant)) == [existing]
    existing.refresh_from_db()
    assert existing.revoked_at is None


def test_authenticate_finds_the_key_and_records_its_use(tenant, system):
    api_key, raw_key = api_key_create(actor=system, name="Shop", read_only=True)

    found = api_key_authenticate(raw_key=raw_key)

    assert found == api_key
    assert found.tenant == tenant
    assert found.read_only is True
    api_key.refresh_from_db()
    assert api_key.last_used_at is not None
    assert found.last_used_at == api_key.last_used_at


def test_last_used_at_is_written_at_most_once_a_minute(tenant):
    recently = timezone.now() - timedelta(seconds=10)
    long_ago = timezone.now() - timedelta(minutes=2)
    fresh = ApiKeyFactory(tenant=tenant, last_used_at=recently)
    stale = ApiKeyFactory(tenant=tenant, last_used_at=long_ago)

    api_key_authenticate(raw_key=fresh.raw_key)
    api_key_authenticate(raw_key=stale.raw_key)

    fresh.refresh_from_db()
    stale.refresh_from_db()
    assert fresh.last_used_at == recently
    assert stale.last_used_at > long_ago + timedelta(minutes=1)


def test_authenticate_with_a_factory_key(tenant, other_tenant):
    mine = ApiKeyFactory(tenant=tenant)
    theirs = ApiKeyFactory(tenant=other_tenant)

    assert api_key_authenticate(raw_key=mine.raw_key) == mine
    assert api_key_authenticate(raw_key=theirs.raw_key).tenant == other_tenant


@pytest.mark.parametrize(
    "make_raw",
    [
        lambda key: key.raw_key + "x",
        lambda key: key.raw_key[:-1] + ("A" if key.raw_key[-1] != "A" else "B"),
        lambda key: key.raw_key.removeprefix("mfk_"),
        lambda key: f"mfk_{key.prefix}_",
        lambda key: "mfk_00000000_" + key.raw_key.split("_", 2)[2],
        lambda key: "",
    ],
    ids=["suffix", "one-char", "no-prefix", "no-secret", "other-prefix", "empty"],
)
def test_a_wrong_key_authenticates_nobody(tenant, make_raw):
    api_key = ApiKeyFactory(tenant=tenant)

    assert api_key_authenticate(raw_key=make_raw(api_key)) is None

    api_key.refresh_from_db()
    assert api_key.last_used_at is None


def test_revoke(tenant):
    owner = member_actor(tenant, "owner")
    api_key, raw_key = api_key_create(actor=owner, name="Old shop")

    api_key_revoke(actor=owner, api_key=api_key)

    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    assert api_key.is_active is False
    assert api_key_authenticate(raw_key=raw_key) is None
    [event] = audit_events(tenant, verb="api_key.revoked", target=api_key)
    assert event.actor_label == owner.label


def test_revoke_twice_is_a_conflict(tenant, system):
    api_key = ApiKeyFactory(tenant=tenant)
    api_key_revoke(actor=system, api_key=api_key)
    api_key.refresh_from_db()
    revoked_at = api_key.revoked_at
    events = audit_count(tenant)

    with pytest.raises(Conflict) as exc_info:
        api_key_revoke(actor=system, api_key=api_key)

    assert exc_info.value.message == "This API key is revoked already."
    api_key.refresh_from_db()
    assert api_key.revoked_at == revoked_at
    assert audit_count(tenant) == events


def test_keys_of_an_inactive_tenant_do_not_authenticate(tenant):
    api_key = ApiKeyFactory(tenant=tenant)
    tenant.is_active = False
    tenant.save(update_fields=["is_active"])

    assert api_key_authenticate(raw_key=api_key.raw_key) is None


def test_revoking_through_a_stale_instance_is_a_conflict(tenant, system):
    api_key = ApiKeyFactory(tenant=tenant)
    stale = ApiKey.objects.for_tenant(tenant).get(pk=api_key.pk)
    api_key_revoke(actor=system, api_key=api_key)
    api_key.refresh_from_db()
    events = audit_count(tenant)

    with pytest.raises(Conflict):
        api_key_revoke(actor=system, api_key=stale)

    stale.refresh_from_db()
    assert stale.revoked_at == api_key.revoked_at
    assert audit_count(tenant) == events

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from mfapp.audit.services import audit_record
from mfapp.core.crud import instance_delete, instance_update, reject_unknown_fields
from mfapp.core.exceptions import ApplicationError, Conflict
from mfapp.core.transitions import lock
from mfapp.core.validation import clean_and_save
from mfapp.tenancy.actors import Actor
from mfapp.tenancy.models import ApiKey, Membership, Site, Tenant
from mfapp.tenancy.permissions import require_permission
from mfapp.tenancy.working_hours import default_working_hours

SITE_FIELDS = {"address", "latitude", "longitude", "timezone", "working_hours"}
API_KEY_PREFIX = "mfk_"
LAST_USED_RESOLUTION = timedelta(minutes=1)


@transaction.atomic
def tenant_create(
    *,
    slug: str,
    name: str,
    owner_email: str,
    owner_password: str | None,
    country: str,
    timezone_name: str = "UTC",
    currency: str = "EUR",
    site_name: str | None = None,
) -> Tenant:
    """A new business with its first site and its owner (a new or an existing login)."""
    if Tenant.objects.filter(slug=slug).exists():
        raise ApplicationError(
            f"The slug {slug!r} is taken; choose another.", {"fields": {"slug": ["Taken."]}}
        )
    tenant = clean_and_save(
        Tenant(slug=slug, name=name, country=country, timezone=timezone_name, currency=currency)
    )
    owner = _user_get_or_create(email=owner_email, password=owner_password)
    site = clean_and_save(
        Site(
            tenant=tenant,
            name=site_name or f"{name} workshop",
            country=country,
            timezone=timezone_name,
            working_hours=default_working_hours(),
        )
    )
    membership = clean_and_save(Membership(tenant=tenant, user=owner, role=Membership.Role.OWNER))
    actor = Actor(tenant=tenant, role="system")
    audit_record(actor=actor, verb="tenant.created", target=tenant, after={"slug": slug})
    audit_record(actor=actor, verb="site.created", target=site, after={"name": site.name})
    audit_record(
        actor=actor,
        verb="membership.created",
        target=membership,
        after={"user": owner.get_username(), "role": membership.role},
    )
    return tenant


@transaction.atomic
def site_create(*, actor: Actor, name: str, country: str, **fields: Any) -> Site:
    require_permission(actor, "sites.manage")
    reject_unknown_fields(fields, SITE_FIELDS)
    fields.setdefault("timezone", actor.tenant.timezone)
    site = clean_and_save(Site(tenant=actor.tenant, name=name, country=country, **fields))
    audit_record(actor=actor, verb="site.created", target=site, after={"name": site.name})
    return site


def site_update(*, actor: Actor, site: Site, **fields: Any) -> Site:
    return instance_update(
        actor=actor,
        instance=site,
        fields=fields,
        allowed=SITE_FIELDS | {"name", "country"},
        permission="sites.manage",
    )


def site_delete(*, actor: Actor, site: Site) -> None:
    instance_delete(actor=actor, instance=site, permission="sites.manage")


def _user_get_or_create(*, email: str, password: str | None) -> AbstractBaseUser:
    user_model = get_user_model()
    email = user_model.objects.normalize_email(email).lower()
    existing = user_model.objects.filter(username=email).first()
    if existing is not None:
        return existing
    if not password:
        raise ApplicationError(
            "A new owner needs a password.", {"fields": {"password": ["Required."]}}
        )
    user = user_model(username=email, email=email)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ApplicationError(
            "The password is too weak: " + " ".join(exc.messages),
            {"fields": {"password": exc.messages}},
        ) from None
    user.set_password(password)
    return clean_and_save(user)


def _hash_api_key(raw_key: str) -> str:
    # Keys are 256-bit random secrets, so a fast hash suffices (no dictionary to guess from).
    return hashlib.sha256(raw_key.encode()).hexdigest()


@transaction.atomic
def api_key_create(*, actor: Actor, name: str, read_only: bool = False) -> tuple[ApiKey, str]:
    """Returns the key and its secret; the secret is shown once and never stored."""
    require_permission(actor, "api_keys.manage")
    prefix = secrets.token_hex(4)
    raw_key = f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    api_key = clean_and_save(
        ApiKey(
            tenant=actor.tenant,
            name=name,
            prefix=prefix,
            hashed_key=_hash_api_key(raw_key),
            read_only=read_only,
            created_by=actor.user,
        )
    )
    audit_record(
        actor=actor, verb="api_key.created", target=api_key, after={"read_only": read_only}
    )
    return api_key, raw_key


@transaction.atomic
def api_key_revoke(*, actor: Actor, api_key: ApiKey) -> ApiKey:
    require_permission(actor, "api_keys.manage")
    api_key = lock(actor, api_key)
    if api_key.revoked_at is not None:
        raise Conflict("This API key is revoked already.")
    api_key.revoked_at = timezone.now()
    api_key.save(update_fields=["revoked_at", "updated_at"])
    audit_record(actor=actor, verb="api_key.revoked", target=api_key)
    return api_key


def api_key_authenticate(*, raw_key: str) -> ApiKey | None:
    """The active key matching `raw_key`, or None. Resolving the tenant is this function's job,
    so it is the one reader of API keys across tenants."""
    if not raw_key.startswith(API_KEY_PREFIX):
        return None
    prefix = raw_key[len(API_KEY_PREFIX) :].split("_", 1)[0]
    hashed = _hash_api_key(raw_key)
    candidates = (
        ApiKey.objects.all_tenants()
        .filter(prefix=prefix, revoked_at__isnull=True, tenant__is_active=True)
        .select_related("tenant")
    )
    for api_key in candidates:
        if hmac.compare_digest(api_key.hashed_key, hashed):
            _api_key_touch(api_key)
            return api_key
    return None


def _api_key_touch(api_key: ApiKey) -> None:
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_RESOLUTION:
        # A plain UPDATE: concurrent requests may both write; the latest time wins, harmlessly.
        ApiKey.objects.for_tenant(api_key.tenant_id).filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now

"""Tenancy writes: tenants and sign-up, sites, members and invitations, API keys."""

import hashlib
import hmac
import logging
import secrets
from collections.abc import Hashable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from mfapp.audit.services import audit_record
from mfapp.core import rls, tenant_cache
from mfapp.core.crud import instance_delete, instance_update, reject_unknown_fields
from mfapp.core.exceptions import ApplicationError, Conflict, NotFound
from mfapp.core.transitions import lock
from mfapp.core.validation import clean_and_save
from mfapp.tenancy.actors import Actor
from mfapp.tenancy.models import ApiKey, Invitation, Membership, Site, Tenant
from mfapp.tenancy.permissions import require_permission
from mfapp.tenancy.selectors import user_get_by_email
from mfapp.tenancy.sessions import user_sessions_end
from mfapp.tenancy.working_hours import default_working_hours

logger = logging.getLogger(__name__)

SITE_FIELDS = {"address", "latitude", "longitude", "timezone", "working_hours"}
API_KEY_PREFIX = "mfk_"
LAST_USED_RESOLUTION = timedelta(minutes=1)
API_KEY_REMEMBERED_SECONDS = 60
INVITATION_LIFETIME = timedelta(days=7)
SLUG_MAX_LENGTH = 40


@transaction.atomic
def tenant_create(
    *,
    name: str,
    country: str,
    slug: str | None = None,
    owner_email: str = "",
    owner_password: str | None = None,
    owner: AbstractBaseUser | None = None,
    timezone_name: str = "UTC",
    currency: str = "EUR",
    site_name: str | None = None,
) -> Tenant:
    """A new business with its first site and its owner: `owner` (a logged-in person), or the
    login of `owner_email` (made with `owner_password` when there is none yet). Without a
    `slug` one is made from the name."""
    if slug is None:
        slug = _tenant_slug_for(name)
    if Tenant.objects.filter(slug=slug).exists():
        raise ApplicationError(
            f"The slug {slug!r} is taken; choose another.", {"fields": {"slug": ["Taken."]}}
        )
    tenant = clean_and_save(
        Tenant(slug=slug, name=name, country=country, timezone=timezone_name, currency=currency)
    )
    # The new tenant's rows are written as that tenant (row-level security).
    with rls.tenant_context(tenant.pk):
        if owner is None:
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
        membership = clean_and_save(
            Membership(tenant=tenant, user=owner, role=Membership.Role.OWNER)
        )
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
def tenant_signup(
    *,
    business_name: str,
    country: str,
    timezone_name: str,
    email: str,
    password: str,
    site_name: str | None = None,
    currency: str = "EUR",
) -> tuple[Tenant, AbstractBaseUser]:
    """Self-service sign-up: a new login that owns a new business with its first site.

    An e-mail that already has a login is refused: signing up must never hand a business (or
    a session) to an existing account without its password. That person logs in and adds the
    business from there, or asks the business's owner for an invitation."""
    email = _normalize_email(email)
    if user_get_by_email(email=email) is not None:
        raise ApplicationError(
            "An account with this e-mail exists already. Log in to add a new business to it, "
            "or ask the owner of an existing business to invite you.",
            {"fields": {"email": ["An account with this e-mail exists already."]}},
        )
    owner = _user_create(email=email, password=password)
    tenant = tenant_create(
        name=business_name,
        country=country,
        timezone_name=timezone_name,
        currency=currency,
        site_name=site_name,
        owner=owner,
    )
    return tenant, owner


def _tenant_slug_for(name: str) -> str:
    """A free slug made from the business name: "acme", else "acme-2", "acme-3" ..."""
    base = slugify(name)[:SLUG_MAX_LENGTH].strip("-") or "business"
    taken = set(Tenant.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


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


def _normalize_email(email: str) -> str:
    return get_user_model().objects.normalize_email(email.strip()).lower()


def _user_get_or_create(*, email: str, password: str | None) -> AbstractBaseUser:
    user_model = get_user_model()
    email = _normalize_email(email)
    existing = user_model.objects.filter(username=email).first()
    if existing is not None:
        return existing
    return _user_create(email=email, password=password)


def _user_create(*, email: str, password: str | None) -> AbstractBaseUser:
    """A new login named by its e-mail, its password checked by Django's validators."""
    if not password:
        raise ApplicationError(
            "A new owner needs a password.", {"fields": {"password": ["Required."]}}
        )
    user_model = get_user_model()
    user = user_model(username=email, email=email)
    try:
        # Checked against the address alone: the username is the same text, and a person
        # knows it as their e-mail ("too similar to the email address").
        validate_password(password, user_model(email=email))
    except ValidationError as exc:
        raise ApplicationError(
            "The password is too weak: " + " ".join(exc.messages),
            {"fields": {"password": exc.messages}},
        ) from None
    user.set_password(password)
    return clean_and_save(user)


def _hash_secret(raw: str) -> str:
    # API keys and invitation tokens are 256-bit random secrets, so a fast hash suffices (no
    # dictionary to guess from).
    return hashlib.sha256(raw.encode()).hexdigest()


_hash_api_key = _hash_secret


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
    audit_record(
        actor=actor,
        verb="api_key.revoked",
        target=api_key,
        before={"revoked_at": None},
        after={"revoked_at": api_key.revoked_at.isoformat()},
    )
    return api_key


def api_key_authenticate(*, raw_key: str) -> ApiKey | None:
    """The active key matching `raw_key`, or None. Resolving the tenant is this function's job,
    so it is the one reader of API keys across tenants.

    A key found is remembered in the tenant cache for a minute, until its tenant's data changes
    (a revocation, the key's last-use time, a tenant switched off by staff): integrations call
    many times a minute, and this lookup was half the cost of a cached read."""
    if not raw_key.startswith(API_KEY_PREFIX):
        return None
    prefix = raw_key[len(API_KEY_PREFIX) :].split("_", 1)[0]
    hashed = _hash_api_key(raw_key)
    remembered = _remembered_as(hashed)
    api_key = tenant_cache.recall(remembered)
    if api_key is None:
        api_key = _api_key_find(prefix, hashed)
        if api_key is None:
            return None
        versions = tenant_cache.current_versions(api_key.tenant_id)
        # Found again after the versions were read: a revocation that committed in between is
        # seen here, and one that commits later moves the versions on past these.
        if versions is not None and _api_key_find(prefix, hashed) is not None:
            tenant_cache.remember(
                remembered,
                tenant_id=api_key.tenant_id,
                versions=versions,
                value=api_key,
                seconds=API_KEY_REMEMBERED_SECONDS,
            )
    with rls.tenant_context(api_key.tenant_id):
        _api_key_touch(api_key)
    return api_key


def api_key_cached_read(*, raw_key: str, name: str, parts: Hashable) -> bytes | None:
    """What `tenant_cache.cached()` holds under `name` and `parts` for the tenant of `raw_key`,
    when that key is remembered, still current (neither it nor anything else of its tenant
    changed) and its last use needs no writing; else None, and the call goes the full way
    (`api_key_authenticate`, permissions, `cached()`). Both checks cost one cache round trip.

    Only for reads any key of the tenant may make: the entry was computed for another request
    of the same tenant that passed the full checks."""
    if not raw_key.startswith(API_KEY_PREFIX):
        return None
    hit = tenant_cache.cached_for_remembered(
        _remembered_as(_hash_api_key(raw_key)), name=name, parts=parts
    )
    if hit is None:
        return None
    api_key, body = hit
    if _api_key_touch_due(api_key, timezone.now()):
        return None
    return body


def _remembered_as(hashed: str) -> str:
    return f"api-key:{hashed}"


def _api_key_find(prefix: str, hashed: str) -> ApiKey | None:
    with rls.api_key_lookup(prefix):
        candidates = list(
            ApiKey.objects.all_tenants()
            .filter(prefix=prefix, revoked_at__isnull=True, tenant__is_active=True)
            .select_related("tenant")
        )
    for api_key in candidates:
        if hmac.compare_digest(api_key.hashed_key, hashed):
            return api_key
    return None


def _api_key_touch(api_key: ApiKey) -> None:
    now = timezone.now()
    if _api_key_touch_due(api_key, now):
        # A plain UPDATE: concurrent requests may both write; the latest time wins, harmlessly.
        ApiKey.objects.for_tenant(api_key.tenant_id).filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now


def _api_key_touch_due(api_key: ApiKey, now: datetime) -> bool:
    return api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_RESOLUTION


# --- members ---------------------------------------------------------------------------------
def _role_checked(role: str) -> str:
    if role not in Membership.Role.values:
        raise ApplicationError(
            f"Unknown role {role!r}.",
            {"fields": {"role": [f"Choose one of: {', '.join(Membership.Role.values)}."]}},
        )
    return role


def _ensure_another_owner(*, tenant: Tenant, membership: Membership) -> None:
    """Refuse to leave a business without an owner. The owners' rows are locked so two owners
    cannot demote each other at the same moment."""
    owners = list(
        Membership.objects.for_tenant(tenant)
        .filter(role=Membership.Role.OWNER)
        .select_for_update(of=("self",))
        .values_list("pk", flat=True)
    )
    if [pk for pk in owners if pk != membership.pk] == []:
        raise Conflict(
            f"{membership.user.get_username()} is the only owner. Make another member owner "
            "first: every business needs one."
        )


@transaction.atomic
def membership_update_role(*, actor: Actor, membership: Membership, role: str) -> Membership:
    require_permission(actor, "members.manage")
    _role_checked(role)
    membership = lock(actor, membership)
    if membership.role == role:
        return membership
    if membership.role == Membership.Role.OWNER:
        _ensure_another_owner(tenant=actor.tenant, membership=membership)
    before = membership.role
    membership.role = role
    membership.save(update_fields=["role", "updated_at"])
    audit_record(
        actor=actor,
        verb="membership.updated",
        target=membership,
        before={"role": before},
        after={"role": role},
    )
    _sessions_end_unless_own(actor=actor, membership=membership)
    return membership


@transaction.atomic
def membership_remove(*, actor: Actor, membership: Membership) -> None:
    require_permission(actor, "members.manage")
    membership = lock(actor, membership)
    if membership.role == Membership.Role.OWNER:
        _ensure_another_owner(tenant=actor.tenant, membership=membership)
    audit_record(
        actor=actor,
        verb="membership.deleted",
        target=membership,
        before={"user": membership.user.get_username(), "role": membership.role},
    )
    membership.delete()
    _sessions_end_unless_own(actor=actor, membership=membership)


def _sessions_end_unless_own(*, actor: Actor, membership: Membership) -> None:
    """Log the member out everywhere when someone else changed their rights; a person changing
    their own role or leaving keeps the session they are acting from."""
    if actor.user is None or actor.user.pk != membership.user_id:
        user_sessions_end(user=membership.user)


# --- invitations -----------------------------------------------------------------------------
@transaction.atomic
def invitation_create(
    *, actor: Actor, email: str, role: str, base_url: str
) -> tuple[Invitation, str]:
    """Invite `email` to join with `role`: e-mails a link (built on `base_url`, e.g.
    "https://mfapp.example") after commit. Returns the invitation and the link's token, which
    is never stored. A pending invitation to the same address is replaced by the new one."""
    require_permission(actor, "members.manage")
    _role_checked(role)
    email = _normalize_email(email)
    tenant = actor.tenant
    already = (
        Membership.objects.for_tenant(tenant)
        .filter(Q(user__username__iexact=email) | Q(user__email__iexact=email))
        .exists()
    )
    if already:
        raise ApplicationError(
            f"{email} is a member already; change their role in the list instead.",
            {"fields": {"email": ["This person is a member already."]}},
        )
    now = timezone.now()
    replaced = (
        Invitation.objects.for_tenant(tenant)
        .filter(email=email, accepted_at__isnull=True, revoked_at__isnull=True)
        .select_for_update(of=("self",))
    )
    for old in replaced:
        old.revoked_at = now
        old.save(update_fields=["revoked_at", "updated_at"])
        audit_record(
            actor=actor, verb="invitation.revoked", target=old, message="Replaced by a new one."
        )
    token = secrets.token_urlsafe(32)
    invitation = clean_and_save(
        Invitation(
            tenant=tenant,
            email=email,
            role=role,
            token_hash=_hash_secret(token),
            invited_by=actor.user,
            expires_at=now + INVITATION_LIFETIME,
        )
    )
    audit_record(
        actor=actor,
        verb="invitation.created",
        target=invitation,
        after={"email": email, "role": role},
    )
    link = base_url.rstrip("/") + reverse("invitation-accept", args=[token])
    transaction.on_commit(
        partial(_invitation_send, invitation=invitation, inviter=actor.label, link=link),
        robust=True,  # a mail server that is down is logged; the invitation stays valid
    )
    return invitation, token


def _invitation_send(*, invitation: Invitation, inviter: str, link: str) -> None:
    context = {
        "invitation": invitation,
        "tenant": invitation.tenant,
        "inviter": inviter,
        "link": link,
        "role": invitation.get_role_display(),
    }
    subject = render_to_string("tenancy/email/invitation_subject.txt", context).strip()
    body = render_to_string("tenancy/email/invitation_body.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [invitation.email])
    logger.info("invitation %s sent for tenant %s", invitation.pk, invitation.tenant_id)


@transaction.atomic
def invitation_revoke(*, actor: Actor, invitation: Invitation) -> Invitation:
    require_permission(actor, "members.manage")
    invitation = lock(actor, invitation)
    if invitation.accepted_at is not None:
        raise Conflict(
            "This invitation was accepted already; remove the member from the list instead."
        )
    if invitation.revoked_at is not None:
        raise Conflict("This invitation is revoked already.")
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at", "updated_at"])
    audit_record(actor=actor, verb="invitation.revoked", target=invitation)
    return invitation


def invitation_get_by_token(*, token: str) -> Invitation:
    """The invitation of a link, whatever its state. The token alone names the tenant, so this
    is the one reader of invitations across tenants (as `api_key_authenticate` is for keys)."""
    token_hash = _hash_secret(token)
    with rls.invitation_lookup(token_hash):
        invitation = (
            Invitation.objects.all_tenants()
            .filter(token_hash=token_hash, tenant__is_active=True)
            .select_related("tenant", "invited_by")
            .first()
        )
    if invitation is None:
        raise NotFound(
            "This invitation link is not valid. Check that you copied the whole link from the "
            "e-mail, or ask for a new invitation."
        )
    return invitation


def invitation_problem(invitation: Invitation) -> str | None:
    """Why the invitation can no longer be accepted, in words for the invitee; None if it can."""
    name = invitation.tenant.name
    if invitation.accepted_at is not None:
        return f"This invitation has been used already. Log in to reach {name}."
    if invitation.revoked_at is not None:
        return f"This invitation was withdrawn. Ask an owner of {name} to invite you again."
    if invitation.is_expired():
        return f"This invitation has expired. Ask an owner of {name} to invite you again."
    return None


@transaction.atomic
def invitation_accept(
    *,
    token: str,
    user: AbstractBaseUser | None = None,
    password: str | None = None,
) -> Membership:
    """Join the invitation's tenant with its role: as `user` (a logged-in person, whatever
    their e-mail: the link is the proof), or as a new login named by the invited address with
    `password`. The link works once."""
    found = invitation_get_by_token(token=token)
    with rls.tenant_context(found.tenant_id):
        return _invitation_accept(found=found, user=user, password=password)


def _invitation_accept(
    *, found: Invitation, user: AbstractBaseUser | None, password: str | None
) -> Membership:
    invitation = (
        Invitation.objects.for_tenant(found.tenant)
        .select_for_update(of=("self",))
        .select_related("tenant")
        .get(pk=found.pk)
    )
    tenant = invitation.tenant
    problem = invitation_problem(invitation)
    if problem is not None:
        raise Conflict(problem)
    if user is None:
        if user_get_by_email(email=invitation.email) is not None:
            raise ApplicationError(
                f"An account with {invitation.email} exists already: log in to accept the "
                "invitation.",
                {"code": "log-in"},
            )
        user = _user_create(email=invitation.email, password=password)
    elif Membership.objects.for_tenant(tenant).filter(user=user).exists():
        raise Conflict(f"You are a member of {tenant.name} already.")
    membership = clean_and_save(Membership(tenant=tenant, user=user, role=invitation.role))
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by", "updated_at"])
    actor = Actor(tenant=tenant, role=membership.role, user=user)
    audit_record(actor=actor, verb="invitation.accepted", target=invitation)
    audit_record(
        actor=actor,
        verb="membership.created",
        target=membership,
        after={"user": user.get_username(), "role": membership.role},
    )
    return membership

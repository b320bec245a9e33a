from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from mfapp.core.exceptions import NotFound
from mfapp.tenancy.actors import Actor
from mfapp.tenancy.models import Membership, Site, Tenant


def tenant_get(*, tenant_id: int) -> Tenant:
    try:
        return Tenant.objects.get(pk=tenant_id, is_active=True)
    except Tenant.DoesNotExist:
        raise NotFound("Tenant not found.") from None


def tenant_get_by_slug(*, slug: str) -> Tenant:
    try:
        return Tenant.objects.get(slug=slug)
    except Tenant.DoesNotExist:
        raise NotFound(f"No tenant with the slug {slug!r}.") from None


def site_get(*, tenant: Tenant, site_id: int) -> Site:
    try:
        return Site.objects.for_tenant(tenant).get(pk=site_id)
    except (Site.DoesNotExist, ValueError, TypeError):
        raise NotFound("Site not found.") from None


def site_list(*, tenant: Tenant) -> QuerySet[Site]:
    return Site.objects.for_tenant(tenant).order_by("name")


def membership_list_for_user(*, user: AbstractBaseUser) -> QuerySet[Membership]:
    return (
        Membership.objects.for_user(user)
        .filter(tenant__is_active=True)
        .select_related("tenant")
        .order_by("tenant__name")
    )


def membership_get(*, tenant: Tenant, user: AbstractBaseUser) -> Membership:
    try:
        return Membership.objects.for_tenant(tenant).select_related("tenant").get(user=user)
    except Membership.DoesNotExist:
        raise NotFound("Tenant not found.") from None


def actor_for_member(*, tenant: Tenant, user: AbstractBaseUser) -> Actor:
    """The acting member with their role; a non-member gets the same error as a missing tenant."""
    membership = membership_get(tenant=tenant, user=user)
    return Actor(tenant=tenant, role=membership.role, user=user)


def system_actor(*, tenant: Tenant) -> Actor:
    """Actions taken by the platform itself (tasks, commands) on behalf of a tenant."""
    return Actor(tenant=tenant, role="system")

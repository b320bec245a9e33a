from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Case, IntegerField, Q, QuerySet, When

from mfapp.core.exceptions import NotFound
from mfapp.tenancy.actors import Actor
from mfapp.tenancy.models import Invitation, Membership, Site, Tenant


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


def membership_list(*, tenant: Tenant) -> QuerySet[Membership]:
    """The tenant's members with their logins, owners first."""
    role_order = Case(
        *(When(role=role, then=index) for index, role in enumerate(Membership.Role.values)),
        output_field=IntegerField(),
    )
    return (
        Membership.objects.for_tenant(tenant)
        .select_related("user")
        .annotate(role_order=role_order)
        .order_by("role_order", "user__username")
    )


def membership_get_by_id(*, tenant: Tenant, membership_id: int) -> Membership:
    try:
        return Membership.objects.for_tenant(tenant).select_related("user").get(pk=membership_id)
    except (Membership.DoesNotExist, ValueError, TypeError):
        raise NotFound("Membership not found.") from None


def invitation_list(*, tenant: Tenant, pending: bool = True) -> QuerySet[Invitation]:
    """The tenant's invitations, newest first; `pending` leaves out accepted and revoked ones
    (expired ones stay, so an owner sees who never answered and can invite them again)."""
    qs = Invitation.objects.for_tenant(tenant).select_related("invited_by").order_by("-created_at")
    if pending:
        qs = qs.filter(accepted_at__isnull=True, revoked_at__isnull=True)
    return qs


def invitation_get(*, tenant: Tenant, invitation_id: int) -> Invitation:
    try:
        return Invitation.objects.for_tenant(tenant).get(pk=invitation_id)
    except (Invitation.DoesNotExist, ValueError, TypeError):
        raise NotFound("Invitation not found.") from None


def user_get_by_email(*, email: str) -> AbstractBaseUser | None:
    """The login named by (or, for older logins, carrying) this e-mail address, if any."""
    return (
        get_user_model()
        .objects.filter(Q(username__iexact=email) | Q(email__iexact=email))
        .order_by("pk")
        .first()
    )

"""Owners change members' roles and remove members; a business never loses its last owner."""

import pytest

from mfapp.core.exceptions import ApplicationError, Conflict, PermissionDenied
from mfapp.tenancy.models import Membership
from mfapp.tenancy.selectors import actor_for_member
from mfapp.tenancy.services import membership_remove, membership_update_role
from tests.factories import MembershipFactory, audit_events, member_actor

pytestmark = pytest.mark.django_db


def _roles(tenant):
    return sorted(
        Membership.objects.for_tenant(tenant).values_list("user__username", "role"),
    )


def test_an_owner_changes_a_role(tenant):
    owner = member_actor(tenant, "owner")
    member = MembershipFactory(tenant=tenant, role="operator")

    updated = membership_update_role(actor=owner, membership=member, role="manager")

    assert updated.role == "manager"
    member.refresh_from_db()
    assert member.role == "manager"
    [event] = audit_events(tenant, target=member)
    assert (event.verb, event.before, event.after) == (
        "membership.updated",
        {"role": "operator"},
        {"role": "manager"},
    )


def test_the_same_role_changes_nothing(tenant):
    owner = member_actor(tenant, "owner")
    member = MembershipFactory(tenant=tenant, role="viewer")

    membership_update_role(actor=owner, membership=member, role="viewer")

    assert audit_events(tenant, target=member) == []


def test_the_last_owner_cannot_be_demoted(tenant):
    owner = member_actor(tenant, "owner")
    own = Membership.objects.for_tenant(tenant).get(user=owner.user)
    before = _roles(tenant)

    with pytest.raises(Conflict) as exc_info:
        membership_update_role(actor=owner, membership=own, role="manager")

    assert exc_info.value.message == (
        f"{owner.user.username} is the only owner. Make another member owner first: every "
        "business needs one."
    )
    assert _roles(tenant) == before


def test_an_owner_steps_down_when_there_is_another(tenant):
    owner = member_actor(tenant, "owner")
    MembershipFactory(tenant=tenant, role="owner")
    own = Membership.objects.for_tenant(tenant).get(user=owner.user)

    membership_update_role(actor=owner, membership=own, role="viewer")

    own.refresh_from_db()
    assert own.role == "viewer"


def test_an_unknown_role_is_refused(tenant):
    owner = member_actor(tenant, "owner")
    member = MembershipFactory(tenant=tenant, role="viewer")

    with pytest.raises(ApplicationError) as exc_info:
        membership_update_role(actor=owner, membership=member, role="god")

    assert exc_info.value.extra == {
        "fields": {"role": ["Choose one of: owner, manager, operator, viewer."]}
    }
    member.refresh_from_db()
    assert member.role == "viewer"


def test_an_owner_removes_a_member(tenant):
    owner = member_actor(tenant, "owner")
    member = MembershipFactory(tenant=tenant, role="operator")

    membership_remove(actor=owner, membership=member)

    assert _roles(tenant) == [(owner.user.username, "owner")]
    [event] = audit_events(tenant, target=member)
    assert (event.verb, event.before) == (
        "membership.deleted",
        {"user": member.user.username, "role": "operator"},
    )


def test_the_last_owner_cannot_be_removed(tenant):
    owner = member_actor(tenant, "owner")
    MembershipFactory(tenant=tenant, role="manager")
    own = Membership.objects.for_tenant(tenant).get(user=owner.user)
    before = _roles(tenant)

    with pytest.raises(Conflict, match="is the only owner"):
        membership_remove(actor=owner, membership=own)

    assert _roles(tenant) == before


def test_an_owner_may_leave_when_another_owner_stays(tenant):
    owner = member_actor(tenant, "owner")
    other = MembershipFactory(tenant=tenant, role="owner")

    membership_remove(
        actor=owner, membership=Membership.objects.for_tenant(tenant).get(user=owner.user)
    )

    assert _roles(tenant) == [(other.user.username, "owner")]


@pytest.mark.parametrize("role", ["manager", "operator", "viewer"])
def test_only_owners_manage_members(tenant, role):
    actor = member_actor(tenant, role)
    member = MembershipFactory(tenant=tenant, role="viewer")
    before = _roles(tenant)

    with pytest.raises(PermissionDenied):
        membership_update_role(actor=actor, membership=member, role="owner")
    with pytest.raises(PermissionDenied):
        membership_remove(actor=actor, membership=member)

    assert _roles(tenant) == before


def test_the_system_may_manage_members(tenant, system):
    member = MembershipFactory(tenant=tenant, role="viewer")

    membership_update_role(actor=system, membership=member, role="owner")

    assert actor_for_member(tenant=tenant, user=member.user).role == "owner"

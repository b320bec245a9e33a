"""Invitations: an owner invites an address with a role; the e-mailed link works once, for
seven days, unless revoked; accepting creates the membership."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone

from mfapp.core.exceptions import ApplicationError, Conflict, NotFound, PermissionDenied
from mfapp.tenancy.models import Invitation, Membership
from mfapp.tenancy.services import (
    invitation_accept,
    invitation_create,
    invitation_revoke,
)
from tests.factories import (
    DEFAULT_PASSWORD,
    InvitationFactory,
    MembershipFactory,
    UserFactory,
    audit_events,
    hash_api_key,
    member_actor,
)

pytestmark = pytest.mark.django_db
User = get_user_model()
STRONG = "fr3sh-Filament-spool"
BASE = "https://mfapp.example/"


def _invitations(tenant):
    return list(Invitation.objects.for_tenant(tenant).order_by("pk"))


def _members(tenant):
    return sorted(
        Membership.objects.for_tenant(tenant)
        .select_related("user")
        .values_list("user__username", "role")
    )


# --- create ------------------------------------------------------------------------------------
def test_create_stores_only_a_hash_and_mails_the_link_after_commit(
    tenant, django_capture_on_commit_callbacks
):
    # given
    owner = member_actor(tenant, "owner")
    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        invitation, token = invitation_create(
            actor=owner, email=" Ada@Example.com ", role="manager", base_url=BASE
        )
        assert mail.outbox == []  # nothing is sent before the transaction commits
    # then
    assert len(callbacks) == 1
    invitation.refresh_from_db()
    assert (invitation.email, invitation.role, invitation.invited_by) == (
        "ada@example.com",
        "manager",
        owner.user,
    )
    assert invitation.token_hash == hash_api_key(token)
    assert token not in invitation.token_hash
    assert invitation.expires_at - invitation.created_at == pytest.approx(
        timedelta(days=7), abs=timedelta(seconds=5)
    )
    assert (invitation.accepted_at, invitation.revoked_at) == (None, None)
    [message] = mail.outbox
    assert message.to == ["ada@example.com"]
    assert message.subject == "You are invited to join Acme Microfactory on mfapp"
    assert f"https://mfapp.example/accounts/invitations/{token}/" in message.body
    assert f"{owner.user.username} invites you to join Acme Microfactory on mfapp as manager" in (
        message.body
    )
    assert [(e.verb, e.after) for e in audit_events(tenant, target=invitation)] == [
        ("invitation.created", {"email": "ada@example.com", "role": "manager"})
    ]


def test_inviting_the_same_address_again_replaces_the_pending_invitation(tenant):
    owner = member_actor(tenant, "owner")
    first, _ = invitation_create(actor=owner, email="ada@example.com", role="viewer", base_url=BASE)

    second, _ = invitation_create(
        actor=owner, email="ADA@example.com", role="operator", base_url=BASE
    )

    first.refresh_from_db()
    assert first.revoked_at is not None
    assert [(i.pk, i.role, i.revoked_at is None) for i in _invitations(tenant)] == [
        (first.pk, "viewer", False),
        (second.pk, "operator", True),
    ]


def test_a_member_is_not_invited_again(tenant):
    owner = member_actor(tenant, "owner")
    MembershipFactory(tenant=tenant, user=UserFactory(email="ada@example.com"))

    with pytest.raises(ApplicationError) as exc_info:
        invitation_create(actor=owner, email="Ada@example.com", role="viewer", base_url=BASE)

    assert exc_info.value.message == (
        "ada@example.com is a member already; change their role in the list instead."
    )
    assert exc_info.value.extra == {"fields": {"email": ["This person is a member already."]}}
    assert _invitations(tenant) == []


@pytest.mark.parametrize(
    ("email", "role", "fields"),
    [
        ("not-an-address", "viewer", {"email": ["Enter a valid email address."]}),
        (
            "ada@example.com",
            "admin",
            {"role": ["Choose one of: owner, manager, operator, viewer."]},
        ),
    ],
    ids=["email", "role"],
)
def test_invalid_input_is_refused_and_nothing_saved(tenant, email, role, fields):
    owner = member_actor(tenant, "owner")

    with pytest.raises(ApplicationError) as exc_info:
        invitation_create(actor=owner, email=email, role=role, base_url=BASE)

    assert exc_info.value.extra == {"fields": fields}
    assert _invitations(tenant) == []
    assert mail.outbox == []


@pytest.mark.parametrize("role", ["manager", "operator", "viewer"])
def test_only_owners_invite(tenant, role, django_capture_on_commit_callbacks):
    actor = member_actor(tenant, role)

    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(PermissionDenied, match=r"members\.manage"),
    ):
        invitation_create(actor=actor, email="ada@example.com", role="viewer", base_url=BASE)

    assert _invitations(tenant) == []
    assert mail.outbox == []


# --- revoke ------------------------------------------------------------------------------------
def test_revoke_marks_the_invitation_and_audits(tenant):
    owner = member_actor(tenant, "owner")
    invitation = InvitationFactory(tenant=tenant)

    revoked = invitation_revoke(actor=owner, invitation=invitation)

    assert revoked.revoked_at is not None
    invitation.refresh_from_db()
    assert invitation.revoked_at == revoked.revoked_at
    assert [e.verb for e in audit_events(tenant, target=invitation)] == ["invitation.revoked"]


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ({"revoked_at": timezone.now()}, "This invitation is revoked already."),
        (
            {"accepted_at": timezone.now()},
            "This invitation was accepted already; remove the member from the list instead.",
        ),
    ],
    ids=["revoked", "accepted"],
)
def test_revoke_refuses_a_finished_invitation(tenant, state, message):
    owner = member_actor(tenant, "owner")
    invitation = InvitationFactory(tenant=tenant, **state)

    with pytest.raises(Conflict) as exc_info:
        invitation_revoke(actor=owner, invitation=invitation)

    assert exc_info.value.message == message


def test_a_manager_cannot_revoke(tenant):
    invitation = InvitationFactory(tenant=tenant)

    with pytest.raises(PermissionDenied):
        invitation_revoke(actor=member_actor(tenant, "manager"), invitation=invitation)

    invitation.refresh_from_db()
    assert invitation.revoked_at is None


# --- accept ------------------------------------------------------------------------------------
def test_accepting_with_an_existing_login_attaches_the_membership(tenant):
    person = UserFactory(email="someone.else@example.com")
    invitation = InvitationFactory(tenant=tenant, email="ada@example.com", role="manager")

    membership = invitation_accept(token=invitation.raw_token, user=person)

    assert (membership.tenant_id, membership.user, membership.role) == (
        tenant.pk,
        person,
        "manager",
    )
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None
    assert invitation.accepted_by == person
    assert [(e.verb, e.actor_label) for e in audit_events(tenant)] == [
        ("invitation.accepted", person.username),
        ("membership.created", person.username),
    ]


def test_accepting_without_a_login_creates_one_for_the_invited_address(tenant):
    invitation = InvitationFactory(tenant=tenant, email="ada@example.com", role="viewer")

    membership = invitation_accept(token=invitation.raw_token, password=STRONG)

    user = User.objects.get(username="ada@example.com")
    assert (user.email, user.check_password(STRONG)) == ("ada@example.com", True)
    assert membership.user == user
    assert _members(tenant) == [("ada@example.com", "viewer")]


def test_a_weak_password_creates_nothing(tenant):
    invitation = InvitationFactory(tenant=tenant, email="ada@example.com")
    users = User.objects.count()

    with pytest.raises(ApplicationError) as exc_info:
        invitation_accept(token=invitation.raw_token, password="12345678")

    assert exc_info.value.extra == {
        "fields": {
            "password": [
                "This password is too short. It must contain at least 12 characters.",
                "This password is too common.",
                "This password is entirely numeric.",
            ]
        }
    }
    assert User.objects.count() == users
    assert _members(tenant) == []
    invitation.refresh_from_db()
    assert invitation.accepted_at is None


def test_an_address_with_a_login_must_log_in(tenant):
    UserFactory(email="ada@example.com")
    invitation = InvitationFactory(tenant=tenant, email="ada@example.com")

    with pytest.raises(ApplicationError) as exc_info:
        invitation_accept(token=invitation.raw_token, password=STRONG)

    assert exc_info.value.message == (
        "An account with ada@example.com exists already: log in to accept the invitation."
    )
    assert _members(tenant) == []


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (
            {"expires_at": timezone.now() - timedelta(minutes=1)},
            "This invitation has expired. Ask an owner of Acme Microfactory to invite you again.",
        ),
        (
            {"revoked_at": timezone.now()},
            "This invitation was withdrawn. Ask an owner of Acme Microfactory to invite you again.",
        ),
        (
            {"accepted_at": timezone.now()},
            "This invitation has been used already. Log in to reach Acme Microfactory.",
        ),
    ],
    ids=["expired", "revoked", "used"],
)
def test_a_finished_invitation_cannot_be_accepted(tenant, state, message):
    invitation = InvitationFactory(tenant=tenant, **state)
    person = UserFactory()

    with pytest.raises(Conflict) as exc_info:
        invitation_accept(token=invitation.raw_token, user=person)

    assert exc_info.value.message == message
    assert _members(tenant) == []


def test_the_link_works_once(tenant):
    invitation = InvitationFactory(tenant=tenant)
    invitation_accept(token=invitation.raw_token, user=UserFactory())

    with pytest.raises(Conflict, match="has been used already"):
        invitation_accept(token=invitation.raw_token, user=UserFactory())

    assert Membership.objects.for_tenant(tenant).count() == 1


@pytest.mark.parametrize("token", ["", "nonsense", "x" * 43])
def test_an_unknown_token_is_not_found(tenant, token):
    InvitationFactory(tenant=tenant)

    with pytest.raises(NotFound) as exc_info:
        invitation_accept(token=token, user=UserFactory())

    assert exc_info.value.message == (
        "This invitation link is not valid. Check that you copied the whole link from the "
        "e-mail, or ask for a new invitation."
    )


def test_an_invitation_of_a_deactivated_tenant_is_not_found(tenant):
    invitation = InvitationFactory(tenant=tenant)
    tenant.is_active = False
    tenant.save(update_fields=["is_active"])

    with pytest.raises(NotFound):
        invitation_accept(token=invitation.raw_token, user=UserFactory())


def test_a_member_accepting_again_is_refused(tenant):
    membership = MembershipFactory(tenant=tenant, role="viewer")
    invitation = InvitationFactory(tenant=tenant, role="owner")

    with pytest.raises(Conflict) as exc_info:
        invitation_accept(token=invitation.raw_token, user=membership.user)

    assert exc_info.value.message == "You are a member of Acme Microfactory already."
    membership.refresh_from_db()
    assert membership.role == "viewer"
    invitation.refresh_from_db()
    assert invitation.accepted_at is None


def test_the_link_from_the_mail_is_the_one_that_works(tenant, django_capture_on_commit_callbacks):
    owner = member_actor(tenant, "owner")
    with django_capture_on_commit_callbacks(execute=True):
        invitation_create(actor=owner, email="ada@example.com", role="operator", base_url=BASE)
    token = re.search(r"/accounts/invitations/([^/\s]+)/", mail.outbox[0].body).group(1)

    membership = invitation_accept(token=token, password=DEFAULT_PASSWORD)

    assert (membership.user.username, membership.role) == ("ada@example.com", "operator")

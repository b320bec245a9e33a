"""Settings > Members: everyone sees who is in the business; owners invite, change roles,
remove members and revoke invitations, and the last owner always stays."""

import pytest
from django.core import mail
from django.urls import reverse

from mfapp.tenancy.models import Invitation, Membership
from tests.factories import InvitationFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db
LIST = reverse("tenancy:member-list")
INVITE = reverse("tenancy:invitation-create")
HTMX = {"HX-Request": "true"}


def _login(client, tenant, role, **user):
    membership = MembershipFactory(tenant=tenant, role=role, user=UserFactory(**user))
    client.force_login(membership.user)
    return membership


def _roles(tenant):
    return sorted(
        Membership.objects.for_tenant(tenant).values_list("user__username", "role"),
    )


def _pending(tenant):
    return list(
        Invitation.objects.for_tenant(tenant)
        .filter(revoked_at__isnull=True, accepted_at__isnull=True)
        .values_list("email", "role")
    )


def _role_url(membership):
    return reverse("tenancy:member-role", args=[membership.pk])


def _remove_url(membership):
    return reverse("tenancy:member-remove", args=[membership.pk])


# --- the page ----------------------------------------------------------------------------------
def test_an_owner_sees_members_invitations_and_the_invite_form(client, tenant, other_tenant):
    owner = _login(client, tenant, "owner", email="boss@example.com")
    MembershipFactory(tenant=tenant, role="viewer", user=UserFactory(email="vic@example.com"))
    MembershipFactory(tenant=tenant, role="manager", user=UserFactory(email="max@example.com"))
    invitation = InvitationFactory(tenant=tenant, email="new@example.com", role="operator")
    InvitationFactory(tenant=tenant, email="gone@example.com", revoked_at="2026-01-01T00:00Z")
    MembershipFactory(tenant=other_tenant, user=UserFactory(email="stranger@example.com"))
    InvitationFactory(tenant=other_tenant, email="theirs@example.com")

    response = client.get(LIST)

    assert response.status_code == 200
    html = response.content.decode()
    assert [(m.user.username, m.role) for m in response.context["members"]] == [
        ("boss@example.com", "owner"),
        ("max@example.com", "manager"),
        ("vic@example.com", "viewer"),
    ]
    assert [i.email for i in response.context["invitations"]] == ["new@example.com"]
    assert 'boss@example.com <small class="muted">(you)</small>' in html
    assert f'hx-post="{_role_url(owner)}"' in html
    assert f'hx-post="{_remove_url(owner)}"' in html
    assert reverse("tenancy:invitation-revoke", args=[invitation.pk]) in html
    assert "Send invitation" in html
    assert "stranger@example.com" not in html
    assert "theirs@example.com" not in html
    assert "gone@example.com" not in html


def test_an_expired_invitation_is_shown_as_expired(client, tenant):
    _login(client, tenant, "owner")
    InvitationFactory(tenant=tenant, email="late@example.com", expires_at="2020-01-01T00:00Z")

    html = client.get(LIST).content.decode()

    assert '<span class="chip status-late">Expired</span>' in html


@pytest.mark.parametrize("role", ["manager", "operator", "viewer"])
def test_other_roles_see_the_members_but_no_invitations_or_controls(client, tenant, role):
    _login(client, tenant, role)
    MembershipFactory(tenant=tenant, role="owner", user=UserFactory(email="boss@example.com"))
    InvitationFactory(tenant=tenant, email="new@example.com")

    for headers in ({}, HTMX):
        response = client.get(LIST, headers=headers)
        html = response.content.decode()
        assert response.status_code == 200
        assert "boss@example.com" in html
        assert "new@example.com" not in html
        assert "Send invitation" not in html
        assert "Remove" not in html
        assert '<select id="role-' not in html


def test_the_htmx_partial_is_the_people_section_alone(client, tenant):
    _login(client, tenant, "owner", email="boss@example.com")

    response = client.get(LIST, headers=HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="people">')
    assert "boss@example.com" in html


def test_anonymous_visitors_are_sent_to_login(client):
    response = client.get(LIST)

    assert (response.status_code, response["Location"]) == (302, f"{reverse('login')}?next={LIST}")


def test_the_list_runs_a_bounded_number_of_queries(client, tenant, django_assert_max_num_queries):
    _login(client, tenant, "owner")
    for _ in range(6):
        MembershipFactory(tenant=tenant, role="operator")
        InvitationFactory(tenant=tenant, invited_by=UserFactory())

    with django_assert_max_num_queries(9):
        response = client.get(LIST)

    assert (len(response.context["members"]), len(response.context["invitations"])) == (7, 6)


# --- inviting ----------------------------------------------------------------------------------
def test_an_owner_invites_by_e_mail(client, tenant, django_capture_on_commit_callbacks):
    owner = _login(client, tenant, "owner", email="boss@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(INVITE, {"email": "New@Example.com", "role": "manager"})

    assert (response.status_code, response["Location"]) == (302, LIST)
    assert _pending(tenant) == [("new@example.com", "manager")]
    invitation = Invitation.objects.for_tenant(tenant).get()
    assert invitation.invited_by == owner.user
    [message] = mail.outbox
    assert message.to == ["new@example.com"]
    assert "http://testserver/accounts/invitations/" in message.body
    html = client.get(LIST).content.decode()
    assert "Invitation sent to new@example.com as manager. The link works for 7 days." in html


def test_inviting_with_htmx_answers_the_refreshed_section(
    client, tenant, django_capture_on_commit_callbacks
):
    _login(client, tenant, "owner")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(INVITE, {"email": "new@example.com", "role": "viewer"}, headers=HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert '<td data-label="E-mail">new@example.com</td>' in html
    assert "Invitation sent to new@example.com as viewer." in html
    assert len(mail.outbox) == 1


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_invalid_invitations_are_a_400_with_the_errors(client, tenant, headers):
    _login(client, tenant, "owner")

    response = client.post(INVITE, {"email": "nope", "role": "emperor"}, headers=headers)

    html = response.content.decode()
    assert response.status_code == 400
    assert (
        '<ul class="errorlist" id="id_email_error"><li>Enter a valid email address.</li></ul>'
        in (html)
    )
    assert "<li>Select a valid choice. emperor is not one of the available choices.</li>" in html
    assert 'aria-invalid="true"' in html
    assert ("<html" in html) is not bool(headers)
    assert _pending(tenant) == []
    assert mail.outbox == []


def test_inviting_a_member_is_refused_on_the_form(client, tenant):
    _login(client, tenant, "owner")
    MembershipFactory(tenant=tenant, user=UserFactory(email="max@example.com"))

    response = client.post(INVITE, {"email": "max@example.com", "role": "viewer"})

    assert response.status_code == 400
    assert response.context["invite_form"].errors == {"email": ["This person is a member already."]}
    assert _pending(tenant) == []


@pytest.mark.parametrize("role", ["manager", "operator", "viewer"])
def test_only_owners_invite(client, tenant, role):
    _login(client, tenant, role)

    response = client.post(INVITE, {"email": "new@example.com", "role": "owner"})

    assert response.status_code == 403
    assert _pending(tenant) == []


# --- revoking ----------------------------------------------------------------------------------
def test_an_owner_revokes_an_invitation(client, tenant):
    _login(client, tenant, "owner")
    invitation = InvitationFactory(tenant=tenant, email="new@example.com")

    response = client.post(reverse("tenancy:invitation-revoke", args=[invitation.pk]), headers=HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "Invitation to new@example.com revoked." in html
    assert "No pending invitations." in html
    assert _pending(tenant) == []


def test_revoking_twice_says_why(client, tenant):
    _login(client, tenant, "owner")
    invitation = InvitationFactory(tenant=tenant, revoked_at="2026-01-01T00:00Z")

    response = client.post(reverse("tenancy:invitation-revoke", args=[invitation.pk]), follow=True)

    assert response.redirect_chain == [(LIST, 302)]
    assert "This invitation is revoked already." in response.content.decode()


# --- roles and removal -------------------------------------------------------------------------
def test_an_owner_changes_a_role(client, tenant):
    _login(client, tenant, "owner")
    member = MembershipFactory(tenant=tenant, role="operator", user=UserFactory(email="o@x.io"))

    response = client.post(_role_url(member), {"role": "manager"}, headers=HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "o@x.io is now manager." in html
    assert '<option value="manager" selected>Manager</option>' in html
    member.refresh_from_db()
    assert member.role == "manager"


def test_the_last_owner_cannot_step_down(client, tenant):
    owner = _login(client, tenant, "owner", email="boss@example.com")
    before = _roles(tenant)

    response = client.post(_role_url(owner), {"role": "viewer"}, follow=True)

    assert response.redirect_chain == [(LIST, 302)]
    assert (
        "boss@example.com is the only owner. Make another member owner first: every business "
        "needs one."
    ) in response.content.decode()
    assert _roles(tenant) == before


def test_an_owner_stepping_down_reloads_the_whole_page(client, tenant):
    owner = _login(client, tenant, "owner")
    MembershipFactory(tenant=tenant, role="owner")

    response = client.post(_role_url(owner), {"role": "manager"}, headers=HTMX)

    assert (response.status_code, response["HX-Redirect"]) == (200, LIST)
    owner.refresh_from_db()
    assert owner.role == "manager"


def test_an_owner_removes_a_member(client, tenant):
    _login(client, tenant, "owner", email="boss@example.com")
    member = MembershipFactory(tenant=tenant, role="viewer", user=UserFactory(email="v@x.io"))

    response = client.post(_remove_url(member), follow=True)

    assert response.redirect_chain == [(LIST, 302)]
    assert "v@x.io removed from Acme Microfactory." in response.content.decode()
    assert _roles(tenant) == [("boss@example.com", "owner")]


def test_the_last_owner_cannot_leave(client, tenant):
    owner = _login(client, tenant, "owner")
    before = _roles(tenant)

    response = client.post(_remove_url(owner), headers=HTMX)

    assert response.status_code == 200
    assert "is the only owner." in response.content.decode()
    assert _roles(tenant) == before


def test_an_owner_may_leave_when_another_stays(client, tenant):
    owner = _login(client, tenant, "owner")
    MembershipFactory(tenant=tenant, role="owner")

    response = client.post(_remove_url(owner), headers=HTMX)

    assert (response.status_code, response["HX-Redirect"]) == (200, reverse("home"))
    assert Membership.objects.for_tenant(tenant).filter(pk=owner.pk).exists() is False


@pytest.mark.parametrize("role", ["manager", "operator", "viewer"])
def test_other_roles_get_403_and_nothing_changes(client, tenant, role):
    _login(client, tenant, role)
    member = MembershipFactory(tenant=tenant, role="viewer")
    invitation = InvitationFactory(tenant=tenant)
    before = _roles(tenant)

    responses = [
        client.post(_role_url(member), {"role": "owner"}),
        client.post(_remove_url(member)),
        client.post(reverse("tenancy:invitation-revoke", args=[invitation.pk])),
    ]

    assert [r.status_code for r in responses] == [403, 403, 403]
    assert _roles(tenant) == before
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


def test_another_tenants_members_and_invitations_are_404_and_unchanged(
    client, tenant, other_tenant
):
    _login(client, tenant, "owner")
    foreign = MembershipFactory(tenant=other_tenant, role="owner")
    foreign_invitation = InvitationFactory(tenant=other_tenant)
    before = _roles(other_tenant)

    responses = [
        client.post(_role_url(foreign), {"role": "viewer"}),
        client.post(_remove_url(foreign)),
        client.post(reverse("tenancy:invitation-revoke", args=[foreign_invitation.pk])),
    ]

    assert [r.status_code for r in responses] == [404, 404, 404]
    assert _roles(other_tenant) == before
    foreign_invitation.refresh_from_db()
    assert foreign_invitation.revoked_at is None


def test_actions_are_post_only(client, tenant):
    owner = _login(client, tenant, "owner")

    responses = [client.get(INVITE), client.get(_role_url(owner)), client.get(_remove_url(owner))]

    assert [r.status_code for r in responses] == [405, 405, 405]

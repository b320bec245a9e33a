"""Accepting an invitation: the link from the e-mail, for a new person, a person with a login
who is logged in, and one who must log in first; used, revoked and expired links say why."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from mfapp.tenancy.middleware import SESSION_KEY
from mfapp.tenancy.models import Membership
from tests.factories import InvitationFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db
User = get_user_model()
STRONG = "fr3sh-Filament-spool"


def _url(invitation):
    return reverse("invitation-accept", args=[invitation.raw_token])


def _members(tenant):
    return sorted(Membership.objects.for_tenant(tenant).values_list("user__username", "role"))


def test_a_new_person_sees_the_invitation_and_a_password_form(client, tenant):
    inviter = MembershipFactory(tenant=tenant, role="owner", user=UserFactory(email="boss@x.io"))
    invitation = InvitationFactory(
        tenant=tenant, email="ada@example.com", role="manager", invited_by=inviter.user
    )

    response = client.get(_url(invitation))

    assert response.status_code == 200
    html = response.content.decode()
    assert '<h1 id="invite-h">Join Acme Microfactory</h1>' in html
    assert (
        "boss@x.io invites ada@example.com to join <strong>Acme Microfactory</strong> on mfapp "
        "as <strong>manager</strong>."
    ) in html
    assert list(response.context["form"].fields) == ["password", "password_confirm"]


def test_a_new_person_chooses_a_password_and_joins(client, tenant):
    invitation = InvitationFactory(tenant=tenant, email="ada@example.com", role="operator")

    response = client.post(
        _url(invitation), {"password": STRONG, "password_confirm": STRONG}, follow=True
    )

    assert response.redirect_chain == [(reverse("home"), 302)]
    user = User.objects.get(username="ada@example.com")
    assert user.check_password(STRONG)
    assert _members(tenant) == [("ada@example.com", "operator")]
    assert int(client.session["_auth_user_id"]) == user.pk
    assert client.session[SESSION_KEY] == tenant.pk
    assert "Welcome to Acme Microfactory! You joined as operator." in response.content.decode()


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        (
            {"password": STRONG, "password_confirm": STRONG + "x"},
            {"password_confirm": ["The two passwords differ."]},
        ),
        (
            {"password": "1234567890", "password_confirm": "1234567890"},
            {
                "password": [
                    "This password is too short. It must contain at least 12 characters.",
                    "This password is too common.",
                    "This password is entirely numeric.",
                ]
            },
        ),
        (
            {},
            {
                "password": ["This field is required."],
                "password_confirm": ["This field is required."],
            },
        ),
    ],
    ids=["mismatch", "weak", "missing"],
)
def test_a_bad_password_is_a_400_and_nothing_is_created(client, tenant, data, errors):
    invitation = InvitationFactory(tenant=tenant, email="ada@example.com")
    users = User.objects.count()

    response = client.post(_url(invitation), data)

    assert response.status_code == 400
    assert response.context["form"].errors == errors
    assert User.objects.count() == users
    assert _members(tenant) == []
    invitation.refresh_from_db()
    assert invitation.accepted_at is None


def test_an_address_with_a_login_is_asked_to_log_in(client, tenant):
    UserFactory(email="ada@example.com")
    invitation = InvitationFactory(tenant=tenant, email="ada@example.com")
    url = _url(invitation)

    get = client.get(url)
    post = client.post(url, {"password": STRONG, "password_confirm": STRONG})

    html = get.content.decode()
    assert get.status_code == 200
    assert "ada@example.com has an mfapp login already. Log in to accept the invitation." in html
    assert f'href="{reverse("login")}?next={url}">Log in to accept</a>' in html
    assert post.status_code == 200
    assert _members(tenant) == []


def test_a_logged_in_person_joins_with_one_click(client, tenant, other_tenant):
    own = MembershipFactory(tenant=other_tenant, user=UserFactory(email="ada@example.com"))
    client.force_login(own.user)
    invitation = InvitationFactory(tenant=tenant, email="ada@example.com", role="viewer")

    page = client.get(_url(invitation))
    response = client.post(_url(invitation), follow=True)

    assert "You are logged in as ada@example.com; this login joins Acme Microfactory." in (
        page.content.decode()
    )
    assert "Log in with another account" not in page.content.decode()
    assert response.redirect_chain == [(reverse("home"), 302)]
    assert _members(tenant) == [("ada@example.com", "viewer")]
    assert client.session[SESSION_KEY] == tenant.pk
    assert "<h1>Acme Microfactory</h1>" in response.content.decode()


def test_a_person_logged_in_with_another_address_is_told_who_joins(client, tenant):
    person = UserFactory(email="private@example.com")
    client.force_login(person)
    invitation = InvitationFactory(tenant=tenant, email="work@example.com")

    html = client.get(_url(invitation)).content.decode()
    client.post(_url(invitation))

    assert "You are logged in as private@example.com" in html
    assert "Log in with another account</a> first." in html
    assert _members(tenant) == [("private@example.com", "operator")]


def test_a_member_following_the_link_again_is_told(client, tenant):
    membership = MembershipFactory(tenant=tenant, role="viewer")
    client.force_login(membership.user)
    invitation = InvitationFactory(tenant=tenant, role="owner")

    response = client.post(_url(invitation), follow=True)

    assert "You are a member of Acme Microfactory already." in response.content.decode()
    assert _members(tenant) == [(membership.user.username, "viewer")]


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (
            {"expires_at": timezone.now() - timedelta(seconds=1)},
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
def test_a_finished_link_says_why(client, tenant, state, message):
    invitation = InvitationFactory(tenant=tenant, email="ada@example.com", **state)

    get = client.get(_url(invitation))
    post = client.post(_url(invitation), {"password": STRONG, "password_confirm": STRONG})

    assert (get.status_code, post.status_code) == (410, 410)
    assert f'<p class="error" role="alert">{message}</p>' in get.content.decode()
    assert User.objects.filter(username="ada@example.com").exists() is False
    assert _members(tenant) == []


def test_an_unknown_link_is_a_404_with_advice(client):
    response = client.get(reverse("invitation-accept", args=["not-a-real-token"]))

    assert response.status_code == 404
    assert (
        "This invitation link is not valid. Check that you copied the whole link from the "
        "e-mail, or ask for a new invitation."
    ) in response.content.decode()

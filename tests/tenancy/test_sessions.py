"""A member whose role changes or who is removed is logged out everywhere at once; the person
who made the change keeps their own session. Logging in always starts a new session."""

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from mfapp.tenancy.models import Membership
from mfapp.tenancy.sessions import user_sessions_end
from tests.factories import DEFAULT_PASSWORD, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db
MEMBERS = reverse("tenancy:member-list")
HOME = reverse("home")


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _sessions_of(user) -> int:
    return sum(
        str(s.get_decoded().get("_auth_user_id")) == str(user.pk) for s in Session.objects.all()
    )


def test_ending_a_users_sessions_leaves_other_users_logged_in(tenant):
    ada, bob = UserFactory(), UserFactory()
    MembershipFactory(tenant=tenant, user=ada)
    MembershipFactory(tenant=tenant, user=bob)
    ada_phone, ada_laptop, bob_laptop = _logged_in(ada), _logged_in(ada), _logged_in(bob)

    assert user_sessions_end(user=ada) == 2

    assert (_sessions_of(ada), _sessions_of(bob)) == (0, 1)
    assert ada_phone.get(HOME).status_code == 302
    assert ada_laptop.get(HOME)["Location"].startswith(reverse("login"))
    assert bob_laptop.get(HOME).status_code == 200


def test_a_removed_member_is_logged_out_on_their_next_request(client, tenant):
    owner = MembershipFactory(tenant=tenant, role="owner")
    member = MembershipFactory(tenant=tenant, role="operator")
    member_client = _logged_in(member.user)
    assert member_client.get(HOME).status_code == 200
    client.force_login(owner.user)

    response = client.post(reverse("tenancy:member-remove", args=[member.pk]))

    assert response.status_code == 302
    assert not Membership.objects.for_tenant(tenant).filter(pk=member.pk).exists()
    response = member_client.get(HOME)
    assert (response.status_code, response["Location"]) == (302, f"{reverse('login')}?next=/")
    assert "_auth_user_id" not in member_client.session
    # The owner who removed them carries on.
    assert client.get(MEMBERS).status_code == 200


def test_a_member_whose_role_changes_logs_in_again(client, tenant):
    owner = MembershipFactory(tenant=tenant, role="owner")
    member = MembershipFactory(tenant=tenant, role="manager")
    member_client = _logged_in(member.user)
    assert member_client.get(MEMBERS).status_code == 200
    client.force_login(owner.user)

    client.post(reverse("tenancy:member-role", args=[member.pk]), {"role": "viewer"})

    member.refresh_from_db()
    assert member.role == "viewer"
    assert _sessions_of(member.user) == 0
    assert member_client.get(MEMBERS).status_code == 302
    assert client.get(MEMBERS).status_code == 200


def test_an_unchanged_role_or_a_refused_change_ends_no_session(client, tenant):
    owner = MembershipFactory(tenant=tenant, role="owner")
    member = MembershipFactory(tenant=tenant, role="viewer")
    _logged_in(member.user)
    client.force_login(owner.user)

    client.post(reverse("tenancy:member-role", args=[member.pk]), {"role": "viewer"})
    client.post(reverse("tenancy:member-role", args=[member.pk]), {"role": "emperor"})

    assert _sessions_of(member.user) == 1


def test_changing_ones_own_role_keeps_ones_session(client, tenant):
    MembershipFactory(tenant=tenant, role="owner")
    me = MembershipFactory(tenant=tenant, role="owner")
    client.force_login(me.user)

    client.post(reverse("tenancy:member-role", args=[me.pk]), {"role": "manager"})

    me.refresh_from_db()
    assert me.role == "manager"
    assert client.get(MEMBERS).status_code == 200


def test_logging_in_rotates_the_session_key(client, tenant):
    member = MembershipFactory(tenant=tenant)
    client.get(reverse("login"))
    client.session.save()
    before = client.session.session_key

    response = client.post(
        reverse("login"), {"username": member.user.username, "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 302
    assert client.session.session_key != before
    assert not Session.objects.filter(session_key=before).exists()

import pytest
from django.urls import reverse

from mfapp.tenancy.middleware import SESSION_KEY
from tests.factories import (
    MachineFactory,
    MembershipFactory,
    OrderFactory,
    SiteFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def test_anonymous_visitors_are_sent_to_login(client):
    response = client.get(reverse("home"))

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next=/"


def test_home_shows_only_the_active_tenants_data(client, tenant, other_tenant):
    membership = MembershipFactory(tenant=tenant, role="viewer")
    site = SiteFactory(tenant=tenant, name="Berlin")
    MachineFactory(tenant=tenant, site=site, name="Prusa A", status="down", status_reason="Clogged")
    OrderFactory(tenant=tenant, status="draft")
    foreign_site = SiteFactory(tenant=other_tenant, name="Lyon")
    MachineFactory(tenant=other_tenant, site=foreign_site, name="Bambu Z")
    OrderFactory(tenant=other_tenant, status="draft")
    OrderFactory(tenant=other_tenant, status="draft")
    client.force_login(membership.user)

    response = client.get(reverse("home"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Prusa A" in html
    assert "Clogged" in html
    assert "Bambu Z" not in html
    assert "Lyon" not in html
    assert {v: n for v, _, n in response.context["orders_by_status"]}["draft"] == 1


def test_a_login_without_membership_sees_what_to_do(client):
    client.force_login(UserFactory())

    response = client.get(reverse("home"))

    assert response.status_code == 200
    assert "No business yet" in response.content.decode()


def test_switching_to_a_tenant_of_ones_own(client, tenant, other_tenant):
    user = UserFactory()
    MembershipFactory(tenant=tenant, user=user)
    MembershipFactory(tenant=other_tenant, user=user)
    client.force_login(user)

    response = client.post(reverse("tenant-switch"), {"tenant_id": other_tenant.pk})

    assert response.status_code == 302
    assert client.session[SESSION_KEY] == other_tenant.pk
    assert client.get(reverse("home")).context["tenant"] == other_tenant


@pytest.mark.parametrize("wanted", ["foreign", "garbage"])
def test_switching_to_another_tenant_is_ignored(client, tenant, other_tenant, wanted):
    membership = MembershipFactory(tenant=tenant)
    client.force_login(membership.user)

    client.post(
        reverse("tenant-switch"), {"tenant_id": other_tenant.pk if wanted == "foreign" else "x"}
    )

    assert SESSION_KEY not in client.session
    assert client.get(reverse("home")).context["tenant"] == tenant

"""Platform staff's cross-tenant access through the admin lands in each touched tenant's audit
log, so the tenant's owners can see who of the platform looked at or changed what."""

import pytest
from django.urls import reverse

from mfapp.audit.models import AuditEvent
from mfapp.catalog.models import Product
from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = UserFactory(is_staff=True, is_superuser=True, username="ops@platform.test")
    client.force_login(user)
    return user


def _platform_events(tenant):
    return list(
        AuditEvent.objects.for_tenant(tenant)
        .filter(verb__startswith="platform.")
        .order_by("id")
        .values_list("verb", "actor_label", "target_type", "target_id", "before", "after")
    )


def test_listing_records_one_event_per_tenant_shown(client, staff, tenant, other_tenant):
    ProductFactory(tenant=tenant)
    ProductFactory(tenant=tenant)
    theirs = ProductFactory(tenant=other_tenant)

    response = client.get(reverse("admin:catalog_product_changelist"))

    assert response.status_code == 200
    events = AuditEvent.objects.for_tenant(tenant).filter(verb="platform.listed")
    assert [(e.actor_label, e.message) for e in events] == [
        ("platform staff: ops@platform.test", "Listed 2 products: /admin/catalog/product/")
    ]
    assert _platform_events(other_tenant) == [
        (
            "platform.listed",
            "platform staff: ops@platform.test",
            "catalog.product",
            theirs.pk,
            {},
            {},
        )
    ]


def test_opening_and_changing_a_row_is_recorded_with_before_and_after(client, staff, tenant):
    product = ProductFactory(tenant=tenant, name="Bracket")
    url = reverse("admin:catalog_product_change", args=[product.pk])

    assert client.get(url).status_code == 200
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields}
    data["name"] = "Bracket v2"
    data.update(
        {
            f"{prefix}-{key}": value
            for prefix in ("routing_steps", "bom_lines")
            for key, value in {"TOTAL_FORMS": 0, "INITIAL_FORMS": 0}.items()
        }
    )
    response = client.post(url, data)

    assert response.status_code == 302, response.content.decode()[:2000]
    product.refresh_from_db()
    assert product.name == "Bracket v2"
    verbs = [event[0] for event in _platform_events(tenant)]
    assert verbs == ["platform.viewed", "platform.viewed", "platform.changed"]
    changed = _platform_events(tenant)[-1]
    assert (changed[4], changed[5]) == ({"name": "Bracket"}, {"name": "Bracket v2"})


def test_deleting_a_row_is_recorded_in_its_tenant(client, staff, tenant):
    product = ProductFactory(tenant=tenant)
    url = reverse("admin:catalog_product_delete", args=[product.pk])

    response = client.post(url, {"post": "yes"})

    assert response.status_code == 302
    assert not Product.objects.for_tenant(tenant).filter(pk=product.pk).exists()
    assert [e[:4] for e in _platform_events(tenant)] == [
        ("platform.deleted", "platform staff: ops@platform.test", "catalog.product", product.pk)
    ]


def test_members_never_write_platform_events(client, tenant):
    from tests.factories import MembershipFactory

    owner = MembershipFactory(tenant=tenant, role="owner").user
    client.force_login(owner)
    ProductFactory(tenant=tenant)

    assert client.get(reverse("admin:catalog_product_changelist")).status_code == 302
    assert _platform_events(tenant) == []

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

from mfapp.core.models import TenantScopedModel
from mfapp.production.models import Batch
from mfapp.tenancy.models import Membership, Site, Tenant
from tests.factories import (
    BatchFactory,
    ProductFactory,
    UserFactory,
    factory_for_model,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    return client


def _registered_models():
    return sorted(admin.site._registry, key=lambda m: m._meta.label)


@pytest.mark.parametrize("model", _registered_models(), ids=lambda m: m._meta.label)
def test_every_changelist_lists_rows_of_every_tenant(staff_client, tenant, other_tenant, model):
    if issubclass(model, TenantScopedModel):
        factory = factory_for_model()[model]
        mine, theirs = factory(tenant=tenant), factory(tenant=other_tenant)
        expected = {mine.pk, theirs.pk}
    else:
        expected = set(model._default_manager.values_list("pk", flat=True))
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")

    response = staff_client.get(url)

    assert response.status_code == 200
    shown = {obj.pk for obj in response.context["cl"].result_list}
    assert expected <= shown


def test_every_domain_model_is_registered():
    domain = {m for m in factory_for_model() if m._meta.app_label not in ("auth",)}
    assert domain - set(admin.site._registry) == set()


def test_changelist_filters_by_tenant(staff_client, tenant, other_tenant):
    mine = BatchFactory(tenant=tenant)
    BatchFactory(tenant=other_tenant)

    response = staff_client.get(
        reverse("admin:production_batch_changelist"), {"tenant__id__exact": tenant.pk}
    )

    assert [b.pk for b in response.context["cl"].result_list] == [mine.pk]


def test_changelist_search(staff_client, tenant):
    wanted = BatchFactory(tenant=tenant, lot_code="L-FIND-ME")
    BatchFactory(tenant=tenant, lot_code="L-OTHER")

    response = staff_client.get(reverse("admin:production_batch_changelist"), {"q": "FIND"})

    assert [b.pk for b in response.context["cl"].result_list] == [wanted.pk]


def test_staff_creates_a_tenant_with_owner_and_first_site(staff_client):
    response = staff_client.post(
        reverse("admin:tenancy_tenant_add"),
        {
            "name": "Kiel Fab",
            "slug": "kiel",
            "country": "DE",
            "timezone": "Europe/Berlin",
            "currency": "EUR",
            "owner_email": "Owner@Kiel.test",
            "owner_password": "printing-is-fun-42",
            "site_name": "Kiel Hafen",
        },
    )

    tenant = Tenant.objects.get(slug="kiel")
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:tenancy_tenant_changelist")
    assert list(Site.objects.for_tenant(tenant).values_list("name", flat=True)) == ["Kiel Hafen"]
    membership = Membership.objects.for_tenant(tenant).select_related("user").get()
    assert (membership.user.username, membership.role) == ("owner@kiel.test", "owner")
    assert membership.user.check_password("printing-is-fun-42")


def test_tenant_creation_with_a_weak_password_shows_the_error_and_saves_nothing(staff_client):
    response = staff_client.post(
        reverse("admin:tenancy_tenant_add"),
        {
            "name": "Kiel Fab",
            "slug": "kiel",
            "country": "DE",
            "timezone": "Europe/Berlin",
            "currency": "EUR",
            "owner_email": "owner@kiel.test",
            "owner_password": "12345",
        },
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "owner_password" in errors
    assert Tenant.objects.filter(slug="kiel").count() == 0
    assert get_user_model().objects.filter(username="owner@kiel.test").count() == 0


def test_admin_refuses_a_related_row_of_another_tenant(staff_client, tenant, other_tenant):
    batch = BatchFactory(tenant=tenant)
    foreign_product = ProductFactory(tenant=other_tenant)
    url = reverse("admin:production_batch_change", args=[batch.pk])
    form = staff_client.get(url).context["adminform"].form
    data = {name: form.initial.get(name) or "" for name in form.fields}
    data.update(
        {
            "product": foreign_product.pk,
            "operations-TOTAL_FORMS": "0",
            "operations-INITIAL_FORMS": "0",
        }
    )
    data = {k: ("" if v is None else v) for k, v in data.items()}

    response = staff_client.post(url, data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["product"] == [
        "This product belongs to another tenant."
    ]
    batch.refresh_from_db()
    assert batch.product.tenant_id == tenant.pk


@pytest.mark.parametrize("who", ["anonymous", "member"])
def test_only_staff_reach_the_admin(client, tenant, who):
    if who == "member":
        client.force_login(UserFactory())

    response = client.get(reverse("admin:production_batch_changelist"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert Batch.objects.all_tenants().count() == 0

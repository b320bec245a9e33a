from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from mfapp.audit.models import AuditEvent
from mfapp.catalog.models import BomLine, Product, RoutingStep
from mfapp.machines.models import Machine, MaintenanceWindow
from mfapp.orders.models import Customer, Order
from mfapp.production.models import Batch, BatchOperation, MaterialConsumption, QualityCheck
from mfapp.tenancy.models import Membership, Site, Tenant

pytestmark = pytest.mark.django_db

COUNTED = (
    Site,
    Membership,
    Machine,
    MaintenanceWindow,
    Product,
    RoutingStep,
    BomLine,
    Customer,
    Order,
    Batch,
    BatchOperation,
    QualityCheck,
    MaterialConsumption,
    AuditEvent,
)


def _counts() -> dict[str, int]:
    counts = {model.__name__: model.objects.all_tenants().count() for model in COUNTED}
    counts["Tenant"] = Tenant.objects.count()
    counts["User"] = get_user_model().objects.count()
    return counts


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """Seed once for the module (it takes a few seconds), inside the test database."""
    with django_db_blocker.unblock():
        call_command("seed_demo", verbosity=0)
        yield
        # Without resetting sequences: the application role may empty tables, not alter them.
        call_command("flush", interactive=False, verbosity=0, reset_sequences=False)


def test_seed_demo_is_idempotent(seeded, capsys):
    before = _counts()

    call_command("seed_demo")

    assert _counts() == before
    out = capsys.readouterr().out
    assert "Demo tenant northwind exists already; left unchanged." in out
    assert "admin@mfapp.test" in out
    assert "owner@northwind.test" in out


def test_seed_demo_covers_every_state_in_two_tenants(seeded):
    tenants = list(Tenant.objects.order_by("slug"))
    assert [t.slug for t in tenants] == ["northwind", "rhone"]
    for tenant in tenants:
        orders = set(Order.objects.for_tenant(tenant).values_list("status", flat=True))
        batches = set(Batch.objects.for_tenant(tenant).values_list("status", flat=True))
        assert orders == set(Order.Status.values), tenant.slug
        assert batches == set(Batch.Status.values), tenant.slug
        kinds = set(Machine.objects.for_tenant(tenant).values_list("kind", flat=True))
        assert len(kinds) >= 4, tenant.slug
        assert Product.objects.for_tenant(tenant).count() >= 3
        assert all(
            p.routing_steps.exists() and p.bom_lines.exists()
            for p in Product.objects.for_tenant(tenant)
        )
    assert Site.objects.for_tenant(tenants[0]).count() == 2


def test_seed_demo_has_months_of_completed_operations(seeded):
    northwind = Tenant.objects.get(slug="northwind")
    done = BatchOperation.objects.for_tenant(northwind).filter(status="done")
    oldest = done.order_by("actual_start").first().actual_start
    assert oldest < timezone.now() - timedelta(days=90)
    assert done.filter(actual_start__gte=timezone.now() - timedelta(days=30)).exists()
    completed = Batch.objects.for_tenant(northwind).filter(status="completed")
    assert completed.filter(completed_at__lt=timezone.now() - timedelta(days=60)).exists()
    assert QualityCheck.objects.for_tenant(northwind).count() >= completed.count()
    assert MaterialConsumption.objects.for_tenant(northwind).exists()

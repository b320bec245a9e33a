"""seed_scale: many tenants in bulk, valid for the app (statuses, tenants, plans, numbering)."""

import itertools
import re
from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from mfapp.catalog.models import Product
from mfapp.core.models import TenantScopedModel
from mfapp.core.scale_data import seed_scale, tenant_sizes
from mfapp.machines.models import EnergyReading, Machine
from mfapp.orders.models import Order
from mfapp.orders.services import order_confirm, order_number_next
from mfapp.production.models import Batch, BatchOperation
from mfapp.production.overlaps import operations_overlap_check
from mfapp.scheduling.models import ScheduleRun
from mfapp.scheduling.services import schedule_run_execute
from mfapp.tenancy.models import Membership, Site, Tenant
from mfapp.tenancy.selectors import system_actor

pytestmark = pytest.mark.django_db

TENANTS, ORDERS, SEED, MONTHS = 3, 40, 7, 3  # short: some work is still open
SLUGS = ["scale-01", "scale-02", "scale-03"]
BS, OS, PS = Batch.Status, Order.Status, BatchOperation.Status


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """Seed once for the module (committed, so PostgreSQL checks the deferred exclusion
    constraint), then empty the database."""
    with django_db_blocker.unblock():
        now = timezone.now()
        call_command(
            "seed_scale",
            tenants=TENANTS,
            orders_per_tenant=ORDERS,
            seed=SEED,
            months=MONTHS,
            energy=True,
            verbosity=0,
        )
        yield now
        # Without resetting sequences: the application role may empty tables, not alter them.
        call_command("flush", interactive=False, verbosity=0, reset_sequences=False)


def _tenants() -> list[Tenant]:
    return list(Tenant.objects.filter(slug__in=SLUGS).order_by("slug"))


def _everything() -> dict[str, int]:
    counts = {
        model._meta.label: model.objects.all_tenants().count()
        for model in _tenant_models()
        if model is not Membership
    }
    counts["Membership"] = Membership.objects.all_tenants().count()
    counts["Tenant"] = Tenant.objects.count()
    counts["User"] = get_user_model().objects.count()
    return counts


def _tenant_models() -> list[type[TenantScopedModel]]:
    from django.apps import apps

    return [
        m for m in apps.get_models() if issubclass(m, TenantScopedModel) and not m._meta.abstract
    ]


def test_sizes_are_skewed_and_add_up():
    sizes = tenant_sizes(20, 5000)

    assert sum(sizes) == 100_000
    assert sizes == sorted(sizes, reverse=True)
    assert sizes[0] > 5 * 5000
    assert sizes[-1] < 0.3 * 5000
    assert tenant_sizes(3, 40) == [65, 33, 22]
    assert tenant_sizes(5, 1) == [1, 1, 1, 1, 1]


def test_counts_and_shape(seeded):
    tenants = _tenants()
    orders = [Order.objects.for_tenant(t).count() for t in tenants]

    assert [t.slug for t in tenants] == SLUGS
    assert orders == tenant_sizes(TENANTS, ORDERS) == [65, 33, 22]
    assert max(orders) > min(orders)
    for tenant in tenants:
        assert 1 <= Site.objects.for_tenant(tenant).count() <= 3
        assert 5 <= Machine.objects.for_tenant(tenant).count() <= 30
        assert 20 <= Product.objects.for_tenant(tenant).count() <= 200
        roles = set(Membership.objects.for_tenant(tenant).values_list("role", flat=True))
        assert roles == set(Membership.Role.values)
        for product in Product.objects.for_tenant(tenant).prefetch_related("routing_steps"):
            assert 1 <= len(product.routing_steps.all()) <= 4
            assert product.bom_lines.count() <= 3
        lines = Counter(
            Order.objects.for_tenant(tenant).values_list("lines__order_id", flat=True)
        ).values()
        assert min(lines) >= 1
        assert max(lines) <= 5
        statuses = set(Order.objects.for_tenant(tenant).values_list("status", flat=True))
        assert OS.SHIPPED in statuses
        assert Batch.objects.for_tenant(tenant).filter(status=BS.COMPLETED).exists()
        assert EnergyReading.objects.for_tenant(tenant).exists()


def test_history_spans_the_months(seeded):
    now = seeded
    created = Order.objects.for_tenant(_tenants()[0]).values_list("created_at", flat=True)

    assert (now - min(created)).days > 80
    assert (now - max(created)).days < 30


def test_every_row_refers_to_rows_of_its_own_tenant(seeded):
    checked = 0
    for model in _tenant_models():
        for field in model._meta.concrete_fields:
            if not field.is_relation or field.name == "tenant":
                continue
            if not issubclass(field.related_model, TenantScopedModel):
                continue
            rows = model.objects.all_tenants().filter(tenant__slug__in=SLUGS)
            foreign = rows.exclude(**{f"{field.name}__isnull": True}).exclude(
                **{f"{field.name}__tenant_id": F("tenant_id")}
            )
            assert not foreign.exists(), f"{model.__name__}.{field.name} crosses tenants"
            checked += 1
    assert checked > 20
    for tenant in _tenants():
        for order in Order.objects.for_tenant(tenant).select_related("site", "customer"):
            assert order.site.tenant_id == order.tenant_id == order.customer.tenant_id


def test_rows_pass_model_validation(seeded):
    """A sample of every model's rows through full_clean: field validators, choices, JSON
    shapes (working hours, capabilities), constraints and the same-tenant rule."""
    for model in [*_tenant_models(), Tenant]:
        manager = model.objects
        rows = manager.filter(slug__in=SLUGS) if model is Tenant else manager.all_tenants()
        for row in rows.order_by("-pk")[:25]:
            row.full_clean()


def test_statuses_are_consistent(seeded):
    now = seeded
    for tenant in _tenants():
        batches = Batch.objects.for_tenant(tenant).prefetch_related("operations")
        for batch in batches:
            ops = sorted(batch.operations.all(), key=lambda op: op.sequence)
            statuses = {op.status for op in ops}
            assert ops, batch
            if batch.status in (BS.COMPLETED, BS.QUALITY_CHECK):
                assert statuses == {PS.DONE}, batch
                assert batch.quantity_good == ops[-1].quantity_good
                assert (batch.completed_at is not None) == (batch.status == BS.COMPLETED)
            if batch.status == BS.COMPLETED:
                assert batch.completed_at <= now
                assert batch.quality_checks.order_by("checked_at", "id").last().passed
            if batch.status == BS.IN_PROGRESS:
                assert batch.started_at is not None
                assert batch.completed_at is None
                assert statuses & {PS.DONE, PS.RUNNING}
                assert statuses != {PS.DONE}
            if batch.status in (BS.PLANNED, BS.SCHEDULED):
                assert statuses == {PS.PENDING}
                assert batch.started_at is None
                planned = {op.machine_id is not None for op in ops}
                assert planned == {batch.status == BS.SCHEDULED}
            if batch.status == BS.CANCELLED:
                assert statuses == {PS.CANCELLED}
            assert batch.quantity_scrap == sum(op.quantity_scrap or 0 for op in ops)
            assert batch.version == {
                BS.PLANNED: 0, BS.SCHEDULED: 1, BS.IN_PROGRESS: 2, BS.QUALITY_CHECK: 3,
                BS.COMPLETED: 4, BS.CANCELLED: 1,
            }[batch.status]  # fmt: skip
            units = batch.quantity_planned
            for op in ops:  # in sequence: done ones first, each with what reached it
                if op.status == PS.DONE:
                    assert op.actual_start < op.actual_end <= now
                    assert op.quantity_good + op.quantity_scrap == units
                    units = op.quantity_good
                elif op.status == PS.RUNNING:
                    assert op.actual_start <= now < op.planned_end
                    assert op.actual_end is None
                    assert op.machine.status == Machine.Status.RUNNING
                elif op.status == PS.PENDING and op.machine_id is not None:
                    assert now < op.planned_start < op.planned_end
                    assert op.machine.site_id == batch.site_id
                    assert op.capability in op.machine.capabilities
        for order in Order.objects.for_tenant(tenant).prefetch_related("lines__batches"):
            batches = [b for line in order.lines.all() for b in line.batches.all()]
            status = {b.status for b in batches}
            assert (order.confirmed_at is None) == (order.status == OS.DRAFT or not batches)
            if order.status == OS.DRAFT:
                assert not batches
            if order.status in (OS.READY, OS.SHIPPED):
                assert status == {BS.COMPLETED}
            if order.status == OS.SHIPPED:
                assert order.shipped_at >= max(b.completed_at for b in batches)
            if order.status == OS.IN_PRODUCTION:
                assert any(b.started_at for b in batches)
                assert status != {BS.COMPLETED}
            if order.status == OS.CONFIRMED:
                assert not any(b.started_at for b in batches)
            if order.status == OS.CANCELLED:
                assert order.cancelled_at is not None
                assert status <= {BS.CANCELLED}
            assert order.created_at <= order.updated_at <= now


def test_no_machine_is_double_booked(seeded):
    occupying = 0
    for tenant in _tenants():
        machines = list(Machine.objects.for_tenant(tenant).values_list("pk", flat=True))
        operations_overlap_check(tenant=tenant, machine_ids=machines)  # raises on an overlap
        occupying += (
            BatchOperation.objects.for_tenant(tenant)
            .filter(status__in=[PS.PENDING, PS.RUNNING], machine__isnull=False)
            .count()
        )
        done = BatchOperation.objects.for_tenant(tenant).filter(status=PS.DONE)
        for machine in machines:  # finished work never overlapped either
            spans = list(
                done.filter(machine_id=machine)
                .order_by("actual_start")
                .values_list("actual_start", "actual_end")
            )
            assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    assert occupying > 0


def test_numbers_follow_the_app_formats_and_continue(seeded):
    for tenant in _tenants():
        numbers = list(Order.objects.for_tenant(tenant).values_list("number", flat=True))
        lots = list(Batch.objects.for_tenant(tenant).values_list("lot_code", flat=True))
        assert all(re.fullmatch(r"SO-\d{4}-\d{5}", n) for n in numbers)
        assert all(re.fullmatch(r"L\d{6}-\d{4}", lot) for lot in lots)
        assert order_number_next(actor=system_actor(tenant=tenant)) not in numbers


def test_same_seed_same_data_other_seed_other_data(seeded):
    now = seeded

    seed_scale(tenants=2, orders_per_tenant=30, seed=SEED, prefix="again", now=now, months=2)
    seed_scale(tenants=2, orders_per_tenant=30, seed=SEED, prefix="twice", now=now, months=2)
    seed_scale(tenants=2, orders_per_tenant=30, seed=SEED + 1, prefix="other", now=now, months=2)

    def fingerprint(slug):
        tenant = Tenant.objects.get(slug=slug)
        orders = Order.objects.for_tenant(tenant).order_by("number")
        batches = Batch.objects.for_tenant(tenant).order_by("lot_code")
        operations = BatchOperation.objects.for_tenant(tenant).order_by(
            "batch__lot_code", "sequence"
        )
        return (
            tenant.name,
            list(
                orders.values_list("number", "status", "customer__name", "due_date", "created_at")
            ),
            list(batches.values_list("lot_code", "status", "quantity_good", "quantity_scrap")),
            list(operations.values_list("status", "machine__name", "planned_start", "actual_end")),
        )

    assert fingerprint("again-02") == fingerprint("twice-02")
    assert fingerprint("again-02") != fingerprint("other-02")


def test_a_second_run_with_the_same_prefix_is_refused_and_writes_nothing(seeded):
    before = _everything()

    with pytest.raises(CommandError, match="exist already"):
        call_command("seed_scale", tenants=5, orders_per_tenant=10, verbosity=0)

    assert _everything() == before


@pytest.mark.parametrize(
    "options",
    [{"months": 0}, {"tenants": 0}, {"prefix": "Not A Slug"}, {"orders_per_tenant": 200_000}],
)
def test_bad_options_are_refused(seeded, options):
    before = _everything()
    kwargs = {"tenants": 2, "orders_per_tenant": 5, "prefix": "bad", **options}

    with pytest.raises(CommandError):
        call_command("seed_scale", verbosity=0, **kwargs)

    assert _everything() == before


@pytest.mark.parametrize(
    "url",
    [
        "orders:order-list",
        "production:batch-board",
        "machines:machine-list",
        "scheduling:plan",
        "audit:event-list",
        "home",
    ],
)
def test_pages_answer_for_the_owner(seeded, client, url):
    client.force_login(get_user_model().objects.get(username="owner@scale-01.test"))

    response = client.get(reverse(url), follow=True)  # the plan goes on to its first site

    assert response.status_code == 200


def test_orders_page_and_api_show_the_tenants_orders(seeded, client):
    tenant = _tenants()[0]
    owner = get_user_model().objects.get(username="owner@scale-01.test")
    newest = Order.objects.for_tenant(tenant).order_by("-created_at", "-id").first()
    client.force_login(owner)
    api = APIClient()
    api.force_login(owner)

    page = client.get(reverse("orders:order-list"))
    detail = client.get(reverse("orders:order-detail", args=[newest.pk]))
    listed = api.get("/api/v1/orders/")

    assert page.status_code == detail.status_code == listed.status_code == 200
    assert newest.number in page.text
    assert listed.json()["count"] == Order.objects.for_tenant(tenant).count()


def test_the_scheduler_and_the_services_accept_the_data(seeded):
    tenant = _tenants()[0]
    actor = system_actor(tenant=tenant)
    draft = Order.objects.for_tenant(tenant).filter(status=OS.DRAFT).first()
    site = Site.objects.for_tenant(tenant).order_by("pk").first()
    if draft is not None:
        order_confirm(actor=actor, order=draft)  # lot codes continue after the seeded ones
        site = draft.site

    run = schedule_run_execute(
        run=ScheduleRun.objects.create(tenant=tenant, site=site), time_limit=1
    )

    assert run.status == ScheduleRun.Status.SUCCEEDED, run.error
    machines = Machine.objects.for_tenant(tenant).values_list("pk", flat=True)
    operations_overlap_check(tenant=tenant, machine_ids=machines)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)  # last in this module: its flush empties the database
def test_jobs_write_tenants_in_parallel_processes(seeded):
    result = seed_scale(tenants=3, orders_per_tenant=12, seed=SEED, prefix="forked", jobs=2)

    assert sorted(t.slug for t in result.tenants) == ["forked-01", "forked-02", "forked-03"]
    for slug, size in zip(
        ["forked-01", "forked-02", "forked-03"], tenant_sizes(3, 12), strict=True
    ):
        tenant = Tenant.objects.get(slug=slug)
        assert Order.objects.for_tenant(tenant).count() == size
    assert result.counts["orders.Order"] == 36

"""factory-boy factories for every concrete model, plus a few helpers that build realistic data.

Tenant-owned factories take `tenant` and hand it down to every related row they create
(`factory.SelfAttribute("..tenant")`), so one `tenant=` argument keeps a whole object graph in
one tenant. Passing a related object of another tenant is refused at build time: the data a test
starts from must be data the services could have produced.

Tenant-owned querysets fail closed, so the factories never query: `DjangoModelFactory._create`
uses `manager.create(...)` and no factory uses `django_get_or_create`.
"""

import hashlib
import secrets
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone
from factory.django import DjangoModelFactory

from mfapp.audit.models import AuditEvent
from mfapp.catalog.capabilities import Capability
from mfapp.catalog.models import BomLine, Material, Product, RoutingStep
from mfapp.core.models import TenantScopedModel
from mfapp.integrations.models import (
    IdempotencyRecord,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from mfapp.machines.models import EnergyReading, Machine, MaintenanceWindow
from mfapp.orders.models import Customer, Order, OrderLine
from mfapp.production.models import Batch, BatchOperation, MaterialConsumption, QualityCheck
from mfapp.scheduling.models import ScheduleRun
from mfapp.sustainability.models import (
    EmissionFactor,
    FactorOverride,
    SustainabilityReport,
    SustainabilitySettings,
)
from mfapp.tenancy.actors import Actor
from mfapp.tenancy.models import ApiKey, Membership, Site, Tenant
from mfapp.tenancy.selectors import actor_for_member

User = get_user_model()
M = TypeVar("M", bound=TenantScopedModel)
DEFAULT_PASSWORD = "correct-horse-battery-staple"


def _same_tenant(tenant_id: int | None, **related: Any) -> None:
    for name, value in related.items():
        if isinstance(value, TenantScopedModel) and value.tenant_id != tenant_id:
            raise ValueError(
                f"{name} belongs to tenant {value.tenant_id}, not {tenant_id}: pass tenant= "
                "explicitly so every related row shares it."
            )


class TenantScopedFactory(DjangoModelFactory[M]):
    """Base for tenant-owned models: refuses related rows of another tenant."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class: type, *args: Any, **kwargs: Any) -> Any:
        tenant = kwargs.get("tenant")
        _same_tenant(getattr(tenant, "pk", None), **kwargs)
        return super()._create(model_class, *args, **kwargs)


# --- tenancy ---------------------------------------------------------------------------------
class TenantFactory(DjangoModelFactory[Tenant]):
    class Meta:
        model = Tenant

    slug = factory.Sequence(lambda n: f"tenant-{n}")
    name = factory.Sequence(lambda n: f"Tenant {n}")
    country = "DE"
    timezone = "Europe/Berlin"
    currency = "EUR"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    username = factory.SelfAttribute("email")
    password = factory.django.Password(DEFAULT_PASSWORD)


class SiteFactory(TenantScopedFactory[Site]):
    class Meta:
        model = Site

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Site {n}")
    country = "DE"
    timezone = "Europe/Berlin"


class MembershipFactory(TenantScopedFactory[Membership]):
    class Meta:
        model = Membership

    tenant = factory.SubFactory(TenantFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.OPERATOR


def hash_api_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


class ApiKeyFactory(TenantScopedFactory[ApiKey]):
    """`ApiKeyFactory(raw_key=...)` or read the generated secret from `.raw_key` afterwards."""

    class Meta:
        model = ApiKey

    class Params:
        secret = factory.LazyFunction(lambda: secrets.token_urlsafe(32))

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Integration {n}")
    prefix = factory.LazyFunction(lambda: secrets.token_hex(4))
    raw_key = factory.LazyAttribute(lambda o: f"mfk_{o.prefix}_{o.secret}")
    hashed_key = factory.LazyAttribute(lambda o: hash_api_key(o.raw_key))
    read_only = False

    @classmethod
    def _create(cls, model_class: type, *args: Any, **kwargs: Any) -> ApiKey:
        raw_key = kwargs.pop("raw_key")
        api_key = super()._create(model_class, *args, **kwargs)
        api_key.raw_key = raw_key  # not a field: the secret exists only in the test
        return api_key

    @classmethod
    def _build(cls, model_class: type, *args: Any, **kwargs: Any) -> ApiKey:
        raw_key = kwargs.pop("raw_key")
        api_key = super()._build(model_class, *args, **kwargs)
        api_key.raw_key = raw_key
        return api_key


# --- audit -----------------------------------------------------------------------------------
class AuditEventFactory(TenantScopedFactory[AuditEvent]):
    class Meta:
        model = AuditEvent

    tenant = factory.SubFactory(TenantFactory)
    actor_label = "system"
    verb = "test.recorded"
    target_type = "tenancy.tenant"
    target_id = factory.SelfAttribute("tenant.pk")
    target_repr = factory.SelfAttribute("tenant.name")


# --- catalog ---------------------------------------------------------------------------------
class MaterialFactory(TenantScopedFactory[Material]):
    class Meta:
        model = Material

    tenant = factory.SubFactory(TenantFactory)
    code = factory.Sequence(lambda n: f"MAT-{n:04}")
    name = factory.Sequence(lambda n: f"PLA filament {n}")
    unit = Material.Unit.KG
    emission_factor_key = "pla"
    unit_cost = Decimal("20.00")
    stock_on_hand = Decimal("100.000")


class ProductFactory(TenantScopedFactory[Product]):
    class Meta:
        model = Product

    tenant = factory.SubFactory(TenantFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:05}")
    name = factory.Sequence(lambda n: f"Bracket {n}")
    unit_price = Decimal("12.50")
    unit_mass_kg = Decimal("0.120")
    max_batch_size = None


class BomLineFactory(TenantScopedFactory[BomLine]):
    class Meta:
        model = BomLine

    tenant = factory.SubFactory(TenantFactory)
    product = factory.SubFactory(ProductFactory, tenant=factory.SelfAttribute("..tenant"))
    material = factory.SubFactory(MaterialFactory, tenant=factory.SelfAttribute("..tenant"))
    quantity_per_unit = Decimal("0.1500")


class RoutingStepFactory(TenantScopedFactory[RoutingStep]):
    class Meta:
        model = RoutingStep

    tenant = factory.SubFactory(TenantFactory)
    product = factory.SubFactory(ProductFactory, tenant=factory.SelfAttribute("..tenant"))
    sequence = factory.Sequence(lambda n: (n + 1) * 10)
    name = factory.Sequence(lambda n: f"Step {n}")
    capability = Capability.FDM_PRINT
    setup_minutes = Decimal("5.00")
    run_minutes_per_unit = Decimal("12.00")


# --- machines --------------------------------------------------------------------------------
class MachineFactory(TenantScopedFactory[Machine]):
    class Meta:
        model = Machine

    tenant = factory.SubFactory(TenantFactory)
    site = factory.SubFactory(SiteFactory, tenant=factory.SelfAttribute("..tenant"))
    name = factory.Sequence(lambda n: f"Printer {n}")
    kind = Machine.Kind.FDM_PRINTER
    capabilities = factory.LazyFunction(lambda: [Capability.FDM_PRINT.value])
    rated_power_running_kw = Decimal("0.250")
    rated_power_idle_kw = Decimal("0.010")
    status = Machine.Status.AVAILABLE


class MaintenanceWindowFactory(TenantScopedFactory[MaintenanceWindow]):
    class Meta:
        model = MaintenanceWindow

    tenant = factory.SubFactory(TenantFactory)
    machine = factory.SubFactory(MachineFactory, tenant=factory.SelfAttribute("..tenant"))
    starts_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(hours=2))
    reason = "Nozzle replacement"


# --- orders ----------------------------------------------------------------------------------
class CustomerFactory(TenantScopedFactory[Customer]):
    class Meta:
        model = Customer

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Customer {n}")
    email = factory.Sequence(lambda n: f"buyer{n}@example.com")
    country = "DE"


class OrderFactory(TenantScopedFactory[Order]):
    class Meta:
        model = Order

    tenant = factory.SubFactory(TenantFactory)
    number = factory.Sequence(lambda n: f"SO-TEST-{n:05}")
    customer = factory.SubFactory(CustomerFactory, tenant=factory.SelfAttribute("..tenant"))
    site = factory.SubFactory(SiteFactory, tenant=factory.SelfAttribute("..tenant"))
    status = Order.Status.DRAFT
    due_date = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=14))


class OrderLineFactory(TenantScopedFactory[OrderLine]):
    class Meta:
        model = OrderLine

    tenant = factory.SubFactory(TenantFactory)
    order = factory.SubFactory(OrderFactory, tenant=factory.SelfAttribute("..tenant"))
    product = factory.SubFactory(ProductFactory, tenant=factory.SelfAttribute("..tenant"))
    quantity = 5
    unit_price = factory.SelfAttribute("product.unit_price")


# --- production ------------------------------------------------------------------------------
class BatchFactory(TenantScopedFactory[Batch]):
    class Meta:
        model = Batch

    tenant = factory.SubFactory(TenantFactory)
    lot_code = factory.Sequence(lambda n: f"LOT-{n:05}")
    product = factory.SubFactory(ProductFactory, tenant=factory.SelfAttribute("..tenant"))
    design_revision = factory.SelfAttribute("product.design_revision")
    site = factory.SubFactory(SiteFactory, tenant=factory.SelfAttribute("..tenant"))
    order_line = None
    status = Batch.Status.PLANNED
    quantity_planned = 10


class BatchOperationFactory(TenantScopedFactory[BatchOperation]):
    class Meta:
        model = BatchOperation

    tenant = factory.SubFactory(TenantFactory)
    batch = factory.SubFactory(BatchFactory, tenant=factory.SelfAttribute("..tenant"))
    sequence = factory.Sequence(lambda n: (n + 1) * 10)
    name = factory.Sequence(lambda n: f"Operation {n}")
    capability = Capability.FDM_PRINT
    setup_minutes = Decimal("5.00")
    run_minutes_per_unit = Decimal("12.00")
    status = BatchOperation.Status.PENDING


class QualityCheckFactory(TenantScopedFactory[QualityCheck]):
    class Meta:
        model = QualityCheck

    tenant = factory.SubFactory(TenantFactory)
    batch = factory.SubFactory(BatchFactory, tenant=factory.SelfAttribute("..tenant"))
    characteristic = "hole diameter"
    unit = "mm"
    target = Decimal("5.0000")
    tolerance = Decimal("0.1000")
    measured = Decimal("5.0500")
    passed = factory.LazyAttribute(lambda o: abs(o.measured - o.target) <= o.tolerance)
    checked_at = factory.LazyFunction(timezone.now)


class MaterialConsumptionFactory(TenantScopedFactory[MaterialConsumption]):
    class Meta:
        model = MaterialConsumption

    tenant = factory.SubFactory(TenantFactory)
    batch = factory.SubFactory(BatchFactory, tenant=factory.SelfAttribute("..tenant"))
    material = factory.SubFactory(MaterialFactory, tenant=factory.SelfAttribute("..tenant"))
    quantity = Decimal("1.250")
    material_lot = factory.Sequence(lambda n: f"ML-{n:04}")
    recorded_at = factory.LazyFunction(timezone.now)


class EnergyReadingFactory(TenantScopedFactory[EnergyReading]):
    class Meta:
        model = EnergyReading

    tenant = factory.SubFactory(TenantFactory)
    machine = factory.SubFactory(MachineFactory, tenant=factory.SelfAttribute("..tenant"))
    kind = EnergyReading.Kind.INTERVAL
    recorded_at = factory.Sequence(lambda n: timezone.now() - timedelta(hours=n + 1))
    interval_start = factory.LazyAttribute(lambda o: o.recorded_at - timedelta(hours=1))
    kwh = Decimal("1.2500")


class WebhookEndpointFactory(TenantScopedFactory[WebhookEndpoint]):
    class Meta:
        model = WebhookEndpoint

    tenant = factory.SubFactory(TenantFactory)
    url = factory.Sequence(lambda n: f"http://127.0.0.1:9/hooks/{n}")
    secret = factory.LazyFunction(lambda: f"whsec_{secrets.token_urlsafe(16)}")
    event_types = factory.LazyFunction(lambda: ["order.created"])


class WebhookDeliveryFactory(TenantScopedFactory[WebhookDelivery]):
    class Meta:
        model = WebhookDelivery

    tenant = factory.SubFactory(TenantFactory)
    endpoint = factory.SubFactory(WebhookEndpointFactory, tenant=factory.SelfAttribute("..tenant"))
    event_type = "order.created"
    payload = factory.LazyFunction(lambda: {"type": "order.created", "data": {}})


class WebhookAttemptFactory(TenantScopedFactory[WebhookAttempt]):
    class Meta:
        model = WebhookAttempt

    tenant = factory.SubFactory(TenantFactory)
    delivery = factory.SubFactory(WebhookDeliveryFactory, tenant=factory.SelfAttribute("..tenant"))
    number = factory.Sequence(lambda n: n + 1)
    response_status = 200


class IdempotencyRecordFactory(TenantScopedFactory[IdempotencyRecord]):
    class Meta:
        model = IdempotencyRecord

    tenant = factory.SubFactory(TenantFactory)
    key = factory.Sequence(lambda n: f"key-{n}")
    method = "POST"
    path = "/api/v1/orders/"
    request_hash = "0" * 64
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=48))


# --- scheduling ------------------------------------------------------------------------------
class ScheduleRunFactory(TenantScopedFactory[ScheduleRun]):
    class Meta:
        model = ScheduleRun

    tenant = factory.SubFactory(TenantFactory)
    site = factory.SubFactory(SiteFactory, tenant=factory.SelfAttribute("..tenant"))
    status = ScheduleRun.Status.QUEUED
    trigger = ScheduleRun.Trigger.MANUAL


# --- helpers ---------------------------------------------------------------------------------
def product_with_routing(
    tenant: Tenant,
    steps: Iterable[tuple[str, str | int | Decimal]] = ((Capability.FDM_PRINT, "12"),),
    **product_fields: Any,
) -> Product:
    """A product with routing steps 10, 20, 30 ... of the given (capability, run minutes)."""
    product = ProductFactory(tenant=tenant, **product_fields)
    for index, (capability, run_minutes) in enumerate(steps, start=1):
        RoutingStepFactory(
            tenant=tenant,
            product=product,
            sequence=index * 10,
            name=f"{Capability(capability).label} ({index})",
            capability=capability,
            run_minutes_per_unit=Decimal(str(run_minutes)),
        )
    return product


def order_with_lines(
    tenant: Tenant,
    lines: Iterable[tuple[Product, int]],
    site: Site | None = None,
    **order_fields: Any,
) -> Order:
    """A draft order (or `status=`) at `site` with one line per (product, quantity)."""
    order = OrderFactory(tenant=tenant, site=site or SiteFactory(tenant=tenant), **order_fields)
    for product, quantity in lines:
        OrderLineFactory(tenant=tenant, order=order, product=product, quantity=quantity)
    return order


def machine_for(site: Site, *capabilities: str, **fields: Any) -> Machine:
    """An available machine at `site` able to do `capabilities` (default: FDM printing)."""
    caps = list(capabilities) or [Capability.FDM_PRINT.value]
    return MachineFactory(tenant=site.tenant, site=site, capabilities=caps, **fields)


def factory_for_model() -> dict[type, type[DjangoModelFactory]]:
    """Every concrete factory of this module, by the model it builds."""
    found: dict[type, type[DjangoModelFactory]] = {}
    for value in globals().values():
        if (
            isinstance(value, type)
            and issubclass(value, DjangoModelFactory)
            and not value._meta.abstract
            and value._meta.model is not None
        ):
            found[value._meta.model] = value
    return found


def member_actor(tenant: Tenant, role: str = Membership.Role.MANAGER) -> Actor:
    """A new person with `role` in `tenant`, as the services see them."""
    membership = MembershipFactory(tenant=tenant, role=role)
    return actor_for_member(tenant=tenant, user=membership.user)


def audit_events(
    tenant: Tenant, *, verb: str | None = None, target: Any = None
) -> list[AuditEvent]:
    """The tenant's audit events in the order they were written, optionally filtered."""
    qs = AuditEvent.objects.for_tenant(tenant).order_by("id")
    if verb is not None:
        qs = qs.filter(verb=verb)
    if target is not None:
        qs = qs.filter(target_type=target._meta.label_lower, target_id=target.pk)
    return list(qs)


def audit_count(tenant: Tenant) -> int:
    return AuditEvent.objects.for_tenant(tenant).count()


def run_batch(actor: Actor, batch: Batch, machine: Machine, scrap: int = 0) -> Batch:
    """Start and finish every pending operation of `batch` on `machine` (which must be able
    to do all of them), `scrap` units lost in the first one. The batch ends in quality check."""
    from mfapp.production.services import operation_finish, operation_start

    good = batch.quantity_planned
    for operation in batch.operations.order_by("sequence"):
        operation_start(actor=actor, operation=operation, machine_id=machine.pk)
        good -= scrap
        operation_finish(actor=actor, operation=operation, quantity_good=good, quantity_scrap=scrap)
        scrap = 0
    batch.refresh_from_db()
    return batch


def batch_with_operations(
    tenant: Tenant,
    capabilities: Iterable[str] = (Capability.FDM_PRINT, Capability.FDM_PRINT),
    **batch_fields: Any,
) -> Batch:
    """A batch (planned by default) with pending operations 10, 20 ... of `capabilities`."""
    batch = BatchFactory(tenant=tenant, **batch_fields)
    for index, capability in enumerate(capabilities, start=1):
        BatchOperationFactory(
            tenant=tenant,
            batch=batch,
            sequence=index * 10,
            name=f"{Capability(capability).label} ({index})",
            capability=capability,
        )
    return batch


# --- invitations (appended; the import stays here so this block is self-contained) -------------
from mfapp.tenancy.models import Invitation  # noqa: E402


class InvitationFactory(TenantScopedFactory[Invitation]):
    """A pending invitation; `.raw_token` holds the link's token (only its hash is stored)."""

    class Meta:
        model = Invitation

    tenant = factory.SubFactory(TenantFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@example.com")
    role = Membership.Role.OPERATOR
    raw_token = factory.LazyFunction(lambda: secrets.token_urlsafe(32))
    token_hash = factory.LazyAttribute(lambda o: hash_api_key(o.raw_token))
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))

    @classmethod
    def _create(cls, model_class: type, *args: Any, **kwargs: Any) -> Invitation:
        raw_token = kwargs.pop("raw_token")
        invitation = super()._create(model_class, *args, **kwargs)
        invitation.raw_token = raw_token  # not a field: the token exists only in the test
        return invitation

    @classmethod
    def _build(cls, model_class: type, *args: Any, **kwargs: Any) -> Invitation:
        raw_token = kwargs.pop("raw_token")
        invitation = super()._build(model_class, *args, **kwargs)
        invitation.raw_token = raw_token
        return invitation


# --- sustainability --------------------------------------------------------------------------
class EmissionFactorFactory(DjangoModelFactory[EmissionFactor]):
    class Meta:
        model = EmissionFactor

    kind = "other"
    key = factory.Sequence(lambda n: f"test-factor-{n}")
    value = Decimal("1.000000")
    unit = "kgCO2e/kg"
    year = 2025
    source = "Test factor"


class FactorOverrideFactory(TenantScopedFactory[FactorOverride]):
    class Meta:
        model = FactorOverride

    tenant = factory.SubFactory(TenantFactory)
    kind = FactorOverride.Kind.MATERIAL
    key = factory.Sequence(lambda n: f"material-{n}")
    site = None
    value = Decimal("2.500000")
    unit = "kgCO2e/kg"
    year = 2025
    source = "Supplier EPD"


class SustainabilitySettingsFactory(TenantScopedFactory[SustainabilitySettings]):
    class Meta:
        model = SustainabilitySettings

    tenant = factory.SubFactory(TenantFactory)
    delivery_mode = "van_diesel"
    road_factor = Decimal("1.30")
    baseline_description = "Made in Shenzhen, shipped by sea to Hamburg, then trucked"
    baseline_legs = factory.LazyFunction(
        lambda: [{"mode": "sea_container", "km": 19000}, {"mode": "hgv_artic", "km": 700}]
    )


class SustainabilityReportFactory(TenantScopedFactory[SustainabilityReport]):
    class Meta:
        model = SustainabilityReport

    tenant = factory.SubFactory(TenantFactory)
    site = None
    period_start = factory.Sequence(lambda n: date(2025, 1, 1) + timedelta(days=n))
    period_end = factory.LazyAttribute(lambda o: o.period_start + timedelta(days=30))
    status = SustainabilityReport.Status.SUCCEEDED
    progress = 100
    data = factory.LazyFunction(
        lambda: {"schema": "mfapp.sustainability.report/1", "totals": {"total_kgco2e": 1.5}}
    )

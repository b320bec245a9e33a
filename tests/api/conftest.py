"""What the API-wide tests share: every route of /api/v1/ read from the URL resolver, the model
behind each route, a builder per (route, action) that makes a target object in a state where the
action succeeds plus a plausible body, clients for every kind of caller, and a snapshot of every
tenant-owned row.

A route added to the API without an entry here makes the walks fail (never silently skip), so a
new endpoint cannot escape the isolation and role tests."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.apps import apps
from django.db import connection, models
from django.urls import URLResolver, get_resolver, reverse
from django.utils import timezone
from django.utils.text import capfirst
from rest_framework.test import APIClient

from mfapp.catalog.models import BomLine, Material, Product, RoutingStep
from mfapp.core.models import TenantScopedModel
from mfapp.integrations.models import WebhookDelivery, WebhookEndpoint
from mfapp.machines.models import EnergyReading, Machine, MaintenanceWindow
from mfapp.orders.models import Customer, Order
from mfapp.production.models import Batch, BatchOperation, MaterialConsumption, QualityCheck
from mfapp.scheduling.models import ScheduleRun
from mfapp.sustainability.models import SustainabilityReport
from mfapp.tenancy.models import ApiKey, Membership, Site, Tenant
from tests.factories import (
    ApiKeyFactory,
    BatchFactory,
    BatchOperationFactory,
    BomLineFactory,
    CustomerFactory,
    EnergyReadingFactory,
    MachineFactory,
    MaintenanceWindowFactory,
    MaterialConsumptionFactory,
    MaterialFactory,
    MembershipFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    QualityCheckFactory,
    RoutingStepFactory,
    ScheduleRunFactory,
    SiteFactory,
    SustainabilityReportFactory,
    WebhookDeliveryFactory,
    WebhookEndpointFactory,
    batch_with_operations,
    machine_for,
    product_with_routing,
)

API_NAMESPACE = "api"
MISSING_ID = 999_999_999
B = Batch.Status
O = BatchOperation.Status  # noqa: E741
T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)  # meter readings: a fixed past hour


# --- the routes --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Route:
    """One (URL pattern, HTTP method) of /api/v1/, as the router registered it."""

    name: str  # URL name, e.g. "order-confirm"
    basename: str  # router basename, e.g. "order"
    action: str  # viewset action, e.g. "confirm", "partial_update"
    method: str  # "GET", "POST", "PATCH", "DELETE"
    detail: bool  # has a {pk}

    @property
    def id(self) -> str:
        return f"{self.method} {self.name}"

    @property
    def is_write(self) -> bool:
        return self.method != "GET"

    def url(self, pk: int | None = None) -> str:
        kwargs = {"pk": pk} if self.detail else {}
        return reverse(f"{API_NAMESPACE}:{self.name}", kwargs=kwargs)

    @property
    def success_status(self) -> int:
        """What a call that works answers (a Target may say otherwise, e.g. 202 Accepted)."""
        if self.action in ("create", "bulk"):
            return 201
        if self.action == "destroy":
            return 204
        return 200


def _api_resolver() -> URLResolver:
    for pattern in get_resolver().url_patterns:
        if isinstance(pattern, URLResolver) and pattern.namespace == API_NAMESPACE:
            assert str(pattern.pattern) == "api/v1/", pattern.pattern
            return pattern
    raise AssertionError("no URL namespace 'api' under /api/v1/ in the root URLconf")


def api_routes() -> list[Route]:
    """Every (pattern, method) under /api/v1/, from the resolver itself."""
    routes = []
    for pattern in _api_resolver().url_patterns:
        callback = pattern.callback
        actions: dict[str, str] = callback.actions  # set by the router's as_view(actions)
        basename = callback.initkwargs["basename"]
        detail = callback.initkwargs["detail"]
        assert detail == ("pk" in pattern.pattern.regex.groupindex), pattern
        for method, action in sorted(actions.items()):
            routes.append(Route(pattern.name, basename, action, method.upper(), detail))
    assert routes, "the resolver lists no API routes"
    return sorted(routes, key=lambda route: (route.name, route.method))


ROUTES = api_routes()

# The model each router basename serves: its 404 message is "<verbose name> not found.".
BASENAME_MODEL: dict[str, type[models.Model]] = {
    "site": Site,
    "material": Material,
    "product": Product,
    "routing-step": RoutingStep,
    "bom-line": BomLine,
    "machine": Machine,
    "maintenance-window": MaintenanceWindow,
    "energy-reading": EnergyReading,
    "customer": Customer,
    "order": Order,
    "batch": Batch,
    "operation": BatchOperation,
    "quality-check": QualityCheck,
    "material-consumption": MaterialConsumption,
    "webhook-endpoint": WebhookEndpoint,
    "webhook-delivery": WebhookDelivery,
    "schedule-run": ScheduleRun,
    "sustainability-report": SustainabilityReport,
}


def model_for(route: Route) -> type[models.Model]:
    if route.basename not in BASENAME_MODEL:
        pytest.fail(
            f"route {route.id} (basename {route.basename!r}) has no model in "
            "tests/api/conftest.py BASENAME_MODEL: add it so the API walks cover it"
        )
    return BASENAME_MODEL[route.basename]


def not_found_body(model: type[models.Model]) -> dict[str, Any]:
    return {"message": f"{capfirst(model._meta.verbose_name)} not found.", "extra": {}}


# --- targets: an object in a state where the action succeeds, and a plausible body -----------
@dataclass
class Target:
    obj: models.Model | None = None  # the {pk} of a detail route
    body: dict[str, Any] | None = None
    status: int | None = None  # when the call that works answers other than success_status

    @property
    def pk(self) -> int | None:
        return None if self.obj is None else self.obj.pk


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _in_progress_batch(tenant: Tenant) -> Batch:
    return batch_with_operations(tenant, ["fdm-print"], status=B.IN_PROGRESS, quantity_planned=10)


def _operation(tenant: Tenant, status: str, machine_status: str) -> BatchOperation:
    """The one operation of an in-progress batch, on a machine of the batch's site."""
    batch = _in_progress_batch(tenant)
    machine = machine_for(batch.site, status=machine_status)
    operation = batch.operations.get()
    operation.status, operation.machine = status, machine
    operation.save(update_fields=["status", "machine"])
    return operation


def _pending_operation(tenant: Tenant) -> Target:
    batch = batch_with_operations(tenant, ["fdm-print"])
    machine = machine_for(batch.site)
    return Target(batch.operations.get(), {"machine_id": machine.pk})


def _schedulable_batch(tenant: Tenant) -> Batch:
    batch = BatchFactory(tenant=tenant)
    BatchOperationFactory(tenant=tenant, batch=batch, machine=machine_for(batch.site))
    return batch


def _batch_done_operations(tenant: Tenant) -> Batch:
    batch = BatchFactory(tenant=tenant, status=B.IN_PROGRESS, started_at=timezone.now())
    BatchOperationFactory(tenant=tenant, batch=batch, status=O.DONE, quantity_good=10)
    return batch


def _confirmable_order(tenant: Tenant) -> Order:
    order = OrderFactory(tenant=tenant)
    OrderLineFactory(tenant=tenant, order=order, product=product_with_routing(tenant))
    return order


def _reading(machine: Machine, hour: int) -> dict[str, Any]:
    end = T0 + timedelta(hours=hour)
    return {
        "machine_id": machine.pk,
        "kind": "interval",
        "kwh": "1.2500",
        "recorded_at": _iso(end),
        "interval_start": _iso(end - timedelta(hours=1)),
    }


def _window(machine: Machine) -> dict[str, Any]:
    start = (timezone.now() + timedelta(days=30)).replace(microsecond=0)
    return {
        "machine_id": machine.pk,
        "starts_at": _iso(start),
        "ends_at": _iso(start + timedelta(hours=2)),
        "reason": "Belt replacement",
    }


def _quality_check(batch: Batch) -> dict[str, Any]:
    return {
        "batch_id": batch.pk,
        "characteristic": "hole diameter",
        "target": "5.0000",
        "tolerance": "0.1000",
        "measured": "5.0200",
        "unit": "mm",
    }


def _order(tenant: Tenant) -> dict[str, Any]:
    return {
        "customer_id": CustomerFactory(tenant=tenant).pk,
        "site_id": SiteFactory(tenant=tenant).pk,
        "due_date": str(timezone.localdate() + timedelta(days=21)),
        "lines": [{"product_id": ProductFactory(tenant=tenant).pk, "quantity": 2}],
    }


def _report_period(tenant: Tenant) -> dict[str, Any]:
    end = timezone.localdate() - timedelta(days=1)
    return {
        "start": str(end - timedelta(days=29)),
        "end": str(end),
        "site_id": SiteFactory(tenant=tenant).pk,
    }


Builder = Callable[[Tenant], Target]

# (basename, action) -> a builder for that tenant. Every route's action needs one.
TARGETS: dict[tuple[str, str], Builder] = {
    # sites
    ("site", "list"): lambda t: Target(),
    ("site", "create"): lambda t: Target(body={"name": "Plant 2", "country": "AT"}),
    ("site", "retrieve"): lambda t: Target(SiteFactory(tenant=t)),
    ("site", "partial_update"): lambda t: Target(SiteFactory(tenant=t), {"name": "Renamed"}),
    ("site", "destroy"): lambda t: Target(SiteFactory(tenant=t)),
    # materials
    ("material", "list"): lambda t: Target(),
    ("material", "create"): lambda t: Target(
        body={"code": "PETG-1", "name": "PETG black", "unit": "kg", "unit_cost": "18.00"}
    ),
    ("material", "retrieve"): lambda t: Target(MaterialFactory(tenant=t)),
    ("material", "partial_update"): lambda t: Target(
        MaterialFactory(tenant=t), {"name": "PLA white"}
    ),
    ("material", "destroy"): lambda t: Target(MaterialFactory(tenant=t)),
    ("material", "adjust_stock"): lambda t: Target(
        MaterialFactory(tenant=t), {"delta": "5.000", "reason": "Goods receipt"}
    ),
    # products
    ("product", "list"): lambda t: Target(),
    ("product", "create"): lambda t: Target(
        body={"sku": "NEW-1", "name": "Hinge", "unit_price": "4.20"}
    ),
    ("product", "retrieve"): lambda t: Target(ProductFactory(tenant=t)),
    ("product", "partial_update"): lambda t: Target(ProductFactory(tenant=t), {"name": "Hinge"}),
    ("product", "destroy"): lambda t: Target(ProductFactory(tenant=t)),
    # routing steps
    ("routing-step", "list"): lambda t: Target(),
    ("routing-step", "create"): lambda t: Target(
        body={
            "product_id": ProductFactory(tenant=t).pk,
            "material_id": MaterialFactory(tenant=t).pk,
            "name": "Print",
            "capability": "fdm-print",
            "run_minutes_per_unit": "3.00",
        }
    ),
    ("routing-step", "retrieve"): lambda t: Target(RoutingStepFactory(tenant=t)),
    ("routing-step", "partial_update"): lambda t: Target(
        RoutingStepFactory(tenant=t), {"name": "Print slower"}
    ),
    ("routing-step", "destroy"): lambda t: Target(RoutingStepFactory(tenant=t)),
    # BOM lines
    ("bom-line", "list"): lambda t: Target(),
    ("bom-line", "create"): lambda t: Target(
        body={
            "product_id": ProductFactory(tenant=t).pk,
            "material_id": MaterialFactory(tenant=t).pk,
            "quantity_per_unit": "0.5000",
        }
    ),
    ("bom-line", "retrieve"): lambda t: Target(BomLineFactory(tenant=t)),
    ("bom-line", "partial_update"): lambda t: Target(
        BomLineFactory(tenant=t), {"quantity_per_unit": "0.2500"}
    ),
    ("bom-line", "destroy"): lambda t: Target(BomLineFactory(tenant=t)),
    # machines
    ("machine", "list"): lambda t: Target(),
    ("machine", "create"): lambda t: Target(
        body={
            "site_id": SiteFactory(tenant=t).pk,
            "name": "Printer 9",
            "kind": "fdm-printer",
            "capabilities": ["fdm-print"],
            "rated_power_running_kw": "0.300",
            "rated_power_idle_kw": "0.010",
        }
    ),
    ("machine", "retrieve"): lambda t: Target(MachineFactory(tenant=t)),
    ("machine", "partial_update"): lambda t: Target(MachineFactory(tenant=t), {"name": "P-2"}),
    ("machine", "destroy"): lambda t: Target(MachineFactory(tenant=t)),
    ("machine", "change_status"): lambda t: Target(
        MachineFactory(tenant=t), {"status": "down", "reason": "Nozzle clogged"}
    ),
    # maintenance windows
    ("maintenance-window", "list"): lambda t: Target(),
    ("maintenance-window", "create"): lambda t: Target(body=_window(MachineFactory(tenant=t))),
    ("maintenance-window", "retrieve"): lambda t: Target(MaintenanceWindowFactory(tenant=t)),
    ("maintenance-window", "destroy"): lambda t: Target(MaintenanceWindowFactory(tenant=t)),
    # energy readings
    ("energy-reading", "list"): lambda t: Target(),
    ("energy-reading", "create"): lambda t: Target(body=_reading(MachineFactory(tenant=t), 0)),
    ("energy-reading", "bulk"): lambda t: Target(
        body={"readings": [_reading(MachineFactory(tenant=t), hour) for hour in (0, 1)]}
    ),
    ("energy-reading", "retrieve"): lambda t: Target(EnergyReadingFactory(tenant=t)),
    # customers
    ("customer", "list"): lambda t: Target(),
    ("customer", "create"): lambda t: Target(
        body={"name": "Initech", "email": "buy@initech.example", "country": "FR"}
    ),
    ("customer", "retrieve"): lambda t: Target(CustomerFactory(tenant=t)),
    ("customer", "partial_update"): lambda t: Target(CustomerFactory(tenant=t), {"phone": "+49"}),
    ("customer", "destroy"): lambda t: Target(CustomerFactory(tenant=t)),
    # orders
    ("order", "list"): lambda t: Target(),
    ("order", "create"): lambda t: Target(body=_order(t)),
    ("order", "retrieve"): lambda t: Target(OrderFactory(tenant=t)),
    ("order", "partial_update"): lambda t: Target(OrderFactory(tenant=t), {"notes": "Rush"}),
    ("order", "destroy"): lambda t: Target(OrderFactory(tenant=t)),
    ("order", "confirm"): lambda t: Target(_confirmable_order(t)),
    ("order", "cancel"): lambda t: Target(OrderFactory(tenant=t), {"reason": "Withdrawn"}),
    ("order", "ship"): lambda t: Target(OrderFactory(tenant=t, status=Order.Status.READY)),
    ("order", "lines"): lambda t: Target(
        OrderFactory(tenant=t), {"product_id": ProductFactory(tenant=t).pk, "quantity": 3}
    ),
    # batches
    ("batch", "list"): lambda t: Target(),
    ("batch", "create"): lambda t: Target(
        body={
            "product_id": product_with_routing(t).pk,
            "site_id": SiteFactory(tenant=t).pk,
            "quantity": 5,
        }
    ),
    ("batch", "retrieve"): lambda t: Target(BatchFactory(tenant=t)),
    ("batch", "schedule"): lambda t: Target(_schedulable_batch(t)),
    ("batch", "start"): lambda t: Target(batch_with_operations(t)),
    ("batch", "submit_for_quality_check"): lambda t: Target(_batch_done_operations(t)),
    ("batch", "complete"): lambda t: Target(BatchFactory(tenant=t, status=B.QUALITY_CHECK)),
    ("batch", "cancel"): lambda t: Target(batch_with_operations(t), {"reason": "Obsolete"}),
    # operations
    ("operation", "list"): lambda t: Target(),
    ("operation", "retrieve"): lambda t: Target(BatchOperationFactory(tenant=t)),
    ("operation", "start"): _pending_operation,
    ("operation", "pause"): lambda t: Target(
        _operation(t, O.RUNNING, Machine.Status.RUNNING), {"reason": "Shift end"}
    ),
    ("operation", "resume"): lambda t: Target(_operation(t, O.PAUSED, Machine.Status.AVAILABLE)),
    ("operation", "finish"): lambda t: Target(
        _operation(t, O.RUNNING, Machine.Status.RUNNING), {"quantity_good": 9, "quantity_scrap": 1}
    ),
    # quality checks
    ("quality-check", "list"): lambda t: Target(),
    ("quality-check", "create"): lambda t: Target(body=_quality_check(_in_progress_batch(t))),
    ("quality-check", "retrieve"): lambda t: Target(QualityCheckFactory(tenant=t)),
    # material consumption
    ("material-consumption", "list"): lambda t: Target(),
    ("material-consumption", "create"): lambda t: Target(
        body={
            "batch_id": _in_progress_batch(t).pk,
            "material_id": MaterialFactory(tenant=t).pk,
            "quantity": "1.250",
            "material_lot": "LOT-7",
        }
    ),
    ("material-consumption", "retrieve"): lambda t: Target(MaterialConsumptionFactory(tenant=t)),
    # webhooks
    ("webhook-endpoint", "list"): lambda t: Target(),
    ("webhook-endpoint", "create"): lambda t: Target(
        body={"url": "http://127.0.0.1:9/erp", "event_types": ["order.created"]}
    ),
    ("webhook-endpoint", "retrieve"): lambda t: Target(WebhookEndpointFactory(tenant=t)),
    ("webhook-endpoint", "partial_update"): lambda t: Target(
        WebhookEndpointFactory(tenant=t), {"description": "ERP"}
    ),
    ("webhook-endpoint", "destroy"): lambda t: Target(WebhookEndpointFactory(tenant=t)),
    ("webhook-endpoint", "rotate_secret"): lambda t: Target(WebhookEndpointFactory(tenant=t)),
    ("webhook-delivery", "list"): lambda t: Target(),
    ("webhook-delivery", "retrieve"): lambda t: Target(WebhookDeliveryFactory(tenant=t)),
    ("webhook-delivery", "redeliver"): lambda t: Target(
        WebhookDeliveryFactory(tenant=t, status=WebhookDelivery.Status.FAILED, attempt_count=8)
    ),
    # schedule runs: a re-plan is queued (202) and runs in the background
    ("schedule-run", "list"): lambda t: Target(),
    ("schedule-run", "create"): lambda t: Target(
        body={"site_id": SiteFactory(tenant=t).pk}, status=202
    ),
    ("schedule-run", "retrieve"): lambda t: Target(ScheduleRunFactory(tenant=t)),
    ("schedule-run", "plan"): lambda t: Target(ScheduleRunFactory(tenant=t)),
    # sustainability reports: queued (202) and computed in the background
    ("sustainability-report", "list"): lambda t: Target(),
    ("sustainability-report", "create"): lambda t: Target(body=_report_period(t), status=202),
    ("sustainability-report", "retrieve"): lambda t: Target(SustainabilityReportFactory(tenant=t)),
}


def build_target(route: Route, tenant: Tenant) -> Target:
    builder = TARGETS.get((route.basename, route.action))
    if builder is None:
        pytest.fail(
            f"route {route.id} (action {route.action!r}) has no target builder in "
            "tests/api/conftest.py TARGETS: add one so the API walks cover it"
        )
    target = builder(tenant)
    if target.status is None:
        target.status = route.success_status
    if route.detail:
        assert isinstance(target.obj, model_for(route)), (route.id, target.obj)
        assert target.obj.tenant_id == tenant.pk
    return target


def call(client: APIClient, route: Route, pk: int | None = None, body: Any = None) -> Any:
    handler = getattr(client, route.method.lower())
    if route.method in ("POST", "PATCH"):
        return handler(route.url(pk), body if body is not None else {}, format="json")
    return handler(route.url(pk))


# --- callers -----------------------------------------------------------------------------------
def key_client(tenant: Tenant, *, read_only: bool = False) -> tuple[APIClient, ApiKey]:
    api_key = ApiKeyFactory(tenant=tenant, read_only=read_only)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key.raw_key}")
    return client, api_key


def member_client(tenant: Tenant, role: str) -> APIClient:
    client = APIClient()
    client.force_login(MembershipFactory(tenant=tenant, role=role).user)
    return client


# --- the state of the database -----------------------------------------------------------------
def tenant_models() -> list[type[TenantScopedModel]]:
    return [model for model in apps.get_models() if issubclass(model, TenantScopedModel)]


def _table_rows(model: type[models.Model]) -> list[dict[str, Any]]:
    # Plain SQL: no ORM compile per table, so a snapshot stays cheap enough to take on every
    # one of the hundreds of calls below. Values as the database returns them.
    quote = connection.ops.quote_name
    table, pk = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {quote(table)} ORDER BY {quote(pk)}")  # noqa: S608
        columns = [column[0] for column in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def snapshot(caller_key: ApiKey | None = None) -> dict[str, list[dict[str, Any]]]:
    """Every row of every tenant-owned model of every tenant (as
    `Model.objects.all_tenants()` would list them), plus the tenants themselves. The caller's own
    key is touched by authenticating (last_used_at), so that is left out."""
    rows = {"tenancy.Tenant": _table_rows(Tenant)}
    for model in tenant_models():
        values = _table_rows(model)
        if model is ApiKey and caller_key is not None:
            for row in values:
                if row["id"] == caller_key.pk:
                    row.pop("last_used_at")
                    row.pop("updated_at")
        rows[model._meta.label] = values
    return rows


def assert_unchanged(before: dict[str, list[dict[str, Any]]], after: dict[str, Any]) -> None:
    changed = [label for label in before if before[label] != after.get(label)]
    assert not changed, f"rows changed in {changed}: " + "; ".join(
        f"{label}: {before[label]} -> {after.get(label)}" for label in changed
    )


ROLES = [role.value for role in Membership.Role]

"""The role matrix walked at the service layer: every action of
`mfapp.tenancy.permissions.PERMISSIONS` with every role. The pages and the API call these
same services.

For each (action, role), a representative service that requires the action is called with an
Actor of that role:
- an allowed role succeeds;
- a refused role gets PermissionDenied with the exact message, and no tenant row changes.

The meta-checks keep this honest:
- every permission has a representative, and that representative really checks it;
- the table in docs/security.md is what `tests/tenancy/role_matrix_doc.py` renders from the
  code."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from mfapp.core.exceptions import PermissionDenied
from mfapp.tenancy.actors import Actor
from mfapp.tenancy.models import Membership, Tenant
from mfapp.tenancy.permissions import INTEGRATION, INTEGRATION_READ, PERMISSIONS, SYSTEM
from mfapp.tenancy.selectors import system_actor
from tests.api.conftest import assert_unchanged, snapshot
from tests.factories import (
    ApiKeyFactory,
    MembershipFactory,
    SiteFactory,
    batch_with_operations,
    machine_for,
    member_actor,
    product_with_routing,
)
from tests.tenancy import role_matrix_doc

Role = Membership.Role
ROLES = [*(role.value for role in Role), INTEGRATION, INTEGRATION_READ, SYSTEM]


def _actor(tenant: Tenant, role: str) -> Actor:
    if role == SYSTEM:
        return system_actor(tenant=tenant)
    if role in (INTEGRATION, INTEGRATION_READ):
        key = ApiKeyFactory(tenant=tenant, read_only=role == INTEGRATION_READ)
        return Actor(tenant=tenant, role=role, api_key=key)
    return member_actor(tenant, role)


@dataclass(frozen=True)
class Representative:
    """`service` is "module.function" under mfapp/; `prepare(tenant)` builds what the call
    needs and returns `call(actor)`."""

    service: str
    prepare: Callable[[Tenant], Callable[[Actor], Any]]


def _read_check(action: str) -> Callable[[Tenant], Callable[[Actor], Any]]:
    # No service checks the read actions (docs/security.md, "Role matrix"): the pages check
    # them in `member_view` and `can`, the same `has_permission` this calls.
    from mfapp.core.web import can

    def prepare(tenant: Tenant) -> Callable[[Actor], Any]:
        def call(actor: Actor) -> Any:
            if not can(SimpleNamespace(actor=actor), action):  # type: ignore[arg-type]
                raise PermissionDenied(
                    f"Your role ({actor.role}) does not allow this action ({action})."
                )
            return True

        return call

    return prepare


def _tenant_manage(tenant: Tenant) -> Callable[[Actor], Any]:
    from mfapp.sustainability.services import sustainability_settings_update

    return lambda actor: sustainability_settings_update(
        actor=actor, default_product_mass_kg=Decimal("0.75")
    )


def _members_manage(tenant: Tenant) -> Callable[[Actor], Any]:
    from mfapp.tenancy.services import membership_update_role

    target = MembershipFactory(tenant=tenant, role=Role.VIEWER)
    return lambda actor: membership_update_role(actor=actor, membership=target, role=Role.OPERATOR)


def _api_keys_manage(tenant: Tenant) -> Callable[[Actor], Any]:
    from mfapp.tenancy.services import api_key_create

    return lambda actor: api_key_create(actor=actor, name="Matrix key")


def _sites_manage(tenant: Tenant) -> Callable[[Actor], Any]:
    from mfapp.tenancy.services import site_create

    return lambda actor: site_create(actor=actor, name="Matrix site", country="DE")


def _catalog_manage(tenant: Tenant) -> Callable[[Actor], Any]:
    from mfapp.catalog.services import material_create

    return lambda actor: material_create(actor=actor, code="MATRIX", name="PLA", unit="kg")


def _machines_manage(tenant: Tenant) -> Callable[[Actor], Any]:
    from mfapp.machines.services import machine_create

    site = SiteFactory(tenant=tenant)
    return lambda actor: machine_create(
        actor=actor,
        site_id=site.pk,
        name="Matrix printer",
        kind="fdm-printer",
        capabilities=["fdm-print"],
    )


def _machines_change_status(tenant: Tenant) -> Callable[[Actor], Any]:
    from mfapp.machines.services import machine_change_status

    machine = machine_for(SiteFactory(tenant=tenant))
    return lambda actor: machine_change_status(
        actor=actor, machine=machine, status="maintenance", reason="Nozzle swap"
    )


def _orders_manage(tenant: Tenant) -> Callable[[Actor], Any]:
    from mfapp.orders.services import customer_create

    return lambda actor: customer_create(actor=actor, name="Matrix GmbH", country="DE")


def _batches_manage(tenant: Tenant) -> Callable[[Actor], Any]:
    from mfapp.production.services import batch_create

    product = product_with_routing(tenant)
    site = SiteFactory(tenant=tenant)
    return lambda actor: batch_create(
        actor=actor, product_id=product.pk, site_id=site.pk, quantity=5
    )


def _operations_run(tenant: Tenant) -> Callable[[Actor], Any]:
    from mfapp.production.services import operation_start

    batch = batch_with_operations(tenant)
    operation = batch.operations.order_by("sequence").first()
    machine = machine_for(batch.site)
    return lambda actor: operation_start(actor=actor, operation=operation, machine_id=machine.pk)


def _quality_record(tenant: Tenant) -> Callable[[Actor], Any]:
    from mfapp.production.models import Batch
    from mfapp.production.services import quality_check_record

    batch = batch_with_operations(tenant, status=Batch.Status.IN_PROGRESS)
    return lambda actor: quality_check_record(
        actor=actor,
        batch=batch,
        characteristic="length",
        unit="mm",
        target=Decimal("10.0"),
        tolerance=Decimal("0.2"),
        measured=Decimal("10.1"),
    )


def _webhooks_manage(tenant: Tenant) -> Callable[[Actor], Any]:
    from mfapp.integrations.services import webhook_endpoint_create

    return lambda actor: webhook_endpoint_create(
        actor=actor, url="https://hooks.example.com/mfapp", event_types=["order.created"]
    )


def _reports_request(tenant: Tenant) -> Callable[[Actor], Any]:
    from mfapp.sustainability.services import report_request

    return lambda actor: report_request(actor=actor, start=date(2026, 1, 1), end=date(2026, 1, 31))


# action -> the service that stands for it. A permission added to PERMISSIONS without an entry
# here fails test_every_action_has_a_representative.
REPRESENTATIVES: dict[str, Representative] = {
    "tenant.view": Representative("core.web.can", _read_check("tenant.view")),
    "tenant.manage": Representative(
        "sustainability.services.sustainability_settings_update", _tenant_manage
    ),
    "members.manage": Representative("tenancy.services.membership_update_role", _members_manage),
    "api_keys.manage": Representative("tenancy.services.api_key_create", _api_keys_manage),
    "sites.manage": Representative("tenancy.services.site_create", _sites_manage),
    "catalog.manage": Representative("catalog.services.material_create", _catalog_manage),
    "machines.manage": Representative("machines.services.machine_create", _machines_manage),
    "machines.change_status": Representative(
        "machines.services.machine_change_status", _machines_change_status
    ),
    "orders.manage": Representative("orders.services.customer_create", _orders_manage),
    "batches.manage": Representative("production.services.batch_create", _batches_manage),
    "operations.run": Representative("production.services.operation_start", _operations_run),
    "quality.record": Representative("production.services.quality_check_record", _quality_record),
    "webhooks.manage": Representative(
        "integrations.services.webhook_endpoint_create", _webhooks_manage
    ),
    "reports.request": Representative("sustainability.services.report_request", _reports_request),
    # The audit log page (member_view("audit.view")); the selectors take the tenant only.
    "audit.view": Representative("core.web.can", _read_check("audit.view")),
}
# Actions no service checks (the page and API layers do); their representative is the check
# those layers use.
NOT_CHECKED_BY_A_SERVICE = {"tenant.view", "audit.view"}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", sorted(REPRESENTATIVES))
def test_role_matrix(action, role, tenant):
    actor = _actor(tenant, role)
    call = REPRESENTATIVES[action].prepare(tenant)

    if role in PERMISSIONS[action]:
        assert call(actor) is not None
        return

    before = snapshot()
    with pytest.raises(PermissionDenied) as refused:
        call(actor)
    assert refused.value.message == (f"Your role ({role}) does not allow this action ({action}).")
    assert_unchanged(before, snapshot())


def test_every_action_has_a_representative():
    missing = sorted(set(PERMISSIONS) - set(REPRESENTATIVES))
    assert not missing, f"add a representative service to REPRESENTATIVES for {missing}"
    assert not set(REPRESENTATIVES) - set(PERMISSIONS), "a representative of no permission"


def test_each_representative_checks_its_action():
    services = role_matrix_doc.services_by_permission()
    for action, representative in REPRESENTATIVES.items():
        if action in NOT_CHECKED_BY_A_SERVICE:
            assert action not in services, f"{action} is now checked by {services[action]}"
            continue
        assert representative.service in services.get(action, []), (
            f"{representative.service} does not call require_permission(actor, {action!r})"
        )


def test_every_role_of_the_matrix_is_walked():
    named = set().union(*PERMISSIONS.values())
    assert named <= set(ROLES), sorted(named - set(ROLES))
    assert all(SYSTEM in roles for roles in PERMISSIONS.values()), "docs: system holds all"


@pytest.mark.django_db
def test_docs_security_md_matrix_is_current():
    documented = role_matrix_doc.documented_table()
    assert documented, f"{role_matrix_doc.DOC}: the role matrix markers are missing"
    assert documented == role_matrix_doc.render_table(), (
        "docs/security.md's role matrix differs from the code: run "
        "`.venv/bin/python -m tests.tenancy.role_matrix_doc --write` and review the diff"
    )

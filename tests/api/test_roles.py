"""Every route and method of /api/v1/ for every kind of caller: anonymous, each member role
(a browser session in their tenant) and both kinds of API key.

The expected outcome comes from `mfapp.tenancy.permissions.PERMISSIONS` through the table
below, which names the permission each route needs: it is the API's role matrix, documented.
Allowed callers get the route's success status (the target is built in a state where the call
works); everyone else gets 403 and no row changes; without credentials it is 401."""

import copy
from typing import Any

import pytest

from mfapp.tenancy.models import Membership
from mfapp.tenancy.permissions import INTEGRATION, INTEGRATION_READ, PERMISSIONS
from tests.api.conftest import (
    ROUTES,
    Route,
    assert_unchanged,
    build_target,
    call,
    key_client,
    member_client,
    snapshot,
)

ANONYMOUS = "anonymous"
Role = Membership.Role
CALLERS = [
    ANONYMOUS,
    Role.OWNER.value,
    Role.MANAGER.value,
    Role.OPERATOR.value,
    Role.VIEWER.value,
    INTEGRATION,
    INTEGRATION_READ,
]
READ = "tenant.view"

# (router basename, viewset action) -> the permission its service requires. Every GET needs
# tenant.view, which every role has.
ROUTE_PERMISSIONS: dict[tuple[str, str], str] = {
    ("site", "create"): "sites.manage",
    ("site", "partial_update"): "sites.manage",
    ("site", "destroy"): "sites.manage",
    ("material", "create"): "catalog.manage",
    ("material", "partial_update"): "catalog.manage",
    ("material", "destroy"): "catalog.manage",
    ("material", "adjust_stock"): "catalog.manage",
    ("product", "create"): "catalog.manage",
    ("product", "partial_update"): "catalog.manage",
    ("product", "destroy"): "catalog.manage",
    ("routing-step", "create"): "catalog.manage",
    ("routing-step", "partial_update"): "catalog.manage",
    ("routing-step", "destroy"): "catalog.manage",
    ("bom-line", "create"): "catalog.manage",
    ("bom-line", "partial_update"): "catalog.manage",
    ("bom-line", "destroy"): "catalog.manage",
    ("machine", "create"): "machines.manage",
    ("machine", "partial_update"): "machines.manage",
    ("machine", "destroy"): "machines.manage",
    ("machine", "change_status"): "machines.change_status",
    ("maintenance-window", "create"): "machines.manage",
    ("maintenance-window", "destroy"): "machines.manage",
    ("energy-reading", "create"): "machines.change_status",
    ("energy-reading", "bulk"): "machines.change_status",
    ("customer", "create"): "orders.manage",
    ("customer", "partial_update"): "orders.manage",
    ("customer", "destroy"): "orders.manage",
    ("order", "create"): "orders.manage",
    ("order", "partial_update"): "orders.manage",
    ("order", "destroy"): "orders.manage",
    ("order", "confirm"): "orders.manage",
    ("order", "cancel"): "orders.manage",
    ("order", "ship"): "orders.manage",
    ("order", "lines"): "orders.manage",
    ("batch", "create"): "batches.manage",
    ("batch", "schedule"): "batches.manage",
    ("batch", "cancel"): "batches.manage",
    ("batch", "start"): "operations.run",
    ("batch", "submit_for_quality_check"): "operations.run",
    ("batch", "complete"): "quality.record",
    ("operation", "start"): "operations.run",
    ("operation", "pause"): "operations.run",
    ("operation", "resume"): "operations.run",
    ("operation", "finish"): "operations.run",
    ("quality-check", "create"): "quality.record",
    ("material-consumption", "create"): "operations.run",
    ("webhook-endpoint", "create"): "webhooks.manage",
    ("webhook-endpoint", "partial_update"): "webhooks.manage",
    ("webhook-endpoint", "destroy"): "webhooks.manage",
    ("webhook-endpoint", "rotate_secret"): "webhooks.manage",
    ("webhook-delivery", "redeliver"): "webhooks.manage",
    ("schedule-run", "create"): "batches.manage",
    ("sustainability-report", "create"): "reports.request",
}


def permission_for(route: Route) -> str:
    if not route.is_write:  # list, retrieve and GET actions (a schedule run's plan)
        return READ
    permission = ROUTE_PERMISSIONS.get((route.basename, route.action))
    if permission is None:
        pytest.fail(
            f"route {route.id} has no permission in tests/api/test_roles.py ROUTE_PERMISSIONS: "
            "add the one its service requires"
        )
    return permission


def allowed(caller: str, route: Route) -> bool:
    return caller != ANONYMOUS and caller in PERMISSIONS[permission_for(route)]


def _client(caller: str, tenant: Any) -> tuple[Any, Any]:
    from rest_framework.test import APIClient

    if caller == ANONYMOUS:
        return APIClient(), None
    if caller in (INTEGRATION, INTEGRATION_READ):
        return key_client(tenant, read_only=caller == INTEGRATION_READ)
    return member_client(tenant, caller), None


def _json(response: Any) -> Any:
    return response.json() if response.content else None


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("route", ROUTES, ids=[route.id for route in ROUTES])
def test_role_matrix(route, caller, tenant):
    target = build_target(route, tenant)
    client, api_key = _client(caller, tenant)
    refused = not allowed(caller, route)

    before = snapshot(caller_key=api_key) if refused else None
    response = call(client, route, target.pk, copy.deepcopy(target.body))
    body = _json(response)

    if caller == ANONYMOUS:
        assert response.status_code == 401, body
        assert response["WWW-Authenticate"] == 'Bearer realm="api"'
        assert body == {"message": "Authentication credentials were not provided.", "extra": {}}
        assert_unchanged(before, snapshot())
    elif not refused:
        assert response.status_code == target.status, body
    else:
        assert response.status_code == 403, body
        assert set(body) == {"message", "extra"}
        if caller == INTEGRATION_READ:
            assert body == {"message": "This API key is read-only.", "extra": {}}
        else:
            permission = permission_for(route)
            assert body["message"] == (
                f"Your role ({caller}) does not allow this action ({permission})."
            )
        assert_unchanged(before, snapshot(caller_key=api_key))


def _writes(basename: str, *actions: str) -> list[Route]:
    found = [r for r in ROUTES if r.basename == basename and r.is_write]
    if actions:
        found = [r for r in found if r.action in actions]
    assert found, (basename, actions)
    return found


def test_the_matrix_says_what_the_roles_are_for():
    """The table above, read back as the rules the issue states in words."""
    every_write = [route for route in ROUTES if route.is_write]
    for route in ROUTES:
        if not route.is_write:
            assert all(allowed(caller, route) for caller in CALLERS[1:]), route.id
    for route in every_write:
        assert not allowed(INTEGRATION_READ, route), route.id
        assert not allowed(Role.VIEWER, route), route.id
        assert allowed(Role.OWNER, route), route.id
    operator_runs = [
        *_writes("operation", "start", "pause", "resume", "finish"),
        *_writes("quality-check"),
        *_writes("material-consumption"),
        *_writes("machine", "change_status"),
        *_writes("energy-reading"),
    ]
    for route in operator_runs:
        assert allowed(Role.OPERATOR, route), route.id
    for route in [*_writes("product"), *_writes("order"), *_writes("site")]:
        assert not allowed(Role.OPERATOR, route), route.id
        assert allowed(Role.OWNER, route), route.id
        assert allowed(Role.MANAGER, route), route.id
    for route in _writes("site"):
        assert not allowed(INTEGRATION, route), route.id  # sites are managed by people only

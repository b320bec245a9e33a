"""Tenant isolation over the whole API, walked from the URL resolver: another tenant's object
answers exactly like a missing one on every route and method, and nothing changes; lists never
show another tenant's rows; writes naming another tenant's ids create nothing.

Every route is read from the resolver, so a new route fails here until tests/api/conftest.py
knows its model and how to build a target for it."""

import copy
from typing import Any

import pytest
from django.db import models
from rest_framework import serializers

from mfapp.api_urls import router
from mfapp.catalog.models import Material, Product
from mfapp.core.models import TenantScopedModel
from mfapp.machines.models import Machine
from mfapp.orders.models import Customer
from mfapp.production.models import Batch, BatchOperation
from mfapp.tenancy.models import Membership, Site
from tests.api.conftest import (
    MISSING_ID,
    ROUTES,
    Route,
    assert_unchanged,
    build_target,
    call,
    key_client,
    member_client,
    model_for,
    not_found_body,
    snapshot,
)
from tests.factories import batch_with_operations, factory_for_model

DETAIL_ROUTES = [route for route in ROUTES if route.detail]
LIST_ROUTES = [route for route in ROUTES if route.action == "list"]
WRITE_ROUTES = [route for route in ROUTES if route.is_write]


def _ids(routes: list[Route]) -> list[str]:
    return [route.id for route in routes]


def _json(response: Any) -> Any:
    return response.json() if response.content else None


@pytest.mark.parametrize("route", DETAIL_ROUTES, ids=_ids(DETAIL_ROUTES))
def test_another_tenants_object_answers_like_a_missing_one(route, tenant, other_tenant):
    """GET, PATCH, DELETE and every POST action on another tenant's object: 404 with the same
    body as an id that exists nowhere, and no row of either tenant changes."""
    model = model_for(route)
    target = build_target(route, other_tenant)
    client, api_key = key_client(tenant)

    before = snapshot(caller_key=api_key)
    foreign = call(client, route, target.pk, copy.deepcopy(target.body))
    missing = call(client, route, MISSING_ID, copy.deepcopy(target.body))
    after = snapshot(caller_key=api_key)

    assert (foreign.status_code, _json(foreign)) == (404, not_found_body(model))
    assert (missing.status_code, _json(missing)) == (foreign.status_code, _json(foreign))
    assert_unchanged(before, after)

    # The control: the object's own tenant (its owner, who may do everything) can make exactly
    # this call, so the 404 above is the tenant boundary and not a wrong body or state.
    owner = member_client(other_tenant, Membership.Role.OWNER)
    response = call(owner, route, target.pk, copy.deepcopy(target.body))
    assert response.status_code == target.status, _json(response)


def _seed_every_model(tenant: Any) -> None:
    for model, factory in factory_for_model().items():
        if issubclass(model, TenantScopedModel):
            factory(tenant=tenant)


@pytest.mark.parametrize("route", LIST_ROUTES, ids=_ids(LIST_ROUTES))
def test_lists_show_only_the_callers_rows(route, tenant, other_tenant):
    model = model_for(route)
    assert model in factory_for_model(), f"no factory for {model.__name__} in tests/factories.py"
    _seed_every_model(tenant)
    _seed_every_model(other_tenant)
    mine = set(model.objects.for_tenant(tenant).values_list("pk", flat=True))
    theirs = set(model.objects.for_tenant(other_tenant).values_list("pk", flat=True))
    assert mine
    assert theirs

    client, _ = key_client(tenant)
    response = client.get(route.url(), {"page_size": 500})

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["next"] is None
    listed = {row["id"] for row in body["results"]}
    assert not listed & theirs, f"another tenant's {model.__name__} rows listed"
    assert listed == mine


# --- writes that name another tenant's rows ------------------------------------------------------
def _path_set(body: dict[str, Any], path: str, value: int) -> dict[str, Any]:
    body = copy.deepcopy(body)
    *parents, leaf = path.split(".")
    node: Any = body
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[leaf] = value
    return body


class WrongStatus(AssertionError):
    """The status differs from the expected one although isolation itself held."""


def _operation_of_another_batch(tenant: Any) -> BatchOperation:
    return batch_with_operations(tenant, ["fdm-print"]).operations.get()


# (URL name, method, field in the body) -> the model the id names, the expected status. Other
# tenants' ids are unknown ids: 404 "<Model> not found.", except where a field is refused on
# update whatever its value (400) and the bulk readings, whose errors are per index (400).
REFERENCES: dict[tuple[str, str, str], tuple[type[models.Model], int]] = {
    ("routing-step-list", "POST", "product_id"): (Product, 404),
    ("routing-step-list", "POST", "material_id"): (Material, 404),
    ("routing-step-detail", "PATCH", "material_id"): (Material, 404),
    ("routing-step-detail", "PATCH", "product_id"): (Product, 400),
    ("bom-line-list", "POST", "product_id"): (Product, 404),
    ("bom-line-list", "POST", "material_id"): (Material, 404),
    ("bom-line-detail", "PATCH", "product_id"): (Product, 400),
    ("bom-line-detail", "PATCH", "material_id"): (Material, 400),
    ("machine-list", "POST", "site_id"): (Site, 404),
    ("machine-detail", "PATCH", "site_id"): (Site, 400),
    ("maintenance-window-list", "POST", "machine_id"): (Machine, 404),
    ("energy-reading-list", "POST", "machine_id"): (Machine, 404),
    ("energy-reading-bulk", "POST", "readings.0.machine_id"): (Machine, 400),
    ("energy-reading-bulk", "POST", "readings.1.machine_id"): (Machine, 400),
    ("order-list", "POST", "customer_id"): (Customer, 404),
    ("order-list", "POST", "site_id"): (Site, 404),
    ("order-list", "POST", "lines.0.product_id"): (Product, 404),
    ("order-detail", "PATCH", "customer_id"): (Customer, 400),
    ("order-detail", "PATCH", "site_id"): (Site, 400),
    ("order-lines", "POST", "product_id"): (Product, 404),
    ("batch-list", "POST", "product_id"): (Product, 404),
    ("batch-list", "POST", "site_id"): (Site, 404),
    ("operation-start", "POST", "machine_id"): (Machine, 404),
    ("quality-check-list", "POST", "batch_id"): (Batch, 404),
    ("quality-check-list", "POST", "operation_id"): (BatchOperation, 404),
    ("material-consumption-list", "POST", "batch_id"): (Batch, 404),
    ("material-consumption-list", "POST", "material_id"): (Material, 404),
    ("schedule-run-list", "POST", "site_id"): (Site, 404),
    ("sustainability-report-list", "POST", "site_id"): (Site, 404),
}
KNOWN_BUGS: dict = {}  # (route, method, field) -> reason, while a bug is open
_ROUTE_BY_KEY = {(route.name, route.method): route for route in ROUTES}


def _reference_params() -> list[Any]:
    params = []
    for key in REFERENCES:
        marks = []
        if key in KNOWN_BUGS:
            marks = [pytest.mark.xfail(strict=True, raises=WrongStatus, reason=KNOWN_BUGS[key])]
        params.append(pytest.param(key, marks=marks, id=" ".join((key[1], key[0], key[2]))))
    return params


@pytest.mark.parametrize("key", _reference_params())
def test_writes_naming_another_tenants_ids_create_nothing(key, tenant, other_tenant):
    name, method, path = key
    model, expected_status = REFERENCES[key]
    route = _ROUTE_BY_KEY[(name, method)]
    target = build_target(route, tenant)
    assert target.body is not None
    if model is BatchOperation:  # an operation's id is only valid with its own batch
        foreign_row = _operation_of_another_batch(other_tenant)
    else:
        foreign_row = factory_for_model()[model](tenant=other_tenant)
    client, api_key = key_client(tenant)

    before = snapshot(caller_key=api_key)
    foreign = call(client, route, target.pk, _path_set(target.body, path, foreign_row.pk))
    missing = call(client, route, target.pk, _path_set(target.body, path, MISSING_ID))
    after = snapshot(caller_key=api_key)

    assert (missing.status_code, missing.json()) == (foreign.status_code, foreign.json())
    assert_unchanged(before, after)
    if expected_status == 404:
        assert foreign.status_code != 404 or foreign.json() == not_found_body(model)
    if foreign.status_code != expected_status:
        raise WrongStatus(f"{foreign.status_code} != {expected_status}: {foreign.json()}")
    # The control: the same body with the caller's own ids goes through.
    response = call(client, route, target.pk, target.body)
    assert response.status_code == target.status, response.json()


def _id_fields(field: Any, prefix: str = "") -> set[str]:
    """The id-valued input fields of a serializer, nested lists as `name.0.child_id`."""
    if isinstance(field, serializers.ListSerializer):
        return _id_fields(field.child, f"{prefix}0.")
    if isinstance(field, serializers.ListField) and isinstance(field.child, serializers.Serializer):
        return _id_fields(field.child, f"{prefix}0.")
    if isinstance(field, serializers.Serializer):
        found = set()
        for name, child in field.fields.items():
            if child.read_only:
                continue
            if name.endswith("_id"):
                found.add(f"{prefix}{name}")
            found |= _id_fields(child, f"{prefix}{name}.")
        return found
    return set()


def _request_serializer(route: Route) -> Any:
    """What the view validates the body with (the one the schema documents too)."""
    view_class = next(cls for _, cls, basename in router.registry if basename == route.basename)
    view = view_class()
    view.action = route.action
    if route.action == "partial_update" and getattr(view, "update_serializer", None):
        return view.update_serializer
    if route.action in ("create", "partial_update"):
        return getattr(view, "input_serializer", None)
    return getattr(view, "action_serializers", {}).get(route.action)


def test_every_id_field_of_every_write_is_walked():
    """A new `*_id` input field (or a new write route with one) must be added to REFERENCES."""
    walked = set(REFERENCES)
    missing = []
    for route in WRITE_ROUTES:
        serializer_class = _request_serializer(route)
        if serializer_class is None:
            continue
        for path in sorted(_id_fields(serializer_class())):
            if (route.name, route.method, path) not in walked:
                missing.append((route.name, route.method, path))
    # Every nested list is walked at index 0; the bulk readings also at index 1.
    assert not missing, f"id fields not walked by REFERENCES: {missing}"

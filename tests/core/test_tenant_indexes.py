"""Every list and filter the API serves is backed by an index that leads with tenant_id
(issue 8): `updated_since` (`updated_at >= x`, TenantFilterSet) on the tables that grow large,
and each list's default order on every table not listed as small.

The indexes are read from the models (Meta.indexes and unconditional unique constraints), so
these tests need no database; the last one checks that the database the migrations built has
them too (SQLite and PostgreSQL). The direction of a column does not matter here: with
`tenant_id = x` fixed, a B-tree on (tenant_id, c) is read forwards or backwards for either order.
"""

from typing import Any

import pytest
from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import connection, models
from django.db.models.expressions import F, OrderBy

from mfapp.api_urls import router
from mfapp.core.models import TenantScopedModel
from mfapp.tenancy.models import Tenant

# Tables that grow with a business's activity, without bound: each has an index on
# (tenant_id, updated_at) for incremental sync, whatever its API list orders by.
LARGE = {
    "orders.Customer",
    "orders.Order",
    "production.Batch",
    "production.BatchOperation",
    "production.QualityCheck",
    "production.MaterialConsumption",
    "machines.EnergyReading",
    "integrations.WebhookDelivery",
}

# Small tables: master data, settings and periodic documents, from one row to a few thousand per
# tenant. Reading all of a tenant's rows through the tenant_id index and sorting them costs less
# than one more index written on every insert and update.
SMALL = {
    "tenancy.Site": "a business's sites, a handful",
    "tenancy.Membership": "the people of a business",
    "tenancy.ApiKey": "a few integrations' keys",
    "tenancy.Invitation": "a few pending invitations",
    "catalog.Material": "master data, at most a few thousand",
    "catalog.Product": "master data, at most a few thousand",
    "catalog.BomLine": "a few per product",
    "catalog.RoutingStep": "a few per product",
    "machines.Machine": "tens per site",
    "machines.MaintenanceWindow": "a few per machine and month",
    "integrations.WebhookEndpoint": "a few endpoints per business",
    "scheduling.ScheduleRun": "one per re-plan of a site (debounced); listed per site in the UI "
    "through schedulerun_site_idx",
    "sustainability.SustainabilityReport": "one per month and site",
    "sustainability.FactorOverride": "a few overrides",
    "sustainability.SustainabilitySettings": "one row per tenant",
}

# Large, but no API list (so no `updated_since` and no list order to serve): each is read
# through its own indexed access path. An API list for one of them moves it to LARGE.
NOT_LISTED = {
    "orders.OrderLine": "read through its order (order_id index)",
    "audit.AuditEvent": "never updated; the audit log pages by audit_recent_idx",
    "integrations.WebhookAttempt": "read through its delivery (webhook_attempt_unique_number)",
    "integrations.IdempotencyRecord": "looked up by (tenant, key): idempotency_unique_key",
}


def tenant_models() -> list[type[models.Model]]:
    return sorted(
        (
            model
            for model in apps.get_models()
            if issubclass(model, TenantScopedModel) and not model._meta.proxy
        ),
        key=lambda model: model._meta.label,
    )


def model_named(label: str) -> type[models.Model]:
    return apps.get_model(label)


def column_of(model: type[models.Model], name: str) -> str | None:
    """The column of a field name, attname or `pk`; None for a path through a relation."""
    name = name.lstrip("-")
    if name == "pk":
        return model._meta.pk.column
    try:
        return model._meta.get_field(name).column
    except FieldDoesNotExist:
        return None  # "site__name": a join, no index of this table serves it


def declared_indexes(model: type[models.Model]) -> dict[str, list[str]]:
    """name -> columns, of every full (not partial) index on plain fields: Meta.indexes and
    the unique constraints' indexes."""
    found = {}
    for index in model._meta.indexes:
        if index.fields and index.condition is None:
            found[index.name] = [column_of(model, name) for name in index.fields]
    for constraint in model._meta.constraints:
        if (
            isinstance(constraint, models.UniqueConstraint)
            and constraint.fields
            and constraint.condition is None
        ):
            found[constraint.name] = [column_of(model, name) for name in constraint.fields]
    return found


def index_leading_with(indexes: dict[str, list[str]], columns: list[str]) -> str | None:
    return next((name for name, cols in indexes.items() if cols[: len(columns)] == columns), None)


# --- the API's lists ---------------------------------------------------------------------------
def api_viewsets() -> list[Any]:
    return [
        pytest.param(prefix, viewset, id=prefix)
        for prefix, viewset, _ in sorted(router.registry, key=lambda route: route[0])
    ]


def default_list_order(viewset: type) -> tuple[type[models.Model], str]:
    """The model and the first field a list without `?ordering=` is sorted by: the viewset's
    `ordering` (OrderingFilter's default) or else its tenant queryset's order_by."""
    view = viewset()
    view.tenant = Tenant(pk=1, slug="index-test")  # never saved: the queryset is not run
    view.action = "list"
    queryset = view.tenant_queryset()
    order: Any = getattr(view, "ordering", None) or queryset.query.order_by
    if not order and queryset.query.default_ordering:
        order = queryset.model._meta.ordering
    assert order, f"{viewset.__name__}: the list has no order (pages would be unstable)"
    first = order[0] if isinstance(order, list | tuple) else order
    if isinstance(first, OrderBy) and isinstance(first.expression, F):
        first = first.expression.name
    assert isinstance(first, str), f"{viewset.__name__}: cannot read the order {first!r}"
    return queryset.model, first


# --- the tests -----------------------------------------------------------------------------------
def test_every_tenant_model_is_classified_once():
    labels = {model._meta.label for model in tenant_models()}
    listed = [*LARGE, *SMALL, *NOT_LISTED]
    assert sorted(label for label in set(listed) if listed.count(label) > 1) == []
    assert sorted(labels - set(listed)) == [], "a new tenant model: put it in LARGE or SMALL"
    assert sorted(set(listed) - labels) == [], "no such tenant model: remove it from the lists"


@pytest.mark.parametrize(("prefix", "viewset"), api_viewsets())
def test_every_api_list_is_on_a_large_or_a_small_table(prefix, viewset):
    model, _ = default_list_order(viewset)
    assert model._meta.label in LARGE or model._meta.label in SMALL, (
        f"/{prefix}/ lists {model._meta.label}, which has `updated_since` now: move it to LARGE "
        "(with a (tenant, updated_at) index) or SMALL"
    )


@pytest.mark.parametrize("label", sorted(LARGE))
def test_updated_since_on_a_large_table_is_served_by_a_tenant_index(label):
    model = model_named(label)
    assert index_leading_with(declared_indexes(model), ["tenant_id", "updated_at"]), (
        f"{label}: no index starts with (tenant_id, updated_at)"
    )


@pytest.mark.parametrize(("prefix", "viewset"), api_viewsets())
def test_the_default_list_order_is_served_by_a_tenant_index(prefix, viewset):
    model, first = default_list_order(viewset)
    if model._meta.label in SMALL:
        return  # sorted in memory: see SMALL
    column = column_of(model, first)
    assert column is not None, f"/{prefix}/ orders a large table by a join ({first})"
    assert index_leading_with(declared_indexes(model), ["tenant_id", column]), (
        f"/{prefix}/ ({model._meta.label}) lists by {first}: no index starts with "
        f"(tenant_id, {column})"
    )


@pytest.mark.django_db
@pytest.mark.parametrize("label", sorted(LARGE))
def test_the_database_has_the_tenant_indexes_of_the_large_tables(label):
    """What the migrations built, on this run's database: every declared index, columns in
    order (a model edited without its migration, or a raw-SQL migration dropping one, fails)."""
    model = model_named(label)
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    in_database = {name: info["columns"] for name, info in constraints.items()}
    declared = {
        index.name: [column_of(model, name) for name in index.fields]
        for index in model._meta.indexes
        if index.fields
    }
    wrong = {name: cols for name, cols in declared.items() if in_database.get(name) != cols}
    assert wrong == {}, f"{label}: declared but not in the database as declared"
    assert index_leading_with(in_database, ["tenant_id", "updated_at"])

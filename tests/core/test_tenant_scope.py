"""The tenant scope fails closed: every tenant-owned model refuses unscoped queries."""

from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps
from django.db.models import Count, Exists, Subquery
from django.utils import timezone

from mfapp.catalog.models import Product
from mfapp.core.exceptions import TenantScopeError
from mfapp.core.models import TenantScopedModel
from mfapp.orders.models import OrderLine
from mfapp.tenancy.models import Membership, Tenant
from tests.factories import (
    MembershipFactory,
    OrderLineFactory,
    ProductFactory,
    UserFactory,
    factory_for_model,
)

SCOPED_MODELS = sorted(
    (
        model
        for model in apps.get_models()
        if issubclass(model, TenantScopedModel) and not model._meta.abstract
    ),
    key=lambda model: model._meta.label,
)
FACTORIES = factory_for_model()

UNSCOPED_CALLS: dict[str, Callable[[Any], Any]] = {
    "list": lambda qs: list(qs.all()),
    "count": lambda qs: qs.count(),
    "exists": lambda qs: qs.exists(),
    "aggregate": lambda qs: qs.aggregate(n=Count("id")),
    "update": lambda qs: qs.update(updated_at=timezone.now()),
    "delete": lambda qs: qs.delete(),
    "iterator": lambda qs: list(qs.iterator()),
    "values_list": lambda qs: list(qs.values_list("id", flat=True)),
    "get": lambda qs: qs.get(pk=1),
    "first": lambda qs: qs.first(),
    "last": lambda qs: qs.last(),
    "in_bulk": lambda qs: qs.in_bulk([1]),
    "filter-without-tenant": lambda qs: list(qs.filter(pk__gte=1)),
    "exclude-tenant": lambda qs: list(qs.exclude(tenant_id=1)),
    "filter-tenant-none": lambda qs: list(qs.filter(tenant=None)),
    "explain": lambda qs: qs.explain(),
}


def _factory(model: type) -> Any:
    if model not in FACTORIES:
        pytest.skip(f"{model._meta.label} has no factory (test_every_scoped_model_has_a_factory)")
    return FACTORIES[model]


def _ids(queryset: Any) -> set[int]:
    return set(queryset.values_list("id", flat=True))


def _reverse_relations() -> list[tuple[type, str, type, str]]:
    """(parent, accessor, child, child's FK name) for every one-to-many between scoped models
    that has an accessor (related_name="+" has none)."""
    found = []
    for parent in SCOPED_MODELS:
        for relation in parent._meta.related_objects:  # hidden ("+") relations are left out
            child = relation.related_model
            if relation.one_to_many and issubclass(child, TenantScopedModel):
                found.append((parent, relation.get_accessor_name(), child, relation.field.name))
    return found


RELATIONS = _reverse_relations()


def test_the_scoped_models_are_discovered():
    assert {model._meta.label for model in SCOPED_MODELS} >= {
        "tenancy.Site",
        "tenancy.Membership",
        "tenancy.ApiKey",
        "audit.AuditEvent",
        "catalog.Material",
        "catalog.Product",
        "catalog.BomLine",
        "catalog.RoutingStep",
        "machines.Machine",
        "machines.MaintenanceWindow",
        "orders.Customer",
        "orders.Order",
        "orders.OrderLine",
        "production.Batch",
        "production.BatchOperation",
        "production.QualityCheck",
        "production.MaterialConsumption",
    }


@pytest.mark.parametrize("model", SCOPED_MODELS, ids=lambda m: m._meta.label)
def test_every_scoped_model_has_a_factory(model):
    # A new tenant-owned model fails here until tests/factories.py can build it.
    assert model in FACTORIES, f"add a factory for {model._meta.label} to tests/factories.py"


def test_every_mfapp_model_and_the_user_have_a_factory():
    models = [m for m in apps.get_models() if m.__module__.startswith("mfapp.")]
    models.append(apps.get_model("auth", "User"))
    missing = sorted(m._meta.label for m in models if m not in FACTORIES)
    assert missing == []


@pytest.mark.parametrize("call", UNSCOPED_CALLS.values(), ids=UNSCOPED_CALLS.keys())
@pytest.mark.parametrize("model", SCOPED_MODELS, ids=lambda m: m._meta.label)
def test_unscoped_query_raises(model, call):
    # No database access is allowed here: the query must be refused before it is sent.
    with pytest.raises(TenantScopeError, match=f"Unscoped query on {model._meta.label}"):
        call(model.objects)


@pytest.mark.django_db
@pytest.mark.parametrize("model", SCOPED_MODELS, ids=lambda m: m._meta.label)
def test_for_tenant_returns_exactly_that_tenants_rows(model, tenant, other_tenant):
    factory = _factory(model)
    mine = factory(tenant=tenant)
    theirs = factory(tenant=other_tenant)

    assert _ids(model.objects.for_tenant(tenant)) == {mine.id}
    assert _ids(model.objects.for_tenant(other_tenant.pk)) == {theirs.id}
    assert model.objects.for_tenant(tenant).count() == 1
    assert model.objects.for_tenant(tenant).get(pk=mine.pk) == mine
    assert model.objects.for_tenant(tenant).filter(pk=theirs.pk).exists() is False
    assert list(model.objects.for_tenant(tenant).iterator()) == [mine]


@pytest.mark.django_db
@pytest.mark.parametrize("lookup", ["tenant", "tenant_id", "tenant__id", "tenant__pk"])
@pytest.mark.parametrize("model", SCOPED_MODELS, ids=lambda m: m._meta.label)
def test_a_filter_on_the_tenant_is_a_scope(model, lookup, tenant, other_tenant):
    factory = _factory(model)
    mine = factory(tenant=tenant)
    factory(tenant=other_tenant)
    value = tenant if lookup == "tenant" else tenant.pk

    assert _ids(model.objects.filter(**{lookup: value})) == {mine.id}


@pytest.mark.django_db
@pytest.mark.parametrize("model", SCOPED_MODELS, ids=lambda m: m._meta.label)
def test_all_tenants_returns_every_tenants_rows(model, tenant, other_tenant):
    factory = _factory(model)
    mine = factory(tenant=tenant)
    theirs = factory(tenant=other_tenant)

    assert _ids(model.objects.all_tenants()) == {mine.id, theirs.id}
    assert model.objects.all_tenants().filter(pk__in=[mine.pk, theirs.pk]).count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("model", SCOPED_MODELS, ids=lambda m: m._meta.label)
def test_scoped_update_and_delete_touch_only_that_tenant(model, tenant, other_tenant):
    factory = _factory(model)
    mine = factory(tenant=tenant)
    theirs = factory(tenant=other_tenant)
    before = type(theirs)._base_manager.get(pk=theirs.pk).updated_at

    assert model.objects.for_tenant(tenant).update(updated_at=timezone.now()) == 1
    deleted = model.objects.for_tenant(tenant).filter(pk=mine.pk).delete()

    assert deleted == (1, {model._meta.label: 1})
    assert model.objects.all_tenants().filter(pk=mine.pk).exists() is False
    theirs.refresh_from_db()
    assert theirs.updated_at == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("parent_model", "accessor", "child_model", "fk_name"),
    RELATIONS,
    ids=[f"{parent._meta.label}.{accessor}" for parent, accessor, _, _ in RELATIONS],
)
def test_related_manager_of_a_loaded_object_is_scoped(
    parent_model, accessor, child_model, fk_name, tenant, other_tenant
):
    parent = _factory(parent_model)(tenant=tenant)
    child_factory = _factory(child_model)
    child = child_factory(tenant=tenant, **{fk_name: parent})
    foreign_parent = _factory(parent_model)(tenant=other_tenant)
    child_factory(tenant=other_tenant, **{fk_name: foreign_parent})

    loaded = parent_model.objects.for_tenant(tenant).get(pk=parent.pk)
    manager = getattr(loaded, accessor)

    assert [row.id for row in manager.all()] == [child.id]
    assert manager.count() == 1
    assert manager.exists() is True
    assert list(manager.values_list("id", flat=True)) == [child.id]


def test_related_manager_example_order_lines(tenant, other_tenant):
    line = OrderLineFactory(tenant=tenant)
    OrderLineFactory(tenant=other_tenant)

    assert list(line.order.lines.all()) == [line]
    assert list(line.order.lines.filter(quantity=line.quantity)) == [line]


def test_unscoped_subquery_raises(tenant):
    ProductFactory(tenant=tenant)

    with pytest.raises(TenantScopeError, match=r"Unscoped query on catalog\.Product"):
        Product.objects.for_tenant(tenant).filter(id__in=Product.objects.values("id"))


def test_scoped_subquery_works(tenant, other_tenant):
    mine = ProductFactory(tenant=tenant)
    ProductFactory(tenant=other_tenant)

    inner = Product.objects.for_tenant(tenant).values("id")
    assert _ids(Product.objects.for_tenant(tenant).filter(id__in=inner)) == {mine.id}
    assert _ids(Product.objects.all_tenants().filter(id__in=inner)) == {mine.id}


@pytest.mark.parametrize(
    "query",
    [
        lambda scoped, unscoped: scoped.filter(Exists(unscoped)),
        lambda scoped, unscoped: scoped.annotate(leak=Subquery(unscoped.values("name")[:1])),
    ],
    ids=["Exists", "Subquery"],
)
def test_unscoped_exists_or_subquery_raises(query, tenant, other_tenant):
    ProductFactory(tenant=tenant)
    ProductFactory(tenant=other_tenant, name="Secret")
    with pytest.raises(TenantScopeError):  # raised when the query is built, before any SQL
        list(query(Product.objects.for_tenant(tenant), Product.objects.filter(name="Secret")))


@pytest.mark.parametrize(
    "combine",
    [lambda scoped, unscoped: scoped | unscoped, lambda scoped, unscoped: scoped.union(unscoped)],
    ids=["or", "union"],
)
def test_combining_with_an_unscoped_queryset_raises(combine, tenant, other_tenant):
    ProductFactory(tenant=tenant)
    ProductFactory(tenant=other_tenant)
    scoped = Product.objects.for_tenant(tenant).order_by()
    unscoped = Product.objects.filter(is_active=True).order_by()

    with pytest.raises(TenantScopeError):
        list(combine(scoped, unscoped))


def test_unscoped_left_side_of_a_combination_raises(tenant):
    with pytest.raises(TenantScopeError):
        list(Product.objects.filter(is_active=True) | Product.objects.for_tenant(tenant))


def test_exclude_on_the_tenant_is_not_a_scope(tenant, other_tenant):
    ProductFactory(tenant=other_tenant)

    with pytest.raises(TenantScopeError):
        list(Product.objects.exclude(tenant=tenant))
    with pytest.raises(TenantScopeError):
        Product.objects.exclude(tenant_id=tenant.pk).count()


def test_for_tenant_needs_a_saved_tenant():
    with pytest.raises(TenantScopeError, match="needs a saved tenant"):
        Product.objects.for_tenant(Tenant(slug="unsaved"))


def test_membership_for_user_is_a_scope_across_that_users_tenants(tenant, other_tenant):
    person = UserFactory()
    first = MembershipFactory(tenant=tenant, user=person)
    second = MembershipFactory(tenant=other_tenant, user=person)
    MembershipFactory(tenant=tenant)  # someone else

    assert _ids(Membership.objects.for_user(person)) == {first.id, second.id}
    with pytest.raises(TenantScopeError):
        list(Membership.objects.filter(user=person))


def test_scope_survives_chaining(tenant, other_tenant):
    line = OrderLineFactory(tenant=tenant, quantity=3)
    OrderLineFactory(tenant=other_tenant, quantity=3)

    qs = (
        OrderLine.objects.for_tenant(tenant)
        .select_related("order")
        .filter(quantity=3)
        .exclude(quantity=4)
        .order_by("-id")
        .distinct()
    )
    assert [row.id for row in qs] == [line.id]
    assert qs.filter(order__tenant=tenant).count() == 1


def test_factories_refuse_to_mix_tenants(tenant, other_tenant):
    foreign_order = OrderLineFactory(tenant=other_tenant).order

    with pytest.raises(ValueError, match="order belongs to tenant"):
        OrderLineFactory(tenant=tenant, order=foreign_order)

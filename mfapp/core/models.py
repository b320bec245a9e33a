"""Base classes for every model, including the fail-closed tenant scope.

A queryset of a tenant-owned model refuses to run until it is scoped:
- `.for_tenant(tenant)` (or a filter on `tenant`/`tenant_id` with a value), the normal path;
- a related manager of an already loaded object (`order.lines.all()`), scoped by its parent;
- `.all_tenants()`, the single explicit escape hatch for the admin and platform jobs.
Anything else raises `TenantScopeError` instead of returning every tenant's rows.
"""

from typing import TYPE_CHECKING, Any, Self

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import sql

from mfapp.core.exceptions import TenantScopeError

if TYPE_CHECKING:
    from mfapp.tenancy.models import Tenant

_TENANT_LOOKUPS = frozenset({"tenant", "tenant_id", "tenant__id", "tenant__pk"})


def _is_tenant_value(value: object) -> bool:
    """A concrete tenant (object or id), not None, a list or an expression like F(...)."""
    if isinstance(value, models.Model):
        return value.pk is not None
    return isinstance(value, int) and not isinstance(value, bool)


class BaseModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        abstract = True


def _unscoped_error(model: type[models.Model]) -> TenantScopeError:
    return TenantScopeError(
        f"Unscoped query on {model._meta.label}: use .for_tenant(tenant), "
        "or .all_tenants() for platform jobs."
    )


class TenantScopedQuery(sql.Query):
    """The scope travels with the SQL query itself, so it survives every clone and reaches the
    places a queryset's own methods never see: Subquery(), Exists(), `id__in=` and `|`."""

    tenant_scoped = False

    def require_scope(self) -> None:
        if not self.tenant_scoped:
            raise _unscoped_error(self.model)

    def resolve_expression(self, *args: Any, **kwargs: Any) -> Any:
        self.require_scope()  # used inside another query
        return super().resolve_expression(*args, **kwargs)

    def combine(self, rhs: sql.Query, connector: str) -> None:
        if isinstance(rhs, TenantScopedQuery):
            rhs.require_scope()
        super().combine(rhs, connector)


class TenantScopedQuerySet(models.QuerySet):
    def __init__(
        self, model: Any = None, query: Any = None, using: Any = None, hints: Any = None
    ) -> None:
        super().__init__(model, query or TenantScopedQuery(model), using, hints)

    # --- scoping -------------------------------------------------------------------------
    def for_tenant(self, tenant: "Tenant | int") -> Self:
        tenant_id = tenant if isinstance(tenant, int) else tenant.pk
        if tenant_id is None:
            raise TenantScopeError("for_tenant() needs a saved tenant.")
        return self.filter(tenant_id=tenant_id)

    def all_tenants(self) -> Self:
        """Cross-tenant access: the admin and platform jobs only. Grep for it in reviews."""
        return self._scoped(self._chain())

    def none(self) -> Self:
        return self._scoped(super().none())  # returns no rows of any tenant

    @staticmethod
    def _scoped(queryset: "TenantScopedQuerySet") -> Any:
        queryset.query.tenant_scoped = True
        return queryset

    def _add_hints(self, **hints: Any) -> None:
        # Related managers (order.lines, product.routing_steps ...) and prefetches carry their
        # parent object as the "instance" hint: the parent itself came from a scoped query.
        super()._add_hints(**hints)
        if "instance" in hints:
            self.query.tenant_scoped = True

    def _require_scope(self) -> None:
        self.query.require_scope()

    def _filter_or_exclude(self, negate: bool, args: Any, kwargs: Any) -> Self:
        clone = super()._filter_or_exclude(negate, args, kwargs)
        if not negate and any(
            key in _TENANT_LOOKUPS and _is_tenant_value(value) for key, value in kwargs.items()
        ):
            clone.query.tenant_scoped = True
        return clone

    def _combinator_query(self, combinator: str, *other_qs: Any, all: bool = False) -> Self:
        for queryset in (self, *other_qs):
            if isinstance(queryset.query, TenantScopedQuery):
                queryset.query.require_scope()
        return super()._combinator_query(combinator, *other_qs, all=all)

    # --- every way a queryset reaches the database ---------------------------------------
    def _fetch_all(self) -> None:
        if self._result_cache is None:
            self._require_scope()
        super()._fetch_all()

    def iterator(self, *args: Any, **kwargs: Any) -> Any:
        self._require_scope()
        return super().iterator(*args, **kwargs)

    def count(self) -> int:
        if self._result_cache is None:
            self._require_scope()
        return super().count()

    def exists(self) -> bool:
        if self._result_cache is None:
            self._require_scope()
        return super().exists()

    def aggregate(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self._require_scope()
        return super().aggregate(*args, **kwargs)

    def update(self, **kwargs: Any) -> int:
        self._require_scope()
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        self._require_scope()
        return super().delete()

    def explain(self, *args: Any, **kwargs: Any) -> str:
        self._require_scope()
        return super().explain(*args, **kwargs)


class TenantScopedManager(models.Manager.from_queryset(TenantScopedQuerySet)):  # type: ignore[misc]
    pass


class TenantScopedModel(BaseModel):
    """Every tenant-owned row: a non-null tenant, and queries that fail closed."""

    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.PROTECT, related_name="+")

    objects = TenantScopedManager()

    class Meta:
        # Django's internals (deletion, refresh_from_db, forward FK access) use the base
        # manager, by primary key; it stays Django's plain manager.
        abstract = True

    def clean(self) -> None:
        """No cross-tenant references: every related tenant-owned row has this row's tenant."""
        super().clean()
        if self.tenant_id is None:
            return
        errors = {}
        for field in self._meta.concrete_fields:
            if not field.is_relation or field.name == "tenant":
                continue
            if not issubclass(field.related_model, TenantScopedModel):
                continue
            if getattr(self, field.attname) is None:
                continue
            if getattr(self, field.name).tenant_id != self.tenant_id:
                errors[field.name] = f"This {field.verbose_name} belongs to another tenant."
        if errors:
            raise ValidationError(errors)

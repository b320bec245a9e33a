"""Which factor applies: a tenant's site override, then its business-wide override, then the
platform default (with fallbacks for electricity). Every factor looked up is remembered, so the
report's methodology lists exactly the factors it used."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from mfapp.catalog.models import Material
from mfapp.sustainability.models import EmissionFactor, FactorOverride
from mfapp.tenancy.models import Site, Tenant

# EU member states (ISO 3166-1 alpha-2; Greece as GR): their grid falls back to the EU-27 mean.
EU_COUNTRIES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
    ]
)
EU_FALLBACK = "EU27"
WORLD_FALLBACK = "WORLD_FALLBACK"
K = FactorOverride.Kind


def to_kg(value: Decimal, unit: str) -> float:
    """kgCO2e per activity unit from a value as published: g -> kg when the unit is in grams."""
    if unit.startswith("gCO2"):
        return float(value) / 1000
    return float(value)


@dataclass(frozen=True)
class Factor:
    """A factor as the report uses it: `kg` is kgCO2e (or kgCO2) per kWh, kg or tonne.km."""

    kind: str
    key: str
    value: Decimal  # as stored
    unit: str
    year: int | None
    source: str
    licence: str
    proxy: bool
    override: str | None  # None (platform default), "tenant", "site" or "supplier"
    site_id: int | None = None

    @property
    def kg(self) -> float:
        return to_kg(self.value, self.unit)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "key": self.key,
            "value": float(self.value),
            "unit": self.unit,
            "year": self.year,
            "source": self.source,
            "licence": self.licence,
            "proxy": self.proxy,
            "override": self.override,
        }


def _from_default(row: EmissionFactor) -> Factor:
    return Factor(
        kind=row.kind,
        key=row.key,
        value=row.value,
        unit=row.unit,
        year=row.year,
        source=row.source,
        licence=row.licence,
        proxy=row.is_proxy,
        override=None,
    )


def _from_override(row: FactorOverride) -> Factor:
    return Factor(
        kind=row.kind,
        key=row.key,
        value=row.value,
        unit=row.unit,
        year=row.year,
        source=row.source,
        licence="Tenant-supplied value",
        proxy=False,
        override="site" if row.site_id else "tenant",
        site_id=row.site_id,
    )


@dataclass
class FactorBook:
    """All factors of one report: two queries, then lookups in memory."""

    tenant: Tenant
    defaults: dict[tuple[str, str], EmissionFactor] = field(default_factory=dict)
    overrides: dict[tuple[str, str, int | None], FactorOverride] = field(default_factory=dict)
    used: dict[tuple[Any, ...], Factor] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, tenant: Tenant) -> FactorBook:
        book = cls(tenant=tenant)
        book.defaults = {(f.kind, f.key): f for f in EmissionFactor.objects.all()}
        book.overrides = {
            (o.kind, o.key, o.site_id): o for o in FactorOverride.objects.for_tenant(tenant)
        }
        return book

    def _note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def _use(self, factor: Factor) -> Factor:
        self.used.setdefault((factor.kind, factor.key, factor.override, factor.site_id), factor)
        return factor

    def _override(self, kind: str, key: str, site_id: int | None) -> Factor | None:
        for scope in (site_id, None) if site_id is not None else (None,):
            row = self.overrides.get((kind, key, scope))
            if row is not None:
                return self._use(_from_override(row))
        return None

    def _default(self, kind: str, key: str) -> Factor | None:
        row = self.defaults.get((kind, key))
        return None if row is None else self._use(_from_default(row))

    # --- electricity ---------------------------------------------------------------------
    def grid(self, site: Site) -> Factor | None:
        """Location-based: the site's override, the tenant's override for the country, the
        country's grid, the EU-27 mean for EU countries, else the world average (proxies)."""
        country = site.country.upper()
        found = self._override(K.GRID_ELECTRICITY, country, site.pk) or self._default(
            "grid_electricity", country
        )
        if found is not None:
            return found
        fallback = EU_FALLBACK if country in EU_COUNTRIES else WORLD_FALLBACK
        found = self._default("grid_electricity", fallback)
        label = "EU-27 average" if fallback == EU_FALLBACK else "world average"
        self._note(
            f"No grid factor for {country} (site {site.name}): the {label} ({fallback}) is used "
            "as a proxy."
        )
        return found

    def market(self, site: Site, location: Factor | None) -> Factor | None:
        """Market-based: a contract (renewable tariff, PPA, supplier factor) for the site or the
        business; without one the location-based factor (stated in the notes)."""
        found = self._override(K.MARKET_ELECTRICITY, site.country.upper(), site.pk)
        if found is None:
            self._note(
                f"Site {site.name} has no electricity contract factor: its market-based scope 2 "
                "equals the location-based figure."
            )
            return location
        return found

    # --- materials and freight -------------------------------------------------------------
    def material(self, material: Material, site_id: int | None) -> Factor | None:
        """The material's own supplier value, then overrides, then the platform default."""
        if material.embodied_co2e_kg_per_kg is not None:
            return self._use(
                Factor(
                    kind="material",
                    key=material.emission_factor_key or material.code,
                    value=material.embodied_co2e_kg_per_kg,
                    unit="kgCO2e/kg",
                    year=None,
                    source=f"Supplier-specific value recorded on material {material.code}",
                    licence="Tenant-supplied value",
                    proxy=False,
                    override="supplier",
                    site_id=material.pk,
                )
            )
        key = material.emission_factor_key.strip()
        found = None
        if key:
            found = self._override(K.MATERIAL, key, site_id) or self._default("material", key)
        if found is None:
            reason = f"key {key!r} is not in the factor table" if key else "no factor key"
            self._note(
                f"Material {material.code} has no emission factor ({reason}): its mass is "
                "counted, its emissions are not."
            )
        return found

    def freight(self, mode: str, site_id: int | None) -> Factor | None:
        found = self._override(K.FREIGHT, mode, site_id) or self._default("freight", mode)
        if found is None:
            self._note(f"Freight mode {mode!r} has no factor: its emissions are not counted.")
        return found

    def factors_used(self) -> list[dict[str, Any]]:
        order = {"grid_electricity": 0, "market_electricity": 1, "material": 2, "freight": 3}
        unique: dict[tuple[Any, ...], dict[str, Any]] = {}
        for factor in self.used.values():
            entry = factor.as_dict()
            unique.setdefault(tuple(sorted((k, str(v)) for k, v in entry.items())), entry)
        return sorted(
            unique.values(), key=lambda f: (order.get(f["kind"], 9), f["key"], f["override"] or "")
        )

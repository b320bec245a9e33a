"""The report document (`SustainabilityReport.data`): activity data from `activity.py` times
the factors from `factors.py`, rolled up per site, product, machine, month and material.

The loops here run over the groups the database returned (sites x products x machines x
months), never over operation rows."""

from __future__ import annotations

import math
import zoneinfo
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from mfapp.catalog.models import BomLine, Material, Product
from mfapp.machines.models import Machine
from mfapp.orders.models import Customer
from mfapp.sustainability import activity
from mfapp.sustainability.activity import Period
from mfapp.sustainability.factors import Factor, FactorBook
from mfapp.sustainability.models import SustainabilitySettings
from mfapp.tenancy.models import Site, Tenant

SCHEMA = "mfapp.sustainability.report/1"
EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)
Progress = Callable[[int, str], None]

TOTAL_KEYS = (
    "energy_kwh",
    "energy_measured_kwh",
    "energy_estimated_kwh",
    "scope2_location_kgco2e",
    "scope2_market_kgco2e",
    "materials_kgco2e",
    "transport_kgco2e",
    "total_kgco2e",
    "avoided_transport_kgco2e",
    "units_good",
    "units_scrap",
    "scrap_rate",
    "material_input_kg",
    "scrap_kg",
    "material_efficiency",
    "kgco2e_per_unit",
)

BOUNDARY = (
    "Cradle-to-customer partial footprint of the units made in the period: purchased "
    "materials (cradle-to-gate), the electricity of the machines while they ran the batch "
    "operations (scope 2, location- and market-based), and the delivery from the site to the "
    "customer. Not included: scope 1 (fuels, refrigerants), building energy (lighting, heating, "
    "compressed air), machine energy between operations, upstream transport of materials, "
    "waste treatment, packaging not in a bill of materials, and the use and end of life of the "
    "products. Avoided transport emissions are shown separately and never subtracted."
)

METHODOLOGY = [
    "Emissions = activity data x emission factor. Every factor used is listed below with its "
    "value as published, unit, year, source and licence; proxies are flagged. Grid factors "
    "published in gCO2e/kWh are divided by 1,000 when applied.",
    "Energy per batch operation, first rule that applies: (1) the kWh recorded on the "
    "operation; (2) interval meter readings of its machine covering at least 95 % of the "
    "operation, each prorated by its overlap with the operation; (3) cumulative meter readings "
    "before and after the operation, the register interpolated linearly at its start and end; "
    "(4) otherwise an estimate: the machine's rated running power x (duration - setup time) + "
    "rated idle power x setup time. Rules 1-3 are labelled measured, rule 4 estimated.",
    "An operation's energy counts in the period and month in which it finished. A batch's "
    "units and materials count when its last operation finished; a shipment counts when it "
    "was shipped.",
    "Scope 2 location-based uses the site's grid factor: the tenant's override for the site or "
    "its country, else the country's grid intensity (Our World in Data / Ember, life-cycle "
    "basis), else the EU-27 mean for EU countries or the world average (both proxies). "
    "Market-based uses the electricity contract factor the tenant entered for the site or the "
    "business; without one it equals the location-based figure (stated in the notes).",
    "Materials, per batch and material: the recorded consumption when some was recorded, else "
    "the bill of materials x units planned x (1 + scrap allowance). Mass = quantity x the "
    "material's mass per unit. Factor: the supplier-specific value on the material, else a "
    "site or business override of its factor key, else the platform's cradle-to-gate factor.",
    "Scrap mass = units scrapped x product unit mass. Material efficiency = mass of good units "
    "/ material input mass. A material's scrap mass is its input x the scrap rate of the "
    "product it went into, that month.",
    "Transport per shipped order: great-circle (haversine) distance from the site to the "
    "customer x the road factor x shipment mass (units x product unit mass) x the delivery "
    "mode's well-to-wheel freight factor (DEFRA TTW + WTT). Shipments without coordinates are "
    "not counted (see the located share).",
    "Avoided transport = the tenant's baseline (central production: the legs' km x their "
    "freight factors x the same shipment mass) - the actual delivery emissions, over the same "
    "located shipments. It is reported separately and never subtracted from the totals.",
    "Total = scope 2 location-based + materials + transport. Comparison: the previous period "
    "of the same length, ending the day before this one starts.",
]


def _kg(value: float) -> float:
    """kg and kWh: 3 decimals (grams, Wh)."""
    return round(value + 0.0, 3)


def _share(part: float, whole: float) -> float:
    return round(part / whole, 4) if whole else 0.0


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = math.radians(lat2 - lat1), math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def _acc() -> defaultdict[str, float]:
    return defaultdict(float)


@dataclass
class _Figures:
    """Sums for one period, keyed by what they belong to."""

    totals: defaultdict[str, float] = field(default_factory=_acc)
    site: defaultdict[int, defaultdict[str, float]] = field(
        default_factory=lambda: defaultdict(_acc)
    )
    product: defaultdict[int, defaultdict[str, float]] = field(
        default_factory=lambda: defaultdict(_acc)
    )
    machine: defaultdict[int | None, defaultdict[str, float]] = field(
        default_factory=lambda: defaultdict(_acc)
    )
    month: defaultdict[str, defaultdict[str, float]] = field(
        default_factory=lambda: defaultdict(_acc)
    )
    material: defaultdict[int, defaultdict[str, float]] = field(
        default_factory=lambda: defaultdict(_acc)
    )
    activity: int = 0  # groups seen: 0 means the period had no activity at all
    transport: dict[str, Any] = field(default_factory=dict)

    def add(self, key: str, value: float, *, site: int, product: int, month: str) -> None:
        self.totals[key] += value
        self.site[site][key] += value
        self.product[product][key] += value
        self.month[month][key] += value


class _Context:
    """What both periods share: the tenant's catalog, sites, settings and factors."""

    def __init__(self, tenant: Tenant, site: Site | None) -> None:
        self.tenant = tenant
        self.only_site = site
        self.settings = SustainabilitySettings.objects.for_tenant(tenant).first() or (
            SustainabilitySettings(tenant=tenant)
        )
        sites = Site.objects.for_tenant(tenant).order_by("name")
        self.sites = {s.pk: s for s in sites}
        self.scope_sites = [site] if site is not None else list(self.sites.values())
        self.products = {p.pk: p for p in Product.objects.for_tenant(tenant)}
        self.materials = {m.pk: m for m in Material.objects.for_tenant(tenant)}
        self.machines = {m.pk: m for m in Machine.objects.for_tenant(tenant)}
        self.bom_lines = {line.pk: line for line in BomLine.objects.for_tenant(tenant)}
        self.book = FactorBook.load(tenant)
        self.notes: list[str] = []
        self._grid: dict[int, Factor | None] = {}
        self._market: dict[int, Factor | None] = {}
        self._customers: dict[int, Customer] = {}

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def grid(self, site_id: int) -> float:
        if site_id not in self._grid:
            self._grid[site_id] = self.book.grid(self.sites[site_id])
        factor = self._grid[site_id]
        return factor.kg if factor else 0.0

    def market(self, site_id: int) -> float:
        if site_id not in self._market:
            self.grid(site_id)
            self._market[site_id] = self.book.market(self.sites[site_id], self._grid[site_id])
        factor = self._market[site_id]
        return factor.kg if factor else 0.0

    def material_factor(self, material_id: int, site_id: int) -> float:
        factor = self.book.material(self.materials[material_id], site_id)
        return factor.kg if factor else 0.0

    def freight(self, mode: str, site_id: int) -> float:
        factor = self.book.freight(mode, site_id)
        return factor.kg if factor else 0.0

    def product_mass(self, product_id: int) -> float:
        mass = self.products[product_id].unit_mass_kg
        if mass:
            return float(mass)
        self.note(
            f"Product {self.products[product_id].sku} has no unit mass: "
            f"{self.settings.default_product_mass_kg} kg (the default in the settings) is used."
        )
        return float(self.settings.default_product_mass_kg)

    def customers(self, ids: set[int]) -> dict[int, Customer]:
        missing = ids - set(self._customers)
        if missing:
            for customer in Customer.objects.for_tenant(self.tenant).filter(pk__in=missing):
                self._customers[customer.pk] = customer
        return self._customers


def _energy(ctx: _Context, period: Period, fig: _Figures) -> None:
    for g in activity.operations_energy(ctx.tenant, period, ctx.only_site):
        fig.activity += 1
        site, product, month = g["site_id"], g["product_id"], period.month_key(g["month"])
        energy = g["measured"] + g["estimated"]
        location, market = energy * ctx.grid(site), energy * ctx.market(site)
        for key, value in (
            ("energy_kwh", energy),
            ("energy_measured_kwh", g["measured"]),
            ("energy_estimated_kwh", g["estimated"]),
            ("scope2_location_kgco2e", location),
            ("scope2_market_kgco2e", market),
            ("operations", g["operations"]),
            ("measured_operations", g["measured_operations"]),
        ):
            fig.add(key, value, site=site, product=product, month=month)
        machine = fig.machine[g["machine_id"]]
        machine["energy_kwh"] += energy
        machine["energy_measured_kwh"] += g["measured"]
        machine["running_hours"] += g["hours"]
        machine["scope2_location_kgco2e"] += location
        machine["site_id"] = site


def _materials(ctx: _Context, period: Period, fig: _Figures) -> None:
    scrap_share: dict[tuple[int, int, str], float] = {}
    for g in activity.batch_outputs(ctx.tenant, period, ctx.only_site):
        fig.activity += 1
        site, product, month = g["site_id"], g["product_id"], period.month_key(g["month"])
        mass = ctx.product_mass(product)
        good, scrap = g["units_good"], g["units_scrap"]
        for key, value in (
            ("units_good", good),
            ("units_scrap", scrap),
            ("scrap_kg", scrap * mass),
            ("good_kg", good * mass),
        ):
            fig.add(key, value, site=site, product=product, month=month)
        scrap_share[(site, product, month)] = scrap / (good + scrap) if good + scrap else 0.0
    for g in activity.bom_estimates(ctx.tenant, period, ctx.only_site):
        site, product, month = g["site_id"], g["product_id"], period.month_key(g["month"])
        line = ctx.bom_lines[g["bom_line"]]
        material = ctx.materials[line.material_id]
        allowance = 1 + float(line.scrap_allowance_percent) / 100
        kg = g["units_planned"] * float(line.quantity_per_unit) * allowance
        kg *= float(material.mass_per_unit_kg)
        share = scrap_share.get((site, product, month), 0.0)
        _material_add(
            ctx, fig, material.pk, kg, recorded=False, scrap_share=share, key=(site, product, month)
        )
    for g in activity.recorded_consumption(ctx.tenant, period, ctx.only_site):
        site, product, month = g["site_id"], g["product_id"], period.month_key(g["month"])
        material = ctx.materials[g["material_id"]]
        kg = g["quantity"] * float(material.mass_per_unit_kg)
        share = scrap_share.get((site, product, month), 0.0)
        _material_add(
            ctx, fig, material.pk, kg, recorded=True, scrap_share=share, key=(site, product, month)
        )


def _material_add(
    ctx: _Context,
    fig: _Figures,
    material_id: int,
    kg: float,
    *,
    recorded: bool,
    scrap_share: float,
    key: tuple[int, int, str],
) -> None:
    site, product, month = key
    emissions = kg * ctx.material_factor(material_id, site)
    fig.add("material_input_kg", kg, site=site, product=product, month=month)
    fig.add(
        "material_recorded_kg", kg if recorded else 0.0, site=site, product=product, month=month
    )
    fig.add("materials_kgco2e", emissions, site=site, product=product, month=month)
    row = fig.material[material_id]
    row["input_kg"] += kg
    row["recorded_kg"] += kg if recorded else 0.0
    row["scrap_kg"] += kg * scrap_share
    row["kgco2e"] += emissions


def _transport(ctx: _Context, period: Period, fig: _Figures) -> dict[str, Any]:
    settings = ctx.settings
    road = float(settings.road_factor)
    lines = activity.shipped_lines(ctx.tenant, period, ctx.only_site)
    orders = activity.shipments(ctx.tenant, period, ctx.only_site)
    customers = ctx.customers({g["customer_id"] for g in orders})
    distance: dict[tuple[int, int], float | None] = {}
    for site_id, customer_id in {(g["site_id"], g["customer_id"]) for g in orders}:
        site, customer = ctx.sites[site_id], customers[customer_id]
        coords = (site.latitude, site.longitude, customer.latitude, customer.longitude)
        distance[(site_id, customer_id)] = (
            None if None in coords else haversine_km(*(float(c) for c in coords))
        )
    located = sum(g["count"] for g in orders if distance[(g["site_id"], g["customer_id"])])
    total = sum(g["count"] for g in orders)
    if total > located:
        ctx.note(
            f"{total - located} of {total} shipments have no coordinates for the site or the "
            "customer: their transport is not counted."
        )
    tonne_km = baseline = 0.0
    for g in lines:
        fig.activity += 1
        km = distance.get((g["site_id"], g["customer_id"]))
        if not km:
            continue
        site, product, month = g["site_id"], g["product_id"], period.month_key(g["month"])
        tonnes = g["units"] * ctx.product_mass(product) / 1000
        leg_tkm = tonnes * km * road
        tonne_km += leg_tkm
        emissions = leg_tkm * ctx.freight(settings.delivery_mode, site)
        fig.add("transport_kgco2e", emissions, site=site, product=product, month=month)
        baseline += tonnes * sum(
            float(leg["km"]) * ctx.freight(leg["mode"], site) for leg in settings.baseline_legs
        )
    fig.totals["shipments"] = total
    fig.totals["shipments_located"] = located
    fig.totals["baseline_kgco2e"] = baseline
    fig.totals["tonne_km"] = tonne_km
    if not settings.baseline_legs:
        ctx.note("No transport baseline is configured: avoided transport emissions are 0.")
    return {
        "shipments": total,
        "located_shipments": located,
        "tonne_km": _kg(tonne_km),
        "kgco2e": _kg(fig.totals["transport_kgco2e"]),
        "mode": settings.delivery_mode,
        "road_factor": road,
        "baseline_kgco2e": _kg(baseline),
        "avoided_kgco2e": _kg(baseline - fig.totals["transport_kgco2e"] if baseline else 0.0),
        "baseline_description": settings.baseline_description,
        "baseline_legs": settings.baseline_legs,
    }


def _emissions(values: dict[str, float]) -> dict[str, float]:
    location = _kg(values.get("scope2_location_kgco2e", 0.0))
    materials = _kg(values.get("materials_kgco2e", 0.0))
    transport = _kg(values.get("transport_kgco2e", 0.0))
    return {
        "scope2_location_kgco2e": location,
        "materials_kgco2e": materials,
        "transport_kgco2e": transport,
        "total_kgco2e": _kg(location + materials + transport),
    }


def _per_unit(total: float, units: float) -> float | None:
    return _kg(total / units) if units else None


def _totals(fig: _Figures) -> dict[str, Any]:
    t = fig.totals
    emissions = _emissions(t)
    good, scrap = int(t["units_good"]), int(t["units_scrap"])
    avoided = t["baseline_kgco2e"] - t["transport_kgco2e"] if t["baseline_kgco2e"] else 0.0
    return {
        "energy_kwh": _kg(t["energy_kwh"]),
        "energy_measured_kwh": _kg(t["energy_measured_kwh"]),
        "energy_estimated_kwh": _kg(t["energy_estimated_kwh"]),
        "scope2_location_kgco2e": emissions["scope2_location_kgco2e"],
        "scope2_market_kgco2e": _kg(t["scope2_market_kgco2e"]),
        "materials_kgco2e": emissions["materials_kgco2e"],
        "transport_kgco2e": emissions["transport_kgco2e"],
        "total_kgco2e": emissions["total_kgco2e"],
        "avoided_transport_kgco2e": _kg(avoided),
        "units_good": good,
        "units_scrap": scrap,
        "scrap_rate": _share(scrap, good + scrap),
        "material_input_kg": _kg(t["material_input_kg"]),
        "scrap_kg": _kg(t["scrap_kg"]),
        "material_efficiency": _share(t["good_kg"], t["material_input_kg"]),
        "kgco2e_per_unit": _per_unit(emissions["total_kgco2e"], good),
    }


def _compute(ctx: _Context, period: Period, progress: Progress, step: int) -> _Figures:
    fig = _Figures()
    progress(step + 5, "Energy of the batch operations")
    _energy(ctx, period, fig)
    progress(step + 20, "Materials, units and scrap")
    _materials(ctx, period, fig)
    progress(step + 30, "Transport to customers")
    fig.transport = _transport(ctx, period, fig)
    return fig


def _change(current: dict[str, Any], previous: dict[str, Any]) -> dict[str, float | None]:
    change: dict[str, float | None] = {}
    for key in TOTAL_KEYS:
        now, before = current.get(key), previous.get(key)
        if now is None or before is None or before == 0:
            change[key] = None
        else:
            change[key] = round((now - before) / abs(before), 4)
    return change


def _per_site(ctx: _Context, fig: _Figures) -> list[dict[str, Any]]:
    rows = []
    for site in ctx.scope_sites:
        values = fig.site.get(site.pk, _acc())
        emissions = _emissions(values)
        rows.append(
            {
                "site": site.name,
                "site_id": site.pk,
                "country": site.country,
                "energy_kwh": _kg(values["energy_kwh"]),
                "grid_factor_kgco2e_per_kwh": round(ctx.grid(site.pk), 6),
                "market_factor_kgco2e_per_kwh": round(ctx.market(site.pk), 6),
                "scope2_location_kgco2e": emissions["scope2_location_kgco2e"],
                "scope2_market_kgco2e": _kg(values["scope2_market_kgco2e"]),
                "materials_kgco2e": emissions["materials_kgco2e"],
                "transport_kgco2e": emissions["transport_kgco2e"],
                "total_kgco2e": emissions["total_kgco2e"],
                "units_good": int(values["units_good"]),
                "units_scrap": int(values["units_scrap"]),
            }
        )
    return rows


def _per_product(ctx: _Context, fig: _Figures) -> list[dict[str, Any]]:
    rows = []
    for product_id, values in fig.product.items():
        product = ctx.products[product_id]
        emissions = _emissions(values)
        good = int(values["units_good"])
        rows.append(
            {
                "product_id": product_id,
                "sku": product.sku,
                "name": product.name,
                "units_good": good,
                "units_scrap": int(values["units_scrap"]),
                "energy_kwh": _kg(values["energy_kwh"]),
                **emissions,
                "kgco2e_per_unit": _per_unit(emissions["total_kgco2e"], good),
            }
        )
    return sorted(rows, key=lambda r: (-r["total_kgco2e"], r["sku"]))


def _per_machine(ctx: _Context, fig: _Figures) -> list[dict[str, Any]]:
    rows = []
    for machine_id, values in fig.machine.items():
        machine = ctx.machines.get(machine_id) if machine_id is not None else None
        site = ctx.sites.get(int(values["site_id"]))
        rows.append(
            {
                "machine_id": machine_id,
                "machine": machine.name if machine else "(no machine recorded)",
                "site": site.name if site else "",
                "energy_kwh": _kg(values["energy_kwh"]),
                "energy_measured_kwh": _kg(values["energy_measured_kwh"]),
                "measured_share": _share(values["energy_measured_kwh"], values["energy_kwh"]),
                "running_hours": _kg(values["running_hours"]),
                "scope2_location_kgco2e": _kg(values["scope2_location_kgco2e"]),
            }
        )
    return sorted(rows, key=lambda r: (-r["energy_kwh"], r["machine"]))


def _per_month(period: Period, fig: _Figures) -> list[dict[str, Any]]:
    rows = []
    for month in period.months():
        values = fig.month.get(month, _acc())
        emissions = _emissions(values)
        rows.append(
            {
                "month": month,
                "energy_kwh": _kg(values["energy_kwh"]),
                "scope2_location_kgco2e": emissions["scope2_location_kgco2e"],
                "scope2_market_kgco2e": _kg(values["scope2_market_kgco2e"]),
                "materials_kgco2e": emissions["materials_kgco2e"],
                "transport_kgco2e": emissions["transport_kgco2e"],
                "total_kgco2e": emissions["total_kgco2e"],
                "units_good": int(values["units_good"]),
            }
        )
    return rows


def _materials_rows(ctx: _Context, fig: _Figures) -> list[dict[str, Any]]:
    rows = []
    for material_id, values in fig.material.items():
        material = ctx.materials[material_id]
        rows.append(
            {
                "material_id": material_id,
                "code": material.code,
                "name": material.name,
                "factor_key": material.emission_factor_key,
                "input_kg": _kg(values["input_kg"]),
                "scrap_kg": _kg(values["scrap_kg"]),
                "kgco2e": _kg(values["kgco2e"]),
                "recorded_share": _share(values["recorded_kg"], values["input_kg"]),
            }
        )
    return sorted(rows, key=lambda r: (-r["kgco2e"], r["code"]))


def _quality_notes(fig: _Figures) -> list[str]:
    t = fig.totals
    notes = []
    operations = int(t["operations"])
    if operations:
        estimated = operations - int(t["measured_operations"])
        notes.append(
            f"{int(t['measured_operations'])} of {operations} operations have measured energy; "
            f"{estimated} are estimated from the machines' rated power."
        )
    else:
        notes.append("No batch operation finished in this period.")
    return notes


def build_document(
    *,
    tenant: Tenant,
    start: date,
    end: date,
    site: Site | None = None,
    progress: Progress | None = None,
    generated_at: datetime | None = None,
) -> dict[str, Any]:
    report_progress: Progress = progress or (lambda percent, note: None)
    report_progress(2, "Reading the factors and the catalog")
    ctx = _Context(tenant, site)
    period = Period(start=start, end=end, tz=zoneinfo.ZoneInfo(tenant.timezone))
    fig = _compute(ctx, period, report_progress, 0)
    report_progress(40, "The previous period, for comparison")
    previous_period = period.previous()
    previous = _compute(ctx, previous_period, lambda percent, note: None, 40)
    report_progress(80, "Putting the report together")
    totals = _totals(fig)
    comparison = None
    if previous.activity:
        previous_totals = _totals(previous)
        comparison = {
            "period": {
                "start": previous_period.start.isoformat(),
                "end": previous_period.end.isoformat(),
            },
            "totals": previous_totals,
            "change": _change(totals, previous_totals),
        }
    t = fig.totals
    moment = (generated_at or datetime.now(tz=UTC)).astimezone(UTC).replace(microsecond=0)
    return {
        "schema": SCHEMA,
        "tenant": {"slug": tenant.slug, "name": tenant.name},
        "site": None
        if site is None
        else {"id": site.pk, "name": site.name, "country": site.country},
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "generated_at": moment.isoformat().replace("+00:00", "Z"),
        "boundary": BOUNDARY,
        "totals": totals,
        "per_site": _per_site(ctx, fig),
        "per_product": _per_product(ctx, fig),
        "per_machine": _per_machine(ctx, fig),
        "per_month": _per_month(period, fig),
        "materials": _materials_rows(ctx, fig),
        "transport": fig.transport,
        "comparison": comparison,
        "data_quality": {
            "energy_measured_share": _share(t["energy_measured_kwh"], t["energy_kwh"]),
            "material_recorded_share": _share(t["material_recorded_kg"], t["material_input_kg"]),
            "shipments_located_share": _share(t["shipments_located"], t["shipments"]),
            "notes": _quality_notes(fig) + ctx.notes + ctx.book.notes,
        },
        "factors": ctx.book.factors_used(),
        "methodology": METHODOLOGY,
    }

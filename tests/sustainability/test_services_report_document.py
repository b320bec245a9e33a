"""The report document against a hand-calculated scenario (tests/sustainability/scenario.py),
to the gram and the watt-hour."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from mfapp.core.exceptions import ApplicationError
from mfapp.machines.models import EnergyReading
from mfapp.sustainability.document import TOTAL_KEYS
from mfapp.sustainability.factor_data import ensure_factors_loaded
from mfapp.sustainability.services import report_document
from tests.factories import (
    BatchOperationFactory,
    EnergyReadingFactory,
    FactorOverrideFactory,
    SiteFactory,
)
from tests.sustainability.scenario import JANUARY, at, build_world, with_settings

pytestmark = pytest.mark.django_db

# --- the arithmetic ------------------------------------------------------------------------------
# Energy (kWh)
#   A/10 printer, 08:00-10:30 with 30 min setup, no readings: estimated
#        run 2.0 h x 0.250 kW + setup 0.5 h x 0.010 kW                 = 0.505
#   A/20 laser, 11:00-12:00, interval readings 10:30-11:30 = 1.0 kWh and 11:30-12:30 = 2.0 kWh:
#        half of each overlaps: 0.5 x 1.0 + 0.5 x 2.0                   = 1.500 (measured)
#   B/10 printer, energy_kwh_measured                                  = 0.800 (measured)
#   C/10 mill, 13:30-14:30, register 100.0 at 13:00 and 104.0 at 15:00:
#        interpolated 101.0 at 13:30 and 103.0 at 14:30                 = 2.000 (measured)
#   total 4.805 = measured 4.300 + estimated 0.505
# Scope 2: DE grid 380.9 gCO2e/kWh = 0.3809 kg/kWh: 4.805 x 0.3809 = 1.8302245 -> 1.830
#   (no contract: market-based = location-based)
# Materials: PETG (key petg = the DEFRA PET proxy, 3.864 kgCO2e/kg), 1 kg per unit of material
#   A: BOM 10 planned x 0.15 x 1.10 = 1.65 kg; C: 4 x 0.15 x 1.10 = 0.66 kg; B: recorded 0.8 kg
#   input 3.11 kg (recorded share 0.8 / 3.11 = 0.2572); 3.11 x 3.864 = 12.01704 -> 12.017
# Units: good 9 (A's last operation) + 5 + 4 = 18, scrapped 1; scrap rate 1/19 = 0.0526
#   scrap mass 1 x 0.120 = 0.120 kg; good mass 18 x 0.120 = 2.16 kg; efficiency 2.16/3.11 = 0.6945
# Transport: site (50 N, 10 E) -> customer (51 N, 10 E): one degree of a great circle
#   = 6371.0088 km x pi/180 = 111.19508 km; x road factor 1.3 = 144.55360 km
#   shipment 18 x 0.120 kg = 0.00216 t -> 0.31223579 t.km
#   van diesel WTW 0.6313 + 0.15095 = 0.78225 kgCO2e/t.km -> 0.24424644 -> 0.244
# Baseline: sea 19,000 km x (0.01612 + 0.00365) + artic truck 700 km x (0.078 + 0.01823)
#   = 375.63 + 67.361 = 442.991 kgCO2e per tonne x 0.00216 t = 0.95686056 -> 0.957
#   avoided 0.95686056 - 0.24424644 = 0.71261412 -> 0.713 (shown apart, never subtracted)
# Total = 1.830 + 12.017 + 0.244 = 14.091; per good unit 14.091 / 18 = 0.78283 -> 0.783

EXPECTED_TOTALS = {
    "energy_kwh": 4.805,
    "energy_measured_kwh": 4.3,
    "energy_estimated_kwh": 0.505,
    "scope2_location_kgco2e": 1.83,
    "scope2_market_kgco2e": 1.83,
    "materials_kgco2e": 12.017,
    "transport_kgco2e": 0.244,
    "total_kgco2e": 14.091,
    "avoided_transport_kgco2e": 0.713,
    "units_good": 18,
    "units_scrap": 1,
    "scrap_rate": 0.0526,
    "material_input_kg": 3.11,
    "scrap_kg": 0.12,
    "material_efficiency": 0.6945,
    "kgco2e_per_unit": 0.783,
}


@pytest.fixture
def world(tenant):
    with_settings(tenant)
    return build_world(tenant)


def _document(tenant, site=None, period=JANUARY):
    return report_document(tenant=tenant, start=period[0], end=period[1], site=site)


def test_the_hand_calculated_scenario(world, tenant):
    doc = _document(tenant)

    assert doc["schema"] == "mfapp.sustainability.report/1"
    assert doc["tenant"] == {"slug": "acme", "name": "Acme Microfactory"}
    assert doc["site"] is None
    assert doc["period"] == {"start": "2026-01-01", "end": "2026-01-31"}
    assert doc["totals"] == EXPECTED_TOTALS
    assert set(doc["totals"]) == set(TOTAL_KEYS)
    assert doc["data_quality"]["energy_measured_share"] == 0.8949  # 4.3 / 4.805
    assert doc["data_quality"]["material_recorded_share"] == 0.2572
    assert doc["data_quality"]["shipments_located_share"] == 1.0
    assert doc["comparison"] is None  # nothing happened in December


def test_per_site_machine_month_and_product(world, tenant):
    doc = _document(tenant)

    assert doc["per_site"] == [
        {
            "site": world.site.name,
            "site_id": world.site.pk,
            "country": "DE",
            "energy_kwh": 4.805,
            "grid_factor_kgco2e_per_kwh": 0.3809,
            "market_factor_kgco2e_per_kwh": 0.3809,
            "scope2_location_kgco2e": 1.83,
            "scope2_market_kgco2e": 1.83,
            "materials_kgco2e": 12.017,
            "transport_kgco2e": 0.244,
            "total_kgco2e": 14.091,
            "units_good": 18,
            "units_scrap": 1,
        }
    ]
    machines = {m["machine"]: m for m in doc["per_machine"]}
    # printer: 0.505 estimated (2.5 h) + 0.8 measured (2 h); 1.305 x 0.3809 = 0.49707
    assert machines["Printer"] == {
        "machine_id": world.printer.pk,
        "machine": "Printer",
        "site": world.site.name,
        "energy_kwh": 1.305,
        "energy_measured_kwh": 0.8,
        "measured_share": 0.613,
        "running_hours": 4.5,
        "scope2_location_kgco2e": 0.497,
    }
    assert machines["Laser"]["energy_kwh"] == 1.5
    assert machines["Laser"]["measured_share"] == 1.0
    assert machines["Mill"]["energy_kwh"] == 2.0
    assert machines["Mill"]["scope2_location_kgco2e"] == 0.762  # 2 x 0.3809 = 0.7618
    assert doc["per_month"] == [
        {
            "month": "2026-01",
            "energy_kwh": 4.805,
            "scope2_location_kgco2e": 1.83,
            "scope2_market_kgco2e": 1.83,
            "materials_kgco2e": 12.017,
            "transport_kgco2e": 0.244,
            "total_kgco2e": 14.091,
            "units_good": 18,
        }
    ]
    assert doc["per_product"] == [
        {
            "product_id": world.product.pk,
            "sku": "BRK",
            "name": world.product.name,
            "units_good": 18,
            "units_scrap": 1,
            "energy_kwh": 4.805,
            "scope2_location_kgco2e": 1.83,
            "materials_kgco2e": 12.017,
            "transport_kgco2e": 0.244,
            "total_kgco2e": 14.091,
            "kgco2e_per_unit": 0.783,
        }
    ]
    # PETG scrap: the product's scrap rate that month: 3.11 kg x 1/19 = 0.16368 kg
    assert doc["materials"] == [
        {
            "material_id": world.petg.pk,
            "code": "PETG",
            "name": world.petg.name,
            "factor_key": "petg",
            "input_kg": 3.11,
            "scrap_kg": 0.164,
            "kgco2e": 12.017,
            "recorded_share": 0.2572,
        }
    ]
    assert doc["transport"] == {
        "shipments": 1,
        "located_shipments": 1,
        "tonne_km": 0.312,
        "kgco2e": 0.244,
        "mode": "van_diesel",
        "road_factor": 1.3,
        "baseline_kgco2e": 0.957,
        "avoided_kgco2e": 0.713,
        "baseline_description": "Made in Shenzhen, shipped by sea to Hamburg, then trucked",
        "baseline_legs": [{"mode": "sea_container", "km": 19000}, {"mode": "hgv_artic", "km": 700}],
    }


def test_every_factor_used_is_listed_with_its_source(world, tenant):
    doc = _document(tenant)

    factors = {(f["kind"], f["key"]): f for f in doc["factors"]}
    assert set(factors) == {
        ("grid_electricity", "DE"),
        ("material", "petg"),
        ("freight", "van_diesel"),
        ("freight", "sea_container"),
        ("freight", "hgv_artic"),
    }
    grid = factors[("grid_electricity", "DE")]
    assert (grid["value"], grid["unit"], grid["year"], grid["proxy"], grid["override"]) == (
        380.9,
        "gCO2e/kWh",
        2023,
        False,
        None,
    )
    assert "ourworldindata" in grid["source"]
    assert grid["licence"].startswith("CC BY 4.0")
    petg = factors[("material", "petg")]
    assert (petg["value"], petg["unit"], petg["proxy"]) == (3.864, "kgCO2e/kg", True)
    assert petg["licence"].startswith("Open Government Licence")
    assert factors[("freight", "van_diesel")]["value"] == 0.78225
    assert len(doc["methodology"]) >= 5
    assert any("market-based scope 2 equals" in n for n in doc["data_quality"]["notes"])


def test_the_previous_period_is_compared(world, tenant):
    build_world(tenant, shift=-timedelta(days=31), tag="-dec")  # the same activity in December 2025

    doc = _document(tenant)

    assert doc["comparison"]["period"] == {"start": "2025-12-01", "end": "2025-12-31"}
    assert doc["comparison"]["totals"]["energy_kwh"] == 4.805
    assert doc["comparison"]["change"]["energy_kwh"] == 0.0
    assert doc["comparison"]["change"]["units_good"] == 0.0
    assert doc["totals"] == EXPECTED_TOTALS  # December's rows stay in December


def test_measured_beats_estimated(world, tenant):
    # The printer's estimated operation (0.505 kWh) gets interval readings covering it: 0.7 kWh
    EnergyReadingFactory(
        tenant=tenant,
        machine=world.printer,
        kind=EnergyReading.Kind.INTERVAL,
        interval_start=at(10, 8),
        recorded_at=at(10, 10, 30),
        kwh=Decimal("0.7000"),
    )

    totals = _document(tenant)["totals"]

    assert totals["energy_kwh"] == 5.0  # 4.805 - 0.505 + 0.7
    assert totals["energy_estimated_kwh"] == 0.0
    assert totals["energy_measured_kwh"] == 5.0


def test_the_recorded_kwh_beats_meter_readings(world, tenant):
    operation = world.batches[1].operations.get()  # B: 0.8 kWh recorded on the operation
    EnergyReadingFactory(
        tenant=tenant,
        machine=world.printer,
        kind=EnergyReading.Kind.INTERVAL,
        interval_start=at(12, 9),
        recorded_at=at(12, 11),
        kwh=Decimal("5.0000"),
    )

    totals = _document(tenant)["totals"]

    assert operation.energy_kwh_measured == Decimal("0.8000")
    assert totals["energy_kwh"] == 4.805


def test_readings_covering_too_little_of_an_operation_leave_it_estimated(world, tenant):
    # 30 of the 150 minutes covered (20 %, below 95 %): still the 0.505 kWh estimate
    EnergyReadingFactory(
        tenant=tenant,
        machine=world.printer,
        kind=EnergyReading.Kind.INTERVAL,
        interval_start=at(10, 8),
        recorded_at=at(10, 8, 30),
        kwh=Decimal("3.0000"),
    )

    totals = _document(tenant)["totals"]

    assert (totals["energy_kwh"], totals["energy_estimated_kwh"]) == (4.805, 0.505)


def test_override_precedence_site_over_tenant_over_default(world, tenant):
    # tenant-wide DE override 200 g/kWh, then a site override 100 g/kWh for the site
    FactorOverrideFactory(
        tenant=tenant, kind="grid_electricity", key="DE", value=Decimal("200"), unit="gCO2e/kWh"
    )
    tenant_wide = _document(tenant)["totals"]["scope2_location_kgco2e"]
    FactorOverrideFactory(
        tenant=tenant,
        kind="grid_electricity",
        key="DE",
        site=world.site,
        value=Decimal("0.1"),
        unit="kgCO2e/kWh",
    )
    site_specific = _document(tenant)

    assert tenant_wide == 0.961  # 4.805 x 0.2
    assert site_specific["totals"]["scope2_location_kgco2e"] == 0.481  # 4.805 x 0.1 = 0.4805
    grid = [f for f in site_specific["factors"] if f["kind"] == "grid_electricity"]
    assert [(f["override"], f["value"]) for f in grid] == [("site", 0.1)]


def test_a_renewable_contract_sets_the_market_based_figure(world, tenant):
    FactorOverrideFactory(
        tenant=tenant,
        kind="market_electricity",
        key="DE",
        site=world.site,
        value=Decimal("20"),
        unit="gCO2e/kWh",
        source="Green tariff, supplier disclosure 2025",
    )

    doc = _document(tenant)

    assert doc["totals"]["scope2_location_kgco2e"] == 1.83
    assert doc["totals"]["scope2_market_kgco2e"] == 0.096  # 4.805 x 0.02 = 0.0961
    assert doc["totals"]["total_kgco2e"] == 14.091  # location-based in the total
    assert doc["per_site"][0]["market_factor_kgco2e_per_kwh"] == 0.02


def test_material_overrides_and_supplier_values(world, tenant):
    FactorOverrideFactory(tenant=tenant, key="petg", value=Decimal("2.000"), unit="kgCO2e/kg")
    assert _document(tenant)["totals"]["materials_kgco2e"] == 6.22  # 3.11 x 2

    world.petg.embodied_co2e_kg_per_kg = Decimal("1.000")
    world.petg.save()
    doc = _document(tenant)
    assert doc["totals"]["materials_kgco2e"] == 3.11  # the material's own value wins
    material = [f for f in doc["factors"] if f["kind"] == "material"]
    assert [(f["override"], f["value"]) for f in material] == [("supplier", 1.0)]


def test_a_country_without_a_grid_factor_falls_back_to_a_proxy(tenant):
    ensure_factors_loaded()
    site = SiteFactory(tenant=tenant, country="LU")  # an EU country not in the table
    from tests.factories import MachineFactory, ProductFactory
    from tests.sustainability.scenario import _done_batch, _op

    machine = MachineFactory(tenant=tenant, site=site, rated_power_running_kw=Decimal("1"))
    batch = _done_batch(tenant, site, ProductFactory(tenant=tenant), planned=1)
    _op(tenant, batch, machine, at(5, 8), at(5, 9), good=1)  # 1 kWh estimated

    doc = _document(tenant)

    assert doc["per_site"][0]["grid_factor_kgco2e_per_kwh"] == 0.2438  # EU27 243.8 g/kWh
    assert doc["totals"]["scope2_location_kgco2e"] == 0.244
    eu = next(f for f in doc["factors"] if f["key"] == "EU27")
    assert eu["proxy"] is True
    assert any("EU-27 average" in n for n in doc["data_quality"]["notes"])


def test_another_tenants_rows_are_never_included(world, tenant, other_tenant):
    with_settings(other_tenant)
    theirs = build_world(other_tenant)
    # Their machine readings overlap our operations' times exactly; their order ships too.
    EnergyReadingFactory(
        tenant=other_tenant,
        machine=theirs.printer,
        kind=EnergyReading.Kind.INTERVAL,
        interval_start=at(10, 8),
        recorded_at=at(10, 10, 30),
        kwh=Decimal("99.0000"),
    )

    mine = _document(tenant)

    assert mine["totals"] == EXPECTED_TOTALS
    assert [s["site_id"] for s in mine["per_site"]] == [world.site.pk]


def test_a_site_report_covers_that_site_only(world, tenant):
    other_site = SiteFactory(tenant=tenant, country="FR")
    from tests.factories import MachineFactory

    machine = MachineFactory(tenant=tenant, site=other_site)
    BatchOperationFactory(
        tenant=tenant,
        batch__site=other_site,
        machine=machine,
        status="done",
        actual_start=at(3, 8),
        actual_end=at(3, 9),
        setup_minutes=Decimal("0"),
        quantity_good=1,
    )

    whole = _document(tenant)
    berlin = _document(tenant, site=world.site)

    assert berlin["site"] == {"id": world.site.pk, "name": world.site.name, "country": "DE"}
    assert berlin["totals"] == EXPECTED_TOTALS
    assert [s["site_id"] for s in berlin["per_site"]] == [world.site.pk]
    assert len(whole["per_site"]) == 2
    assert whole["totals"]["energy_kwh"] == 5.055  # + 1 h x 0.250 kW at the other site


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (date(2026, 2, 1), date(2026, 1, 1), "end"),
        (date(1999, 12, 31), date(2000, 1, 31), "start"),
        (date(2024, 1, 1), date(2026, 1, 1), "end"),
    ],
)
def test_invalid_periods_are_refused(tenant, start, end, field):
    with pytest.raises(ApplicationError) as exc_info:
        report_document(tenant=tenant, start=start, end=end)

    assert list(exc_info.value.extra["fields"]) == [field]

"""A small, hand-calculable world for the report tests (times in Europe/Berlin, UTC+1 in
January 2026). The expected figures are worked out in test_services_report_document.py."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from mfapp.catalog.models import Material, Product
from mfapp.machines.models import EnergyReading, Machine
from mfapp.orders.models import Order
from mfapp.production.models import Batch, BatchOperation
from mfapp.sustainability.factor_data import ensure_factors_loaded
from mfapp.tenancy.models import Site, Tenant
from tests.factories import (
    BatchFactory,
    BatchOperationFactory,
    BomLineFactory,
    CustomerFactory,
    EnergyReadingFactory,
    MachineFactory,
    MaterialConsumptionFactory,
    MaterialFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    SiteFactory,
    SustainabilitySettingsFactory,
)

BERLIN = ZoneInfo("Europe/Berlin")
JANUARY = (date(2026, 1, 1), date(2026, 1, 31))


def at(day: int, hour: int, minute: int = 0, month: int = 1) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN)


@dataclass
class World:
    tenant: Tenant
    site: Site
    printer: Machine  # estimated: rated power only
    laser: Machine  # interval readings
    mill: Machine  # cumulative readings
    product: Product
    petg: Material
    batches: list[Batch]
    order: Order


def _done_batch(tenant, site, product, *, planned: int, scrap: int = 0) -> Batch:
    return BatchFactory(
        tenant=tenant,
        site=site,
        product=product,
        quantity_planned=planned,
        quantity_scrap=scrap,
        quantity_good=planned - scrap,
        status=Batch.Status.COMPLETED,
    )


def _op(tenant, batch, machine, start, end, *, sequence=10, setup="0", good, scrap=0, **extra):
    return BatchOperationFactory(
        tenant=tenant,
        batch=batch,
        machine=machine,
        sequence=sequence,
        status=BatchOperation.Status.DONE,
        setup_minutes=Decimal(setup),
        actual_start=start,
        actual_end=end,
        quantity_good=good,
        quantity_scrap=scrap,
        **extra,
    )


def build_world(tenant: Tenant, *, shift: timedelta = timedelta(0), tag: str = "") -> World:
    """`shift` moves every timestamp, `tag` suffixes names (a copy in another period)."""
    ensure_factors_loaded()  # a transactional test elsewhere may have flushed them

    def t(day: int, hour: int, minute: int = 0) -> datetime:
        return at(day, hour, minute) + shift

    site = SiteFactory(tenant=tenant, country="DE", latitude=Decimal("50"), longitude=Decimal("10"))
    printer = MachineFactory(
        tenant=tenant,
        site=site,
        name=f"Printer{tag}",
        rated_power_running_kw=Decimal("0.250"),
        rated_power_idle_kw=Decimal("0.010"),
    )
    laser = MachineFactory(
        tenant=tenant,
        site=site,
        name=f"Laser{tag}",
        rated_power_running_kw=Decimal("1.500"),
        rated_power_idle_kw=Decimal("0.100"),
    )
    mill = MachineFactory(
        tenant=tenant,
        site=site,
        name=f"Mill{tag}",
        rated_power_running_kw=Decimal("7.500"),
        rated_power_idle_kw=Decimal("0.800"),
    )
    product = ProductFactory(tenant=tenant, sku=f"BRK{tag}", unit_mass_kg=Decimal("0.120"))
    petg = MaterialFactory(tenant=tenant, code=f"PETG{tag}", emission_factor_key="petg")
    BomLineFactory(
        tenant=tenant,
        product=product,
        material=petg,
        quantity_per_unit=Decimal("0.1500"),
        scrap_allowance_percent=Decimal("10"),
    )

    # Batch A: 10 planned; printing estimated, laser cutting measured by interval readings.
    a = _done_batch(tenant, site, product, planned=10, scrap=1)
    _op(tenant, a, printer, t(10, 8), t(10, 10, 30), sequence=10, setup="30", good=10)
    _op(tenant, a, laser, t(10, 11), t(10, 12), sequence=20, good=9, scrap=1)
    EnergyReadingFactory(
        tenant=tenant,
        machine=laser,
        kind=EnergyReading.Kind.INTERVAL,
        interval_start=t(10, 10, 30),
        recorded_at=t(10, 11, 30),
        kwh=Decimal("1.0000"),
    )
    EnergyReadingFactory(
        tenant=tenant,
        machine=laser,
        kind=EnergyReading.Kind.INTERVAL,
        interval_start=t(10, 11, 30),
        recorded_at=t(10, 12, 30),
        kwh=Decimal("2.0000"),
    )
    # Batch B: 5 planned; the operation carries its own measured kWh; consumption recorded.
    b = _done_batch(tenant, site, product, planned=5)
    _op(
        tenant,
        b,
        printer,
        t(12, 9),
        t(12, 11),
        good=5,
        setup="15",
        energy_kwh_measured=Decimal("0.8000"),
    )
    MaterialConsumptionFactory(tenant=tenant, batch=b, material=petg, quantity=Decimal("0.800"))
    # Batch C: 4 planned; milled, measured by the mill's cumulative meter register.
    c = _done_batch(tenant, site, product, planned=4)
    _op(tenant, c, mill, t(14, 13, 30), t(14, 14, 30), good=4, setup="10")
    for moment, kwh in ((t(14, 13), "100.0000"), (t(14, 15), "104.0000")):
        EnergyReadingFactory(
            tenant=tenant,
            machine=mill,
            kind=EnergyReading.Kind.CUMULATIVE,
            interval_start=None,
            recorded_at=moment,
            kwh=Decimal(kwh),
        )

    # One order of 18 units shipped to a customer one degree of latitude north of the site.
    customer = CustomerFactory(tenant=tenant, latitude=Decimal("51"), longitude=Decimal("10"))
    order = OrderFactory(
        tenant=tenant,
        site=site,
        customer=customer,
        status=Order.Status.SHIPPED,
        shipped_at=t(20, 9),
    )
    OrderLineFactory(tenant=tenant, order=order, product=product, quantity=18)
    return World(tenant, site, printer, laser, mill, product, petg, [a, b, c], order)


def with_settings(tenant: Tenant) -> None:
    # Delivery by diesel van; baseline: sea 19,000 km + articulated truck 700 km.
    ensure_factors_loaded()
    SustainabilitySettingsFactory(tenant=tenant)

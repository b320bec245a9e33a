"""Demo data for `seed_demo`: two microfactory businesses with months of history.

Everything goes through the services (so the data obeys the same rules as real use and has an
audit trail); only the timestamps of the history are moved into the past afterwards.
"""

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cached_property

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from mfapp.catalog.models import Material, Product
from mfapp.catalog.services import (
    bom_line_create,
    material_create,
    product_create,
    routing_step_create,
)
from mfapp.core import rls
from mfapp.machines.models import Machine
from mfapp.machines.services import (
    energy_reading_record_many,
    machine_change_status,
    machine_create,
    maintenance_window_create,
)
from mfapp.orders.models import Customer, Order
from mfapp.orders.services import (
    customer_create,
    order_cancel,
    order_confirm,
    order_create,
    order_ship,
)
from mfapp.production.models import Batch, BatchOperation
from mfapp.production.services import (
    batch_cancel,
    batch_complete,
    batch_schedule,
    material_consumption_record,
    operation_finish,
    operation_start,
    quality_check_record,
)
from mfapp.sustainability.factor_data import ensure_factors_loaded
from mfapp.sustainability.services import (
    report_generate_for_period,
    sustainability_settings_update,
)
from mfapp.tenancy.actors import Actor
from mfapp.tenancy.models import Membership, Site, Tenant
from mfapp.tenancy.services import site_create, tenant_create

DEMO_PASSWORD = "microfactory-demo"  # noqa: S105 - printed for the demo, documented in README
STAFF_EMAIL = "admin@mfapp.test"
HISTORY_DAYS = 120


@dataclass
class MachineSpec:
    name: str
    kind: str
    capabilities: list[str]
    running_kw: str
    idle_kw: str
    hourly_cost: str
    unattended: bool = False
    changeover: int = 0


@dataclass
class ProductSpec:
    sku: str
    name: str
    price: str
    mass_kg: str
    steps: list[
        tuple[str, str, int, str, str | None]
    ]  # name, capability, setup, run/unit, material
    bom: list[tuple[str, str, str]]  # material code, qty per unit, scrap %
    max_batch: int | None = None


@dataclass
class TenantSpec:
    slug: str
    name: str
    country: str
    timezone: str
    sites: list[tuple[str, str, str, str, list[MachineSpec]]]  # name, address, lat, lon, machines
    materials: list[
        tuple[str, str, str, str, str, str, str]
    ]  # code, name, unit, kg/unit, key, cost, stock
    products: list[ProductSpec]
    customers: list[tuple[str, str, str, str, str]]  # name, email, country, lat, lon
    members: dict[str, str] = field(default_factory=dict)  # email -> role


PRINTERS = [
    MachineSpec(f"Prusa MK4 #{n}", "fdm-printer", ["fdm-print"], "0.120", "0.010", "4.00", True, 10)
    for n in (1, 2, 3)
]

NORTHWIND = TenantSpec(
    slug="northwind",
    name="Northwind Microfactory",
    country="DE",
    timezone="Europe/Berlin",
    sites=[
        (
            "Berlin Kreuzberg",
            "Ohlauer Str. 38, 10999 Berlin",
            "52.498600",
            "13.430300",
            [
                *PRINTERS,
                MachineSpec(
                    "Form 3+", "sla-printer", ["sla-print"], "0.065", "0.015", "6.00", True, 20
                ),
                MachineSpec(
                    "Haas Mini Mill", "cnc-mill", ["cnc-mill-3axis"], "7.500", "0.800", "45.00"
                ),
                MachineSpec(
                    "Bench A",
                    "workstation",
                    ["assembly", "post-process", "inspection", "packaging"],
                    "0.050",
                    "0.010",
                    "30.00",
                ),
            ],
        ),
        (
            "Leipzig Plagwitz",
            "Karl-Heine-Str. 93, 04229 Leipzig",
            "51.328800",
            "12.335700",
            [
                MachineSpec(
                    "Trotec Speedy 360",
                    "laser-cutter",
                    ["laser-cut", "laser-engrave"],
                    "1.600",
                    "0.150",
                    "25.00",
                ),
                MachineSpec(
                    "Fuse 1+", "sls-printer", ["sls-print"], "1.150", "0.300", "18.00", True
                ),
                MachineSpec(
                    "UR5e cell",
                    "robot-cell",
                    ["pick-place", "assembly"],
                    "0.570",
                    "0.090",
                    "12.00",
                    True,
                ),
                MachineSpec(
                    "Bench L",
                    "workstation",
                    ["assembly", "post-process", "inspection", "packaging"],
                    "0.050",
                    "0.010",
                    "30.00",
                ),
            ],
        ),
    ],
    materials=[
        ("PLA-BLK", "PLA filament, black", "kg", "1", "pla", "22.00", "48"),
        ("PETG-CLR", "PETG filament, clear", "kg", "1", "petg", "26.00", "30"),
        ("RES-GRY", "Standard resin, grey", "l", "1.100", "resin-photopolymer", "149.00", "12"),
        ("PA12", "PA12 nylon powder", "kg", "1", "pa12", "95.00", "40"),
        ("AL6061", "Aluminium 6061 bar", "kg", "1", "aluminium-6061", "9.50", "120"),
        ("PLY3", "Birch plywood 3 mm", "m2", "1.900", "plywood", "14.00", "60"),
        ("M3-SCREW", "M3x8 screw", "piece", "0.001", "steel", "0.04", "5000"),
        ("BOX-S", "Shipping box, small", "piece", "0.150", "cardboard", "0.60", "800"),
    ],
    products=[
        ProductSpec(
            "NW-STAND",
            "Phone stand",
            "19.90",
            "0.085",
            [
                ("Print", "fdm-print", 10, "55", "PLA-BLK"),
                ("Deburr", "post-process", 5, "2", None),
                ("Pack", "packaging", 5, "1", None),
            ],
            [("PLA-BLK", "0.080", "5"), ("BOX-S", "1", "0")],
            max_batch=12,
        ),
        ProductSpec(
            "NW-DRONE",
            "FPV drone frame",
            "89.00",
            "0.210",
            [
                ("Mill arms", "cnc-mill-3axis", 30, "18", "AL6061"),
                ("Assemble", "assembly", 10, "12", None),
                ("Inspect", "inspection", 5, "4", None),
                ("Pack", "packaging", 5, "2", None),
            ],
            [("AL6061", "0.260", "10"), ("M3-SCREW", "12", "2"), ("BOX-S", "1", "0")],
            max_batch=10,
        ),
        ProductSpec(
            "NW-DENT",
            "Dental model",
            "34.00",
            "0.060",
            [
                ("Print", "sla-print", 15, "25", "RES-GRY"),
                ("Wash and cure", "post-process", 10, "3", None),
                ("Inspect", "inspection", 5, "2", None),
            ],
            [("RES-GRY", "0.055", "8")],
            max_batch=20,
        ),
        ProductSpec(
            "NW-LAMP",
            "Lamp shade kit",
            "49.00",
            "0.420",
            [
                ("Cut panels", "laser-cut", 10, "6", "PLY3"),
                ("Engrave logo", "laser-engrave", 5, "2", None),
                ("Pack", "packaging", 5, "2", None),
            ],
            [("PLY3", "0.220", "12"), ("BOX-S", "1", "0")],
        ),
        ProductSpec(
            "NW-CLIP",
            "Cable clip set (SLS)",
            "12.50",
            "0.030",
            [
                ("Sinter", "sls-print", 20, "4", "PA12"),
                ("Depowder", "post-process", 10, "1", None),
                ("Pack", "pick-place", 5, "1", None),
            ],
            [("PA12", "0.035", "15")],
            max_batch=50,
        ),
    ],
    customers=[
        ("Kiezrad GmbH", "orders@kiezrad.test", "DE", "52.520000", "13.405000"),
        ("Spreewald Dental", "lab@spreewald-dental.test", "DE", "51.757000", "14.328000"),
        ("Hamburg Drones", "buy@hhdrones.test", "DE", "53.551000", "9.993000"),
        ("Café Licht", "hallo@cafelicht.test", "DE", "51.339700", "12.373100"),
        ("Wrocław Makers", "zamowienia@wrmakers.test", "PL", "51.107900", "17.038500"),
    ],
    members={
        "owner@northwind.test": "owner",
        "manager@northwind.test": "manager",
        "operator@northwind.test": "operator",
        "viewer@northwind.test": "viewer",
        "consultant@mfapp.test": "viewer",
    },
)

RHONE = TenantSpec(
    slug="rhone",
    name="Atelier Rhône",
    country="FR",
    timezone="Europe/Paris",
    sites=[
        (
            "Lyon Gerland",
            "12 rue de Gerland, 69007 Lyon",
            "45.731000",
            "4.833000",
            [
                MachineSpec(
                    "Bambu X1C #1", "fdm-printer", ["fdm-print"], "0.150", "0.012", "4.50", True, 8
                ),
                MachineSpec(
                    "Bambu X1C #2", "fdm-printer", ["fdm-print"], "0.150", "0.012", "4.50", True, 8
                ),
                MachineSpec(
                    "Epilog Fusion",
                    "laser-cutter",
                    ["laser-cut", "laser-engrave"],
                    "1.200",
                    "0.120",
                    "22.00",
                ),
                MachineSpec(
                    "Tormach 1100", "cnc-mill", ["cnc-mill-3axis"], "5.000", "0.600", "38.00"
                ),
                MachineSpec(
                    "Établi 1",
                    "workstation",
                    ["assembly", "post-process", "inspection", "packaging"],
                    "0.040",
                    "0.010",
                    "28.00",
                ),
            ],
        ),
    ],
    materials=[
        ("PLA-NAT", "PLA naturel", "kg", "1", "pla", "21.00", "25"),
        ("ACR3", "Acrylique 3 mm", "m2", "3.600", "pmma", "32.00", "20"),
        ("ALU", "Aluminium 6061", "kg", "1", "aluminium-6061", "9.80", "60"),
        ("BOX-M", "Carton moyen", "piece", "0.250", "cardboard", "0.90", "300"),
    ],
    products=[
        ProductSpec(
            "RH-SIGN",
            "Enseigne acrylique",
            "65.00",
            "0.900",
            [
                ("Découpe", "laser-cut", 10, "12", "ACR3"),
                ("Gravure", "laser-engrave", 5, "8", None),
                ("Emballage", "packaging", 5, "3", None),
            ],
            [("ACR3", "0.250", "10"), ("BOX-M", "1", "0")],
        ),
        ProductSpec(
            "RH-KNOB",
            "Bouton de meuble",
            "6.50",
            "0.020",
            [
                ("Impression", "fdm-print", 8, "20", "PLA-NAT"),
                ("Contrôle", "inspection", 5, "1", None),
            ],
            [("PLA-NAT", "0.022", "5")],
            max_batch=40,
        ),
        ProductSpec(
            "RH-HOOK",
            "Patère alu",
            "24.00",
            "0.120",
            [
                ("Usinage", "cnc-mill-3axis", 25, "9", "ALU"),
                ("Finition", "post-process", 5, "4", None),
                ("Emballage", "packaging", 5, "1", None),
            ],
            [("ALU", "0.150", "12"), ("BOX-M", "1", "0")],
            max_batch=25,
        ),
    ],
    customers=[
        ("Bouchon Lyonnais", "contact@bouchon.test", "FR", "45.764000", "4.835700"),
        ("Mobilier Croix-Rousse", "achats@mcr.test", "FR", "45.774000", "4.831000"),
        ("Genève Design", "studio@gdesign.test", "CH", "46.204400", "6.143200"),
    ],
    members={
        "owner@rhone.test": "owner",
        "operator@rhone.test": "operator",
        "consultant@mfapp.test": "manager",
    },
)

DEMO_TENANTS = (NORTHWIND, RHONE)


@dataclass
class SeedResult:
    created: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def seed_demo(*, seed: int = 2026) -> SeedResult:
    """Create what is missing; a tenant that exists already is left as it is (idempotent)."""
    result = SeedResult()
    _staff_user()
    ensure_factors_loaded()  # a flushed database has lost the data migration's factor rows
    for spec in DEMO_TENANTS:
        if Tenant.objects.filter(slug=spec.slug).exists():
            result.skipped.append(spec.slug)
            continue
        with transaction.atomic():
            tenant = _seed_tenant(spec, random.Random(f"{seed}-{spec.slug}"))  # noqa: S311
        with rls.tenant_context(tenant.pk):
            _seed_reports(tenant)  # after the commit: reports read the finished history
        result.created.append(spec.slug)
    return result


def demo_logins() -> list[tuple[str, str]]:
    logins = [(STAFF_EMAIL, "platform staff (admin)")]
    for spec in DEMO_TENANTS:
        logins.extend((email, f"{role} of {spec.name}") for email, role in spec.members.items())
    return logins


def _staff_user() -> None:
    user_model = get_user_model()
    if not user_model.objects.filter(username=STAFF_EMAIL).exists():
        user_model.objects.create_superuser(
            username=STAFF_EMAIL, email=STAFF_EMAIL, password=DEMO_PASSWORD
        )


def _member(tenant: Tenant, email: str, role: str) -> None:
    user_model = get_user_model()
    user = user_model.objects.filter(username=email).first()
    if user is None:
        user = user_model.objects.create_user(username=email, email=email, password=DEMO_PASSWORD)
    Membership.objects.for_tenant(tenant).get_or_create(
        tenant=tenant, user=user, defaults={"role": role}
    )


def _seed_tenant(spec: TenantSpec, rng: random.Random) -> Tenant:
    owner_email = next(email for email, role in spec.members.items() if role == "owner")
    first_site = spec.sites[0]
    tenant = tenant_create(
        slug=spec.slug,
        name=spec.name,
        owner_email=owner_email,
        owner_password=DEMO_PASSWORD,
        country=spec.country,
        timezone_name=spec.timezone,
        site_name=first_site[0],
    )
    with rls.tenant_context(tenant.pk):  # the new tenant's rows, as that tenant
        for email, role in spec.members.items():
            if role != "owner":
                _member(tenant, email, role)
        actor = Actor(tenant=tenant, role="system")
        sites = _seed_sites(actor, spec)
        materials = {
            code: material_create(
                actor=actor,
                code=code,
                name=name,
                unit=unit,
                mass_per_unit_kg=Decimal(kg),
                emission_factor_key=key,
                unit_cost=Decimal(cost),
                stock_on_hand=Decimal(stock),
            )
            for code, name, unit, kg, key, cost, stock in spec.materials
        }
        products = [_seed_product(actor, p, materials) for p in spec.products]
        customers = [
            customer_create(
                actor=actor,
                name=name,
                email=email,
                country=country,
                latitude=Decimal(lat),
                longitude=Decimal(lon),
            )
            for name, email, country, lat, lon in spec.customers
        ]
        history = _History(
            actor=actor, rng=rng, products=products, customers=customers, sites=sites
        )
        history.shipped_orders(count=28 if spec.slug == "northwind" else 14)
        history.current_orders()
        history.open_order_book(count=12 if spec.slug == "northwind" else 6)
        _seed_machine_states(actor, sites)  # confirming orders queued each site's first plan
        _seed_sustainability(actor, spec)
        return tenant


# Where the demo businesses would otherwise buy: made in Shenzhen, by sea to Hamburg (or
# Marseille), then by truck.
DEMO_BASELINES = {
    "northwind": (
        "Made in Shenzhen, shipped by sea to Hamburg, then trucked",
        [{"mode": "sea_container", "km": 19000}, {"mode": "hgv_artic", "km": 700}],
    ),
    "rhone": (
        "Made in Shenzhen, shipped by sea to Marseille, then trucked",
        [{"mode": "sea_container", "km": 16500}, {"mode": "hgv_artic", "km": 320}],
    ),
}


def _seed_sustainability(actor: Actor, spec: TenantSpec) -> None:
    """Report settings with a baseline, and a little meter history: hourly interval readings
    on the busiest printer and a cumulative register on the mill or laser, over the history."""
    description, legs = DEMO_BASELINES[spec.slug]
    sustainability_settings_update(
        actor=actor,
        delivery_mode="van_diesel",
        road_factor=Decimal("1.30"),
        baseline_description=description,
        baseline_legs=legs,
    )
    machines = list(Machine.objects.for_tenant(actor.tenant).order_by("pk"))
    printer = next(m for m in machines if m.kind == "fdm-printer")
    metered = next(m for m in machines if m.kind in ("cnc-mill", "laser-cutter"))
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    start = now - timedelta(days=HISTORY_DAYS)
    hours = int((now - start).total_seconds() // 3600)
    interval = [
        {
            "machine_id": printer.pk,
            "kind": "interval",
            "kwh": Decimal("0.0950")
            if (start + timedelta(hours=h)).hour in range(7, 19)
            else Decimal("0.0080"),
            "interval_start": start + timedelta(hours=h),
            "recorded_at": start + timedelta(hours=h + 1),
            "source": "smart-plug-01",
        }
        for h in range(hours)
    ]
    register, cumulative = Decimal("1520.0000"), []
    for h in range(0, hours + 1, 1):
        at = start + timedelta(hours=h)
        cumulative.append(
            {
                "machine_id": metered.pk,
                "kind": "cumulative",
                "kwh": register,
                "recorded_at": at,
                "source": "meter-02",
            }
        )
        register += Decimal("1.2500") if at.hour in range(8, 17) else Decimal("0.0500")
    for rows in (interval, cumulative):
        for index in range(0, len(rows), 1000):
            energy_reading_record_many(actor=actor, readings=rows[index : index + 1000])


def _seed_reports(tenant: Tenant) -> None:
    """The last full month and the last 90 days, so the report page has something to show."""
    today = timezone.localdate()
    last_month_end = today.replace(day=1) - timedelta(days=1)
    for start, end in (
        (last_month_end.replace(day=1), last_month_end),
        (today - timedelta(days=90), today - timedelta(days=1)),
    ):
        report_generate_for_period(tenant=tenant, start=start, end=end)


def _seed_sites(actor: Actor, spec: TenantSpec) -> list[Site]:
    """The first site exists (tenant_create made it); it gets its details, the others are new."""
    sites = []
    for index, (name, address, lat, lon, machines) in enumerate(spec.sites):
        details = {"address": address, "latitude": Decimal(lat), "longitude": Decimal(lon)}
        if index == 0:
            site = Site.objects.for_tenant(actor.tenant).get(name=name)
            for key, value in details.items():
                setattr(site, key, value)
            site.working_hours = {**site.working_hours, "sat": [["09:00", "13:00"]]}
            site.save()
        else:
            site = site_create(actor=actor, name=name, country=spec.country, **details)
        for m in machines:
            machine_create(
                actor=actor,
                site_id=site.pk,
                name=m.name,
                kind=m.kind,
                capabilities=m.capabilities,
                rated_power_running_kw=Decimal(m.running_kw),
                rated_power_idle_kw=Decimal(m.idle_kw),
                hourly_cost=Decimal(m.hourly_cost),
                runs_unattended=m.unattended,
                changeover_minutes=m.changeover,
            )
        sites.append(site)
    return sites


def _seed_product(actor: Actor, spec: ProductSpec, materials: dict[str, Material]) -> Product:
    product = product_create(
        actor=actor,
        sku=spec.sku,
        name=spec.name,
        unit_price=Decimal(spec.price),
        unit_mass_kg=Decimal(spec.mass_kg),
        max_batch_size=spec.max_batch,
    )
    for name, capability, setup, run, material_code in spec.steps:
        routing_step_create(
            actor=actor,
            product=product,
            name=name,
            capability=capability,
            setup_minutes=Decimal(setup),
            run_minutes_per_unit=Decimal(run),
            material_id=materials[material_code].pk if material_code else None,
        )
    for code, qty, scrap in spec.bom:
        bom_line_create(
            actor=actor,
            product=product,
            material_id=materials[code].pk,
            quantity_per_unit=Decimal(qty),
            scrap_allowance_percent=Decimal(scrap),
        )
    return product


def _seed_machine_states(actor: Actor, sites: list[Site]) -> None:
    now = timezone.now()
    machines = list(Machine.objects.for_tenant(actor.tenant).order_by("pk"))
    idle = [m for m in machines if m.status == Machine.Status.AVAILABLE]
    if len(idle) >= 2:
        machine_change_status(
            actor=actor,
            machine=idle[-1],
            status=Machine.Status.MAINTENANCE,
            reason="Quarterly service: belts and lubrication",
        )
        machine_change_status(
            actor=actor,
            machine=idle[-2],
            status=Machine.Status.DOWN,
            reason="Fault reported by the operator; waiting for a spare part",
        )
    for offset, machine in enumerate(machines[:3]):
        start = (now + timedelta(days=3 + offset)).replace(
            hour=6, minute=0, second=0, microsecond=0
        )
        maintenance_window_create(
            actor=actor,
            machine=machine,
            starts_at=start,
            ends_at=start + timedelta(hours=3),
            reason="Planned calibration",
        )


def _operation_minutes(operation: BatchOperation, quantity: int) -> float:
    return float(operation.setup_minutes) + float(operation.run_minutes_per_unit) * quantity


@dataclass
class _History:
    actor: Actor
    rng: random.Random
    products: list[Product]
    customers: list[Customer]
    sites: list[Site]

    def _order(self, *, due: date, lines: int = 2) -> Order:
        """An order for products that one site can make entirely."""
        site, makeable = self.rng.choice(self._makeable_by_site)
        chosen = self.rng.sample(makeable, k=min(lines, len(makeable)))
        return order_create(
            actor=self.actor,
            customer_id=self.rng.choice(self.customers).pk,
            site_id=site.pk,
            due_date=due,
            priority=self.rng.choice([1, 2, 2, 2, 3, 4]),
            lines=[{"product_id": p.pk, "quantity": self.rng.randint(3, 24)} for p in chosen],
        )

    @cached_property
    def _makeable_by_site(self) -> list[tuple[Site, list[Product]]]:
        options = []
        for site in self.sites:
            machines = Machine.objects.for_tenant(self.actor.tenant).filter(site=site)
            capabilities = {c for m in machines for c in m.capabilities}
            makeable = [
                p
                for p in self.products
                if {s.capability for s in p.routing_steps.all()} <= capabilities
            ]
            if makeable:
                options.append((site, makeable))
        return options

    def _machine_for(self, operation: BatchOperation, site_id: int) -> Machine:
        candidates = [
            m
            for m in Machine.objects.for_tenant(self.actor.tenant).filter(site_id=site_id)
            if m.has_capability(operation.capability) and m.status == Machine.Status.AVAILABLE
        ]
        return self.rng.choice(candidates)

    def _run_operations(self, batch: Batch, *, upto: int | None = None) -> None:
        """Start and finish the batch's operations in order (all, or the first `upto`)."""
        operations = list(batch.operations.order_by("sequence"))
        good = batch.quantity_planned
        for operation in operations[:upto]:
            machine = self._machine_for(operation, batch.site_id)
            operation_start(actor=self.actor, operation=operation, machine_id=machine.pk)
            scrap = 1 if good > 4 and self.rng.random() < 0.3 else 0
            operation_finish(
                actor=self.actor,
                operation=operation,
                quantity_good=good - scrap,
                quantity_scrap=scrap,
            )
            good -= scrap

    def _record_consumption(self, batch: Batch) -> None:
        for line in batch.product.bom_lines.select_related("material"):
            quantity = (line.quantity_per_unit * batch.quantity_planned).quantize(Decimal("0.001"))
            if line.material.stock_on_hand < quantity:
                continue
            material_consumption_record(
                actor=self.actor,
                batch=batch,
                material_id=line.material_id,
                quantity=quantity,
                material_lot=f"{line.material.code}-{self.rng.randint(100, 999)}",
            )

    def _finish_batch(self, batch: Batch) -> None:
        self._run_operations(batch)
        self._record_consumption(batch)
        quality_check_record(
            actor=self.actor,
            batch=batch,
            characteristic="Critical dimension",
            unit="mm",
            target=Decimal("20.00"),
            tolerance=Decimal("0.20"),
            measured=Decimal("20.00") + Decimal(self.rng.randint(-15, 15)) / 100,
        )
        batch_complete(actor=self.actor, batch=batch)

    def _plan(self, batch: Batch, start: datetime) -> None:
        """What the scheduler would do: a machine and planned times for each operation."""
        cursor = start
        for operation in batch.operations.order_by("sequence"):
            minutes = _operation_minutes(operation, batch.quantity_planned)
            operation.machine = self._machine_for(operation, batch.site_id)
            operation.planned_start = cursor
            operation.planned_end = cursor + timedelta(minutes=minutes)
            operation.save(update_fields=["machine", "planned_start", "planned_end", "updated_at"])
            cursor = operation.planned_end

    def shipped_orders(self, *, count: int) -> None:
        now = timezone.now()
        for index in range(count):
            days_ago = HISTORY_DAYS - index * (HISTORY_DAYS - 10) // count
            created = now - timedelta(days=days_ago, hours=self.rng.randint(0, 8))
            order = self._order(due=(created + timedelta(days=self.rng.randint(5, 14))).date())
            order_confirm(actor=self.actor, order=order)
            batches = list(
                Batch.objects.for_tenant(self.actor.tenant).filter(order_line__order=order)
            )
            for batch in batches:
                self._finish_batch(batch)
            order.refresh_from_db()
            order_ship(actor=self.actor, order=order)
            self._backdate(order, batches, created)

    def _backdate(self, order: Order, batches: list[Batch], created: datetime) -> None:
        """Move a finished order's history into the past, keeping its internal order of events."""
        tenant = self.actor.tenant
        start = created + timedelta(hours=2)
        cursor = start
        for batch in batches:
            batch_start = cursor
            for operation in batch.operations.order_by("sequence"):
                minutes = _operation_minutes(operation, batch.quantity_planned)
                end = cursor + timedelta(minutes=minutes)
                BatchOperation.objects.for_tenant(tenant).filter(pk=operation.pk).update(
                    created_at=created,
                    planned_start=cursor,
                    planned_end=end,
                    actual_start=cursor,
                    actual_end=end,
                )
                cursor = end + timedelta(minutes=self.rng.randint(5, 90))
            Batch.objects.for_tenant(tenant).filter(pk=batch.pk).update(
                created_at=created,
                started_at=batch_start,
                completed_at=cursor,
            )
        late = self.rng.random() < 0.15
        shipped = max(cursor, created) + timedelta(hours=self.rng.randint(2, 30))
        due = (
            (shipped - timedelta(days=1))
            if late
            else (shipped + timedelta(days=self.rng.randint(0, 4)))
        )
        Order.objects.for_tenant(tenant).filter(pk=order.pk).update(
            created_at=created,
            confirmed_at=created + timedelta(hours=1),
            shipped_at=shipped,
            due_date=due.date(),
        )

    def current_orders(self) -> None:
        today = timezone.localdate()
        ahead = lambda days: today + timedelta(days=days)  # noqa: E731

        self._order(due=ahead(12))  # draft
        self._order(due=ahead(15), lines=1)  # draft

        confirmed = self._order(due=ahead(9))
        order_confirm(actor=self.actor, order=confirmed)  # batches planned

        scheduled = self._order(due=ahead(6), lines=1)
        order_confirm(actor=self.actor, order=scheduled)
        for batch in self._batches(scheduled):
            self._plan(batch, timezone.now() + timedelta(hours=4))
            batch_schedule(actor=self.actor, batch=batch)

        checking = self._order(due=ahead(2), lines=1)
        order_confirm(actor=self.actor, order=checking)
        for batch in self._batches(checking):
            self._run_operations(batch)  # -> quality check

        late = self._order(due=ahead(-2), lines=1)  # in production and late
        order_confirm(actor=self.actor, order=late)
        self._run_operations(self._batches(late)[0], upto=1)

        ready = self._order(due=ahead(1), lines=1)
        order_confirm(actor=self.actor, order=ready)
        for batch in self._batches(ready):
            self._finish_batch(batch)

        cancelled = self._order(due=ahead(20), lines=1)
        order_confirm(actor=self.actor, order=cancelled)
        order_cancel(actor=self.actor, order=cancelled, reason="Customer changed the design")

        # Last: its running operation keeps a machine busy.
        running = self._order(due=ahead(3), lines=1)
        order_confirm(actor=self.actor, order=running)
        first = self._batches(running)[0]
        self._run_operations(first, upto=1)
        second_op = (
            first.operations.filter(status=BatchOperation.Status.PENDING)
            .order_by("sequence")
            .first()
        )
        if second_op is not None:
            machine = self._machine_for(second_op, first.site_id)
            operation_start(actor=self.actor, operation=second_op, machine_id=machine.pk)

        stock_batch = self._batches(confirmed)[0]
        batch_cancel(actor=self.actor, batch=stock_batch, reason="Merged into the next batch")

    def open_order_book(self, *, count: int) -> None:
        """Confirmed orders due over the next two weeks, waiting to be made."""
        today = timezone.localdate()
        for index in range(count):
            due = today + timedelta(days=2 + index * 12 // count + self.rng.randint(0, 2))
            order_confirm(actor=self.actor, order=self._order(due=due))

    def _batches(self, order: Order) -> list[Batch]:
        return list(
            Batch.objects.for_tenant(self.actor.tenant)
            .filter(order_line__order=order)
            .select_related("product")
            .order_by("pk")
        )

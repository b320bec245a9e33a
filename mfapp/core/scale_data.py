"""Scale data for performance work (`seed_scale`): many tenants with months of history, fast.

Unlike the demo data (`demo_data.py`, through the services), this writes rows directly with
`bulk_create`, in chunks, one transaction per tenant inside `rls.tenant_context(tenant.pk)`:
no save(), no signals, no services. What makes the rows valid is how they are made: each
tenant is first planned in memory, then written.

How a tenant is planned:

1. **Size.** Tenants get orders by a Zipf rule (`tenant_sizes`): tenant k of N (1-based, slug
   `<prefix>-01` is k = 1) gets a share proportional to 1/k of N x M orders, rounded by largest
   remainder so the total is exactly N x M, every tenant at least one when N x M >= N. With 20
   tenants the largest has 5.6x the mean and the smallest 0.28x. The rest of a tenant scales
   with g = log10(orders) mapped onto [0, 1] between 30 and 30,000 orders: 1-3 sites, 5-30
   machines, 20-200 products, 5-40 materials, 50-2,000 customers, longer working hours.
2. **Catalogue.** Each site runs a bench pool (assembly, post-processing, finishing,
   inspection, packaging) and a few process families (FDM, SLA, SLS, milling, turning, laser,
   electronics), each family a machine kind whose capabilities no other kind has. A product
   belongs to one family: its first step(s) on that kind, then up to three bench steps; BOM
   lines use the family's materials plus boxes and screws.
3. **Orders** arrive over `months` of history, rising from 0.6x to 1.4x the mean rate, fewer
   at weekends, from customers with Zipf-like loyalty, 1-5 lines of products the order's site
   can make. Each is confirmed after a delay (or stays a draft when that is still to come),
   a few are cancelled; lines are split into batches by the product's maximum batch size.
4. **Machines** are bought where the work is: one per (site, kind) pool, the rest to the pool
   with the most work per machine-hour available. Routing minutes are then scaled down (never
   up) so the busiest pool is at most 50 % utilised over the history.
5. **Simulation.** Batches are released a few hours after confirmation, or later when the due
   date leaves time to spare (up to 60 % of it, at most 12 days; 3 % wait for materials with a
   `release_at`). Batches in release order, their operations in sequence, each on the capable
   machine of the batch's site that can start it first: after the machine's previous operation,
   inside working hours for attended machines, never inside a maintenance window or after a
   machine went down. An operation that ended before *now* is done (actual times, good and
   scrap units), one that spans now is running (its machine "running"), a later one pending
   with its machine and planned times: the plan a scheduler run made an hour ago. Nothing
   overlaps on a machine by construction, so the PostgreSQL exclusion constraint holds.
   Batches confirmed in the last hour are left planned, without machines.
6. **Statuses follow the times**: a batch is scheduled, in progress, in quality check or
   completed (quality checks, material consumption, completed_at); an order confirmed, in
   production, ready or shipped; fields go with statuses as the services set them (version
   counts status changes). Order numbers `SO-<year>-<nnnnn>` and lot codes `L<yymmdd>-<nnnn>`
   are numbered in creation order per year and day, as `numbering.next_code` would have.

Audit events are written for the tenant's set-up and for each order's status changes (not for
batches or operations). Energy readings (`energy=True`): hourly interval readings for one
machine per site, from the simulated busy time. Everything is deterministic for a seed and
`now`. With `jobs` > 1 (PostgreSQL) tenants are planned and written by that many forked
processes, each tenant still in one transaction of its own.
"""

import math
import multiprocessing
import random
import re
import time
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import accumulate, chain
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection, connections, models, transaction
from django.utils import timezone

from mfapp.audit.models import AuditEvent
from mfapp.catalog.models import BomLine, Material, Product, RoutingStep
from mfapp.core import rls
from mfapp.core.demo_data import DEMO_PASSWORD
from mfapp.machines.models import EnergyReading, Machine, MaintenanceWindow
from mfapp.orders.models import Customer, Order, OrderLine
from mfapp.production.models import Batch, BatchOperation, MaterialConsumption, QualityCheck
from mfapp.scheduling.models import ScheduleRun
from mfapp.sustainability.models import SustainabilitySettings
from mfapp.tenancy.models import Membership, Site, Tenant

SCALE_PASSWORD = DEMO_PASSWORD  # every scale login, e.g. owner@scale-01.test
CHUNK = 2000  # rows per INSERT
TARGET_UTILISATION = 0.5  # of the busiest machine pool, over the whole history
MAX_ORDERS_PER_TENANT = 99_999  # order numbers have five digits per year
MAX_ORDERS_PER_DAY = 600  # on average for the largest tenant: lot codes have four per day
DAY = 1440  # minutes

OS = Order.Status
BS = Batch.Status
PS = BatchOperation.Status


class ScaleError(Exception):
    """The options cannot be honoured; nothing was written."""


# --- sizes -------------------------------------------------------------------------------
def tenant_sizes(tenants: int, orders_per_tenant: int) -> list[int]:
    """Orders per tenant, largest first: Zipf (exponent 1) shares of tenants x orders_per_tenant,
    rounded by largest remainder so the total is exact; at least one each when there are enough."""
    total = tenants * orders_per_tenant
    weights = [1 / rank for rank in range(1, tenants + 1)]
    raw = [total * w / sum(weights) for w in weights]
    sizes = [math.floor(r) for r in raw]
    by_remainder = sorted(range(tenants), key=lambda i: (-(raw[i] - sizes[i]), i))
    for i in by_remainder[: total - sum(sizes)]:
        sizes[i] += 1
    if total >= tenants:
        for i in range(tenants):
            if sizes[i] == 0:
                sizes[i] = 1
                sizes[0] -= 1
    return sizes


def tenant_slugs(prefix: str, tenants: int) -> list[str]:
    width = max(2, len(str(tenants)))
    return [f"{prefix}-{n:0{width}d}" for n in range(1, tenants + 1)]


def _size_factor(orders: int) -> float:
    """0 for 30 orders or fewer, 1 for 30,000 or more, logarithmic in between."""
    value = (math.log10(max(orders, 1)) - math.log10(30)) / 3
    return min(1.0, max(0.0, value))


# --- reference data ----------------------------------------------------------------------
COUNTRIES: list[tuple[str, str, str, list[tuple[str, float, float]]]] = [
    ("DE", "Europe/Berlin", "EUR", [("Berlin", 52.520, 13.405), ("Leipzig", 51.340, 12.375),
                                    ("Munich", 48.137, 11.575)]),
    ("FR", "Europe/Paris", "EUR", [("Lyon", 45.764, 4.836), ("Paris", 48.857, 2.352),
                                   ("Nantes", 47.218, -1.554)]),
    ("NL", "Europe/Amsterdam", "EUR", [("Eindhoven", 51.441, 5.470), ("Rotterdam", 51.924, 4.478),
                                       ("Utrecht", 52.091, 5.122)]),
    ("ES", "Europe/Madrid", "EUR", [("Barcelona", 41.385, 2.173), ("Valencia", 39.470, -0.376),
                                    ("Bilbao", 43.263, -2.935)]),
    ("IT", "Europe/Rome", "EUR", [("Turin", 45.070, 7.687), ("Milan", 45.464, 9.190),
                                  ("Bologna", 44.494, 11.343)]),
    ("PL", "Europe/Warsaw", "PLN", [("Wroclaw", 51.108, 17.039), ("Krakow", 50.065, 19.945),
                                    ("Gdansk", 54.352, 18.646)]),
    ("GB", "Europe/London", "GBP", [("Manchester", 53.481, -2.243), ("Bristol", 51.455, -2.588),
                                    ("Leeds", 53.800, -1.549)]),
    ("SE", "Europe/Stockholm", "SEK", [("Gothenburg", 57.709, 11.975), ("Malmo", 55.605, 13.004),
                                       ("Stockholm", 59.329, 18.069)]),
    ("AT", "Europe/Vienna", "EUR", [("Vienna", 48.208, 16.374), ("Graz", 47.071, 15.440),
                                    ("Linz", 48.306, 14.286)]),
    ("DK", "Europe/Copenhagen", "DKK", [("Copenhagen", 55.676, 12.568), ("Aarhus", 56.163, 10.204),
                                        ("Odense", 55.403, 10.403)]),
    ("US", "America/Chicago", "USD", [("Chicago", 41.878, -87.630), ("Milwaukee", 43.039, -87.906),
                                      ("Minneapolis", 44.978, -93.265)]),
    ("CA", "America/Toronto", "CAD", [("Toronto", 43.653, -79.383), ("Ottawa", 45.421, -75.697),
                                      ("Montreal", 45.502, -73.567)]),
]  # fmt: skip

NAME_FIRST = [
    "Northbeam", "Kestrel", "Copperleaf", "Bluewater", "Ironbark", "Lumen", "Fjordline",
    "Granite", "Pixelworks", "Cedar", "Atlas", "Velo", "Harbour", "Quarry", "Tinker", "Beacon",
    "Juniper", "Orbit", "Saffron", "Meridian",
]  # fmt: skip
NAME_SECOND = ["Microfactory", "Fabrication", "Works", "Makers", "Manufacturing", "Labs",
               "Atelier", "Workshop"]  # fmt: skip
CUSTOMER_FIRST = [
    "Alpine", "Harbour", "Kiez", "Nord", "Sunrise", "Blue", "Maple", "Oak", "Riverside",
    "Copper", "Atlas", "Pixel", "Velo", "Urban", "Green", "Bright", "Cedar", "Fjord",
    "Granite", "Lumen", "Summit", "Delta", "Echo", "Falcon", "Hazel",
]  # fmt: skip
CUSTOMER_SECOND = [
    "Cycles", "Dental Lab", "Drones", "Cafe", "Design Studio", "Robotics", "Architects", "Toys",
    "Outdoor", "Audio", "Lighting", "Furniture", "Clinic", "Makerspace", "Optics", "Bikes",
    "Games", "Interiors", "Engineering", "Medical",
]  # fmt: skip
STREETS = ["Main Street", "Station Road", "Harbour Lane", "Mill Road", "Park Avenue",
           "Market Square", "Canal Street", "Industrial Way"]  # fmt: skip
COLOURS = {"BLK": "black", "WHT": "white", "GRY": "grey", "RED": "red", "BLU": "blue",
           "GRN": "green", "ORG": "orange", "CLR": "clear"}  # fmt: skip
SIZES = {"": "", "S": "small stock", "L": "large stock"}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Kind:
    """A machine kind: its capabilities (no other kind has them), models and power."""

    kind: str
    capabilities: tuple[str, ...]
    models: tuple[str, ...]
    running_kw: tuple[float, float]
    idle_kw: float
    hourly_cost: tuple[int, int]
    unattended: bool
    changeover: int = 0


@dataclass(frozen=True)
class Family:
    """A process family: its machine kind, first step(s), materials and product names.
    Materials: (code stem, name, unit, kg per unit, emission factor key, cost, per-unit use)."""

    code: str
    kind: Kind
    steps: tuple[tuple[str, str, tuple[int, int], tuple[float, float]], ...]
    materials: tuple[tuple[str, str, str, str, str, str, float], ...]
    products: tuple[str, ...]
    price: tuple[int, int]
    mass: tuple[float, float]
    check: tuple[str, str, str, str]  # characteristic, unit, target, tolerance


BENCH = Kind(
    "workstation",
    ("assembly", "post-process", "finishing", "inspection", "packaging"),
    ("Bench",),
    (0.04, 0.06),
    0.01,
    (26, 32),
    False,
)
BENCH_STEPS = [  # capability, names, setup range, run range (minutes per unit)
    ("post-process", ("Deburr", "Support removal", "Wash and cure", "Sand"), (3, 10), (1.0, 5.0)),
    ("finishing", ("Paint", "Coat", "Polish"), (5, 15), (2.0, 6.0)),
    ("assembly", ("Assemble", "Fit inserts", "Sub-assembly"), (5, 10), (2.0, 10.0)),
    ("inspection", ("Inspect", "Measure", "Function test"), (2, 5), (0.5, 2.0)),
    ("packaging", ("Pack", "Label and pack"), (2, 5), (0.5, 1.5)),
]
FAMILIES: list[Family] = [
    Family(
        "FDM",
        Kind("fdm-printer", ("fdm-print",), ("Prusa MK4", "Bambu X1C", "Prusa XL"),
             (0.12, 0.35), 0.01, (4, 6), True, 8),
        (("Print", "fdm-print", (5, 15), (15.0, 60.0)),),
        (("PLA", "PLA filament", "kg", "1", "pla", "22.00", 0.08),
         ("PETG", "PETG filament", "kg", "1", "petg", "26.00", 0.10)),
        ("Phone stand", "Cable clip set", "Headphone hook", "Planter", "Drawer knob",
         "Camera mount", "Enclosure", "Bracket", "Spool holder", "Desk organiser"),
        (8, 60), (0.02, 0.40), ("Critical dimension", "mm", "20.0000", "0.2000"),
    ),
    Family(
        "SLA",
        Kind("sla-printer", ("sla-print",), ("Form 3+", "Form 4", "Saturn 4"),
             (0.06, 0.09), 0.015, (5, 7), True, 20),
        (("Print", "sla-print", (10, 20), (10.0, 40.0)),),
        (("RES", "Standard resin", "l", "1.100", "resin-photopolymer", "149.00", 0.05),),
        ("Dental model", "Jewellery master", "Miniature", "Lens holder", "Hearing-aid shell"),
        (15, 90), (0.01, 0.10), ("Feature height", "mm", "5.0000", "0.0500"),
    ),
    Family(
        "SLS",
        Kind("sls-printer", ("sls-print",), ("Fuse 1+", "Sintratec S2"),
             (1.00, 1.30), 0.3, (16, 20), True),
        (("Sinter", "sls-print", (20, 40), (2.0, 8.0)),),
        (("PA12", "PA12 nylon powder", "kg", "1", "pa12", "95.00", 0.04),),
        ("Drone arm", "Hinge", "Snap-fit housing", "Gripper finger", "Air duct"),
        (10, 70), (0.02, 0.20), ("Wall thickness", "mm", "2.0000", "0.1000"),
    ),
    Family(
        "CNC",
        Kind("cnc-mill", ("cnc-mill-3axis",), ("Haas Mini Mill", "Tormach 1100", "DMG CMX 600"),
             (5.0, 7.5), 0.7, (38, 45), False),
        (("Mill", "cnc-mill-3axis", (20, 45), (6.0, 25.0)),),
        (("AL6061", "Aluminium 6061 bar", "kg", "1", "aluminium-6061", "9.50", 0.25),
         ("S235", "Steel bar S235", "kg", "1", "steel", "2.40", 0.30)),
        ("Motor mount", "Heat sink", "Bike stem", "Valve block", "Fixture plate", "Pulley"),
        (25, 180), (0.10, 1.20), ("Bore diameter", "mm", "12.0000", "0.0200"),
    ),
    Family(
        "LATHE",
        Kind("cnc-lathe", ("cnc-lathe",), ("Haas ST-10", "Tormach 15L"),
             (3.5, 5.0), 0.5, (32, 38), False),
        (("Turn", "cnc-lathe", (15, 30), (3.0, 12.0)),),
        (("SS304", "Stainless 304 rod", "kg", "1", "stainless-304", "5.80", 0.15),
         ("AL6082", "Aluminium 6082 rod", "kg", "1", "aluminium", "8.90", 0.12)),
        ("Shaft", "Bushing", "Spacer", "Control knob", "Nozzle"),
        (12, 90), (0.05, 0.60), ("Outer diameter", "mm", "10.0000", "0.0200"),
    ),
    Family(
        "LASER",
        Kind("laser-cutter", ("laser-cut", "laser-engrave"),
             ("Trotec Speedy 360", "Epilog Fusion"), (1.2, 1.6), 0.13, (22, 25), False),
        (("Cut", "laser-cut", (5, 10), (2.0, 8.0)),),
        (("PLY3", "Birch plywood 3 mm", "m2", "1.900", "wood", "14.00", 0.20),
         ("ACR3", "Acrylic 3 mm", "m2", "3.600", "pmma", "32.00", 0.15)),
        ("Lamp shade kit", "Shop sign", "Coaster set", "Display stand", "Box kit", "Panel"),
        (10, 80), (0.05, 0.90), ("Edge length", "mm", "150.0000", "0.3000"),
    ),
    Family(
        "PCB",
        Kind("pick-place", ("pick-place", "solder"), ("Neoden 4", "Essemtec Fox"),
             (0.4, 0.6), 0.1, (28, 32), False),
        (("Place components", "pick-place", (15, 30), (0.5, 3.0)),
         ("Reflow", "solder", (10, 20), (0.5, 2.0))),
        (("PCB", "PCB blank", "piece", "0.020", "plastics", "1.80", 1.0),
         ("CU", "Copper wire", "kg", "1", "copper", "11.00", 0.01)),
        ("Sensor board", "LED driver", "Controller board", "Keyboard PCB", "IoT node"),
        (15, 120), (0.01, 0.10), ("Supply voltage", "V", "3.3000", "0.1000"),
    ),
]  # fmt: skip
GENERIC_MATERIALS = [
    ("BOX-S", "Shipping box, small", "piece", "0.150", "cardboard", "0.60", 1.0),
    ("BOX-M", "Shipping box, medium", "piece", "0.250", "cardboard", "0.90", 1.0),
    ("M3-SCREW", "M3x8 screw", "piece", "0.001", "steel", "0.04", 8.0),
    ("INSERT-M3", "M3 heat-set insert", "piece", "0.001", "copper", "0.09", 4.0),
    ("PAINT", "Water-based paint", "l", "1.300", "plastics", "18.00", 0.01),
]


# --- plan records ------------------------------------------------------------------------
class Rec:
    """A row to write; `pk` is filled in once it is inserted."""

    __slots__ = ("pk",)

    def __init__(self) -> None:
        self.pk: int | None = None


class SiteRec(Rec):
    __slots__ = ("city", "country", "families", "hours", "lat", "lon", "name", "open_fraction")


class MaterialRec(Rec):
    __slots__ = ("code", "family", "key", "kg", "name", "stock", "unit", "unit_cost", "use")


class StepRec(Rec):
    __slots__ = ("capability", "material", "name", "run", "sequence", "setup")


class ProductRec(Rec):
    __slots__ = (
        "bom",
        "check",
        "created",
        "family",
        "mass",
        "max_batch",
        "name",
        "price",
        "retired_at",
        "revision",
        "sites",
        "sku",
        "steps",
    )


class MachineRec(Rec):
    __slots__ = (
        "busy",
        "changeover",
        "cost",
        "created",
        "down_at",
        "idle_kw",
        "kind",
        "name",
        "run_kw",
        "site",
        "status",
        "status_at",
        "status_reason",
        "windows",
    )


class CustomerRec(Rec):
    __slots__ = ("address", "country", "created", "email", "external_ref", "lat", "lon", "name")


class OpRec(Rec):
    __slots__ = ("end", "good", "machine", "scrap", "start", "status", "step")


class BatchRec(Rec):
    __slots__ = (
        "checks",
        "completed",
        "consumption",
        "created",
        "good",
        "line",
        "lot_code",
        "ops",
        "planned",
        "qty",
        "ready",
        "release_at",
        "scrap",
        "started",
        "status",
        "updated",
        "version",
    )


class LineRec(Rec):
    __slots__ = ("batches", "product", "quantity")


class OrderRec(Rec):
    __slots__ = (
        "cancelled",
        "confirmed",
        "created",
        "customer",
        "due",
        "events",
        "external_ref",
        "lines",
        "notes",
        "number",
        "priority",
        "shipped",
        "site",
        "status",
        "updated",
    )


@dataclass
class TenantPlan:
    index: int
    slug: str
    orders_wanted: int
    name: str = ""
    country: tuple[str, str, str, list[tuple[str, float, float]]] = COUNTRIES[0]
    sites: list[SiteRec] = field(default_factory=list)
    materials: list[MaterialRec] = field(default_factory=list)
    products: list[ProductRec] = field(default_factory=list)
    machines: list[MachineRec] = field(default_factory=list)
    customers: list[CustomerRec] = field(default_factory=list)
    orders: list[OrderRec] = field(default_factory=list)
    members: list[tuple[str, str]] = field(default_factory=list)  # (email, role)
    created: int = 0  # minutes from the origin (negative: before the history)
    scale: float = 1.0


@dataclass
class TenantResult:
    slug: str
    orders: int
    seconds: float


@dataclass
class ScaleResult:
    tenants: list[TenantResult] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    seconds: float = 0.0
    logins: list[str] = field(default_factory=list)


# --- the planner -------------------------------------------------------------------------
class _Planner:
    """Plans one tenant in memory; times are integer minutes from `origin` (UTC)."""

    def __init__(self, plan: TenantPlan, *, rng: random.Random, origin: datetime, now: int) -> None:
        self.plan = plan
        self.rng = rng
        self.origin = origin
        self.now = now
        self.g = _size_factor(plan.orders_wanted)
        self.tz = ZoneInfo(plan.country[1])
        self.calendars: dict[int, tuple[list[int], list[int]]] = {}

    # -- helpers --
    def at(self, minute: int) -> datetime:
        return self.origin + timedelta(minutes=minute)

    def local_date(self, minute: int) -> date:
        return self.at(minute).astimezone(self.tz).date()

    def between(self, low: float, high: float, places: int = 2) -> Decimal:
        return Decimal(f"{self.rng.uniform(low, high):.{places}f}")

    # -- the whole tenant --
    def build(self) -> TenantPlan:
        rng, plan, g = self.rng, self.plan, self.g
        plan.country = COUNTRIES[(plan.index - 1 + rng.randrange(3)) % len(COUNTRIES)]
        plan.name = f"{rng.choice(NAME_FIRST)} {rng.choice(NAME_SECOND)}"
        plan.created = -rng.randint(60, 540) * DAY
        operators = 1 + round(4 * g)
        plan.members = [
            (f"owner@{plan.slug}.test", Membership.Role.OWNER),
            (f"manager@{plan.slug}.test", Membership.Role.MANAGER),
            *[
                (f"operator{n}@{plan.slug}.test", Membership.Role.OPERATOR)
                for n in range(1, operators + 1)
            ],
            (f"viewer@{plan.slug}.test", Membership.Role.VIEWER),
        ]
        self._sites()
        self._materials()
        self._products()
        self._customers()
        self._orders()
        self._machines()
        self._simulate()
        self._settle()
        return plan

    def _sites(self) -> None:
        rng, g = self.rng, self.g
        count = 1 if g < 0.4 else (2 if g < 0.75 else 3)
        machines_total = round(5 + 25 * g)
        cities = rng.sample(self.plan.country[3], k=count)
        if g < 0.4:
            hours = {d: ([["08:00", "17:00"]] if d not in ("sat", "sun") else []) for d in WEEKDAYS}
        elif g < 0.75:
            hours = {d: [["07:00", "19:00"]] for d in WEEKDAYS[:5]} | {
                "sat": [["08:00", "13:00"]],
                "sun": [],
            }
        else:
            hours = {d: [["06:00", "14:00"], ["14:00", "22:00"]] for d in WEEKDAYS[:6]} | {
                "sun": []
            }
        others = [f for f in FAMILIES if f.code != "FDM"]
        budget = machines_total - 1  # keep one machine for the busiest pool
        for index, (city, lat, lon) in enumerate(cities):
            site = SiteRec()
            site.city, site.lat, site.lon = city, lat, lon
            site.name = f"{city} {'Works' if index == 0 else 'Hub'}"
            site.country = self.plan.country[0]
            site.hours = hours
            site.open_fraction = _open_fraction(hours)
            wanted = rng.randint(2, 4) if index == 0 else rng.randint(1, 3)
            left_for_others = count - index - 1  # each later site needs a bench and one family
            wanted = max(1, min(wanted, budget - 1 - 2 * left_for_others))
            pool = others if index == 0 else FAMILIES
            families = ([FAMILIES[0]] if index == 0 else []) + rng.sample(
                pool, k=wanted - (1 if index == 0 else 0)
            )
            site.families = sorted(families, key=FAMILIES.index)
            budget -= 1 + len(site.families)
            self.plan.sites.append(site)

    def _materials(self) -> None:
        rng = self.rng
        families = [f for f in FAMILIES if any(f in s.families for s in self.plan.sites)]
        candidates: list[tuple[str, str, str, str, str, str, float, Family | None]] = []
        for family in families:
            for code, name, unit, kg, key, cost, use in family.materials:
                variants = COLOURS if family.code in ("FDM", "SLA") else SIZES
                for variant, words in variants.items():
                    suffix = f"-{variant}" if variant else ""
                    label = f"{name}, {words}" if variant else name
                    candidates.append((code + suffix, label, unit, kg, key, cost, use, family))
        generic = [(*m, None) for m in GENERIC_MATERIALS]
        wanted = round(5 + 35 * self.g)
        chosen: list[tuple[str, str, str, str, str, str, float, Family | None]] = []
        for family in families:  # one material per family first
            chosen.append(next(c for c in candidates if c[7] is family))
        chosen += generic[:2]
        rest = [c for c in candidates + generic if c not in chosen]
        rng.shuffle(rest)
        chosen += rest[: max(0, wanted - len(chosen))]
        for code, name, unit, kg, key, cost, use, family in chosen:
            material = MaterialRec()
            material.code, material.name, material.unit = code, name, unit
            material.kg, material.key, material.unit_cost = kg, key, cost
            material.use, material.family = use, family
            material.stock = Decimal(rng.randint(20, 400) * (50 if unit == "piece" else 1))
            self.plan.materials.append(material)

    def _products(self) -> None:
        rng, plan = self.rng, self.plan
        families = [f for f in FAMILIES if any(f in s.families for s in plan.sites)]
        wanted = max(round(20 + 180 * self.g), len(families))
        primary = {f.code: [m for m in plan.materials if m.family is f] for f in families}
        generic = [m for m in plan.materials if m.family is None]
        numbers: dict[str, int] = defaultdict(int)
        for index in range(wanted):
            family = families[index] if index < len(families) else rng.choice(families)
            numbers[family.code] += 1
            product = ProductRec()
            product.family = family
            product.sku = f"{family.code}-{numbers[family.code]:04d}"
            variant = rng.choice(["S", "M", "L", "XL", "Mini", "Pro", "v2", "v3", "Slim"])
            product.name = f"{rng.choice(family.products)} {variant}"
            product.revision = rng.choice("AAABBC")
            product.price = self.between(*family.price)
            product.mass = self.between(*family.mass, places=3)
            product.max_batch = rng.choice([None, None, None, 5, 10, 12, 20, 25, 40, 50])
            product.created = plan.created + rng.randint(1, 30) * DAY
            retired = index >= len(families) and rng.random() < 0.04  # never a family's only one
            product.retired_at = int(self.now * rng.uniform(0.3, 0.7)) if retired else None
            product.sites = [i for i, s in enumerate(plan.sites) if family in s.families]
            material = rng.choice(primary[family.code])
            steps: list[StepRec] = []
            for name, capability, setup, run in family.steps:
                steps.append(self._step(name, capability, setup, run, material))
            if family.code == "LASER" and rng.random() < 0.5:
                steps.append(self._step("Engrave", "laser-engrave", (3, 5), (1.0, 4.0), None))
            extra = rng.choices([0, 1, 2, 3], weights=[25, 35, 25, 15])[0]
            extra = min(extra, 4 - len(steps))
            for capability, names, setup, run in sorted(
                rng.sample(BENCH_STEPS, k=extra), key=BENCH_STEPS.index
            ):
                steps.append(self._step(rng.choice(names), capability, setup, run, None))
            for sequence, step in enumerate(steps, start=1):
                step.sequence = sequence * 10
            product.steps = steps
            bom: list[tuple[MaterialRec, Decimal, Decimal]] = []
            lines = rng.choices([0, 1, 2, 3], weights=[10, 35, 35, 20])[0]
            if lines:
                bom.append((material, self._per_unit(material), Decimal(rng.choice([2, 5, 8, 10]))))
            for extra_material in (
                rng.sample(generic, k=min(lines - 1, len(generic))) if lines else []
            ):
                bom.append((extra_material, self._per_unit(extra_material), Decimal(0)))
            product.bom = bom
            product.check = family.check
            plan.products.append(product)

    def _step(
        self,
        name: str,
        capability: str,
        setup: tuple[int, int],
        run: tuple[float, float],
        material: MaterialRec | None,
    ) -> StepRec:
        step = StepRec()
        step.name, step.capability, step.material = name, capability, material
        step.setup = float(self.rng.randint(*setup))
        step.run = round(self.rng.uniform(*run), 2)
        return step

    def _per_unit(self, material: MaterialRec) -> Decimal:
        value = material.use * self.rng.uniform(0.5, 1.5)
        if material.unit == "piece":
            return Decimal(max(1, round(value)))
        return Decimal(f"{max(value, 0.0001):.4f}")

    def _customers(self) -> None:
        rng, plan = self.rng, self.plan
        wanted = round(50 + 1950 * self.g)
        for n in range(1, wanted + 1):
            customer = CustomerRec()
            first, second = rng.choice(CUSTOMER_FIRST), rng.choice(CUSTOMER_SECOND)
            home = plan.country if rng.random() < 0.85 else rng.choice(COUNTRIES)
            city, lat, lon = rng.choice(home[3])
            customer.name = f"{first} {second}" + (f" {city}" if rng.random() < 0.5 else "")
            customer.email = f"orders{n}@{first.lower()}-{second.split()[0].lower()}.test"
            customer.country = home[0]
            customer.lat = Decimal(f"{lat + rng.uniform(-0.6, 0.6):.6f}")
            customer.lon = Decimal(f"{lon + rng.uniform(-0.6, 0.6):.6f}")
            customer.address = f"{rng.choice(STREETS)} {rng.randint(1, 180)}, {city}"
            customer.external_ref = f"C-{n:05d}" if rng.random() < 0.5 else ""
            customer.created = rng.randint(plan.created + DAY, self.now - 60)
            plan.customers.append(customer)

    def _arrivals(self, count: int) -> list[int]:
        """Creation minutes: rate rising from 0.6x to 1.4x the mean, fewer at weekends, in
        local business hours."""
        rng, days = self.rng, self.now / DAY
        origin_weekday = self.origin.weekday()
        offset = int(self.origin.astimezone(self.tz).utcoffset().total_seconds() // 60)  # type: ignore[union-attr]
        minutes: list[int] = []
        while len(minutes) < count:
            x = (-0.6 + math.sqrt(0.36 + 1.6 * rng.random())) / 0.8  # density 0.6 + 0.8x
            day = int(x * days)
            if (origin_weekday + day) % 7 >= 5 and rng.random() < 0.7:
                continue
            minute = day * DAY + rng.randint(7 * 60, 20 * 60) - offset
            if 0 <= minute < self.now - 5:
                minutes.append(minute)
        return sorted(minutes)

    def _orders(self) -> None:
        rng, plan, now = self.rng, self.plan, self.now
        sites = plan.sites
        makeable = [[p for p in plan.products if i in p.sites] for i in range(len(sites))]
        product_weights = [
            list(accumulate(1 / (rank**0.8) for rank in range(1, len(products) + 1)))
            for products in makeable
        ]
        for products in makeable:
            rng.shuffle(products)
        customers = list(plan.customers)
        rng.shuffle(customers)
        customer_weights = list(accumulate(1 / (r**0.9) for r in range(1, len(customers) + 1)))
        site_weights = list(accumulate([3.0] + [1.5] * (len(sites) - 1)))
        site_indexes = list(range(len(sites)))
        shop_refs = 0
        for created in self._arrivals(plan.orders_wanted):
            order = OrderRec()
            order.created = created
            order.site = rng.choices(site_indexes, cum_weights=site_weights)[0]
            order.customer = rng.choices(customers, cum_weights=customer_weights)[0]
            order.priority = rng.choices([1, 2, 3, 4], weights=[15, 65, 15, 5])[0]
            low, high = {4: (2, 5), 3: (5, 10), 2: (7, 21), 1: (14, 35)}[order.priority]
            order.due = self.local_date(created) + timedelta(days=rng.randint(low, high))
            order.notes = rng.choice(["", "", "", "", "Gift wrap", "Call before delivery"])
            if rng.random() < 0.3:
                shop_refs += 1
                order.external_ref = f"SHOP-{shop_refs:06d}"
            else:
                order.external_ref = ""
            count = rng.choices([1, 2, 3, 4, 5], weights=[45, 27, 14, 9, 5])[0]
            chosen: list[ProductRec] = []
            for _ in range(count * 3):
                if len(chosen) == count:
                    break
                product = rng.choices(
                    makeable[order.site], cum_weights=product_weights[order.site]
                )[0]
                if product in chosen or (
                    product.retired_at is not None and product.retired_at < created
                ):
                    continue
                chosen.append(product)
            if not chosen:  # only retired products drawn: take any product still sold
                chosen = [
                    next(
                        p
                        for p in makeable[order.site]
                        if p.retired_at is None or p.retired_at >= created
                    )
                ]
            order.lines = []
            for product in chosen:
                line = LineRec()
                line.product = product
                line.quantity = min(120, 1 + int(rng.expovariate(1 / 5)))
                line.batches = []
                order.lines.append(line)
            order.confirmed = order.cancelled = order.shipped = None
            order.events = [(created, "order.created", "", OS.DRAFT)]
            fate = rng.random()
            confirm = created + min(3 * DAY, max(5, int(rng.expovariate(1 / 360))))
            if fate < 0.005:  # an abandoned quote, never confirmed
                order.status = OS.DRAFT
            elif fate < 0.02:  # cancelled before it was confirmed
                cancel = created + rng.randint(60, 5 * DAY)
                if cancel <= now:
                    order.status, order.cancelled = OS.CANCELLED, cancel
                else:
                    order.status = OS.DRAFT
            elif confirm > now:
                order.status = OS.DRAFT
            else:
                order.status, order.confirmed = OS.CONFIRMED, confirm
                cancel = confirm + rng.randint(30, 2 * DAY)
                if fate < 0.04 and cancel <= now:
                    order.cancelled = cancel
            plan.orders.append(order)
            if order.confirmed is not None:
                self._batches(order)

    def _batches(self, order: OrderRec) -> None:
        rng = self.rng
        confirm = order.confirmed
        assert confirm is not None
        hold = rng.random() < 0.03
        release = (
            (confirm + rng.randint(4, 12) * DAY) // 60 * 60 if hold else None  # whole hours
        )
        # Work is planned to finish a day or two before it is due, not always at once: the
        # start is put off by up to 60 % of the time to spare (orders due soon start at once).
        spare = (order.due - self.local_date(confirm)).days * DAY - 2 * DAY
        delay = min(12 * DAY, int(rng.uniform(0, 0.6) * max(0, spare)))  # within planning reach
        ready = confirm + rng.randint(10, 180) + delay
        if release is not None:
            ready = max(ready, release)
        for line in order.lines:
            size = line.product.max_batch or line.quantity
            remaining = line.quantity
            while remaining > 0:
                batch = BatchRec()
                batch.line, batch.qty = line, min(size, remaining)
                remaining -= batch.qty
                batch.created, batch.release_at, batch.ready = confirm, release, ready
                batch.planned = order.cancelled is None and confirm <= self.now - 60
                batch.ops = []
                for step in line.product.steps:
                    op = OpRec()
                    op.step, op.machine, op.status = step, None, PS.PENDING
                    op.start = op.end = op.good = op.scrap = None
                    batch.ops.append(op)
                batch.checks, batch.consumption = [], []
                batch.good = batch.scrap = 0
                batch.started = batch.completed = None
                line.batches.append(batch)

    # -- machines: bought where the work is --
    def _machines(self) -> None:
        rng, plan = self.rng, self.plan
        work: dict[tuple[int, str], float] = defaultdict(float)
        for order in plan.orders:
            if order.confirmed is None or order.cancelled is not None:
                continue
            for line in order.lines:
                for batch in line.batches:
                    for op in batch.ops:
                        kind = _kind_of(op.step.capability)
                        work[(order.site, kind.kind)] += op.step.setup + op.step.run * batch.qty
        pools: list[tuple[int, Kind]] = []
        for index, site in enumerate(plan.sites):
            pools.append((index, BENCH))
            pools += [(index, family.kind) for family in site.families]
        count = dict.fromkeys(pools, 1)
        availability = {
            (i, kind): 1.0 if kind.unattended else plan.sites[i].open_fraction for i, kind in pools
        }
        extra = round(5 + 25 * self.g) - len(pools)
        for _ in range(max(0, extra)):
            busiest = max(
                pools, key=lambda p: work[(p[0], p[1].kind)] / (count[p] * availability[p])
            )
            count[busiest] += 1
        utilisation = max(
            work[(p[0], p[1].kind)] / (count[p] * availability[p] * self.now) for p in pools
        )
        plan.scale = min(1.0, TARGET_UTILISATION / utilisation) if utilisation else 1.0
        for product in plan.products:
            for step in product.steps:
                step.setup = round(step.setup * plan.scale, 2)
                step.run = max(0.05, round(step.run * plan.scale, 2))
        for site_index, kind in pools:
            for n in range(1, count[(site_index, kind)] + 1):
                machine = MachineRec()
                machine.site, machine.kind = site_index, kind
                model = kind.models[(n - 1) % len(kind.models)]
                machine.name = f"{model} {chr(64 + n)}" if kind is BENCH else f"{model} #{n}"
                machine.run_kw = self.between(*kind.running_kw, places=3)
                machine.idle_kw = Decimal(f"{kind.idle_kw:.3f}")
                machine.cost = Decimal(rng.randint(*kind.hourly_cost))
                machine.changeover = kind.changeover
                machine.created = plan.created + rng.randint(0, 20) * DAY
                machine.windows = []
                machine.busy = []
                machine.down_at = None
                machine.status, machine.status_at, machine.status_reason = "available", None, ""
                plan.machines.append(machine)
        self._machine_troubles()

    def _machine_troubles(self) -> None:
        """Preventive maintenance every quarter, some planned soon, one machine in maintenance
        now and one down (each in a pool that has another machine)."""
        rng, now, plan = self.rng, self.now, self.plan
        for machine in plan.machines:  # from 06:00 local time
            start = rng.randint(10, 80) * DAY
            while start < now - DAY:
                at = self._minute(self.local_date(start), "06:00")
                machine.windows.append(
                    (at, at + rng.choice([120, 180, 240]), "Preventive maintenance")
                )
                start += rng.randint(80, 100) * DAY
            if rng.random() < 0.3:
                at = self._minute(self.local_date(now + rng.randint(1, 10) * DAY), "06:00")
                machine.windows.append((at, at + 180, "Planned calibration"))
        shared = [
            m
            for m in plan.machines
            if sum(1 for o in plan.machines if o.site == m.site and o.kind is m.kind) >= 2
        ]
        rng.shuffle(shared)
        if len(plan.machines) >= 8 and shared:
            machine = shared.pop()
            start = now - rng.randint(30, 150)
            machine.windows.append((start, now + rng.randint(120, 360), "Quarterly service"))
            machine.status, machine.status_at = "maintenance", start
            machine.status_reason = "Quarterly service: belts, lubrication, calibration"
        if len(plan.machines) >= 10:
            others = [m for m in shared if m.status == "available"]
            if others:
                machine = others[0]
                machine.down_at = now - rng.randint(120, 2 * DAY)
                machine.status, machine.status_at = "down", machine.down_at
                machine.status_reason = "Fault reported by the operator; waiting for a spare part"
        for machine in plan.machines:
            machine.windows.sort()

    # -- the simulation --
    def _calendar(self, site_index: int) -> tuple[list[int], list[int]]:
        """The site's open windows as (starts, ends) in minutes, DST-safe, past the horizon."""
        if site_index in self.calendars:
            return self.calendars[site_index]
        hours = self.plan.sites[site_index].hours
        first = self.local_date(0) - timedelta(days=2)
        last = self.local_date(self.now) + timedelta(days=120)
        windows: list[tuple[int, int]] = []
        day = first
        while day <= last:
            for start, end in hours[WEEKDAYS[day.weekday()]]:
                windows.append((self._minute(day, start), self._minute(day, end)))
            day += timedelta(days=1)
        merged: list[tuple[int, int]] = []
        for start, end in sorted(windows):
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        calendar = ([s for s, _ in merged], [e for _, e in merged])
        self.calendars[site_index] = calendar
        return calendar

    def _minute(self, day: date, clock: str) -> int:
        hours, minutes = (int(part) for part in clock.split(":"))
        local = datetime(day.year, day.month, day.day, tzinfo=self.tz) + timedelta(
            hours=hours, minutes=minutes
        )
        return int((local - self.origin).total_seconds() // 60)

    def _earliest(self, machine: MachineRec, free: int, ready: int, duration: int) -> int | None:
        start = max(ready, free)
        if machine.down_at is not None and start + duration > machine.down_at:
            return None
        attended = not machine.kind.unattended
        starts, ends = self._calendar(machine.site) if attended else ([], [])
        for _ in range(1000):
            if attended:
                i = bisect_right(ends, start)
                if i < len(starts):
                    start = max(start, starts[i])
            blocked = next(
                (w for w in machine.windows if w[1] > start and w[0] < start + duration), None
            )
            if blocked is None:
                return start
            start = blocked[1]
        return None

    def _simulate(self) -> None:
        rng, now, plan = self.rng, self.now, self.plan
        candidates: dict[tuple[int, str], list[int]] = defaultdict(list)
        for index, machine in enumerate(plan.machines):
            for capability in machine.kind.capabilities:
                candidates[(machine.site, capability)].append(index)
        free = [0] * len(plan.machines)
        batches = [
            (batch.ready, order_index, batch)
            for order_index, order in enumerate(plan.orders)
            if order.cancelled is None
            for line in order.lines
            for batch in line.batches
            if batch.planned
        ]
        batches.sort(key=lambda item: (item[0], item[1]))
        for ready, order_index, batch in batches:
            site = plan.orders[order_index].site
            quantity = batch.qty
            for op in batch.ops:
                nominal = op.step.setup + op.step.run * quantity
                factor = 1.0 if ready >= now else rng.uniform(0.9, 1.2)
                duration = max(1, math.ceil(nominal * factor))
                best: tuple[int, int] | None = None
                for m in candidates[(site, op.step.capability)]:
                    start = self._earliest(plan.machines[m], free[m], ready, duration)
                    if start is not None and (best is None or start < best[0]):
                        best = (start, m)
                if best is None:  # cannot happen: a pool with a machine down has another one
                    raise ScaleError(f"No machine for {op.step.capability} at site {site}.")
                start, m = best
                op.machine, op.start, op.end = m, start, start + duration
                free[m] = op.end
                plan.machines[m].busy.append((start, op.end))
                if op.end <= now:
                    op.status = PS.DONE
                    scrap = 0
                    if quantity > 1 and rng.random() < 0.15:
                        scrap = rng.randint(1, max(1, min(quantity - 1, quantity // 10)))
                    op.good, op.scrap = quantity - scrap, scrap
                    batch.scrap += scrap
                    quantity -= scrap
                elif start <= now:
                    op.status = PS.RUNNING
                    machine = plan.machines[m]
                    machine.status, machine.status_at = "running", start
                ready = op.end + rng.randint(0, 45)

    def _settle(self) -> None:
        """Statuses, quantities and timestamps from the simulated times."""
        rng, now, plan = self.rng, self.now, self.plan
        operators = [email for email, role in plan.members if role == Membership.Role.OPERATOR]
        for order in plan.orders:
            order.updated = order.created
            if order.confirmed is None:
                if order.cancelled is not None:
                    order.events.append(
                        (order.cancelled, "order.cancelled", OS.DRAFT, OS.CANCELLED)
                    )
                    order.updated = order.cancelled
                continue
            order.events.append((order.confirmed, "order.confirmed", OS.DRAFT, OS.CONFIRMED))
            batches = [b for line in order.lines for b in line.batches]
            if order.cancelled is not None:
                for batch in batches:
                    batch.status, batch.version, batch.updated = BS.CANCELLED, 1, order.cancelled
                    for op in batch.ops:
                        op.status = PS.CANCELLED
                order.status = OS.CANCELLED
                order.events.append(
                    (order.cancelled, "order.cancelled", OS.CONFIRMED, OS.CANCELLED)
                )
                order.updated = order.cancelled
                continue
            for batch in batches:
                self._settle_batch(batch, operators)
            started = [b.started for b in batches if b.started is not None]
            order.status = OS.CONFIRMED
            if started:
                order.status = OS.IN_PRODUCTION
                order.events.append(
                    (min(started), "order.status_changed", OS.CONFIRMED, OS.IN_PRODUCTION)
                )
            if all(b.status == BS.COMPLETED for b in batches):
                done = max(b.completed for b in batches if b.completed is not None)
                order.status = OS.READY
                order.events.append((done, "order.status_changed", OS.IN_PRODUCTION, OS.READY))
                ship = done + rng.randint(60, 2 * DAY)
                if ship <= now:
                    order.status, order.shipped = OS.SHIPPED, ship
                    order.events.append((ship, "order.shipped", OS.READY, OS.SHIPPED))
            order.updated = max([*(e[0] for e in order.events), *(b.updated for b in batches)])
        for customer in plan.customers:
            customer.created = min(customer.created, self.now - 60)
        first_order: dict[int, int] = {}
        for order in plan.orders:
            first_order.setdefault(id(order.customer), order.created)
        for customer in plan.customers:
            first = first_order.get(id(customer))
            if first is not None and customer.created > first - 60:
                customer.created = first - rng.randint(60, 30 * DAY)
        self._number()

    def _settle_batch(self, batch: BatchRec, operators: list[str]) -> None:
        rng, now = self.rng, self.now
        batch.updated = batch.created
        if not batch.planned:  # confirmed within the hour: the scheduler has not run yet
            batch.status, batch.version = BS.PLANNED, 0
            return
        ops = batch.ops
        first = ops[0]
        if first.start is not None and first.start <= now:
            batch.started = first.start
        if first.status == PS.DONE and first.end is not None:  # materials go in at the first step
            for material, per_unit, allowance in batch.line.product.bom:
                quantity = per_unit * batch.qty * (1 + allowance / 100 * Decimal(rng.random()))
                quantity = max(Decimal("0.001"), quantity.quantize(Decimal("0.001")))
                lot = f"{material.code}-{self.at(first.end):%y%m}{rng.randint(1, 9)}"
                batch.consumption.append(
                    (material, quantity, lot, first.end, rng.choice(operators))
                )
        if all(op.status == PS.DONE for op in ops):
            last = ops[-1]
            assert last.end is not None
            assert last.good is not None
            batch.good = last.good
            characteristic, unit, target, tolerance = batch.line.product.check
            target_d, tolerance_d = Decimal(target), Decimal(tolerance)
            check_at = last.end + rng.randint(10, 240)
            if rng.random() < 0.03:  # failed, reworked, passed on the re-check
                measured = target_d + tolerance_d * Decimal(rng.choice([-1, 1])) * Decimal("1.5")
                batch.checks.append(
                    (characteristic, unit, target_d, tolerance_d, measured, check_at)
                )
                check_at += rng.randint(60, 600)
            measured = target_d + tolerance_d * Decimal(f"{rng.uniform(-0.9, 0.9):.2f}")
            batch.checks.append((characteristic, unit, target_d, tolerance_d, measured, check_at))
            complete = check_at + rng.randint(5, 120)
            batch.checks = [c for c in batch.checks if c[5] <= now]
            if complete <= now:
                batch.status, batch.version, batch.completed = BS.COMPLETED, 4, complete
                batch.updated = complete
            else:
                batch.status, batch.version = BS.QUALITY_CHECK, 3
                batch.updated = last.end
        elif batch.started is not None:
            batch.status, batch.version = BS.IN_PROGRESS, 2
            batch.updated = max(
                op.end if op.status == PS.DONE else op.start
                for op in ops
                if op.status in (PS.DONE, PS.RUNNING)
            )
        else:
            batch.status, batch.version = BS.SCHEDULED, 1
            batch.updated = now - 60  # scheduled by the last schedule run

    def _number(self) -> None:
        """Order numbers per year and lot codes per day, in creation order."""
        per_year: dict[int, int] = defaultdict(int)
        for order in self.plan.orders:
            year = self.at(order.created).year
            per_year[year] += 1
            if per_year[year] > MAX_ORDERS_PER_TENANT:
                raise ScaleError(f"More than {MAX_ORDERS_PER_TENANT:,} orders in {year}.")
            order.number = f"SO-{year}-{per_year[year]:05d}"
        per_day: dict[str, int] = defaultdict(int)
        batches = [b for order in self.plan.orders for line in order.lines for b in line.batches]
        for batch in sorted(batches, key=lambda b: b.created):  # made when orders are confirmed
            day = f"{self.at(batch.created):%y%m%d}"
            per_day[day] += 1
            if per_day[day] > 9999:
                raise ScaleError(f"More than 9,999 batches on day {day}.")
            batch.lot_code = f"L{day}-{per_day[day]:04d}"


def _open_fraction(hours: dict[str, list[list[str]]]) -> float:
    minutes = 0
    for shifts in hours.values():
        for start, end in shifts:
            minutes += _clock(end) - _clock(start)
    return minutes / (7 * DAY)


def _clock(value: str) -> int:
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def _kind_of(capability: str) -> Kind:
    for family in FAMILIES:
        if capability in family.kind.capabilities:
            return family.kind
    return BENCH


# --- writing -----------------------------------------------------------------------------
@contextmanager
def _explicit_timestamps(model_classes: Iterable[type[models.Model]]) -> Iterator[None]:
    """created_at/updated_at as given: bulk_create would otherwise stamp them with now."""
    saved = []
    for model in model_classes:
        for name in ("created_at", "updated_at"):
            f = model._meta.get_field(name)
            saved.append((f, f.auto_now, f.auto_now_add))  # type: ignore[union-attr]
            f.auto_now = f.auto_now_add = False  # type: ignore[union-attr]
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


TIMESTAMPED: tuple[type[models.Model], ...] = (
    Tenant,
    Site,
    Membership,
    Material,
    Product,
    RoutingStep,
    BomLine,
    Machine,
    MaintenanceWindow,
    EnergyReading,
    Customer,
    Order,
    OrderLine,
    Batch,
    BatchOperation,
    QualityCheck,
    MaterialConsumption,
    ScheduleRun,
    SustainabilitySettings,
    AuditEvent,
)


class _Writer:
    def __init__(self, planner: _Planner, *, password_hash: str, energy: bool) -> None:
        self.p = planner
        self.plan = planner.plan
        self.at = planner.at
        self.counts: dict[str, int] = defaultdict(int)
        self.password_hash = password_hash
        self.energy = energy
        self.audit: list[AuditEvent] = []

    def insert(self, model: type[models.Model], pairs: Iterable[tuple[Rec | None, Any]]) -> None:
        chunk: list[tuple[Rec | None, Any]] = []
        for pair in pairs:
            chunk.append(pair)
            if len(chunk) >= CHUNK:
                self._flush(model, chunk)
        self._flush(model, chunk)

    def _flush(self, model: type[models.Model], chunk: list[tuple[Rec | None, Any]]) -> None:
        if not chunk:
            return
        objects = [obj for _, obj in chunk]
        model._default_manager.bulk_create(objects, batch_size=CHUNK)
        for record, obj in chunk:
            if record is not None:
                record.pk = obj.pk
        self.counts[model._meta.label] += len(objects)
        chunk.clear()

    def write(self) -> Tenant:
        plan, at = self.plan, self.at
        country, tz_name, currency, _ = plan.country
        tenant = Tenant(
            slug=plan.slug,
            name=plan.name,
            country=country,
            timezone=tz_name,
            currency=currency,
            created_at=at(plan.created),
            updated_at=at(plan.created),
        )
        tenant.save()
        self.counts["tenancy.Tenant"] += 1
        self.tenant = tenant
        users = self._users()
        with rls.tenant_context(tenant.pk):
            self._setup(users)
            self._orders()
            self._production()
            self._extras()
            events = chain(((None, event) for event in self.audit), self._order_events())
            self.insert(AuditEvent, events)
        return tenant

    def _event(
        self,
        minute: int,
        verb: str,
        target: models.Model | Rec,
        type_: str,
        repr_: str,
        *,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        user: Any = None,
        message: str = "",
    ) -> AuditEvent:
        at = self.at(minute)
        return AuditEvent(
            tenant_id=self.tenant.pk,
            actor_user_id=user.pk if user is not None else None,
            actor_label=user.get_username() if user is not None else "system",
            verb=verb,
            target_type=type_,
            target_id=target.pk,
            target_repr=repr_[:200],
            before=before or {},
            after=after or {},
            message=message,
            created_at=at,
            updated_at=at,
        )

    def _users(self) -> dict[str, Any]:
        user_model = get_user_model()
        emails = [email for email, _ in self.plan.members]
        existing = {u.username: u for u in user_model.objects.filter(username__in=emails)}
        missing = [
            user_model(
                username=email,
                email=email,
                password=self.password_hash,
                date_joined=self.at(self.plan.created),
            )
            for email in emails
            if email not in existing
        ]
        user_model.objects.bulk_create(missing)
        self.counts[user_model._meta.label] += len(missing)
        users = {**existing, **{u.username: u for u in missing}}
        if any(u.pk is None for u in users.values()):  # databases that return no ids
            users = {u.username: u for u in user_model.objects.filter(username__in=emails)}
        return users

    def _setup(self, users: dict[str, Any]) -> None:
        plan, at, tenant = self.plan, self.at, self.tenant
        t = at(plan.created)
        self.users = users
        self.manager = users[f"manager@{plan.slug}.test"]
        self.audit.append(
            self._event(
                plan.created,
                "tenant.created",
                tenant,
                "tenancy.tenant",
                tenant.name,
                after={"slug": tenant.slug},
            )
        )
        self.insert(
            Site,
            (
                (
                    site,
                    Site(
                        tenant_id=tenant.pk,
                        name=site.name,
                        address=f"{self.p.rng.choice(STREETS)} 1, {site.city}",
                        country=site.country,
                        latitude=Decimal(f"{site.lat:.6f}"),
                        longitude=Decimal(f"{site.lon:.6f}"),
                        timezone=tenant.timezone,
                        working_hours=site.hours,
                        created_at=t,
                        updated_at=t,
                    ),
                )
                for site in plan.sites
            ),
        )
        for site in plan.sites:
            self.audit.append(
                self._event(
                    plan.created,
                    "site.created",
                    site,
                    "tenancy.site",
                    site.name,
                    after={"name": site.name},
                )
            )
        memberships = [
            Membership(
                tenant_id=tenant.pk, user_id=users[email].pk, role=role, created_at=t, updated_at=t
            )
            for email, role in plan.members
        ]
        self.insert(Membership, ((None, m) for m in memberships))
        for m, (email, role) in zip(memberships, plan.members, strict=True):
            self.audit.append(
                self._event(
                    plan.created,
                    "membership.created",
                    m,
                    "tenancy.membership",
                    f"{email} in {tenant.pk} as {role}",
                    after={"user": email, "role": role},
                )
            )
        self.insert(
            Material,
            (
                (
                    m,
                    Material(
                        tenant_id=tenant.pk,
                        code=m.code,
                        name=m.name,
                        unit=m.unit,
                        mass_per_unit_kg=Decimal(m.kg),
                        emission_factor_key=m.key,
                        unit_cost=Decimal(m.unit_cost),
                        stock_on_hand=m.stock,
                        created_at=t,
                        updated_at=t,
                    ),
                )
                for m in plan.materials
            ),
        )
        self.insert(
            Product,
            (
                (
                    p,
                    Product(
                        tenant_id=tenant.pk,
                        sku=p.sku,
                        name=p.name,
                        design_revision=p.revision,
                        unit_price=p.price,
                        unit_mass_kg=p.mass,
                        max_batch_size=p.max_batch,
                        is_active=p.retired_at is None,
                        created_at=at(p.created),
                        updated_at=at(p.retired_at if p.retired_at is not None else p.created),
                    ),
                )
                for p in plan.products
            ),
        )
        self.insert(
            RoutingStep,
            (
                (
                    s,
                    RoutingStep(
                        tenant_id=tenant.pk,
                        product_id=p.pk,
                        sequence=s.sequence,
                        name=s.name,
                        capability=s.capability,
                        setup_minutes=Decimal(f"{s.setup:.2f}"),
                        run_minutes_per_unit=Decimal(f"{s.run:.2f}"),
                        material_id=s.material.pk if s.material is not None else None,
                        created_at=at(p.created),
                        updated_at=at(p.created),
                    ),
                )
                for p in plan.products
                for s in p.steps
            ),
        )
        self.insert(
            BomLine,
            (
                (
                    None,
                    BomLine(
                        tenant_id=tenant.pk,
                        product_id=p.pk,
                        material_id=material.pk,
                        quantity_per_unit=per_unit,
                        scrap_allowance_percent=allowance,
                        created_at=at(p.created),
                        updated_at=at(p.created),
                    ),
                )
                for p in plan.products
                for material, per_unit, allowance in p.bom
            ),
        )
        self.insert(
            Machine,
            (
                (
                    m,
                    Machine(
                        tenant_id=tenant.pk,
                        site_id=plan.sites[m.site].pk,
                        name=m.name,
                        kind=m.kind.kind,
                        capabilities=list(m.kind.capabilities),
                        rated_power_running_kw=m.run_kw,
                        rated_power_idle_kw=m.idle_kw,
                        hourly_cost=m.cost,
                        changeover_minutes=m.changeover,
                        runs_unattended=m.kind.unattended,
                        status=m.status,
                        status_reason=m.status_reason,
                        status_changed_at=at(m.status_at) if m.status_at is not None else None,
                        created_at=at(m.created),
                        updated_at=at(m.status_at if m.status_at is not None else m.created),
                    ),
                )
                for m in plan.machines
            ),
        )
        self.insert(
            MaintenanceWindow,
            (
                (
                    None,
                    MaintenanceWindow(
                        tenant_id=tenant.pk,
                        machine_id=m.pk,
                        starts_at=at(start),
                        ends_at=at(end),
                        reason=reason,
                        created_at=at(min(start, self.p.now) - 14 * DAY),
                        updated_at=at(min(start, self.p.now) - 14 * DAY),
                    ),
                )
                for m in plan.machines
                for start, end, reason in m.windows
            ),
        )
        self.insert(
            Customer,
            (
                (
                    c,
                    Customer(
                        tenant_id=tenant.pk,
                        name=c.name,
                        email=c.email,
                        delivery_address=c.address,
                        country=c.country,
                        latitude=c.lat,
                        longitude=c.lon,
                        external_ref=c.external_ref,
                        created_at=at(c.created),
                        updated_at=at(c.created),
                    ),
                )
                for c in plan.customers
            ),
        )

    def _orders(self) -> None:
        plan, at, tenant = self.plan, self.at, self.tenant
        self.insert(
            Order,
            (
                (
                    o,
                    Order(
                        tenant_id=tenant.pk,
                        number=o.number,
                        customer_id=o.customer.pk,
                        site_id=plan.sites[o.site].pk,
                        status=o.status,
                        priority=o.priority,
                        due_date=o.due,
                        notes=o.notes,
                        external_ref=o.external_ref,
                        confirmed_at=at(o.confirmed) if o.confirmed is not None else None,
                        shipped_at=at(o.shipped) if o.shipped is not None else None,
                        cancelled_at=at(o.cancelled) if o.cancelled is not None else None,
                        created_at=at(o.created),
                        updated_at=at(o.updated),
                    ),
                )
                for o in plan.orders
            ),
        )
        self.insert(
            OrderLine,
            (
                (
                    line,
                    OrderLine(
                        tenant_id=tenant.pk,
                        order_id=o.pk,
                        product_id=line.product.pk,
                        quantity=line.quantity,
                        unit_price=line.product.price,
                        created_at=at(o.created),
                        updated_at=at(o.created),
                    ),
                )
                for o in plan.orders
                for line in o.lines
            ),
        )

    def _order_events(self) -> Iterator[tuple[None, AuditEvent]]:
        """What the order services would have recorded, as each order's manager or operator."""
        plan, at = self.plan, self.at
        operators = [email for email, role in plan.members if role == Membership.Role.OPERATOR]
        for o in plan.orders:
            for minute, verb, before, after in o.events:
                user = self.manager
                if verb == "order.status_changed":
                    user = self.users[operators[(o.pk or 0) % len(operators)]]
                payload: dict[str, Any] = {"status": after}
                if verb == "order.created":
                    payload = {"number": o.number, "status": OS.DRAFT, "lines": len(o.lines)}
                elif verb in ("order.confirmed", "order.shipped", "order.cancelled"):
                    stamp = {
                        "order.confirmed": "confirmed_at",
                        "order.shipped": "shipped_at",
                        "order.cancelled": "cancelled_at",
                    }[verb]
                    payload[stamp] = str(at(minute))
                yield (
                    None,
                    self._event(
                        minute,
                        verb,
                        o,
                        "orders.order",
                        o.number or "",
                        before={"status": before} if before else None,
                        after=payload,
                        user=user,
                        message="Customer cancelled" if verb == "order.cancelled" else "",
                    ),
                )

    def _production(self) -> None:
        plan, at, tenant, p = self.plan, self.at, self.tenant, self.p
        batches = [b for o in plan.orders for line in o.lines for b in line.batches]
        sites = {id(line): plan.sites[o.site].pk for o in plan.orders for line in o.lines}
        self.insert(
            Batch,
            (
                (
                    b,
                    Batch(
                        tenant_id=tenant.pk,
                        lot_code=b.lot_code,
                        product_id=b.line.product.pk,
                        design_revision=b.line.product.revision,
                        site_id=sites[id(b.line)],
                        order_line_id=b.line.pk,
                        status=b.status,
                        quantity_planned=b.qty,
                        quantity_good=b.good,
                        quantity_scrap=b.scrap,
                        release_at=at(b.release_at) if b.release_at is not None else None,
                        started_at=at(b.started) if b.started is not None else None,
                        completed_at=at(b.completed) if b.completed is not None else None,
                        version=b.version,
                        created_at=at(b.created),
                        updated_at=at(b.updated),
                    ),
                )
                for b in batches
            ),
        )
        machines = plan.machines

        def operation(b: BatchRec, op: OpRec) -> BatchOperation:
            step = op.step
            occupied = op.machine is not None
            done = op.status == PS.DONE
            updated = b.created
            if op.status in (PS.DONE, PS.RUNNING) and op.start is not None:
                updated = op.end if done else op.start
            elif occupied:
                updated = max(b.created, p.now - 60)  # planned by the last schedule run
            elif op.status == PS.CANCELLED:
                updated = b.updated  # with its order
            return BatchOperation(
                tenant_id=tenant.pk,
                batch_id=b.pk,
                routing_step_id=step.pk,
                sequence=step.sequence,
                name=step.name,
                capability=step.capability,
                setup_minutes=Decimal(f"{step.setup:.2f}"),
                run_minutes_per_unit=Decimal(f"{step.run:.2f}"),
                material_id=step.material.pk if step.material is not None else None,
                machine_id=machines[op.machine].pk if occupied else None,
                status=op.status,
                planned_start=at(op.start) if occupied else None,
                planned_end=at(op.end) if occupied else None,
                actual_start=at(op.start) if op.status in (PS.DONE, PS.RUNNING) else None,
                actual_end=at(op.end) if done else None,
                quantity_good=op.good if done else None,
                quantity_scrap=op.scrap if done else None,
                created_at=at(b.created),
                updated_at=at(updated),
            )

        self.insert(BatchOperation, ((None, operation(b, op)) for b in batches for op in b.ops))
        users = self.users
        operator_ids = [users[e].pk for e, r in plan.members if r == Membership.Role.OPERATOR]
        self.insert(
            QualityCheck,
            (
                (
                    None,
                    QualityCheck(
                        tenant_id=tenant.pk,
                        batch_id=b.pk,
                        characteristic=name,
                        unit=unit,
                        target=target,
                        tolerance=tolerance,
                        measured=measured,
                        passed=abs(measured - target) <= tolerance,
                        checked_by_id=operator_ids[(b.pk or 0) % len(operator_ids)],
                        checked_at=at(minute),
                        created_at=at(minute),
                        updated_at=at(minute),
                    ),
                )
                for b in batches
                for name, unit, target, tolerance, measured, minute in b.checks
            ),
        )
        self.insert(
            MaterialConsumption,
            (
                (
                    None,
                    MaterialConsumption(
                        tenant_id=tenant.pk,
                        batch_id=b.pk,
                        material_id=material.pk,
                        quantity=quantity,
                        material_lot=lot,
                        recorded_by_id=users[email].pk,
                        recorded_at=at(minute),
                        created_at=at(minute),
                        updated_at=at(minute),
                    ),
                )
                for b in batches
                for material, quantity, lot, minute, email in b.consumption
            ),
        )

    def _extras(self) -> None:
        """The last schedule run per site, sustainability settings and meter readings."""
        plan, at, tenant, p = self.plan, self.at, self.tenant, self.p
        run_at = p.now - 62
        planned: dict[int, int] = defaultdict(int)
        for o in plan.orders:
            for line in o.lines:
                for b in line.batches:
                    planned[o.site] += sum(
                        1 for op in b.ops if op.machine is not None and op.status == PS.PENDING
                    )
        self.insert(
            ScheduleRun,
            (
                (
                    None,
                    ScheduleRun(
                        tenant_id=tenant.pk,
                        site_id=site.pk,
                        status=ScheduleRun.Status.SUCCEEDED,
                        trigger=ScheduleRun.Trigger.ORDER_CONFIRMED,
                        started_at=at(run_at),
                        finished_at=at(run_at + 1),
                        solver_status="feasible",
                        source="dispatch",
                        operation_count=planned[index],
                        machine_count=sum(
                            1 for m in plan.machines if m.site == index and m.status != "down"
                        ),
                        wall_seconds=Decimal("1.250"),
                        created_at=at(run_at),
                        updated_at=at(run_at + 1),
                    ),
                )
                for index, site in enumerate(plan.sites)
            ),
        )
        t = at(plan.created)
        self.insert(
            SustainabilitySettings,
            [
                (
                    None,
                    SustainabilitySettings(
                        tenant_id=tenant.pk,
                        delivery_mode="van_diesel",
                        road_factor=Decimal("1.30"),
                        baseline_description="Made in Shenzhen, shipped by sea, then trucked",
                        baseline_legs=[
                            {"mode": "sea_container", "km": 19000},
                            {"mode": "hgv_artic", "km": 600},
                        ],
                        created_at=t,
                        updated_at=t,
                    ),
                )
            ],
        )
        if self.energy:
            self.insert(EnergyReading, self._readings())

    def _readings(self) -> Iterator[tuple[None, EnergyReading]]:
        """Hourly interval readings of one machine per site (a printer when there is one)."""
        plan, p = self.plan, self.p
        hours = p.now // 60
        for index, _site in enumerate(plan.sites):
            at_site = [m for m in plan.machines if m.site == index]
            machine = next((m for m in at_site if m.kind.unattended), at_site[0])
            busy = [0] * hours
            for start, end in machine.busy:
                start, end = max(start, 0), min(end, hours * 60)
                while start < end:
                    hour = start // 60
                    step = min(end, (hour + 1) * 60) - start
                    busy[hour] += step
                    start += step
            running, idle = float(machine.run_kw), float(machine.idle_kw)
            for hour in range(hours):
                used = min(busy[hour], 60)
                kwh = (running * used + idle * (60 - used)) / 60
                yield (
                    None,
                    EnergyReading(
                        tenant_id=self.tenant.pk,
                        machine_id=machine.pk,
                        recorded_at=self.at((hour + 1) * 60),
                        kind=EnergyReading.Kind.INTERVAL,
                        kwh=Decimal(f"{kwh:.4f}"),
                        interval_start=self.at(hour * 60),
                        source=f"smart-plug-{index + 1:02d}",
                        created_at=self.at((hour + 1) * 60),
                        updated_at=self.at((hour + 1) * 60),
                    ),
                )


# --- the entry point ---------------------------------------------------------------------
SLUG_PREFIX = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")


def seed_scale(
    *,
    tenants: int,
    orders_per_tenant: int,
    seed: int = 1,
    months: int = 12,
    prefix: str = "scale",
    energy: bool = False,
    jobs: int = 1,
    now: datetime | None = None,
    progress: Callable[[TenantResult], None] | None = None,
) -> ScaleResult:
    """Create `tenants` tenants `<prefix>-01`... with about `orders_per_tenant` orders each
    (Zipf-skewed, see `tenant_sizes`). Refuses with ScaleError, writing nothing, when the
    options are out of range or any of those slugs exists. One transaction per tenant."""
    started = time.monotonic()
    if not 1 <= tenants <= 999:
        raise ScaleError("--tenants must be between 1 and 999.")
    if orders_per_tenant < 0:
        raise ScaleError("--orders-per-tenant cannot be negative.")
    if not 1 <= months <= 60:
        raise ScaleError("--months must be between 1 and 60.")
    if not 1 <= jobs <= 8:
        raise ScaleError("--jobs must be between 1 and 8.")
    if jobs > 1 and connection.vendor != "postgresql":
        raise ScaleError("--jobs above 1 needs PostgreSQL (SQLite has one writer at a time).")
    if not SLUG_PREFIX.match(prefix):
        raise ScaleError(
            "--prefix must be lowercase letters, digits and hyphens (at most 40 characters), "
            "starting and ending with a letter or digit."
        )
    sizes = tenant_sizes(tenants, orders_per_tenant)
    days = months * 365.25 / 12
    if sizes[0] > MAX_ORDERS_PER_TENANT or sizes[0] / days > MAX_ORDERS_PER_DAY:
        raise ScaleError(
            f"The largest tenant would get {sizes[0]:,} orders in {days:.0f} days; at most "
            f"{MAX_ORDERS_PER_TENANT:,} and {MAX_ORDERS_PER_DAY} a day on average fit the order "
            "numbers and lot codes. Use fewer orders per tenant, more tenants or more months."
        )
    slugs = tenant_slugs(prefix, tenants)
    taken = list(
        Tenant.objects.filter(slug__in=slugs).order_by("slug").values_list("slug", flat=True)
    )
    if taken:
        shown = ", ".join(taken[:5]) + (" ..." if len(taken) > 5 else "")
        raise ScaleError(
            f"{len(taken)} tenant(s) with these slugs exist already ({shown}); nothing was "
            "written. Use another --prefix, or remove them first."
        )
    now = (now or timezone.now()).replace(second=0, microsecond=0)
    origin = (now - timedelta(days=days)).replace(minute=0)
    password_hash = make_password(SCALE_PASSWORD)  # once: hashing is slow by design
    minutes = int((now - origin).total_seconds() // 60)
    work = [
        _TenantWork(index, slug, size, seed, origin, minutes, energy, password_hash)
        for index, (slug, size) in enumerate(zip(slugs, sizes, strict=True), start=1)
    ]
    result = ScaleResult()

    def collect(done: TenantResult, counts: dict[str, int]) -> None:
        result.tenants.append(done)
        for label, count in counts.items():
            result.counts[label] += count
        if progress is not None:
            progress(done)

    if jobs == 1:
        for item in work:
            collect(*_seed_tenant(item))
    else:
        connections.close_all()  # each process opens its own connection
        context = multiprocessing.get_context("fork")
        with context.Pool(jobs) as pool:  # largest tenants first, the rest fill in
            for done, counts in pool.imap_unordered(_seed_tenant_in_worker, work, chunksize=1):
                collect(done, counts)
        result.tenants.sort(key=lambda t: t.slug)
    result.seconds = time.monotonic() - started
    result.logins = [f"owner@{slugs[0]}.test", f"manager@{slugs[0]}.test"]
    return result


@dataclass
class _TenantWork:
    index: int
    slug: str
    orders: int
    seed: int
    origin: datetime
    now: int
    energy: bool
    password_hash: str


def _seed_tenant_in_worker(work: _TenantWork) -> tuple[TenantResult, dict[str, int]]:
    try:
        return _seed_tenant(work)
    finally:
        connections.close_all()  # a worker's connection ends with its tenant


def _seed_tenant(work: _TenantWork) -> tuple[TenantResult, dict[str, int]]:
    """Plan one tenant, then write it in one transaction (in this process or a worker)."""
    started = time.monotonic()
    rng = random.Random(f"mfapp-scale-{work.seed}-{work.index}")  # noqa: S311 - test data
    planner = _Planner(
        TenantPlan(index=work.index, slug=work.slug, orders_wanted=work.orders),
        rng=rng,
        origin=work.origin,
        now=work.now,
    )
    planner.build()
    writer = _Writer(planner, password_hash=work.password_hash, energy=work.energy)
    with _explicit_timestamps(TIMESTAMPED), transaction.atomic():
        writer.write()
    return TenantResult(work.slug, work.orders, time.monotonic() - started), dict(writer.counts)


def statistics_refresh() -> bool:
    """ANALYZE the tenant tables after a bulk write, so the planner knows their new sizes at
    once instead of after autovacuum's next pass (minutes; until then plans are for empty
    tables). Only the tables' owner may: False when this role owns none of them."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        return True
    with connection.cursor() as cursor:
        tables = rls.tenant_tables(cursor, owned=True)
        for table in tables:
            cursor.execute(f'ANALYZE "{table}"')
    return bool(tables)

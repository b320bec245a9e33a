"""The dashboard's figures, each computed in SQL in a fixed number of queries whatever the
number of rows (the only Python work per row is today's utilisation, per machine, over one
query's operations).

Days: "this week" (Monday to Sunday) is the tenant's week in its time zone. An order is late,
and counts as delivered on time, by its site's calendar: late once its due date has passed
at the site (as the order pages and the scheduler see it), on time when it shipped on or
before its due date at the site. Utilisation uses each site's own day and working hours,
through the scheduling adapter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import reduce
from operator import or_
from zoneinfo import ZoneInfo

from django.db.models import Case, Count, DateTimeField, F, Q, Value, When
from django.db.models.functions import Coalesce, Greatest, TruncDate

from mfapp.machines.models import Machine
from mfapp.machines.selectors import MACHINES_SHOWN
from mfapp.orders.models import Order
from mfapp.orders.selectors import orders_late_q, site_timezones
from mfapp.production.models import Batch, BatchOperation
from mfapp.scheduling.adapter import Windows, minutes_between, subtract, working_windows
from mfapp.sustainability.selectors import sustainability_report_latest
from mfapp.tenancy.models import Site, Tenant

ON_TIME_DAYS = 30
_CLOSED = (Order.Status.SHIPPED, Order.Status.CANCELLED)


def _length(windows: Windows) -> int:
    return sum(end - start for start, end in windows)


def _percent(part: int, whole: int) -> int | None:
    """Whole percent, halves rounded up (12.5 -> 13); None of nothing."""
    return (part * 200 + whole) // (2 * whole) if whole else None


# --- batches ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class BatchFigures:
    in_progress: int
    quality_check: int


def batch_figures(*, tenant: Tenant) -> BatchFigures:
    """Work in progress: batches being made, and those waiting for their quality check."""
    S = Batch.Status
    row = Batch.objects.for_tenant(tenant).aggregate(
        in_progress=Count("id", filter=Q(status=S.IN_PROGRESS)),
        quality_check=Count("id", filter=Q(status=S.QUALITY_CHECK)),
    )
    return BatchFigures(**row)


# --- orders ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class OrderFigures:
    today: date
    week_start: date  # Monday
    week_end: date  # Sunday
    due_this_week: int  # open orders (not shipped or cancelled) due Monday..Sunday
    late: int  # open orders whose due date has passed at their site
    shipped_recently: int  # shipped in the last ON_TIME_DAYS days
    shipped_on_time: int  # ... of which on or before their due date

    @property
    def on_time_percent(self) -> int | None:
        """None when nothing shipped in the period."""
        return _percent(self.shipped_on_time, self.shipped_recently)


def order_figures(*, tenant: Tenant, now: datetime) -> OrderFigures:
    """Due this week, late, and on-time delivery over the last 30 days (two queries)."""
    today = tenant.today(now)
    week_start = today - timedelta(days=today.weekday())
    week_end = week_start + timedelta(days=6)
    # Late and on time depend on the day at each order's site: one condition per zone in use.
    zones = site_timezones(tenant=tenant)
    if not zones:  # no site, so no order either
        return OrderFigures(today, week_start, week_end, 0, 0, 0, 0)
    orders = Order.objects.for_tenant(tenant)
    on_time_by_zone = []
    for index, zone in enumerate(zones):
        tz = ZoneInfo(zone)
        alias = f"shipped_on_{index}"
        orders = orders.alias(**{alias: TruncDate("shipped_at", tzinfo=tz)})
        on_time_by_zone.append(Q(site__timezone=zone, **{f"{alias}__lte": F("due_date")}))
    open_orders = ~Q(status__in=_CLOSED)
    shipped = Q(status=Order.Status.SHIPPED, shipped_at__gte=now - timedelta(days=ON_TIME_DAYS))

    row = orders.aggregate(
        due_this_week=Count(
            "id", filter=open_orders & Q(due_date__gte=week_start, due_date__lte=week_end)
        ),
        late=Count("id", filter=orders_late_q(tenant=tenant, now=now, zones=zones)),
        shipped_recently=Count("id", filter=shipped),
        shipped_on_time=Count("id", filter=shipped & reduce(or_, on_time_by_zone)),
    )
    return OrderFigures(today=today, week_start=week_start, week_end=week_end, **row)


# --- machines --------------------------------------------------------------------------------
@dataclass(frozen=True)
class MachineToday:
    machine: Machine
    busy_minutes: int  # planned or actual work inside today's available time
    available_minutes: int  # the site's working hours today, or the whole day if unattended

    @property
    def utilisation_percent(self) -> int | None:
        """None when the machine has no available time today (site closed)."""
        return _percent(self.busy_minutes, self.available_minutes)

    @property
    def busy_label(self) -> str:
        return _hours(self.busy_minutes)

    @property
    def available_label(self) -> str:
        return _hours(self.available_minutes)


def _hours(minutes: int) -> str:
    """Minutes for people: 2 h, 1 h 30 min, 45 min."""
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest} min" if rest else f"{hours} h"


@dataclass
class SiteMachines:
    site: Site
    status_counts: list[tuple[str, str, int]]  # (status, label, machines), statuses with any
    machines: list[MachineToday] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(count for _, _, count in self.status_counts)

    @property
    def shown(self) -> list[MachineToday]:
        """The rows the page lists (the figures count every machine)."""
        return self.machines[:MACHINES_SHOWN]

    @property
    def more(self) -> bool:
        return len(self.machines) > MACHINES_SHOWN


@dataclass(frozen=True)
class MachineFigures:
    total: int
    running: int
    down: int
    maintenance: int


def machine_figures(sites: list[SiteMachines]) -> MachineFigures:
    """The tenant's machines by status, added up from `machines_today` (no query)."""
    totals: dict[str, int] = {}
    for entry in sites:
        for value, _, count in entry.status_counts:
            totals[value] = totals.get(value, 0) + count
    S = Machine.Status
    return MachineFigures(
        total=sum(totals.values()),
        running=totals.get(S.RUNNING, 0),
        down=totals.get(S.DOWN, 0),
        maintenance=totals.get(S.MAINTENANCE, 0),
    )


@dataclass(frozen=True)
class _Day:
    """A site's calendar day: its UTC bounds and its working windows in minutes from start."""

    start: datetime
    end: datetime
    minutes: int
    working: Windows


def _site_today(site: Site, now: datetime) -> _Day:
    tz = ZoneInfo(site.timezone)
    day = now.astimezone(tz).date()
    # In UTC, so that differences count real minutes on DST days (23 or 25 hours).
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    minutes = minutes_between(start, end)
    return _Day(start, end, minutes, working_windows(site=site, origin=start, horizon=minutes))


def machine_status_counts_by_site(*, tenant: Tenant) -> dict[int, dict[str, int]]:
    rows = Machine.objects.for_tenant(tenant).values("site_id", "status").annotate(n=Count("id"))
    counts: dict[int, dict[str, int]] = {}
    for row in rows:
        counts.setdefault(row["site_id"], {})[row["status"]] = row["n"]
    return counts


def busy_intervals(
    *, tenant: Tenant, start: datetime, end: datetime, now: datetime
) -> list[tuple[int, datetime, datetime]]:
    """(machine id, from, to) of every operation occupying a machine between `start` and
    `end`, in one query. An operation occupies its machine from its actual start (else its
    planned start) to its actual end; one that is running or paused until its planned end or
    now, whichever is later; one not started yet over its planned times."""
    Op = BatchOperation.Status
    moment = Value(now, output_field=DateTimeField())
    busy_end = Case(
        When(actual_end__isnull=False, then=F("actual_end")),
        When(
            status__in=(Op.RUNNING, Op.PAUSED),
            then=Greatest(Coalesce("planned_end", moment), moment),
        ),
        default=F("planned_end"),
        output_field=DateTimeField(),
    )
    return list(
        BatchOperation.objects.for_tenant(tenant)
        .filter(machine__isnull=False)
        .exclude(status=Op.CANCELLED)
        .exclude(batch__status=Batch.Status.CANCELLED)
        # Implied by busy_to > start, and two ranges of the (tenant, actual_end) index: the
        # tenant's finished history stays unread (a scan of it was most of the dashboard's time).
        .filter(Q(actual_end__gt=start) | Q(actual_end__isnull=True))
        .annotate(busy_from=Coalesce("actual_start", "planned_start"), busy_to=busy_end)
        .filter(busy_from__lt=end, busy_to__gt=start)
        .order_by("machine_id", "busy_from")
        .values_list("machine_id", "busy_from", "busy_to")
    )


def machines_today(*, tenant: Tenant, now: datetime) -> list[SiteMachines]:
    """Per site: machines by status, and each machine's utilisation today (four queries).

    Utilisation = minutes of today's available time covered by operations (overlapping
    operations count once) / available minutes, where the available time is the site's
    working hours today in its time zone, or the whole day for a machine that runs unattended.
    """
    sites = list(Site.objects.for_tenant(tenant).order_by("name", "id"))
    if not sites:
        return []
    days = {site.pk: _site_today(site, now) for site in sites}
    counts = machine_status_counts_by_site(tenant=tenant)
    machines = list(Machine.objects.for_tenant(tenant).order_by("name", "id"))
    machine_site = {machine.pk: machine.site_id for machine in machines}
    earliest = min(day.start for day in days.values())
    latest = max(day.end for day in days.values())
    intervals: dict[int, Windows] = {}
    for machine_id, busy_from, busy_to in busy_intervals(
        tenant=tenant, start=earliest, end=latest, now=now
    ):
        day = days[machine_site[machine_id]]
        intervals.setdefault(machine_id, []).append(
            (minutes_between(day.start, busy_from), minutes_between(day.start, busy_to))
        )

    by_site = {
        site.pk: SiteMachines(
            site=site,
            status_counts=[
                (value, label, counts[site.pk][value])
                for value, label in Machine.Status.choices
                if counts.get(site.pk, {}).get(value)
            ],
        )
        for site in sites
    }
    for machine in machines:
        day = days[machine.site_id]
        available = [(0, day.minutes)] if machine.runs_unattended else day.working
        idle = subtract(available, intervals.get(machine.pk, []))
        by_site[machine.site_id].machines.append(
            MachineToday(
                machine=machine,
                busy_minutes=_length(available) - _length(idle),
                available_minutes=_length(available),
            )
        )
    return list(by_site.values())


# --- sustainability --------------------------------------------------------------------------
@dataclass(frozen=True)
class Co2ePerUnit:
    report_id: int
    kg_co2e_per_unit: Decimal
    period_start: date
    period_end: date


def latest_co2e_per_unit(*, tenant: Tenant) -> Co2ePerUnit | None:
    """kgCO2e per good unit from the tenant's latest whole-business report; None before the
    first report (or when it made no good unit)."""
    report = sustainability_report_latest(tenant=tenant)
    if report is None or report.kg_co2e_per_unit is None:
        return None
    return Co2ePerUnit(
        report_id=report.pk,
        kg_co2e_per_unit=report.kg_co2e_per_unit,
        period_start=report.period_start,
        period_end=report.period_end,
    )

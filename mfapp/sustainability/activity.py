"""Activity data, aggregated in the database: a handful of GROUP BY queries whose number does
not depend on how many operations, batches or orders a tenant has.

Attribution rules (also in the report's methodology):
- an operation's energy belongs to the month in which it finished (`actual_end`);
- a batch's units and materials belong to the month in which its last operation finished;
- a shipment's transport belongs to the month in which it was shipped.

Energy per operation, first that applies:
1. `energy_kwh_measured` on the operation (measured);
2. interval readings of its machine covering at least 95 % of the operation: each reading's
   kWh prorated by its overlap with [actual_start, actual_end) (measured);
3. cumulative readings bracketing the operation (one at or before its start, one at or after its
   end): the meter register linearly interpolated at the start and the end, the difference
   (measured);
4. otherwise estimated: rated running kW x run time + rated idle kW x setup time, run time being
   the operation's duration less its setup minutes (never below zero).
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connection
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    F,
    FloatField,
    Func,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Greatest, Least, NullIf, TruncMonth

from mfapp.machines.models import EnergyReading
from mfapp.orders.models import Order, OrderLine
from mfapp.production.models import Batch, BatchOperation
from mfapp.tenancy.models import Site, Tenant

INTERVAL_COVERAGE = 0.95  # interval readings must cover this share of an operation
OP = BatchOperation.Status


class EpochSeconds(Func):
    """Seconds since the epoch of a datetime, as a float (portable PostgreSQL / SQLite)."""

    output_field = FloatField()
    template = "CAST(EXTRACT(EPOCH FROM %(expressions)s) AS double precision)"

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler, connection, template="(julianday(%(expressions)s) * 86400.0)", **extra
        )


def _float(expression: Any) -> Cast:
    return Cast(expression, FloatField())


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive
    tz: zoneinfo.ZoneInfo

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=self.tz)

    @property
    def end_at(self) -> datetime:
        """Exclusive: midnight after the last day."""
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=self.tz)

    def months(self) -> list[str]:
        months, cursor = [], self.start.replace(day=1)
        while cursor <= self.end:
            months.append(f"{cursor:%Y-%m}")
            cursor = (cursor + timedelta(days=32)).replace(day=1)
        return months

    def previous(self) -> Period:
        length = self.end - self.start
        end = self.start - timedelta(days=1)
        return Period(start=end - length, end=end, tz=self.tz)

    def month_key(self, value: datetime | str | None) -> str:
        if value is None:
            return f"{self.start:%Y-%m}"
        if isinstance(value, str):
            return value[:7]
        return f"{value.astimezone(self.tz):%Y-%m}"


# --- energy per operation ----------------------------------------------------------------------
def _readings(tenant: Tenant, kind: str) -> Any:
    return (
        EnergyReading.objects.for_tenant(tenant)
        .filter(machine_id=OuterRef("machine_id"), kind=kind)
        .order_by()
    )


def _interval_columns(tenant: Tenant) -> dict[str, Subquery]:
    """Prorated kWh and seconds covered by the interval readings overlapping the operation
    [s, e). Readings of a machine never overlap, so they are those ending in (s, e] plus at most
    one ending after e (it may start before e): two bounded index seeks, never a scan."""
    s, e = EpochSeconds(OuterRef("actual_start")), EpochSeconds(OuterRef("actual_end"))
    r_start, r_end = EpochSeconds(F("interval_start")), EpochSeconds(F("recorded_at"))
    overlap = Greatest(Least(r_end, e) - Greatest(r_start, s), Value(0.0))
    kwh = _float(F("kwh")) * overlap / NullIf(r_end - r_start, Value(0.0))
    readings = _readings(tenant, EnergyReading.Kind.INTERVAL)
    inside = readings.filter(
        recorded_at__gt=OuterRef("actual_start"), recorded_at__lte=OuterRef("actual_end")
    ).values("machine_id")
    after = readings.filter(recorded_at__gt=OuterRef("actual_end")).order_by("recorded_at")

    def first(expression: Any) -> Subquery:
        return Subquery(after.annotate(v=expression).values("v")[:1], output_field=FloatField())

    def total(expression: Any) -> Subquery:
        return Subquery(inside.annotate(v=Sum(expression)).values("v"), output_field=FloatField())

    return {
        "iv_in_kwh": total(kwh),
        "iv_in_s": total(overlap),
        "iv_out_kwh": first(kwh),
        "iv_out_s": first(overlap),
    }


def _register_columns(tenant: Tenant, prefix: str, moment: str) -> dict[str, Subquery]:
    """The cumulative readings just before and just after `moment` (time and register)."""
    readings = _readings(tenant, EnergyReading.Kind.CUMULATIVE)
    before = readings.filter(recorded_at__lte=OuterRef(moment)).order_by("-recorded_at")
    after = readings.filter(recorded_at__gte=OuterRef(moment)).order_by("recorded_at")

    def first(qs: Any, expression: Any) -> Subquery:
        return Subquery(qs.annotate(v=expression).values("v")[:1], output_field=FloatField())

    return {
        f"{prefix}_t0": first(before, EpochSeconds(F("recorded_at"))),
        f"{prefix}_k0": first(before, _float(F("kwh"))),
        f"{prefix}_t1": first(after, EpochSeconds(F("recorded_at"))),
        f"{prefix}_k1": first(after, _float(F("kwh"))),
    }


def _only_if(condition: Q, expression: Any) -> Case:
    """`expression` evaluated only for rows meeting `condition` (else NULL): the readings'
    subqueries run only for operations on metered machines without a recorded kWh."""
    null = Cast(Value(None), FloatField())  # typed: PostgreSQL reads a bare NULL column as text
    return Case(When(condition, then=expression), default=null, output_field=FloatField())


def _per_operation(tenant: Tenant, period: Period, site: Site | None) -> Any:
    """One row per finished operation with the raw inputs of its energy (level 1)."""
    metered = EnergyReading.objects.for_tenant(tenant).values_list("machine_id", "kind").distinct()
    machines: dict[str, list[int]] = {"interval": [], "cumulative": []}
    for machine_id, kind in metered.order_by():
        machines[kind].append(machine_id)
    ops = BatchOperation.objects.for_tenant(tenant).filter(
        status=OP.DONE, actual_end__gte=period.start_at, actual_end__lt=period.end_at
    )
    if site is not None:
        ops = ops.filter(batch__site=site)
    unrecorded = Q(energy_kwh_measured__isnull=True, actual_start__isnull=False)
    readings: dict[str, Any] = {}
    for name, value in _interval_columns(tenant).items():
        readings[name] = _only_if(unrecorded & Q(machine_id__in=machines["interval"]), value)
    cumulative = unrecorded & Q(machine_id__in=machines["cumulative"])
    for prefix, moment in (("cs", "actual_start"), ("ce", "actual_end")):
        for name, value in _register_columns(tenant, prefix, moment).items():
            readings[name] = _only_if(cumulative, value)
    return ops.order_by().values(
        "machine_id",
        site_id=F("batch__site_id"),
        product_id=F("batch__product_id"),
        month=TruncMonth("actual_end", tzinfo=period.tz),
        direct=_float(F("energy_kwh_measured")),
        start_s=EpochSeconds(F("actual_start")),
        end_s=EpochSeconds(F("actual_end")),
        dur_s=Coalesce(EpochSeconds(F("actual_end")) - EpochSeconds(F("actual_start")), 0.0),
        run_kw=Coalesce(_float(F("machine__rated_power_running_kw")), Value(0.0)),
        idle_kw=Coalesce(_float(F("machine__rated_power_idle_kw")), Value(0.0)),
        setup_h=_float(F("setup_minutes")) / 60.0,
        **readings,
    )


def _interpolated_sql(prefix: str, moment: str) -> str:
    t0, k0, t1, k1 = (f"{prefix}_{name}" for name in ("t0", "k0", "t1", "k1"))
    return f"({k0} + COALESCE(({k1} - {k0}) * ({moment} - {t0}) / NULLIF({t1} - {t0}, 0), 0))"


def operations_energy(tenant: Tenant, period: Period, site: Site | None) -> list[dict[str, Any]]:
    """Finished operations grouped by (site, product, machine, month): measured kWh, estimated
    kWh, operation counts and running hours. One query (plus one for the metered machines).

    The per-operation rows (level 1, built by the ORM) are wrapped in two plain SQL levels so
    that each reading subquery runs once per operation: level 2 picks the rule that applies,
    level 3 groups. `OFFSET 0` keeps both databases from inlining the inner levels (which
    would copy each subquery into every place its column is used)."""
    inner_sql, params = _per_operation(tenant, period, site).query.sql_with_params()
    fence = _fence()
    diff = f"({_interpolated_sql('ce', 'end_s')} - {_interpolated_sql('cs', 'start_s')})"
    covered = "(COALESCE(iv_in_s, 0) + COALESCE(iv_out_s, 0))"
    run_h = "(CASE WHEN dur_s / 3600.0 > setup_h THEN dur_s / 3600.0 - setup_h ELSE 0 END)"
    level2 = f"""
        SELECT site_id, product_id, machine_id, month, dur_s,
            CASE
                WHEN direct IS NOT NULL THEN direct
                WHEN dur_s > 0 AND {covered} >= dur_s * {INTERVAL_COVERAGE}
                    THEN COALESCE(iv_in_kwh, 0) + COALESCE(iv_out_kwh, 0)
                WHEN cs_t0 IS NOT NULL AND ce_t1 IS NOT NULL
                    THEN CASE WHEN {diff} > 0 THEN {diff} ELSE 0 END
            END AS measured,
            run_kw * {run_h} + idle_kw * setup_h AS estimated
        FROM ({inner_sql} {fence}) AS op
    """  # noqa: S608 - only our own column names and the ORM's parametrised SQL
    sql = f"""
        SELECT site_id, product_id, machine_id, month,
            COALESCE(SUM(measured), 0),
            COALESCE(SUM(CASE WHEN measured IS NULL THEN estimated ELSE 0 END), 0),
            COUNT(*), COUNT(measured), COALESCE(SUM(dur_s), 0) / 3600.0
        FROM ({level2} {fence}) AS energy
        GROUP BY site_id, product_id, machine_id, month
    """  # noqa: S608 - only our own column names and the ORM's parametrised SQL
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    keys = ("site_id", "product_id", "machine_id", "month", "measured", "estimated")
    keys += ("operations", "measured_operations", "hours")
    result = []
    for row in rows:
        group = dict(zip(keys, row, strict=True))
        group["month"] = str(group["month"])[:7]  # "YYYY-MM" from a string or a datetime
        group["measured"], group["estimated"] = float(group["measured"]), float(group["estimated"])
        group["hours"] = float(group["hours"])
        result.append(group)
    return result


# --- batches: units and materials -----------------------------------------------------------------
def _output_batches(tenant: Tenant, period: Period, site: Site | None) -> Any:
    """Batches whose last (non-cancelled) operation finished in the period, with its end."""
    last = (
        BatchOperation.objects.for_tenant(tenant)
        .filter(batch_id=OuterRef("pk"))
        .exclude(status=OP.CANCELLED)
        .order_by("-sequence")
    )
    # A batch whose last operation ended in the period has an operation that ended in it:
    # that semi-join (on the actual_end index) keeps the per-batch lookups to the period's
    # batches instead of every batch of the tenant's history.
    ended_in_period = (
        BatchOperation.objects.for_tenant(tenant)
        .filter(actual_end__gte=period.start_at, actual_end__lt=period.end_at)
        .values("batch_id")
    )
    batches = (
        Batch.objects.for_tenant(tenant)
        .exclude(status=Batch.Status.CANCELLED)
        .filter(pk__in=ended_in_period)
        .alias(last_status=Subquery(last.values("status")[:1]))
        .annotate(last_end=Subquery(last.values("actual_end")[:1], output_field=DateTimeField()))
        .filter(last_status=OP.DONE, last_end__gte=period.start_at, last_end__lt=period.end_at)
    )
    if site is not None:
        batches = batches.filter(site=site)
    return batches, last


def batch_outputs(tenant: Tenant, period: Period, site: Site | None) -> list[dict[str, Any]]:
    """Output batches grouped by (site, product, month): units good (of the last operation),
    units scrapped (every operation), units planned. One query."""
    batches, last = _output_batches(tenant, period, site)
    return list(
        batches.alias(good=Subquery(last.values("quantity_good")[:1]))
        .values("site_id", "product_id", month=TruncMonth("last_end", tzinfo=period.tz))
        .annotate(
            units_good=Coalesce(Sum("good"), 0),
            units_scrap=Coalesce(Sum("quantity_scrap"), 0),
            units_planned=Coalesce(Sum("quantity_planned"), 0),
            batches=Count("id"),
        )
        .order_by()
    )


def bom_estimates(tenant: Tenant, period: Period, site: Site | None) -> list[dict[str, Any]]:
    """For each BOM line of each output batch whose material has no recorded consumption in
    that batch: units planned, grouped by (site, product, month, BOM line). One query.

    Level 1 (ORM): one row per (batch, BOM line) with the count of matching consumption rows,
    joined on the batch (its foreign-key index), never a correlated lookup per row; level 2
    (plain SQL) keeps the lines without any and groups them."""
    batches, _ = _output_batches(tenant, period, site)
    per_line = (
        batches.order_by()
        .values(
            "id",
            "site_id",
            "product_id",
            "quantity_planned",
            bom_line=F("product__bom_lines__id"),
            month=TruncMonth("last_end", tzinfo=period.tz),
        )
        .annotate(
            recorded=Count(
                "material_consumptions",
                filter=Q(material_consumptions__material_id=F("product__bom_lines__material_id")),
            )
        )
    )
    inner_sql, params = per_line.query.sql_with_params()
    sql = f"""
        SELECT site_id, product_id, month, bom_line, SUM(quantity_planned)
        FROM ({inner_sql} {_fence()}) AS line
        WHERE recorded = 0 AND bom_line IS NOT NULL
        GROUP BY site_id, product_id, month, bom_line
    """  # noqa: S608 - only our own column names and the ORM's parametrised SQL
    keys = ("site_id", "product_id", "month", "bom_line", "units_planned")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = [dict(zip(keys, row, strict=True)) for row in cursor.fetchall()]
    for row in rows:
        row["month"] = str(row["month"])[:7]
        row["units_planned"] = int(row["units_planned"])
    return rows


def _fence() -> str:
    """Keeps the database from inlining a subquery in FROM into the outer query."""
    return "LIMIT -1 OFFSET 0" if connection.vendor == "sqlite" else "OFFSET 0"


def recorded_consumption(tenant: Tenant, period: Period, site: Site | None) -> list[dict[str, Any]]:
    """Recorded consumption of the output batches, grouped by (site, product, month,
    material), in the material's own unit. One query: the output batches joined with their
    consumption rows, so each batch's last operation is looked up once, not once per row."""
    batches, _ = _output_batches(tenant, period, site)
    return list(
        batches.filter(material_consumptions__isnull=False)
        .values(
            "site_id",
            "product_id",
            material_id=F("material_consumptions__material_id"),
            month=TruncMonth("last_end", tzinfo=period.tz),
        )
        .annotate(quantity=_float(Sum("material_consumptions__quantity")))
        .order_by()
    )


# --- shipments ---------------------------------------------------------------------------------
def shipped_lines(tenant: Tenant, period: Period, site: Site | None) -> list[dict[str, Any]]:
    """Units shipped grouped by (site, customer, product, month). One query."""
    lines = OrderLine.objects.for_tenant(tenant).filter(
        order__shipped_at__gte=period.start_at, order__shipped_at__lt=period.end_at
    )
    if site is not None:
        lines = lines.filter(order__site=site)
    return list(
        lines.values(
            "product_id",
            site_id=F("order__site_id"),
            customer_id=F("order__customer_id"),
            month=TruncMonth("order__shipped_at", tzinfo=period.tz),
        )
        .annotate(units=Sum("quantity"))
        .order_by()
    )


def shipments(tenant: Tenant, period: Period, site: Site | None) -> list[dict[str, Any]]:
    """Shipped orders counted by (site, customer). One query."""
    orders = Order.objects.for_tenant(tenant).filter(
        shipped_at__gte=period.start_at, shipped_at__lt=period.end_at
    )
    if site is not None:
        orders = orders.filter(site=site)
    return list(orders.values("site_id", "customer_id").annotate(count=Count("id")).order_by())

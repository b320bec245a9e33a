"""A hand-built tenant for the dashboard: the figures it must show are worked out in the
comments, at a fixed moment (Wednesday 11 June 2025, 12:00 in Berlin)."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from mfapp.machines.models import Machine
from mfapp.orders.models import Order
from mfapp.production.models import Batch, BatchOperation
from mfapp.tenancy.models import Site
from tests.factories import (
    BatchFactory,
    BatchOperationFactory,
    MachineFactory,
    OrderFactory,
    SiteFactory,
)

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2025, 6, 11, 12, 0, tzinfo=BERLIN)  # a Wednesday; the week is 9-15 June
EIGHT_HOURS = {
    day: [["08:00", "16:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
}


def berlin(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 6, day, hour, minute, tzinfo=BERLIN)


@dataclass
class Scenario:
    site: Site
    printer: Machine  # 2 h planned in an 8 h day: 25 %
    overnight: Machine  # unattended, running since last night: 12 h of 24 h, 50 %
    mill: Machine  # down; 75 min of its 8 h day: 16 %


@pytest.fixture
def frozen_now(monkeypatch):
    """timezone.now() is NOW for the whole test (views and services read it)."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    return NOW


def operation(site, machine, **fields):
    batch = BatchFactory(
        tenant=site.tenant, site=site, status=fields.pop("batch_status", "scheduled")
    )
    return BatchOperationFactory(tenant=site.tenant, batch=batch, machine=machine, **fields)


def order(site, due: date, status: str, **fields):
    return OrderFactory(tenant=site.tenant, site=site, due_date=due, status=status, **fields)


def build_scenario(tenant) -> Scenario:
    site = SiteFactory(
        tenant=tenant, name="Berlin", timezone="Europe/Berlin", working_hours=EIGHT_HOURS
    )
    S = Order.Status
    # Late (open, due before today 11 June): 2.
    order(site, date(2025, 6, 2), S.CONFIRMED)
    order(site, date(2025, 6, 8), S.READY)  # last Sunday: late, not this week
    # Due this week (open, 9-15 June): 3.
    order(site, date(2025, 6, 11), S.CONFIRMED)  # today: due, not late
    order(site, date(2025, 6, 13), S.IN_PRODUCTION)
    order(site, date(2025, 6, 15), S.DRAFT)
    # Neither.
    order(site, date(2025, 6, 16), S.CONFIRMED)  # next Monday
    order(site, date(2025, 6, 1), S.CANCELLED)
    order(site, date(2025, 6, 12), S.CANCELLED)
    # Shipped in the last 30 days: 4, of which 3 on time (75 %).
    order(site, date(2025, 6, 10), S.SHIPPED, shipped_at=berlin(9, 15))  # this week's, closed
    order(site, date(2025, 6, 10), S.SHIPPED, shipped_at=berlin(10, 23, 59))
    # 00:30 in Berlin is still the previous day in UTC: on time either way.
    order(
        site, date(2025, 5, 20), S.SHIPPED, shipped_at=datetime(2025, 5, 20, 0, 30, tzinfo=BERLIN)
    )
    # 22:30 UTC on the due date is already the next day in Berlin: late.
    order(
        site,
        date(2025, 6, 5),
        S.SHIPPED,
        shipped_at=datetime(2025, 6, 5, 22, 30, tzinfo=ZoneInfo("UTC")),
    )
    # Shipped 31 days ago: outside the period.
    order(site, date(2025, 6, 1), S.SHIPPED, shipped_at=NOW - timedelta(days=31))

    # Batches: 3 in progress (this one, the next and the overnight printer's), 1 in quality check.
    BatchFactory(tenant=tenant, site=site, status=Batch.Status.IN_PROGRESS)
    BatchFactory(tenant=tenant, site=site, status=Batch.Status.IN_PROGRESS)
    BatchFactory(tenant=tenant, site=site, status=Batch.Status.QUALITY_CHECK)
    BatchFactory(tenant=tenant, site=site, status=Batch.Status.CANCELLED)
    BatchFactory(tenant=tenant, site=site, status=Batch.Status.COMPLETED)

    Op = BatchOperation.Status
    printer = MachineFactory(tenant=tenant, site=site, name="Prusa A")
    operation(site, printer, planned_start=berlin(11, 9), planned_end=berlin(11, 11))
    operation(site, printer, planned_start=berlin(12, 9), planned_end=berlin(12, 11))  # tomorrow
    operation(
        site, printer, status=Op.CANCELLED, planned_start=berlin(11, 12), planned_end=berlin(11, 14)
    )
    overnight = MachineFactory(
        tenant=tenant,
        site=site,
        name="Bambu X",
        runs_unattended=True,
        status=Machine.Status.RUNNING,
    )
    # Started at 22:00 yesterday, planned to end at 04:00; still running at noon: until now.
    operation(
        site,
        overnight,
        status=Op.RUNNING,
        batch_status=Batch.Status.IN_PROGRESS,
        actual_start=berlin(10, 22),
        planned_start=berlin(10, 22),
        planned_end=berlin(11, 4),
    )
    mill = MachineFactory(
        tenant=tenant, site=site, name="Mill", status=Machine.Status.DOWN, status_reason="Spindle"
    )
    # Done 07:00-08:30 and planned 08:15-09:15: 07:00-09:15 busy, 08:00-09:15 in hours = 75 min.
    operation(site, mill, status=Op.DONE, actual_start=berlin(11, 7), actual_end=berlin(11, 8, 30))
    operation(site, mill, planned_start=berlin(11, 8, 15), planned_end=berlin(11, 9, 15))
    return Scenario(site=site, printer=printer, overnight=overnight, mill=mill)


def build_noise(other_tenant) -> None:
    """Another tenant's rows that the dashboard must never count."""
    site = SiteFactory(
        tenant=other_tenant, name="Lyon", timezone="Europe/Paris", working_hours=EIGHT_HOURS
    )
    order(site, date(2025, 6, 2), Order.Status.CONFIRMED)
    order(site, date(2025, 6, 12), Order.Status.CONFIRMED)
    order(site, date(2025, 6, 5), Order.Status.SHIPPED, shipped_at=berlin(4, 12))
    BatchFactory(tenant=other_tenant, site=site, status=Batch.Status.IN_PROGRESS)
    machine = MachineFactory(
        tenant=other_tenant, site=site, name="Foreign printer", status=Machine.Status.DOWN
    )
    operation(site, machine, planned_start=berlin(11, 8), planned_end=berlin(11, 16))


@pytest.fixture
def scenario(tenant):
    tenant.timezone = "Europe/Berlin"
    tenant.save()
    return build_scenario(tenant)

"""The adapter: one site's database rows as a core Problem (minutes from now)."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from mfapp.machines.models import Machine
from mfapp.production.models import Batch, BatchOperation
from mfapp.scheduling.adapter import HORIZON_MINUTES, build_problem, working_windows
from mfapp.scheduling.core import Assignment, solve, validate
from tests.factories import (
    BatchFactory,
    BatchOperationFactory,
    MaintenanceWindowFactory,
    MaterialFactory,
    OrderFactory,
    OrderLineFactory,
    SiteFactory,
    machine_for,
)

# Friday 27 March 2026, 10:00:42 UTC = 11:00 in Berlin (CET); DST starts on Sunday the 29th.
NOW = datetime(2026, 3, 27, 10, 0, 42, tzinfo=UTC)
WEEKDAYS_8_TO_17 = {
    **{day: [["08:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
    "sat": [],
    "sun": [],
}


def berlin_site(tenant, **fields):
    fields.setdefault("working_hours", WEEKDAYS_8_TO_17)
    return SiteFactory(tenant=tenant, timezone="Europe/Berlin", **fields)


def planned_batch(tenant, site, *, ops=1, quantity=10, order=None, **fields):
    """A planned batch with `ops` pending FDM operations (5 min setup + 12 min per unit)."""
    order_line = None
    if order is not None:
        order_line = OrderLineFactory(tenant=tenant, order=order)
    batch = BatchFactory(
        tenant=tenant, site=site, quantity_planned=quantity, order_line=order_line, **fields
    )
    for index in range(1, ops + 1):
        BatchOperationFactory(tenant=tenant, batch=batch, sequence=index * 10)
    return batch


def _job(site_problem, batch):
    return next(job for job in site_problem.problem.jobs if job.id == batch.pk)


def _machine(site_problem, machine):
    return next(m for m in site_problem.problem.machines if m.id == machine.pk)


def test_working_hours_follow_the_site_time_zone_across_dst(tenant):
    site = berlin_site(tenant)
    windows = working_windows(site=site, origin=NOW.replace(second=0))
    # Friday 11:00 CET is the origin: the shift ends at 17:00 CET = 6 hours later.
    assert windows[0] == (0, 360)
    # Monday 30 March 08:00 CEST = 06:00 UTC, 68 hours after the origin; 9 hours long.
    assert windows[1] == (68 * 60, 68 * 60 + 540)
    # Saturday and Sunday closed; four more weekdays follow in the first week.
    assert windows[2][0] == windows[1][0] + 24 * 60
    assert all(0 <= start < end <= HORIZON_MINUTES for start, end in windows)
    # 28 days: this Friday, four full weeks, and 06:00-10:00 UTC of Friday 24 April.
    assert len(windows) == 21
    assert windows[-1] == (HORIZON_MINUTES - 240, HORIZON_MINUTES)


def test_a_site_in_another_time_zone_shifts_its_windows(tenant):
    site = SiteFactory(tenant=tenant, timezone="America/New_York", working_hours=WEEKDAYS_8_TO_17)
    windows = working_windows(site=site, origin=NOW.replace(second=0))
    # 08:00 EDT = 12:00 UTC on Friday 27 March: two hours after the origin.
    assert windows[0] == (120, 120 + 540)


def test_machines_get_working_hours_minus_maintenance(tenant):
    site = berlin_site(tenant)
    printer = machine_for(site)
    MaintenanceWindowFactory(
        tenant=tenant,
        machine=printer,
        starts_at=NOW.replace(hour=12, minute=0, second=0),
        ends_at=NOW.replace(hour=13, minute=0, second=0),
    )
    planned_batch(tenant, site)
    site_problem = build_problem(site=site, now=NOW)
    available = _machine(site_problem, printer).available
    assert available[:3] == ((0, 120), (180, 360), (68 * 60, 68 * 60 + 540))


def test_unattended_machines_run_around_the_clock_but_not_in_maintenance(tenant):
    site = berlin_site(tenant)
    printer = machine_for(site, runs_unattended=True)
    MaintenanceWindowFactory(
        tenant=tenant,
        machine=printer,
        starts_at=NOW + timedelta(days=1),
        ends_at=NOW + timedelta(days=1, hours=2),
    )
    planned_batch(tenant, site)
    site_problem = build_problem(site=site, now=NOW)
    assert _machine(site_problem, printer).available == (
        (0, 24 * 60),  # maintenance 10:00:42-12:00:42 next day, rounded outwards
        (26 * 60 + 1, HORIZON_MINUTES),
    )


def test_down_and_maintenance_machines_are_not_eligible(tenant):
    site = berlin_site(tenant)
    ok = machine_for(site)
    down = machine_for(site, status=Machine.Status.DOWN)
    in_maintenance = machine_for(site, status=Machine.Status.MAINTENANCE)
    running = machine_for(site, status=Machine.Status.RUNNING)
    other_site = machine_for(berlin_site(tenant))
    batch = planned_batch(tenant, site)
    site_problem = build_problem(site=site, now=NOW)
    (op,) = _job(site_problem, batch).operations
    assert set(op.durations) == {ok.pk, running.pk}
    machine_ids = {m.id for m in site_problem.problem.machines}
    assert not machine_ids & {down.pk, in_maintenance.pk, other_site.pk}


def test_durations_use_quantity_setup_and_speed_factor(tenant):
    site = berlin_site(tenant)
    normal = machine_for(site)
    fast = machine_for(site, speed_factor=Decimal("2.00"))
    slow = machine_for(site, speed_factor=Decimal("0.70"))
    batch = planned_batch(tenant, site, quantity=10)
    (op,) = _job(build_problem(site=site, now=NOW), batch).operations
    # 5 + 12 x 10 / speed, rounded up
    assert op.durations == {normal.pk: 125, fast.pk: 65, slow.pk: 177}


def test_a_running_operation_on_a_down_machine_stays_fixed_there(tenant):
    site = berlin_site(tenant)
    down = machine_for(site, status=Machine.Status.DOWN)
    other = machine_for(site)
    batch = planned_batch(tenant, site, ops=2, status=Batch.Status.IN_PROGRESS)
    first, second = batch.operations.order_by("sequence")
    first.status, first.machine = BatchOperation.Status.RUNNING, down
    first.actual_start = NOW - timedelta(minutes=30)
    first.save()
    site_problem = build_problem(site=site, now=NOW)
    job = _job(site_problem, batch)
    # Started at 09:30:42, the origin is 10:00: minute -30 (rounded down); 125 minutes long.
    assert job.operations[0].fixed == Assignment(machine=down.pk, start=-30, end=95)
    assert job.operations[1].fixed is None
    assert set(job.operations[1].durations) == {other.pk}
    assert _machine(site_problem, down).available == ()
    result = solve(site_problem.problem, time_limit=1, workers=1)
    assert validate(site_problem.problem, result.plan) == []
    assert result.plan.assignments[second.pk].machine == other.pk
    assert result.plan.assignments[second.pk].start >= 95


def test_a_running_operation_that_overran_ends_after_now(tenant):
    site = berlin_site(tenant)
    printer = machine_for(site)
    batch = planned_batch(tenant, site, status=Batch.Status.IN_PROGRESS)
    op = batch.operations.get()
    op.status, op.machine = BatchOperation.Status.PAUSED, printer
    op.actual_start = NOW - timedelta(hours=5)
    op.save()
    (core_op,) = _job(build_problem(site=site, now=NOW), batch).operations
    assert core_op.fixed == Assignment(machine=printer.pk, start=-300, end=1)


def test_release_due_date_weight_and_material(tenant):
    site = berlin_site(tenant)
    machine_for(site)
    order = OrderFactory(tenant=tenant, site=site, due_date=date(2026, 3, 30), priority=4)
    pla = MaterialFactory(tenant=tenant)
    urgent = planned_batch(
        tenant, site, order=order, release_at=NOW + timedelta(hours=2, minutes=5, seconds=30)
    )
    urgent.operations.update(material=pla)
    stock = planned_batch(tenant, site, release_at=NOW - timedelta(days=1))
    site_problem = build_problem(site=site, now=NOW)
    job = _job(site_problem, urgent)
    assert site_problem.origin == datetime(2026, 3, 27, 10, 0, tzinfo=UTC)
    assert job.release == 127  # 12:06:12 is minute 126.2 from 10:00, rounded up
    # End of 30 March in Berlin (CEST) = 31 March 00:00 +02:00 = 30 March 22:00 UTC.
    assert job.due == (3 * 24 + 12) * 60
    assert job.weight == 4
    assert job.operations[0].material == str(pla.pk)
    stock_job = _job(site_problem, stock)
    assert (stock_job.release, stock_job.due, stock_job.weight) == (0, None, 1)
    assert stock_job.operations[0].material is None


def test_only_open_operations_of_open_batches_of_this_site(tenant, other_tenant):
    site = berlin_site(tenant)
    machine_for(site)
    batch = planned_batch(tenant, site, ops=3)
    batch.operations.filter(sequence=10).update(status=BatchOperation.Status.DONE)
    planned_batch(tenant, site, status=Batch.Status.COMPLETED)
    planned_batch(tenant, site, status=Batch.Status.QUALITY_CHECK)
    planned_batch(tenant, berlin_site(tenant))
    foreign_site = berlin_site(other_tenant)
    machine_for(foreign_site)
    planned_batch(other_tenant, foreign_site)
    site_problem = build_problem(site=site, now=NOW)
    assert [job.id for job in site_problem.problem.jobs] == [batch.pk]
    assert len(_job(site_problem, batch).operations) == 2


def test_previous_plan_is_passed_for_stability(tenant):
    site = berlin_site(tenant)
    printer = machine_for(site)
    batch = planned_batch(tenant, site)
    batch.operations.update(
        machine=printer,
        planned_start=NOW.replace(second=0) + timedelta(minutes=10),
        planned_end=NOW.replace(second=0) + timedelta(minutes=135),
    )
    site_problem = build_problem(site=site, now=NOW)
    (op,) = _job(site_problem, batch).operations
    assert op.previous == Assignment(machine=printer.pk, start=10, end=135)
    assert site_problem.to_datetime(10) == NOW.replace(second=0) + timedelta(minutes=10)


def test_an_operation_no_machine_can_do_is_left_out(tenant):
    site = berlin_site(tenant)
    machine_for(site, "cnc-lathe")
    batch = planned_batch(tenant, site, ops=1)
    site_problem = build_problem(site=site, now=NOW)
    assert site_problem.problem.jobs == ()
    assert site_problem.unplannable == [batch.operations.get().pk]


def test_an_operation_longer_than_every_working_window_is_left_out(tenant):
    """FDM: 5 min setup + 12 min per unit. 50 units = 605 min, more than a 9-hour shift
    (540 min): a staffed printer cannot take it, an unattended one can."""
    site = berlin_site(tenant)
    staffed = machine_for(site, "fdm-print")
    long_batch = planned_batch(tenant, site, ops=1, quantity=50)
    short_batch = planned_batch(tenant, site, ops=1, quantity=10)

    site_problem = build_problem(site=site, now=NOW)
    assert [job.id for job in site_problem.problem.jobs] == [short_batch.pk]
    assert site_problem.unplannable == [long_batch.operations.get().pk]
    assert validate(site_problem.problem, solve(site_problem.problem, time_limit=2).plan) == []

    unattended = machine_for(site, "fdm-print", runs_unattended=True)
    site_problem = build_problem(site=site, now=NOW)
    (op,) = _job(site_problem, long_batch).operations
    assert op.durations == {unattended.pk: 605}
    assert staffed.pk in _job(site_problem, short_batch).operations[0].durations
    assert site_problem.unplannable == []


@pytest.mark.parametrize("count", [0, 3])
def test_query_count_does_not_grow_with_batches(tenant, django_assert_max_num_queries, count):
    site = berlin_site(tenant)
    machine_for(site)
    for _ in range(count):
        planned_batch(tenant, site, ops=2, order=OrderFactory(tenant=tenant, site=site))
    with django_assert_max_num_queries(3):
        build_problem(site=site, now=NOW)

"""Schedule runs: queued (debounced), executed one at a time per site, saved all-or-nothing,
and triggered by the changes that make the plan stale."""

import itertools
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from mfapp.core.exceptions import NotFound, PermissionDenied
from mfapp.integrations.models import WebhookDelivery
from mfapp.machines.models import Machine
from mfapp.machines.services import machine_change_status, maintenance_window_create
from mfapp.orders.services import order_confirm
from mfapp.production.models import Batch, BatchOperation
from mfapp.scheduling import services
from mfapp.scheduling.models import ScheduleRun
from mfapp.scheduling.services import schedule_run_execute, schedule_run_request
from mfapp.tenancy.models import Membership
from tests.factories import (
    ScheduleRunFactory,
    SiteFactory,
    WebhookEndpointFactory,
    machine_for,
    member_actor,
    order_with_lines,
    product_with_routing,
)
from tests.scheduling.test_adapter import WEEKDAYS_8_TO_17, berlin_site, planned_batch

R = ScheduleRun.Status


@pytest.fixture(autouse=True)
def _short_solves(settings):
    settings.SCHEDULING_TIME_LIMIT_SECONDS = 1


def runs(tenant):
    return list(ScheduleRun.objects.for_tenant(tenant).order_by("id"))


def ops(tenant):
    return list(
        BatchOperation.objects.for_tenant(tenant)
        .select_related("machine")
        .order_by("batch_id", "sequence")
    )


def assert_valid_plan(operations, site):
    """Every operation on a machine, inside the site's working hours (local time), one at a
    time per machine, in routing order."""
    tz = ZoneInfo(site.timezone)
    by_machine = {}
    for op in operations:
        assert op.machine_id is not None, op
        assert op.planned_start, op
        assert op.planned_end, op
        assert op.planned_start < op.planned_end
        assert op.machine.has_capability(op.capability)
        assert op.machine.status in (Machine.Status.AVAILABLE, Machine.Status.RUNNING)
        start, end = op.planned_start.astimezone(tz), op.planned_end.astimezone(tz)
        if not op.machine.runs_unattended:
            shifts = WEEKDAYS_8_TO_17[
                ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[start.weekday()]
            ]
            assert shifts, f"{op} planned on a closed day"
            assert start.date() == end.date()
            assert shifts[0][0] <= start.strftime("%H:%M")
            assert end.strftime("%H:%M") <= shifts[0][1]
        by_machine.setdefault(op.machine_id, []).append((op.planned_start, op.planned_end))
    for spans in by_machine.values():
        spans.sort()
        for (_, first_end), (second_start, _) in itertools.pairwise(spans):
            assert first_end <= second_start
    by_batch = {}
    for op in operations:
        by_batch.setdefault(op.batch_id, []).append(op)
    for batch_ops in by_batch.values():
        for first, second in itertools.pairwise(batch_ops):
            assert first.planned_end <= second.planned_start


# --- request -------------------------------------------------------------------------------
def test_request_queues_one_run_and_enqueues_after_commit(
    tenant, system, django_capture_on_commit_callbacks, monkeypatch
):
    site = berlin_site(tenant)
    sent = []
    monkeypatch.setattr(services, "_enqueue", sent.append)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        run = schedule_run_request(actor=system, site=site, trigger=ScheduleRun.Trigger.MANUAL)
    assert len(callbacks) == 1
    assert sent == [run]
    assert (run.status, run.trigger, run.site, run.tenant) == (R.QUEUED, "manual", site, tenant)


def test_requests_are_debounced_while_one_is_queued(tenant, system):
    site = berlin_site(tenant)
    first = schedule_run_request(actor=system, site=site, trigger="manual")
    second = schedule_run_request(actor=system, site=site, trigger="machine_status")
    assert first == second
    assert runs(tenant) == [first]
    other_site = schedule_run_request(actor=system, site=berlin_site(tenant), trigger="manual")
    assert other_site != first


def test_a_new_request_is_queued_while_one_runs(tenant, system):
    site = berlin_site(tenant)
    running = ScheduleRunFactory(tenant=tenant, site=site, status=R.RUNNING)
    run = schedule_run_request(actor=system, site=site, trigger="manual")
    assert run != running
    assert run.status == R.QUEUED


def test_manual_requests_need_the_batches_permission(tenant):
    site = berlin_site(tenant)
    with pytest.raises(PermissionDenied):
        schedule_run_request(actor=member_actor(tenant, Membership.Role.OPERATOR), site=site)
    assert runs(tenant) == []


def test_another_tenants_site_is_not_found(tenant, system, other_tenant):
    with pytest.raises(NotFound):
        schedule_run_request(actor=system, site=berlin_site(other_tenant))
    assert ScheduleRun.objects.for_tenant(other_tenant).count() == 0


# --- execute -------------------------------------------------------------------------------
def test_execute_saves_a_valid_plan_and_the_figures(tenant, system):
    site = berlin_site(tenant)
    machine_for(site)
    machine_for(site)
    machine_for(site, status=Machine.Status.DOWN)
    order = order_with_lines(
        tenant, [], site=site, due_date=timezone.localdate() + timedelta(days=3)
    )
    for _ in range(3):
        planned_batch(tenant, site, ops=2, quantity=4, order=order)
    stock = planned_batch(tenant, site, ops=1, quantity=2, status=Batch.Status.SCHEDULED)
    run = schedule_run_request(actor=system, site=site)

    run = schedule_run_execute(run=run)

    assert run.status == R.SUCCEEDED, run.error
    assert_valid_plan(ops(tenant), site)
    assert set(Batch.objects.for_tenant(tenant).values_list("status", flat=True)) == {"scheduled"}
    stock.refresh_from_db()
    assert stock.status == Batch.Status.SCHEDULED
    run.refresh_from_db()
    assert (run.operation_count, run.machine_count) == (7, 2)
    assert run.solver_status in ("optimal", "feasible", "dispatch")
    assert run.source in ("cpsat", "dispatch")
    assert run.started_at <= run.finished_at
    assert run.makespan_minutes > 0
    assert run.wall_seconds is not None
    assert run.weighted_tardiness is not None
    assert run.tardy_orders is not None
    assert 0 < run.utilisation_percent <= 100
    assert run.previous_run is None
    assert run.error == ""

    again = schedule_run_execute(run=schedule_run_request(actor=system, site=site))
    assert again.status == R.SUCCEEDED
    assert again.previous_run == run
    assert again.moved_operations == 0  # nothing changed: the plan stays


def test_a_failure_after_solving_saves_nothing(tenant, system, monkeypatch):
    site = berlin_site(tenant)
    machine_for(site)
    batch = planned_batch(tenant, site, ops=2)

    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "batch_schedule", broken)
    run = schedule_run_execute(run=schedule_run_request(actor=system, site=site))

    run.refresh_from_db()
    assert run.status == R.FAILED
    assert "database went away" in run.error
    assert run.finished_at is not None
    assert run.makespan_minutes is None
    batch.refresh_from_db()
    assert batch.status == Batch.Status.PLANNED
    assert all(op.machine_id is None and op.planned_start is None for op in ops(tenant))


def test_an_infeasible_site_fails_the_run_with_the_reason(tenant, system, monkeypatch):
    site = berlin_site(tenant)
    machine_for(site)
    planned_batch(tenant, site)

    def invalid(problem, plan):
        return ["operation 1 overlaps"]

    monkeypatch.setattr(services, "validate", invalid)
    run = schedule_run_execute(run=schedule_run_request(actor=system, site=site))
    assert run.status == R.FAILED
    assert "operation 1 overlaps" in run.error
    assert all(op.machine_id is None for op in ops(tenant))


def test_only_one_run_per_site_runs_at_a_time(tenant, system):
    site = berlin_site(tenant)
    machine_for(site)
    planned_batch(tenant, site)
    ScheduleRunFactory(tenant=tenant, site=site, status=R.RUNNING, started_at=timezone.now())
    queued = schedule_run_request(actor=system, site=site)

    assert schedule_run_execute(run=queued).status == R.QUEUED
    assert all(op.machine_id is None for op in ops(tenant))
    # Another site is not held up.
    other = berlin_site(tenant)
    assert schedule_run_execute(run=schedule_run_request(actor=system, site=other)).status == (
        R.SUCCEEDED
    )


def test_a_stale_running_run_does_not_block_forever(tenant, system):
    site = berlin_site(tenant)
    long_ago = timezone.now() - services.STALE_RUNNING_AFTER - timedelta(minutes=1)
    stale = ScheduleRunFactory(tenant=tenant, site=site, status=R.RUNNING, started_at=long_ago)
    assert schedule_run_execute(run=schedule_run_request(actor=system, site=site)).status == (
        R.SUCCEEDED
    )
    stale.refresh_from_db()
    assert stale.status == R.FAILED
    assert "worker stopped" in stale.error


def test_executing_a_finished_run_again_changes_nothing(tenant, system):
    site = berlin_site(tenant)
    done = ScheduleRunFactory(tenant=tenant, site=site, status=R.SUCCEEDED)
    assert schedule_run_execute(run=done).status == R.SUCCEEDED
    done.refresh_from_db()
    assert done.started_at is None


def test_an_operation_no_machine_can_do_is_left_unplanned(tenant, system):
    site = berlin_site(tenant)
    machine_for(site)
    doable = planned_batch(tenant, site)
    stuck = planned_batch(tenant, site)
    stuck.operations.update(capability="cnc-lathe")
    run = schedule_run_execute(run=schedule_run_request(actor=system, site=site))
    assert run.status == R.SUCCEEDED
    doable.refresh_from_db()
    stuck.refresh_from_db()
    assert (doable.status, stuck.status) == (Batch.Status.SCHEDULED, Batch.Status.PLANNED)
    assert stuck.operations.get().machine_id is None


# --- triggers ------------------------------------------------------------------------------
def _trigger_runs(tenant):
    return [(run.trigger, run.status) for run in runs(tenant)]


def test_confirming_an_order_plans_it(tenant, eager_tasks, django_capture_on_commit_callbacks):
    site = SiteFactory(tenant=tenant, timezone="Europe/Berlin", working_hours=WEEKDAYS_8_TO_17)
    machine_for(site)
    order = order_with_lines(tenant, [(product_with_routing(tenant), 3)], site=site)
    with django_capture_on_commit_callbacks(execute=True):
        order_confirm(actor=member_actor(tenant), order=order)
    assert _trigger_runs(tenant) == [("order_confirmed", R.SUCCEEDED)]
    assert_valid_plan(ops(tenant), site)
    assert {b.status for b in Batch.objects.for_tenant(tenant)} == {Batch.Status.SCHEDULED}


def test_a_machine_going_down_moves_the_plan_off_it(
    tenant, system, eager_tasks, django_capture_on_commit_callbacks
):
    site = berlin_site(tenant)
    first, second = machine_for(site), machine_for(site)
    for _ in range(4):
        planned_batch(tenant, site, ops=2, quantity=3)
    schedule_run_execute(run=schedule_run_request(actor=system, site=site))
    used = {op.machine_id for op in ops(tenant)}
    assert used == {first.pk, second.pk}

    operator = member_actor(tenant, Membership.Role.OPERATOR)
    with django_capture_on_commit_callbacks(execute=True):
        machine_change_status(actor=operator, machine=first, status="down", reason="Nozzle clog")

    assert _trigger_runs(tenant)[-1] == ("machine_status", R.SUCCEEDED)
    assert {op.machine_id for op in ops(tenant)} == {second.pk}
    assert_valid_plan(ops(tenant), site)

    with django_capture_on_commit_callbacks(execute=True):
        machine_change_status(actor=operator, machine=first, status="available")
    assert _trigger_runs(tenant)[-1] == ("machine_status", R.SUCCEEDED)
    assert len(runs(tenant)) == 3


def test_a_maintenance_window_queues_a_run_and_is_avoided(
    tenant, system, eager_tasks, django_capture_on_commit_callbacks
):
    site = berlin_site(tenant)
    printer = machine_for(site, runs_unattended=True)
    planned_batch(tenant, site, ops=3, quantity=10)
    start = timezone.now() + timedelta(hours=2)
    with django_capture_on_commit_callbacks(execute=True):
        maintenance_window_create(
            actor=system,
            machine=printer,
            starts_at=start,
            ends_at=start + timedelta(hours=3),
            reason="Calibration",
        )
    assert _trigger_runs(tenant) == [("maintenance", R.SUCCEEDED)]
    for op in ops(tenant):
        assert op.planned_end <= start or op.planned_start >= start + timedelta(hours=3)


def test_success_publishes_the_schedule_completed_webhook(tenant, system):
    WebhookEndpointFactory(tenant=tenant, event_types=["schedule.completed"])
    site = berlin_site(tenant)
    machine_for(site)
    planned_batch(tenant, site)
    run = schedule_run_execute(run=schedule_run_request(actor=system, site=site))
    (delivery,) = WebhookDelivery.objects.for_tenant(tenant)
    assert delivery.event_type == "schedule.completed"
    assert delivery.payload["data"]["id"] == run.pk
    assert delivery.payload["data"]["operation_count"] == 1

"""No double booking: occupying operations (pending, running or paused, with a machine and both
planned times) of one machine never overlap. PostgreSQL enforces it with a deferred exclusion
constraint; every database (and SQLite only) through operations_overlap_check in the services."""

import itertools
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from mfapp.core.exceptions import Conflict
from mfapp.production.models import Batch, BatchOperation
from mfapp.production.overlaps import CONSTRAINT_NAME, operations_overlap_check
from mfapp.production.services import operation_start
from mfapp.scheduling.models import ScheduleRun
from mfapp.scheduling.services import schedule_run_execute, schedule_run_request
from tests.factories import BatchFactory, BatchOperationFactory, SiteFactory, machine_for

O = BatchOperation.Status  # noqa: E741
HOUR = timedelta(hours=1)


@pytest.fixture(autouse=True)
def _short_solves(settings):
    settings.SCHEDULING_TIME_LIMIT_SECONDS = 1


def booked(tenant, machine, start, end, *, status=O.PENDING, batch=None, **fields):
    batch = batch or BatchFactory(tenant=tenant, site=machine.site)
    return BatchOperationFactory(
        tenant=tenant,
        batch=batch,
        machine=machine,
        planned_start=start,
        planned_end=end,
        status=status,
        **fields,
    )


@pytest.fixture
def machine(tenant):
    return machine_for(SiteFactory(tenant=tenant), runs_unattended=True)


@pytest.fixture
def t0():
    return (timezone.now() + timedelta(days=1)).replace(microsecond=0)


# --- the service-level check (SQLite and PostgreSQL) -----------------------------------------
@pytest.mark.parametrize("status", [O.PENDING, O.RUNNING, O.PAUSED])
def test_the_check_finds_two_occupying_operations_that_overlap(tenant, machine, t0, status):
    booked(tenant, machine, t0, t0 + 2 * HOUR)
    with transaction.atomic():
        second = booked(tenant, machine, t0 + HOUR, t0 + 3 * HOUR, status=status)
        with pytest.raises(Conflict, match=f"Double booking on machine {machine.name}") as info:
            operations_overlap_check(tenant=tenant, machine_ids=[machine.pk])
        transaction.set_rollback(True)
    assert second.pk in info.value.extra["operations"]


def test_a_contained_operation_is_an_overlap_too(tenant, machine, t0):
    with transaction.atomic():
        booked(tenant, machine, t0, t0 + 5 * HOUR)
        booked(tenant, machine, t0 + HOUR, t0 + 2 * HOUR)
        booked(tenant, machine, t0 + 3 * HOUR, t0 + 4 * HOUR)  # overlaps the first, not the 2nd
        with pytest.raises(Conflict):
            operations_overlap_check(tenant=tenant, machine_ids=[machine.pk])
        transaction.set_rollback(True)


@pytest.mark.parametrize("finished", [O.DONE, O.CANCELLED])
def test_back_to_back_finished_unplanned_and_other_machines_are_no_overlap(
    tenant, other_tenant, machine, t0, finished
):
    booked(tenant, machine, t0, t0 + HOUR)
    booked(tenant, machine, t0 + HOUR, t0 + 2 * HOUR)  # starts when the first ends
    booked(tenant, machine, t0, t0 + 2 * HOUR, status=finished)
    booked(tenant, machine_for(machine.site), t0, t0 + 2 * HOUR)
    BatchOperationFactory(tenant=tenant, batch=BatchFactory(tenant=tenant), machine=machine)

    operations_overlap_check(tenant=tenant, machine_ids=[machine.pk, None])
    operations_overlap_check(tenant=other_tenant, machine_ids=[machine.pk])


def test_starting_on_another_machine_drops_the_other_machines_booking(tenant, system, t0):
    site = SiteFactory(tenant=tenant)
    planned_on, started_on = machine_for(site), machine_for(site)
    operation = booked(tenant, planned_on, t0, t0 + HOUR)
    booked(tenant, started_on, t0, t0 + HOUR)  # the plan of the machine it now runs on

    operation = operation_start(actor=system, operation=operation, machine_id=started_on.pk)

    assert (operation.machine_id, operation.planned_start, operation.planned_end) == (
        started_on.pk,
        None,
        None,
    )
    operations_overlap_check(tenant=tenant, machine_ids=[planned_on.pk, started_on.pk])


def test_starting_on_the_planned_machine_keeps_the_booking(tenant, system, t0, machine):
    operation = booked(tenant, machine, t0, t0 + HOUR)

    operation = operation_start(actor=system, operation=operation)

    assert (operation.status, operation.planned_start, operation.planned_end) == (
        O.RUNNING,
        t0,
        t0 + HOUR,
    )


# --- the scheduler's save --------------------------------------------------------------------
def _all_occupying_disjoint(tenant):
    spans = {}
    for op in BatchOperation.objects.for_tenant(tenant).filter(
        status__in=[O.PENDING, O.RUNNING, O.PAUSED], machine__isnull=False
    ):
        if op.planned_start is not None and op.planned_end is not None:
            spans.setdefault(op.machine_id, []).append((op.planned_start, op.planned_end))
    for machine_spans in spans.values():
        machine_spans.sort()
        for (_, end), (start, _) in itertools.pairwise(machine_spans):
            assert end <= start
    return spans


def test_a_plan_never_overlaps_a_started_operations_old_booking(tenant, system, machine):
    """Started early: its stored booking (hours ahead) must not collide with the new plan,
    which puts the next operation right after the started one's real run."""
    now = timezone.now()
    early = booked(tenant, machine, now + 3 * HOUR, now + 4 * HOUR)
    early = operation_start(actor=system, operation=early)  # runs now, ~125 minutes
    waiting = BatchFactory(tenant=tenant, site=machine.site, quantity_planned=10)
    BatchOperationFactory(tenant=tenant, batch=waiting, sequence=10)

    run = schedule_run_execute(run=schedule_run_request(actor=system, site=machine.site))

    assert run.status == ScheduleRun.Status.SUCCEEDED, run.error
    spans = _all_occupying_disjoint(tenant)
    assert len(spans[machine.pk]) == 2
    early.refresh_from_db()
    assert early.planned_start <= early.actual_start + timedelta(minutes=1)
    waiting.refresh_from_db()
    assert waiting.status == Batch.Status.SCHEDULED


def test_a_plan_that_would_double_book_is_not_saved(tenant, system, machine, t0):
    """A stray booking the scheduler does not plan (its batch is not open) still occupies the
    machine: the save fails with the reason and the run changes nothing."""
    cancelled = BatchFactory(tenant=tenant, site=machine.site, status=Batch.Status.CANCELLED)
    now = timezone.now()
    booked(tenant, machine, now - HOUR, now + 10 * 24 * HOUR, batch=cancelled)
    waiting = BatchFactory(tenant=tenant, site=machine.site, quantity_planned=2)
    operation = BatchOperationFactory(tenant=tenant, batch=waiting, sequence=10)

    run = schedule_run_execute(run=schedule_run_request(actor=system, site=machine.site))

    assert run.status == ScheduleRun.Status.FAILED
    assert "Double booking on machine" in run.error
    operation.refresh_from_db()
    assert (operation.machine_id, operation.planned_start) == (None, None)


# --- PostgreSQL: the exclusion constraint ----------------------------------------------------
pg = pytest.mark.postgres_only


@pg
@pytest.mark.django_db(transaction=True)
def test_the_constraint_is_deferred_until_commit(tenant):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT contype, condeferrable, condeferred FROM pg_constraint WHERE conname = %s",
            [CONSTRAINT_NAME],
        )
        assert cursor.fetchall() == [("x", True, True)]


@pg
@pytest.mark.django_db(transaction=True)
def test_overlapping_bookings_fail_at_commit(tenant, machine, t0):
    booked(tenant, machine, t0, t0 + 2 * HOUR)
    inserted = []

    def overlap():
        with transaction.atomic():
            booked(tenant, machine, t0 + HOUR, t0 + 3 * HOUR, status=O.RUNNING)
            inserted.append(True)  # deferred: not checked at the INSERT

    with pytest.raises(IntegrityError, match=CONSTRAINT_NAME):
        overlap()
    assert inserted == [True]
    assert BatchOperation.objects.for_tenant(tenant).count() == 1


@pg
@pytest.mark.django_db(transaction=True)
def test_an_overlap_repaired_before_commit_is_fine(tenant, machine, t0):
    """What the scheduler's bulk_update does: moves pass through overlaps, the result has none."""
    first = booked(tenant, machine, t0, t0 + HOUR)
    second = booked(tenant, machine, t0 + HOUR, t0 + 2 * HOUR)
    with transaction.atomic():
        BatchOperation.objects.for_tenant(tenant).filter(pk=first.pk).update(
            planned_start=t0 + HOUR, planned_end=t0 + 2 * HOUR
        )  # overlaps `second` here
        BatchOperation.objects.for_tenant(tenant).filter(pk=second.pk).update(
            planned_start=t0, planned_end=t0 + HOUR
        )
    assert BatchOperation.objects.for_tenant(tenant).get(pk=first.pk).planned_start == t0 + HOUR


@pg
@pytest.mark.django_db(transaction=True)
def test_the_constraint_ignores_finished_and_unplanned_operations(tenant, other_tenant, t0):
    machine = machine_for(SiteFactory(tenant=tenant))
    booked(tenant, machine, t0, t0 + 2 * HOUR)
    booked(tenant, machine, t0, t0 + 2 * HOUR, status=O.DONE)
    booked(tenant, machine, t0, t0 + 2 * HOUR, status=O.CANCELLED)
    booked(tenant, machine, t0 + 2 * HOUR, t0 + 3 * HOUR)  # back to back
    booked(tenant, machine_for(machine.site), t0, t0 + 2 * HOUR)
    BatchOperationFactory(tenant=tenant, batch=BatchFactory(tenant=tenant), machine=machine)
    assert BatchOperation.objects.for_tenant(tenant).count() == 6

"""The Celery task: thin, idempotent, on the scheduling queue, and end to end on a real
Redis-backed worker."""

import time

import pytest
from celery.exceptions import Retry
from django.utils import timezone

from mfapp.celery import app
from mfapp.production.models import Batch, BatchOperation
from mfapp.scheduling.models import ScheduleRun
from mfapp.scheduling.services import schedule_run_request
from mfapp.scheduling.tasks import run_schedule
from tests.factories import ScheduleRunFactory, machine_for
from tests.scheduling.test_adapter import berlin_site, planned_batch
from tests.scheduling.test_services_schedule_run import assert_valid_plan, ops

R = ScheduleRun.Status


@pytest.fixture(autouse=True)
def _short_solves(settings):
    settings.SCHEDULING_TIME_LIMIT_SECONDS = 1


def test_the_task_goes_to_the_scheduling_queue():
    route = app.amqp.router.route({}, run_schedule.name)
    assert route["queue"].name == "scheduling"
    assert run_schedule.acks_late is True


def test_the_task_runs_a_queued_run(tenant):
    site = berlin_site(tenant)
    machine_for(site)
    planned_batch(tenant, site, ops=2)
    run = ScheduleRunFactory(tenant=tenant, site=site)
    assert run_schedule(tenant_id=tenant.pk, run_id=run.pk) == "succeeded"
    run.refresh_from_db()
    assert run.status == R.SUCCEEDED
    assert_valid_plan(ops(tenant), site)


@pytest.mark.parametrize("status", [R.RUNNING, R.SUCCEEDED, R.FAILED])
def test_a_run_that_is_not_queued_is_skipped(tenant, status):
    site = berlin_site(tenant)
    machine_for(site)
    planned_batch(tenant, site)
    run = ScheduleRunFactory(tenant=tenant, site=site, status=status)
    assert run_schedule(tenant_id=tenant.pk, run_id=run.pk) == f"skipped ({status})"
    assert all(op.machine_id is None for op in ops(tenant))


def test_a_busy_site_retries_later(tenant):
    site = berlin_site(tenant)
    ScheduleRunFactory(tenant=tenant, site=site, status=R.RUNNING, started_at=timezone.now())
    run = ScheduleRunFactory(tenant=tenant, site=site)
    with pytest.raises(Retry):
        run_schedule(tenant_id=tenant.pk, run_id=run.pk)
    run.refresh_from_db()
    assert run.status == R.QUEUED


def test_another_tenants_run_id_is_not_found(tenant, other_tenant):
    from mfapp.core.exceptions import NotFound

    run = ScheduleRunFactory(tenant=other_tenant, site=berlin_site(other_tenant))
    with pytest.raises(NotFound):
        run_schedule(tenant_id=tenant.pk, run_id=run.pk)
    run.refresh_from_db()
    assert run.status == R.QUEUED


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_end_to_end_on_a_real_worker(tenant, system, celery_worker):
    site = berlin_site(tenant)
    machine_for(site)
    machine_for(site)
    for _ in range(3):
        planned_batch(tenant, site, ops=2, quantity=3)

    run = schedule_run_request(actor=system, site=site, trigger=ScheduleRun.Trigger.MANUAL)

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status in (R.SUCCEEDED, R.FAILED):
            break
        time.sleep(0.25)
    assert run.status == R.SUCCEEDED, (run.status, run.error)
    assert run.operation_count == 6
    operations = ops(tenant)
    assert len(operations) == 6
    assert all(op.status == BatchOperation.Status.PENDING for op in operations)
    assert_valid_plan(operations, site)
    assert {b.status for b in Batch.objects.for_tenant(tenant)} == {Batch.Status.SCHEDULED}

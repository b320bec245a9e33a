"""Celery that loses nothing: late acknowledgement, redelivery of a task whose worker died,
time limits, retries for transient errors only, and tasks that are safe to run twice."""

import os
import signal
import time

import pytest
from django.conf import settings as django_settings
from django.db import OperationalError
from kombu.exceptions import OperationalError as BrokerOperationalError

from mfapp.celery import app
from mfapp.core.tasks import TRANSIENT_ERRORS, worker_check
from mfapp.integrations.models import WebhookAttempt, WebhookDelivery
from mfapp.integrations.tasks import (
    idempotency_records_purge,
    webhook_deliver,
    webhook_deliveries_resume,
)
from mfapp.scheduling.models import ScheduleRun
from mfapp.scheduling.services import schedule_run_request
from mfapp.scheduling.tasks import run_schedule
from mfapp.sustainability.models import SustainabilityReport
from mfapp.sustainability.tasks import generate_monthly_reports, generate_report
from tests.conftest import QUEUES, REDIS_URL, _celery_conf, _worker_process
from tests.factories import ScheduleRunFactory, machine_for
from tests.integrations.test_webhooks import _subscribe, receiver  # noqa: F401 (fixture)
from tests.scheduling.test_adapter import berlin_site, planned_batch
from tests.scheduling.test_services_schedule_run import assert_valid_plan, ops
from tests.sustainability.scenario import build_world, with_settings

R = ScheduleRun.Status
ALL_TASKS = (
    run_schedule,
    generate_report,
    generate_monthly_reports,
    webhook_deliver,
    webhook_deliveries_resume,
    idempotency_records_purge,
    worker_check,
)


# --- settings ----------------------------------------------------------------------------------
def test_messages_are_acknowledged_late_and_rejected_when_the_worker_is_lost():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
    for task in ALL_TASKS:
        assert task.acks_late is True, task.name


def test_every_task_has_time_limits_and_the_visibility_timeout_outlasts_them():
    limits = {}
    for task in ALL_TASKS:
        hard = task.time_limit or app.conf.task_time_limit
        soft = task.soft_time_limit or app.conf.task_soft_time_limit
        assert hard, task.name
        assert soft, task.name
        assert soft < hard, task.name
        limits[task.name] = hard
    assert run_schedule.soft_time_limit > django_settings.SCHEDULING_TIME_LIMIT_SECONDS
    assert generate_report.time_limit == max(limits.values()) == 30 * 60
    # The longest webhook retry countdown (attempt 7 of 8: 30 s x 2^6) waits in the broker too.
    longest_countdown = 30 * 2 ** (django_settings.WEBHOOK_MAX_ATTEMPTS - 2)
    visibility = app.conf.broker_transport_options["visibility_timeout"]
    if "MFAPP_BROKER_VISIBILITY_TIMEOUT" not in os.environ:
        assert visibility == 2 * 3600
    assert visibility > max(*limits.values(), longest_countdown)


def test_only_transient_errors_are_retried():
    assert OperationalError in TRANSIENT_ERRORS
    assert BrokerOperationalError in TRANSIENT_ERRORS
    assert not any(issubclass(ValueError, error) for error in TRANSIENT_ERRORS)
    for task in ALL_TASKS:
        if task is worker_check:  # an operations probe: it must fail loudly, not retry
            continue
        assert tuple(task.autoretry_for) == TRANSIENT_ERRORS, task.name
        assert task.retry_backoff, task.name
        assert task.max_retries == 5, task.name


def test_a_transient_database_error_is_retried_and_a_bug_is_not(tenant, eager_tasks):
    from unittest import mock

    from celery.exceptions import Retry

    run = ScheduleRunFactory(tenant=tenant, site=berlin_site(tenant))
    gone = OperationalError("gone")
    with (
        mock.patch("mfapp.scheduling.tasks.tenant_get", side_effect=gone),
        pytest.raises((Retry, OperationalError)),
    ):
        run_schedule.apply(kwargs={"tenant_id": tenant.pk, "run_id": run.pk}, throw=True)
    calls = []

    def bug(**kwargs):
        calls.append(kwargs)
        raise ValueError("a bug")

    with (
        mock.patch("mfapp.scheduling.tasks.tenant_get", side_effect=bug),
        pytest.raises(ValueError, match="a bug"),
    ):
        run_schedule.apply(kwargs={"tenant_id": tenant.pk, "run_id": run.pk}, throw=True)
    assert len(calls) == 1  # no retry


# --- idempotency: every task twice, the same state -----------------------------------------------
def _redelivered(task, **kwargs):
    """Run a bound task as the worker would for a message the broker delivered again."""
    task.push_request(delivery_info={"redelivered": True}, retries=0, is_eager=False)
    try:
        return task.run(**kwargs)
    finally:
        task.pop_request()


def _plan(tenant):
    return [(op.pk, op.machine_id, op.planned_start, op.planned_end) for op in ops(tenant)]


@pytest.fixture
def _short_solves(settings):
    settings.SCHEDULING_TIME_LIMIT_SECONDS = 1


@pytest.mark.usefixtures("_short_solves")
def test_schedule_run_twice_plans_once(tenant):
    site = berlin_site(tenant)
    machine_for(site)
    planned_batch(tenant, site, ops=2)
    run = ScheduleRunFactory(tenant=tenant, site=site)

    assert run_schedule(tenant_id=tenant.pk, run_id=run.pk) == "succeeded"
    run.refresh_from_db()
    plan, finished = _plan(tenant), run.finished_at
    assert run_schedule(tenant_id=tenant.pk, run_id=run.pk) == "skipped (succeeded)"
    # Even a redelivered message leaves a finished run alone.
    assert _redelivered(run_schedule, tenant_id=tenant.pk, run_id=run.pk) == "skipped (succeeded)"

    run.refresh_from_db()
    assert (run.status, run.finished_at) == (R.SUCCEEDED, finished)
    assert _plan(tenant) == plan
    assert ScheduleRun.objects.for_tenant(tenant).count() == 1


@pytest.mark.usefixtures("_short_solves")
def test_a_redelivered_run_left_running_by_a_dead_worker_is_completed(tenant):
    site = berlin_site(tenant)
    machine_for(site)
    planned_batch(tenant, site, ops=2)
    run = ScheduleRunFactory(tenant=tenant, site=site, status=R.RUNNING)

    # A plain second message (not a redelivery) does not touch a run another worker runs ...
    assert run_schedule(tenant_id=tenant.pk, run_id=run.pk) == "skipped (running)"
    # ... but the redelivered message of the dead worker's task starts it over.
    assert _redelivered(run_schedule, tenant_id=tenant.pk, run_id=run.pk) == "succeeded"
    run.refresh_from_db()
    assert (run.status, run.error) == (R.SUCCEEDED, "")
    assert_valid_plan(ops(tenant), site)


def _report_state(tenant):
    """The rows and their figures (not the moment the document was generated)."""
    return [
        (r.pk, r.status, r.progress, {**r.data, "generated_at": None}, r.error)
        for r in SustainabilityReport.objects.for_tenant(tenant).order_by("pk")
    ]


def test_report_twice_refreshes_the_one_row(tenant):
    with_settings(tenant)
    build_world(tenant)

    generate_report(tenant.pk, "2026-01-01", "2026-01-31")
    first = _report_state(tenant)
    generate_report(tenant.pk, "2026-01-01", "2026-01-31")

    assert _report_state(tenant) == first
    assert [row[1] for row in first] == ["succeeded"]


def test_a_report_left_running_by_a_dead_worker_is_completed(tenant):
    with_settings(tenant)
    build_world(tenant)
    generate_report(tenant.pk, "2026-01-01", "2026-01-31")
    expected = _report_state(tenant)
    SustainabilityReport.objects.for_tenant(tenant).update(
        status=SustainabilityReport.Status.RUNNING, progress=40, data={}
    )

    generate_report(tenant.pk, "2026-01-01", "2026-01-31")  # the redelivered message

    assert _report_state(tenant) == expected


def test_monthly_reports_twice_leave_one_report_per_tenant(tenant, other_tenant, eager_tasks):
    assert generate_monthly_reports() == generate_monthly_reports() == 2
    counts = {
        t.slug: SustainabilityReport.objects.for_tenant(t).count() for t in (tenant, other_tenant)
    }
    assert counts == {"acme": 1, "globex": 1}


@pytest.mark.django_db(transaction=True)
def test_a_delivered_webhook_is_not_sent_again(tenant, system, receiver, eager_tasks):  # noqa: F811
    from mfapp.orders.services import order_confirm
    from tests.factories import order_with_lines, product_with_routing

    hook = receiver(200)
    _subscribe(tenant, hook.url)
    order_confirm(actor=system, order=order_with_lines(tenant, [(product_with_routing(tenant), 3)]))
    delivery = WebhookDelivery.objects.for_tenant(tenant).get()
    assert delivery.status == "succeeded"
    assert len(hook.requests) == 1

    for _ in range(2):
        assert webhook_deliver(tenant_id=tenant.pk, delivery_id=delivery.pk) == "succeeded"
        assert webhook_deliveries_resume() == 0

    assert len(hook.requests) == 1
    assert WebhookAttempt.objects.for_tenant(tenant).count() == 1


def test_platform_jobs_twice_change_nothing_more(tenant):
    from datetime import timedelta

    from django.utils import timezone

    from mfapp.integrations.models import IdempotencyRecord

    fields = {"method": "POST", "path": "/x", "request_hash": "f", "response_status": 201}
    IdempotencyRecord.objects.create(
        tenant=tenant, key="old", expires_at=timezone.now() - timedelta(hours=1), **fields
    )
    IdempotencyRecord.objects.create(
        tenant=tenant, key="new", expires_at=timezone.now() + timedelta(hours=1), **fields
    )
    assert idempotency_records_purge() == 1
    assert idempotency_records_purge() == 0
    assert list(IdempotencyRecord.objects.all_tenants().values_list("key", flat=True)) == ["new"]
    assert worker_check() == worker_check()


# --- the worker dies mid-task -------------------------------------------------------------------
def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.postgres_only
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_run_whose_worker_is_killed_is_delivered_again_and_completes_once(tenant, system):
    """SIGKILL the worker while it solves: the unacknowledged message comes back after the
    (here short) visibility timeout, a new worker starts the run over, and it succeeds once."""
    site = berlin_site(tenant)
    for _ in range(3):
        machine_for(site)
    for index in range(30):
        planned_batch(tenant, site, ops=3, quantity=2 + index % 7)
    worker_env = {
        # Long enough a solve to kill it in the middle; short enough a redelivery.
        "MFAPP_TEST_SCHEDULING_TIME_LIMIT_SECONDS": "6",
        "MFAPP_BROKER_VISIBILITY_TIMEOUT": "5",
    }
    conf = {"broker_url": REDIS_URL, "result_backend": REDIS_URL, "task_always_eager": False}
    with _celery_conf(app, **conf):
        with app.connection_for_write() as connection:  # no messages of earlier tests
            for queue in QUEUES:
                connection.default_channel.queue_purge(queue)
        with _worker_process(app, **worker_env) as first:
            run = schedule_run_request(actor=system, site=site)
            _wait_for(
                lambda: (
                    ScheduleRun.objects.for_tenant(tenant)
                    .filter(pk=run.pk, status=R.RUNNING)
                    .exists()
                ),
                30,
                "the run to start",
            )
            os.kill(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
        run.refresh_from_db()
        assert run.status == R.RUNNING  # killed in the middle: nothing saved, nothing acked

        with _worker_process(app, **worker_env):
            _wait_for(
                lambda: (
                    ScheduleRun.objects.for_tenant(tenant)
                    .filter(pk=run.pk, status__in=(R.SUCCEEDED, R.FAILED))
                    .exists()
                ),
                60,
                "the redelivered run to finish",
            )
    run.refresh_from_db()
    assert (run.status, run.error) == (R.SUCCEEDED, "")
    assert ScheduleRun.objects.for_tenant(tenant).count() == 1
    assert run.operation_count == 90
    assert_valid_plan(ops(tenant), site)

"""The report tasks: on the reports queue, idempotent, fanned out monthly by beat, and end to
end on a real Redis-backed worker."""

import time
from datetime import date
from unittest import mock

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from mfapp.celery import app
from mfapp.core.exceptions import NotFound
from mfapp.sustainability.models import SustainabilityReport
from mfapp.sustainability.services import report_request
from mfapp.sustainability.tasks import (
    generate_monthly_reports,
    generate_report,
    previous_month,
)
from tests.factories import SiteFactory, TenantFactory, member_actor
from tests.sustainability.scenario import JANUARY, build_world, with_settings

R = SustainabilityReport.Status


def test_the_tasks_go_to_the_reports_queue():
    for task in (generate_report, generate_monthly_reports):
        assert app.amqp.router.route({}, task.name)["queue"].name == "reports"
    assert generate_report.name == "mfapp.sustainability.generate_report"
    assert generate_report.acks_late is True


@pytest.mark.django_db
def test_the_task_is_idempotent(tenant):
    with_settings(tenant)
    build_world(tenant)

    first = generate_report(tenant.pk, "2026-01-01", "2026-01-31")
    second = generate_report(tenant.pk, "2026-01-01", "2026-01-31")

    assert first == second == {"report_id": first["report_id"], "status": "succeeded"}
    report = SustainabilityReport.objects.for_tenant(tenant).get()
    assert report.data["totals"]["total_kgco2e"] == 14.091


@pytest.mark.django_db
def test_the_task_refuses_another_tenants_site(tenant, other_tenant):
    site = SiteFactory(tenant=other_tenant)

    with pytest.raises(NotFound):
        generate_report(tenant.pk, "2026-01-01", "2026-01-31", site.pk)

    assert SustainabilityReport.objects.for_tenant(tenant).count() == 0


@pytest.mark.parametrize(
    ("today", "start", "end"),
    [
        (date(2026, 3, 1), date(2026, 2, 1), date(2026, 2, 28)),
        (date(2026, 1, 1), date(2025, 12, 1), date(2025, 12, 31)),
        (date(2024, 3, 2), date(2024, 2, 1), date(2024, 2, 29)),
    ],
)
def test_previous_month(today, start, end):
    assert previous_month(today) == (start, end)


@pytest.mark.django_db
def test_the_monthly_job_queues_one_report_per_active_tenant(tenant, other_tenant):
    TenantFactory(slug="dormant", is_active=False)

    with mock.patch.object(generate_report, "delay") as delay:
        count = generate_monthly_reports()

    assert count == 2
    queued = sorted(call.args[0] for call in delay.call_args_list)
    assert queued == sorted([tenant.pk, other_tenant.pk])
    for call in delay.call_args_list:
        start, end = date.fromisoformat(call.args[1]), date.fromisoformat(call.args[2])
        assert (start.day, (end - start).days >= 27, call.args[3]) == (1, True, None)


@pytest.mark.django_db
def test_the_beat_schedule_runs_it_on_the_first_of_the_month():
    call_command("setup_periodic_tasks")

    task = PeriodicTask.objects.select_related("crontab").get(
        task="mfapp.sustainability.generate_monthly_reports"
    )
    cron = task.crontab
    assert (cron.minute, cron.hour, cron.day_of_month, cron.month_of_year) == ("5", "12", "1", "*")
    assert task.enabled is True
    app.loader.import_default_modules()
    assert task.task in app.tasks


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_end_to_end_on_a_real_worker(tenant, celery_worker):
    with_settings(tenant)
    build_world(tenant)
    actor = member_actor(tenant, "owner")

    report = report_request(actor=actor, start=JANUARY[0], end=JANUARY[1])

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        report.refresh_from_db()
        if report.status in (R.SUCCEEDED, R.FAILED):
            break
        time.sleep(0.25)
    assert report.status == R.SUCCEEDED, (report.status, report.error)
    assert report.progress == 100
    assert report.data["totals"]["total_kgco2e"] == 14.091
    assert SustainabilityReport.objects.for_tenant(tenant).count() == 1

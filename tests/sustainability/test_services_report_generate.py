"""Storing reports: one row per (tenant, period, site), refreshed in place; progress; requests
queue the task after commit and need reports.request."""

from datetime import date
from unittest import mock

import pytest

from mfapp.core.exceptions import ApplicationError, NotFound, PermissionDenied
from mfapp.sustainability.models import SustainabilityReport
from mfapp.sustainability.selectors import report_get, sustainability_report_latest
from mfapp.sustainability.services import (
    report_document,
    report_generate,
    report_generate_for_period,
    report_request,
)
from tests.factories import SiteFactory, SustainabilityReportFactory, member_actor
from tests.sustainability.scenario import JANUARY, build_world, with_settings

pytestmark = pytest.mark.django_db
R = SustainabilityReport.Status


@pytest.fixture
def world(tenant):
    with_settings(tenant)
    return build_world(tenant)


def _reports(tenant):
    return list(SustainabilityReport.objects.for_tenant(tenant).order_by("pk"))


def _without_time(data):
    return {k: v for k, v in data.items() if k != "generated_at"}


def test_generating_twice_keeps_one_row_with_the_same_data(world, tenant):
    first = report_generate_for_period(tenant=tenant, start=JANUARY[0], end=JANUARY[1])
    second = report_generate_for_period(tenant=tenant, start=JANUARY[0], end=JANUARY[1])

    rows = _reports(tenant)
    assert [r.pk for r in rows] == [first.pk] == [second.pk]
    assert rows[0].status == R.SUCCEEDED
    assert (rows[0].progress, rows[0].progress_note) == (100, "Done")
    assert _without_time(first.data) == _without_time(rows[0].data)
    expected = report_document(tenant=tenant, start=JANUARY[0], end=JANUARY[1])
    assert _without_time(rows[0].data) == _without_time(expected)
    assert rows[0].total_kgco2e == 14.091
    assert rows[0].kg_co2e_per_unit == 0.783


def test_site_and_whole_business_reports_of_one_period_are_two_rows(world, tenant):
    whole = report_generate_for_period(tenant=tenant, start=JANUARY[0], end=JANUARY[1])
    site = report_generate_for_period(
        tenant=tenant, start=JANUARY[0], end=JANUARY[1], site=world.site
    )
    again = report_generate_for_period(
        tenant=tenant, start=JANUARY[0], end=JANUARY[1], site=world.site
    )

    assert [r.pk for r in _reports(tenant)] == [whole.pk, site.pk]
    assert again.pk == site.pk


def test_progress_is_saved_as_it_goes(world, tenant):
    report = SustainabilityReportFactory(
        tenant=tenant, period_start=JANUARY[0], period_end=JANUARY[1], status=R.QUEUED
    )
    seen = []
    from mfapp.sustainability import services

    original = services._progress_saver

    def spy(row):
        save = original(row)

        def wrapped(percent, note):
            save(percent, note)
            stored = SustainabilityReport.objects.for_tenant(tenant).get(pk=row.pk)
            seen.append((stored.status, stored.progress, stored.progress_note))

        return wrapped

    with mock.patch.object(services, "_progress_saver", spy):
        report_generate(report=report)

    assert [p for _, p, _ in seen] == sorted(p for _, p, _ in seen)
    assert {s for s, _, _ in seen} == {R.RUNNING}
    assert seen[0][1] == 2
    assert seen[-1] == (R.RUNNING, 80, "Putting the report together")
    report.refresh_from_db()
    assert (report.status, report.progress) == (R.SUCCEEDED, 100)


def test_a_failure_is_stored_with_its_error(world, tenant):
    report = SustainabilityReportFactory(
        tenant=tenant, period_start=JANUARY[0], period_end=JANUARY[1], status=R.QUEUED, data={}
    )
    with mock.patch(
        "mfapp.sustainability.services.build_document", side_effect=RuntimeError("disk full")
    ):
        report_generate(report=report)

    report.refresh_from_db()
    assert (report.status, report.error, report.data) == (R.FAILED, "RuntimeError: disk full", {})
    assert report.finished_at is not None


def test_request_queues_the_task_after_commit(tenant, django_capture_on_commit_callbacks):
    actor = member_actor(tenant, "manager")
    with mock.patch("mfapp.sustainability.tasks.generate_report.delay") as delay:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            report = report_request(actor=actor, start=JANUARY[0], end=JANUARY[1])
        assert delay.call_count == 0  # not before the commit
        for callback in callbacks:
            callback()

    delay.assert_called_once_with(tenant.pk, "2026-01-01", "2026-01-31", None)
    assert (report.status, report.requested_by) == (R.QUEUED, actor.user)


def test_a_queued_report_is_not_queued_twice(tenant, django_capture_on_commit_callbacks):
    actor = member_actor(tenant, "owner")
    with django_capture_on_commit_callbacks() as callbacks:
        first = report_request(actor=actor, start=JANUARY[0], end=JANUARY[1])
        second = report_request(actor=actor, start=JANUARY[0], end=JANUARY[1])

    assert first.pk == second.pk
    assert len(callbacks) == 1
    assert len(_reports(tenant)) == 1


def test_a_finished_report_is_refreshed_in_place(tenant, django_capture_on_commit_callbacks):
    done = SustainabilityReportFactory(
        tenant=tenant, period_start=JANUARY[0], period_end=JANUARY[1], status=R.SUCCEEDED
    )
    with django_capture_on_commit_callbacks() as callbacks:
        report = report_request(actor=member_actor(tenant), start=JANUARY[0], end=JANUARY[1])

    assert report.pk == done.pk
    assert report.status == R.QUEUED
    assert len(callbacks) == 1


@pytest.mark.parametrize(
    ("role", "allowed"),
    [("owner", True), ("manager", True), ("operator", False), ("viewer", False)],
)
def test_who_may_request_a_report(tenant, role, allowed):
    actor = member_actor(tenant, role)
    if allowed:
        report_request(actor=actor, start=JANUARY[0], end=JANUARY[1])
        assert len(_reports(tenant)) == 1
    else:
        with pytest.raises(PermissionDenied):
            report_request(actor=actor, start=JANUARY[0], end=JANUARY[1])
        assert _reports(tenant) == []


def test_another_tenants_site_is_not_found(tenant, other_tenant):
    with pytest.raises(NotFound) as exc_info:
        report_request(
            actor=member_actor(tenant, "owner"),
            start=JANUARY[0],
            end=JANUARY[1],
            site=SiteFactory(tenant=other_tenant),
        )

    assert exc_info.value.message == "Site not found."
    assert _reports(tenant) == _reports(other_tenant) == []


def test_a_period_ending_before_it_starts_is_refused(tenant):
    with pytest.raises(ApplicationError) as exc_info:
        report_request(actor=member_actor(tenant), start=date(2026, 2, 1), end=date(2026, 1, 1))

    assert exc_info.value.extra == {"fields": {"end": ["The end is before the start."]}}
    assert _reports(tenant) == []


def test_selectors_stay_in_their_tenant(tenant, other_tenant):
    def report(owner, start, end, **fields):
        return SustainabilityReportFactory(
            tenant=owner, period_start=start, period_end=end, **fields
        )

    mine = report(tenant, date(2025, 2, 1), date(2025, 3, 1))
    report(tenant, date(2025, 5, 1), date(2025, 6, 1), status=R.FAILED)
    report(tenant, date(2025, 8, 1), date(2025, 9, 1), site=SiteFactory(tenant=tenant))
    theirs = report(other_tenant, date(2025, 8, 1), date(2025, 9, 1))

    assert sustainability_report_latest(tenant=tenant) == mine
    assert sustainability_report_latest(tenant=other_tenant) == theirs
    assert report_get(tenant=tenant, report_id=mine.pk) == mine
    with pytest.raises(NotFound) as exc_info:
        report_get(tenant=tenant, report_id=theirs.pk)
    assert exc_info.value.message == "Sustainability report not found."

"""POST /api/v1/schedule-runs/ (202), GET its status and the plan."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from mfapp.scheduling import services
from mfapp.scheduling.models import ScheduleRun
from mfapp.scheduling.services import schedule_run_execute
from mfapp.tenancy.models import Membership
from mfapp.tenancy.selectors import system_actor
from mfapp.tenancy.services import api_key_create
from tests.factories import MembershipFactory, ScheduleRunFactory, machine_for
from tests.scheduling.test_adapter import berlin_site, planned_batch
from tests.scheduling.test_services_schedule_run import assert_valid_plan, ops

LIST = reverse("api:schedule-run-list")
R = ScheduleRun.Status


def _detail(run, suffix="detail"):
    return reverse(f"api:schedule-run-{suffix}", args=[getattr(run, "pk", run)])


def _key_client(system, read_only=False):
    _, raw = api_key_create(actor=system, name="read" if read_only else "w", read_only=read_only)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def api(system):
    return _key_client(system)


@pytest.fixture(autouse=True)
def _short_solves(settings, monkeypatch):
    settings.SCHEDULING_TIME_LIMIT_SECONDS = 1


def _runs(tenant):
    return list(ScheduleRun.objects.for_tenant(tenant))


def test_post_queues_a_run_202_and_debounces(
    api, tenant, django_capture_on_commit_callbacks, monkeypatch
):
    site = berlin_site(tenant)
    sent = []
    monkeypatch.setattr(services, "_enqueue", sent.append)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(LIST, {"site_id": site.pk}, format="json")
    assert response.status_code == 202, response.json()
    body = response.json()
    run = ScheduleRun.objects.for_tenant(tenant).get()
    assert body["id"] == run.pk
    assert sent == [run]
    assert (body["site"], body["status"], body["trigger"]) == (site.pk, "queued", "manual")
    again = api.post(LIST, {"site_id": site.pk}, format="json")
    assert again.status_code == 202
    assert again.json()["id"] == run.pk
    assert len(_runs(tenant)) == 1


def test_post_runs_the_plan_in_eager_mode_and_get_shows_it(
    api, tenant, eager_tasks, django_capture_on_commit_callbacks
):
    site = berlin_site(tenant)
    machine_for(site)
    machine_for(site)
    for _ in range(2):
        planned_batch(tenant, site, ops=2, quantity=2)
    with django_capture_on_commit_callbacks(execute=True):
        run_id = api.post(LIST, {"site_id": site.pk}, format="json").json()["id"]

    status = api.get(_detail(run_id)).json()
    assert status["status"] == "succeeded", status
    assert status["operation_count"] == 4
    assert status["makespan_minutes"] > 0

    plan = api.get(_detail(run_id, "plan"))
    assert plan.status_code == 200
    body = plan.json()
    assert (body["run"], body["site"]) == (run_id, site.pk)
    stored = {op.pk: op for op in ops(tenant)}
    assert {row["id"] for row in body["operations"]} == set(stored)
    for row in body["operations"]:
        op = stored[row["id"]]
        assert row["machine"] == op.machine_id is not None
        assert row["planned_start"] == op.planned_start.isoformat().replace("+00:00", "Z")
        assert row["lot_code"] == op.batch.lot_code
    assert_valid_plan(list(stored.values()), site)


def test_list_filters_by_site_and_status(api, tenant):
    site, other = berlin_site(tenant), berlin_site(tenant)
    queued = ScheduleRunFactory(tenant=tenant, site=site)
    done = ScheduleRunFactory(tenant=tenant, site=site, status=R.SUCCEEDED)
    elsewhere = ScheduleRunFactory(tenant=tenant, site=other, status=R.SUCCEEDED)

    def ids(**params):
        return [row["id"] for row in api.get(LIST, params).json()["results"]]

    assert sorted(ids()) == sorted([queued.pk, done.pk, elsewhere.pk])
    assert sorted(ids(site=site.pk)) == sorted([queued.pk, done.pk])
    assert ids(status="succeeded", site=site.pk) == [done.pk]
    assert api.get(LIST, {"status": "bogus"}).status_code == 400


def test_plan_query_count_is_fixed(api, tenant):
    site = berlin_site(tenant)
    machine_for(site)
    run = ScheduleRunFactory(tenant=tenant, site=site)
    api.get(_detail(run, "plan"))  # the key's first use is recorded once
    counts = []
    for _ in range(2):
        planned_batch(tenant, site, ops=3)
        schedule_run_execute(run=ScheduleRunFactory(tenant=tenant, site=site), time_limit=1)
        with CaptureQueriesContext(connection) as queries:
            assert api.get(_detail(run, "plan")).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_other_tenants_site_and_run_are_not_found(api, tenant, other_tenant):
    foreign_site = berlin_site(other_tenant)
    foreign_run = ScheduleRunFactory(tenant=other_tenant, site=foreign_site)
    response = api.post(LIST, {"site_id": foreign_site.pk}, format="json")
    assert response.status_code == 404
    assert response.json()["message"] == "Site not found."
    assert api.post(LIST, {"site_id": 999999}, format="json").json()["message"] == "Site not found."
    assert api.get(_detail(foreign_run)).status_code == 404
    assert api.get(_detail(foreign_run, "plan")).status_code == 404
    assert _runs(tenant) == []
    assert _runs(other_tenant) == [foreign_run]
    assert api.get(LIST).json()["results"] == []


def test_read_only_key_and_viewers_cannot_queue(system, tenant):
    site = berlin_site(tenant)
    read_only = _key_client(system, read_only=True)
    assert read_only.post(LIST, {"site_id": site.pk}, format="json").status_code == 403
    assert read_only.get(LIST).status_code == 200
    viewer = APIClient()
    viewer.force_login(MembershipFactory(tenant=tenant, role=Membership.Role.OPERATOR).user)
    assert viewer.post(LIST, {"site_id": site.pk}, format="json").status_code == 403
    assert _runs(tenant) == []


def test_bad_input_is_a_400(api, tenant):
    assert api.post(LIST, {}, format="json").status_code == 400
    assert api.post(LIST, {"site_id": "x"}, format="json").status_code == 400
    response = api.post(LIST, {"site_id": 1, "extra": 2}, format="json")
    assert response.status_code == 400
    assert "extra" in response.json()["extra"]["fields"]


def test_no_update_or_delete(api, tenant):
    run = ScheduleRunFactory(tenant=tenant, site=berlin_site(tenant))
    assert api.patch(_detail(run), {}, format="json").status_code == 405
    assert api.delete(_detail(run)).status_code == 405
    assert system_actor(tenant=tenant)  # the run is untouched
    run.refresh_from_db()
    assert run.status == R.QUEUED

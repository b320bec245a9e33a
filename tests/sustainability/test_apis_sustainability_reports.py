"""/api/v1/sustainability-reports/: list without the document, fetch with it, ask for one
(202), tenant isolation, roles."""

from datetime import timedelta

import pytest
from django.utils import timezone

from mfapp.sustainability.models import SustainabilityReport
from tests.api.conftest import key_client, member_client
from tests.factories import SiteFactory, SustainabilityReportFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/sustainability-reports/"
R = SustainabilityReport.Status


def _period():
    end = timezone.localdate() - timedelta(days=1)
    return {"start": str(end - timedelta(days=29)), "end": str(end)}


def test_list_leaves_the_document_out_and_fetch_has_it(tenant, other_tenant):
    report = SustainabilityReportFactory(tenant=tenant)
    SustainabilityReportFactory(tenant=other_tenant)
    client, _ = key_client(tenant, read_only=True)

    listed = client.get(URL).json()
    fetched = client.get(f"{URL}{report.pk}/").json()

    assert [row["id"] for row in listed["results"]] == [report.pk]
    assert "data" not in listed["results"][0]
    assert listed["results"][0]["total_kgco2e"] == 1.5
    assert fetched["data"] == report.data
    assert (fetched["status"], fetched["progress"]) == ("succeeded", 100)


def test_another_tenants_report_is_a_404(tenant, other_tenant):
    theirs = SustainabilityReportFactory(tenant=other_tenant)
    client, _ = key_client(tenant)

    response = client.get(f"{URL}{theirs.pk}/")

    assert response.status_code == 404
    assert response.json() == {"message": "Sustainability report not found.", "extra": {}}


def test_post_queues_a_report_202(tenant, django_capture_on_commit_callbacks):
    client = member_client(tenant, "manager")
    site = SiteFactory(tenant=tenant)

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(URL, {**_period(), "site_id": site.pk}, format="json")

    assert response.status_code == 202, response.json()
    body = response.json()
    assert (body["status"], body["site"], body["progress"]) == ("queued", site.pk, 0)
    assert len(callbacks) == 1
    report = SustainabilityReport.objects.for_tenant(tenant).get()
    assert (report.pk, str(report.period_end)) == (body["id"], _period()["end"])


def test_without_a_broker_the_report_is_computed_after_commit(
    tenant, eager_tasks, django_capture_on_commit_callbacks
):
    client = member_client(tenant, "owner")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, _period(), format="json")
    fetched = client.get(f"{URL}{response.json()['id']}/").json()

    assert response.status_code == 202
    assert (fetched["status"], fetched["progress"]) == ("succeeded", 100)
    assert fetched["data"]["schema"] == "mfapp.sustainability.report/1"


def test_a_viewer_may_read_but_not_ask(tenant):
    client = member_client(tenant, "viewer")

    response = client.post(URL, _period(), format="json")

    assert response.status_code == 403
    assert response.json() == {
        "message": "Your role (viewer) does not allow this action (reports.request).",
        "extra": {},
    }
    assert SustainabilityReport.objects.for_tenant(tenant).count() == 0
    assert client.get(URL).status_code == 200


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"start": "2026-02-01", "end": "2026-01-01"}, {"end": ["The end is before the start."]}),
        ({"start": "yesterday", "end": "2026-01-01"}, None),
        ({"end": "2026-01-01"}, None),
        ({"start": "2026-01-01", "end": "2026-01-31", "colour": "green"}, None),
    ],
)
def test_invalid_bodies_are_400_with_the_standard_shape(tenant, body, fields):
    client, _ = key_client(tenant)

    response = client.post(URL, body, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"message", "extra"}
    if fields is not None:
        assert response.json()["extra"] == {"fields": fields}
    else:
        assert set(response.json()["extra"]) == {"fields"}
    assert SustainabilityReport.objects.for_tenant(tenant).count() == 0

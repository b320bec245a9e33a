"""The report pages: the list with the request form and its polling rows, the report page and
the CSV, JSON and PDF downloads."""

import csv
import io
import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from mfapp.sustainability.models import SustainabilityReport
from mfapp.sustainability.views import preset_period
from tests.factories import MembershipFactory, SiteFactory, SustainabilityReportFactory
from tests.sustainability.scenario import build_world, with_settings
from tests.sustainability.test_exports import pdf_pages_text

LIST = reverse("sustainability:report-list")
REQUEST = reverse("sustainability:report-request")
HTMX = {"HX-Request": "true"}
DASH = "\N{EN DASH}"


def _login(client, tenant, role="manager"):
    user = MembershipFactory(tenant=tenant, role=role).user
    client.force_login(user)
    return user


def _report(tenant, document=None, **fields):
    values = {
        "period_start": date(2026, 1, 1),
        "period_end": date(2026, 3, 31),
        "finished_at": datetime(2026, 4, 1, 3, 0, tzinfo=UTC),
        **fields,
    }
    if document is not None:
        values["data"] = document
    return SustainabilityReportFactory(tenant=tenant, **values)


def _reports(tenant):
    return SustainabilityReport.objects.for_tenant(tenant)


def _url(name, report):
    return reverse(f"sustainability:{name}", args=[report.pk])


# --- the list --------------------------------------------------------------------------------
def test_the_list_shows_each_report_with_its_figures(client, tenant, report_document):
    _login(client, tenant, "viewer")
    done = _report(tenant, report_document)
    running = _report(
        tenant,
        period_start=date(2026, 4, 1),
        period_end=date(2026, 4, 30),
        site=SiteFactory(tenant=tenant, name="Lyon"),
        status="running",
        progress=40,
        progress_note="Energy per operation",
        finished_at=None,
        data={},
    )

    response = client.get(LIST)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Sustainability reports</h1>" in html
    assert (
        f'<a href="{_url("report-detail", done)}">1 Jan 2026 {DASH} 31 Mar 2026</a></td>\n'
        '                <td data-label="Site">All sites</td>'
    ) in html
    assert '<span class="chip status-succeeded">Succeeded</span>' in html
    assert '<td data-label="Total kgCO2e" class="num">360.0</td>' in html
    assert '<td data-label="kgCO2e per unit" class="num">2.880</td>' in html
    assert '<td data-label="Generated">1 Apr 2026 05:00</td>' in html
    row_url = _url("report-row", running)
    assert (
        f'<tr id="report-{running.pk}" hx-get="{row_url}" hx-trigger="every 1s" '
        'hx-swap="outerHTML">'
    ) in html
    assert '<progress value="40" max="100" aria-label="Progress of the report">' in html
    assert "Energy per operation" in html
    assert '<td data-label="Site">Lyon</td>' in html
    assert html.index(f"1 Apr 2026 {DASH} 30 Apr 2026") < html.index(f"1 Jan 2026 {DASH} 31 Mar")
    assert html.count('hx-trigger="every 1s"') == 1  # only the running report polls
    assert "Ask for the report" not in html  # a viewer may not ask for one


def test_the_empty_list_tells_what_a_report_is_and_how_to_get_one(client, tenant):
    _login(client, tenant, "owner")

    html = client.get(LIST).content.decode()

    assert "No reports yet. A sustainability report adds up" in html
    assert "press <strong>Ask for the report</strong>" in html
    assert 'action="/reports/request/"' in html
    assert 'value="last_month"' in html
    assert "All sites (the whole business)" in html

    _login(client, tenant, "viewer")
    html = client.get(LIST).content.decode()
    assert "An owner or a manager can ask for one" in html


def test_the_htmx_list_returns_only_its_region(client, tenant, report_document):
    _login(client, tenant)
    _report(tenant, report_document)

    response = client.get(LIST, headers=HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="reports">')
    assert "360.0" in html


def test_the_list_reads_a_fixed_number_of_queries(
    client, tenant, report_document, django_assert_max_num_queries
):
    _login(client, tenant, "viewer")

    def add(n, offset):
        for i in range(n):
            start = date(2020 + (offset + i) // 12, (offset + i) % 12 + 1, 1)
            site = SiteFactory(tenant=tenant) if i % 2 else None
            _report(tenant, report_document, period_start=start, period_end=start, site=site)

    add(2, 0)
    with django_assert_max_num_queries(12) as few:
        assert client.get(LIST).status_code == 200
    add(20, 2)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(LIST).status_code == 200


# --- asking for a report ---------------------------------------------------------------------
def test_a_manager_asks_for_a_report_and_its_row_polls_until_it_is_done(
    client, tenant, eager_tasks, django_capture_on_commit_callbacks
):
    with_settings(tenant)
    world = build_world(tenant)
    manager = _login(client, tenant, "manager")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            REQUEST,
            {"period": "custom", "start": "2026-01-01", "end": "2026-01-31", "site": ""},
            headers=HTMX,
        )

    report = _reports(tenant).get()
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="reports">')
    row_url = _url("report-row", report)
    assert f'<tr id="report-{report.pk}" hx-get="{row_url}" hx-trigger="every 1s"' in html
    assert '<span class="chip status-queued">Queued</span>' in html
    # The task ran (in-process here) after the commit.
    report.refresh_from_db()
    assert (report.status, report.progress, report.site) == ("succeeded", 100, None)
    assert (report.period_start, report.period_end) == (date(2026, 1, 1), date(2026, 1, 31))
    assert report.requested_by == manager

    response = client.get(row_url, headers=HTMX)

    html = response.content.decode()
    assert html.lstrip().startswith(f'<tr id="report-{report.pk}">')  # no more polling
    assert '<span class="chip status-succeeded">Succeeded</span>' in html
    assert '<td data-label="Total kgCO2e" class="num">14.1</td>' in html
    assert '<td data-label="kgCO2e per unit" class="num">0.783</td>' in html
    assert world.site.name not in html  # a whole-business report


def test_without_javascript_the_request_redirects_back_to_the_list(
    client, tenant, eager_tasks, django_capture_on_commit_callbacks
):
    _login(client, tenant, "owner")
    site = SiteFactory(tenant=tenant, name="Kreuzberg")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(REQUEST, {"period": "last_3_months", "site": site.pk})

    assert response.status_code == 302
    assert response["Location"] == LIST
    report = _reports(tenant).get()
    today = timezone.now().astimezone(ZoneInfo(tenant.timezone)).date()
    assert (report.period_start, report.period_end, report.site) == (
        *preset_period("last_3_months", today),
        site,
    )
    assert report.status == "succeeded"
    html = client.get(LIST).content.decode()
    assert "Report requested. It appears in the list below when it is ready." in html
    assert '<td data-label="Site">Kreuzberg</td>' in html


@pytest.mark.parametrize(
    ("today", "preset", "period"),
    [
        (date(2026, 3, 15), "last_month", (date(2026, 2, 1), date(2026, 2, 28))),
        (date(2026, 1, 1), "last_month", (date(2025, 12, 1), date(2025, 12, 31))),
        (date(2026, 3, 15), "last_3_months", (date(2025, 12, 1), date(2026, 2, 28))),
        (date(2026, 3, 15), "this_year", (date(2026, 1, 1), date(2026, 3, 15))),
    ],
)
def test_the_period_presets(today, preset, period):
    assert preset_period(preset, today) == period


def test_asking_again_from_the_report_page_refreshes_the_same_report(
    client, tenant, report_document, eager_tasks, django_capture_on_commit_callbacks
):
    _login(client, tenant, "manager")
    report = _report(tenant, report_document, status="failed", error="Boom")

    detail = client.get(_url("report-detail", report)).content.decode()
    assert "Try again</button>" in detail
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            REQUEST,
            {"period": "custom", "start": "2026-01-01", "end": "2026-03-31", "return_to": "detail"},
        )

    assert response.status_code == 302
    assert response["Location"] == _url("report-detail", report)
    report.refresh_from_db()
    assert (_reports(tenant).count(), report.status, report.error) == (1, "succeeded", "")


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"period": "custom", "start": "", "end": "2026-01-31"},
         "Give a date for a custom period."),
        ({"period": "custom", "start": "2026-02-01", "end": "2026-01-31"},
         "The end is before the start."),
        ({"period": "yesterday"},
         "Select a valid choice. yesterday is not one of the available choices."),
        ({"period": "custom", "start": "2999-01-01", "end": "2999-01-31"}, "Today or earlier."),
    ],
)  # fmt: skip
def test_invalid_requests_are_refused_with_the_form_and_nothing_is_queued(
    client, tenant, data, error
):
    _login(client, tenant, "manager")

    response = client.post(REQUEST, data)
    partial = client.post(REQUEST, data, headers=HTMX)

    assert response.status_code == 400
    assert error in response.content.decode()
    assert "<h1>Sustainability reports</h1>" in response.content.decode()
    assert partial.status_code == 400
    assert partial.content.decode().lstrip().startswith('<div id="reports">')
    assert error in partial.content.decode()
    assert _reports(tenant).count() == 0


def test_another_tenants_site_cannot_be_chosen(client, tenant, other_tenant):
    _login(client, tenant, "manager")
    foreign = SiteFactory(tenant=other_tenant)

    response = client.post(REQUEST, {"period": "last_month", "site": foreign.pk})

    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()
    assert _reports(tenant).count() == _reports(other_tenant).count() == 0


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_operators_and_viewers_cannot_ask_for_a_report(client, tenant, role):
    _login(client, tenant, role)

    response = client.post(REQUEST, {"period": "last_month"})

    assert response.status_code == 403
    assert _reports(tenant).count() == 0


def test_anonymous_people_are_sent_to_the_login(client, tenant, report_document):
    report = _report(tenant, report_document)

    for url in (LIST, _url("report-detail", report), _url("report-csv", report)):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    assert client.post(REQUEST, {"period": "last_month"}).status_code == 302
    assert _reports(tenant).count() == 1


def test_another_tenants_report_is_not_found(client, tenant, other_tenant, report_document):
    _login(client, tenant, "owner")
    foreign = _report(other_tenant, report_document)

    for name in ("report-detail", "report-row", "report-csv", "report-json", "report-pdf"):
        assert client.get(_url(name, foreign)).status_code == 404
    assert client.get(reverse("sustainability:report-detail", args=[999999])).status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == "succeeded"


# --- the report page -------------------------------------------------------------------------
def test_the_report_page_shows_figures_charts_tables_and_methodology(
    client, tenant, report_document
):
    _login(client, tenant, "viewer")
    report = _report(tenant, report_document)

    response = client.get(_url("report-detail", report))

    html = response.content.decode()
    assert response.status_code == 200
    assert (
        f"<h1>Sustainability report <small>1 Jan 2026 {DASH} 31 Mar 2026 · all sites</small></h1>"
    ) in html
    # Key figures, avoided transport apart with its note.
    assert (
        '<div class="figure" id="figure-total">\n'
        '        <span class="value">360.0 <small>kgCO2e</small></span>'
    ) in html
    assert '<div class="figure separate" id="figure-avoided">' in html
    assert "Against central production; shown separately, not subtracted" in html
    figure = '<span class="value">{}</span>\n        <span class="label">{}</span>'
    assert figure.format("37.6%", "Measured energy") in html
    assert figure.format("3.9%", "Scrap rate") in html
    # The comparison in words.
    assert "2025-10-01 to 2025-12-31 against this report's 2026-01-01 to 2026-03-31." in html
    change = '<td data-label="Change">{}</td>\n              <td data-label="Verdict" class="{}">'
    assert change.format("10.0% lower", "better") + "Better</td>" in html
    assert change.format("6.9% higher", "worse") + "Worse</td>" in html
    # Four charts, each followed by its table.
    assert html.count('<svg class="chart"') == 4
    for chart, table in (("emissions", "months"), ("intensity", "products"),
                         ("energy", "machines"), ("materials", "materials")):  # fmt: skip
        assert html.index(f'id="chart-{chart}"') < html.index(f'id="table-{table}"')
    assert '<td data-label="Total kgCO2e" class="num" id="table-total">360.000</td>' in html
    assert f'{DASH} <span class="muted">(no good units)</span>' in html
    assert '<td data-label="Measured share" class="num">20.2%</td>' in html
    # Sites, methodology with every factor, data quality.
    assert '<td data-label="Grid kgCO2e/kWh" class="num">0.3809</td>' in html
    assert html.count('<td data-label="Kind">') == 3
    source = "DEFRA 2025 material use, PET incl. forming"
    assert f'<td data-label="Source" class="source">{source}</td>' in html
    assert '<td data-label="Year">n.d.</td>' in html
    assert '<span class="chip status-estimated">Proxy</span>' in html
    assert '<span class="chip status-queued">Site override</span>' in html
    assert "<li>Energy of 2 machines estimated from rated power.</li>" in html
    assert "Avoided transport is shown separately and never subtracted." in html
    # Downloads, but no button to ask again for a viewer.
    for name in ("report-csv", "report-json", "report-pdf"):
        assert f'href="{_url(name, report)}" download>' in html
    assert "Make it again" not in html
    assert "<script>" not in html  # no inline script


def test_the_htmx_report_page_returns_only_the_report(client, tenant, report_document):
    _login(client, tenant)
    report = _report(tenant, report_document)

    response = client.get(_url("report-detail", report), headers=HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="report">')
    assert html.count('<svg class="chart"') == 4


def test_a_running_report_shows_its_progress_and_polls_until_it_is_ready(
    client, tenant, report_document
):
    _login(client, tenant)
    report = _report(
        tenant, status="running", progress=60, progress_note="Materials", data={}, finished_at=None
    )
    url = _url("report-detail", report)

    html = client.get(url).content.decode()

    assert f'<div id="report" hx-get="{url}" hx-trigger="every 1s" hx-swap="outerHTML">' in html
    progress = '<progress value="60" max="100" aria-label="Progress of the report">60%</progress>'
    assert progress in html
    assert '<span class="chip status-running">Running</span> Materials' in html
    assert "Download" not in html
    for name in ("report-csv", "report-json", "report-pdf"):
        assert client.get(_url(name, report)).status_code == 404

    _reports(tenant).filter(pk=report.pk).update(status="succeeded", data=report_document)
    html = client.get(url, headers=HTMX).content.decode()

    assert html.lstrip().startswith('<div id="report">')  # polling stops
    assert "every 1s" not in html
    assert "Download PDF</a>" in html


def test_a_failed_report_says_why_and_has_no_downloads(client, tenant):
    _login(client, tenant, "viewer")
    report = _report(tenant, status="failed", error="ValueError: no grid factor", data={})

    html = client.get(_url("report-detail", report)).content.decode()

    assert '<span class="chip status-failed">Failed</span> ValueError: no grid factor' in html
    assert "An owner or a manager can ask for it again." in html
    assert "Download" not in html
    assert client.get(_url("report-json", report)).status_code == 404


# --- downloads -------------------------------------------------------------------------------
def test_the_downloads_are_attachments_of_their_type(client, tenant, report_document):
    _login(client, tenant, "viewer")
    report = _report(tenant, report_document)
    name = "mfapp-report-acme-2026-01-01-2026-03-31"

    csv_response = client.get(_url("report-csv", report))
    json_response = client.get(_url("report-json", report))
    pdf_response = client.get(_url("report-pdf", report))

    assert (csv_response.status_code, csv_response["Content-Type"]) == (
        200,
        "text/csv; charset=utf-8",
    )
    assert csv_response["Content-Disposition"] == f'attachment; filename="{name}.csv"'
    assert csv_response.content.decode().startswith("section,key,name,metric,value,unit\r\n")
    assert json_response["Content-Type"] == "application/json"
    assert json_response["Content-Disposition"] == f'attachment; filename="{name}.json"'
    assert json.loads(json_response.content) == report_document
    assert pdf_response["Content-Type"] == "application/pdf"
    assert pdf_response["Content-Disposition"] == f'attachment; filename="{name}.pdf"'
    assert pdf_response.content.startswith(b"%PDF-")


def test_the_three_downloads_of_a_generated_report_agree_on_the_totals(
    client, tenant, eager_tasks, django_capture_on_commit_callbacks
):
    with_settings(tenant)
    build_world(tenant)
    _login(client, tenant, "owner")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(REQUEST, {"period": "custom", "start": "2026-01-01", "end": "2026-01-31"})
    report = _reports(tenant).get()

    from_json = json.loads(client.get(_url("report-json", report)).content)["totals"]
    rows = csv.DictReader(io.StringIO(client.get(_url("report-csv", report)).content.decode()))
    from_csv = {r["metric"]: float(r["value"]) for r in rows if r["section"] == "totals"}
    pdf = client.get(_url("report-pdf", report)).content

    assert from_json["total_kgco2e"] == 14.091
    assert from_csv == from_json
    assert pdf.startswith(b"%PDF-")
    # The PDF laid out from the same stored document carries the same totals, to the gram.
    from mfapp.sustainability.exports import report_pdf_layout

    text = " ".join(pdf_pages_text(report_pdf_layout(report.data)))
    assert "Period 4.805 1.830 1.830 12.017 0.244 14.091 18" in text
    assert "Avoided transport (separate, not subtracted) 0.713 kgCO2e" in text

"""Sustainability reports in the browser: the list with the form to ask for one (its row polls
the report's progress), the report page (key figures, comparison, four server-drawn charts each
with its table, sites, methodology and data quality) and the CSV, JSON and PDF downloads.

Every member reads; asking for a report needs "reports.request" (owners and managers). The
page and the downloads read only the stored document (`report.data`), so what a person sees,
the API and the three downloads carry the same numbers."""

from datetime import date, timedelta

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from mfapp.core.exceptions import ApplicationError, NotFound
from mfapp.core.web import TenantHtmxRequest, form_errors_from, htmx_partial, member_view
from mfapp.sustainability.charts import report_view
from mfapp.sustainability.exports import download_filename, report_csv, report_json, report_pdf
from mfapp.sustainability.models import SustainabilityReport
from mfapp.sustainability.selectors import report_get, report_list
from mfapp.sustainability.services import report_request
from mfapp.tenancy.models import Tenant
from mfapp.tenancy.selectors import site_list

LIST_PAGE = "sustainability/report_list.html"
DETAIL_PAGE = "sustainability/report_detail.html"
PER_PAGE = 25
Status = SustainabilityReport.Status


class ReportRequestForm(forms.Form):
    PRESETS = (
        ("last_month", "Last month"),
        ("last_3_months", "Last 3 months"),
        ("this_year", "This year so far"),
        ("custom", "Custom period"),
    )

    period = forms.ChoiceField(choices=PRESETS, initial="last_month", widget=forms.RadioSelect)
    start = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), help_text="Custom only."
    )
    end = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Custom only; the day is included.",
    )
    site = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="All sites (the whole business)"
    )
    return_to = forms.ChoiceField(
        choices=(("list", "list"), ("detail", "detail")),
        required=False,
        widget=forms.HiddenInput,
    )

    def __init__(self, *args, tenant: Tenant, today: date, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = site_list(tenant=tenant)
        self.today = today

    def clean(self) -> dict:
        data = super().clean()
        preset = data.get("period")
        if preset == "custom":
            for name in ("start", "end"):
                if data.get(name) is None and name not in self.errors:
                    self.add_error(name, "Give a date for a custom period.")
        elif preset:
            data["start"], data["end"] = preset_period(preset, self.today)
        return data


def preset_period(preset: str, today: date) -> tuple[date, date]:
    """The inclusive period of a preset: whole calendar months before this one, or this year
    up to today."""
    last_month_end = today.replace(day=1) - timedelta(days=1)
    if preset == "last_month":
        return last_month_end.replace(day=1), last_month_end
    if preset == "last_3_months":
        first = last_month_end.replace(day=1)
        for _ in range(2):
            first = (first - timedelta(days=1)).replace(day=1)
        return first, last_month_end
    return date(today.year, 1, 1), today


def _list_context(request: TenantHtmxRequest, form: ReportRequestForm) -> dict:
    page = Paginator(report_list(tenant=request.tenant), PER_PAGE).get_page(request.GET.get("page"))
    return {"form": form, "page": page, "reports": page.object_list}


@require_GET
@member_view()
def report_list_view(request: TenantHtmxRequest) -> HttpResponse:
    form = ReportRequestForm(tenant=request.tenant, today=request.tenant.today())
    context = _list_context(request, form)
    return render(request, htmx_partial(request, LIST_PAGE, "reports"), context)


@require_POST
@member_view("reports.request")
def report_request_view(request: TenantHtmxRequest) -> HttpResponse:
    """Queue the report of a period (refreshing it if it exists). Without JavaScript the answer
    redirects back; with htmx it is the list again, the new row polling its progress."""
    form = ReportRequestForm(request.POST, tenant=request.tenant, today=request.tenant.today())
    if form.is_valid():
        try:
            report = report_request(
                actor=request.actor,
                start=form.cleaned_data["start"],
                end=form.cleaned_data["end"],
                site=form.cleaned_data["site"],
                requested_by=request.user,
            )
        except ApplicationError as exc:
            form_errors_from(form, exc)
        else:
            if form.cleaned_data.get("return_to") == "detail":
                messages.success(request, "The report is being made again.")
                return HttpResponseRedirect(
                    reverse("sustainability:report-detail", args=[report.pk])
                )
            if not request.htmx:
                messages.success(
                    request, "Report requested. It appears in the list below when it is ready."
                )
                return HttpResponseRedirect(reverse("sustainability:report-list"))
            form = ReportRequestForm(tenant=request.tenant, today=request.tenant.today())
            context = {**_list_context(request, form), "requested": report.pk}
            return render(request, f"{LIST_PAGE}#reports", context)
    template = f"{LIST_PAGE}#reports" if request.htmx else LIST_PAGE
    return render(request, template, _list_context(request, form), status=400)


@require_GET
@member_view()
def report_row_view(request: TenantHtmxRequest, report_id: int) -> HttpResponse:
    """One row of the list; polled every second while its report is queued or running."""
    report = report_get(tenant=request.tenant, report_id=report_id)
    return render(request, f"{LIST_PAGE}#row", {"report": report})


@require_GET
@member_view()
def report_detail_view(request: TenantHtmxRequest, report_id: int) -> HttpResponse:
    report = report_get(tenant=request.tenant, report_id=report_id)
    context: dict = {"report": report, "today": request.tenant.today()}
    if report.status == Status.SUCCEEDED and report.data:
        context.update(document=report.data, **report_view(report.data))
    return render(request, htmx_partial(request, DETAIL_PAGE, "report"), context)


def _document(request: TenantHtmxRequest, report_id: int) -> dict:
    report = report_get(tenant=request.tenant, report_id=report_id)
    if report.status != Status.SUCCEEDED or not report.data:
        # Nothing to download yet: the page shows the progress (or the error) instead.
        raise NotFound("This report has no downloads until it has been made.")
    return report.data


def _attachment(content: bytes | str, content_type: str, filename: str) -> HttpResponse:
    return HttpResponse(
        content,
        content_type=content_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@require_GET
@member_view()
def report_csv_view(request: TenantHtmxRequest, report_id: int) -> HttpResponse:
    document = _document(request, report_id)
    return _attachment(
        report_csv(document), "text/csv; charset=utf-8", download_filename(document, "csv")
    )


@require_GET
@member_view()
def report_json_view(request: TenantHtmxRequest, report_id: int) -> HttpResponse:
    document = _document(request, report_id)
    return _attachment(
        report_json(document), "application/json", download_filename(document, "json")
    )


@require_GET
@member_view()
def report_pdf_view(request: TenantHtmxRequest, report_id: int) -> HttpResponse:
    document = _document(request, report_id)
    return _attachment(report_pdf(document), "application/pdf", download_filename(document, "pdf"))

"""The plan in the browser: a Gantt chart per site and the Re-plan button with its progress."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from mfapp.core.web import TenantHtmxRequest, cached_fragment, htmx_partial, member_view
from mfapp.machines.selectors import machine_list
from mfapp.scheduling.gantt import DEFAULT_DAYS, WINDOW_DAYS, build_chart, window_start
from mfapp.scheduling.models import ScheduleRun
from mfapp.scheduling.selectors import (
    plan_maintenance_windows,
    plan_operations,
    schedule_run_get,
    schedule_run_latest_for_site,
    unplanned_operation_count,
)
from mfapp.scheduling.services import schedule_run_request
from mfapp.tenancy.models import Site
from mfapp.tenancy.selectors import site_get, site_list

PAGE = "scheduling/gantt.html"
# Figures compared before/after a run: (label, attribute, unit, True when lower is better).
FIGURES = (
    ("Tardy orders", "tardy_orders", "", True),
    ("Total tardiness", "total_tardiness_minutes", "min", True),
    ("Makespan", "makespan_minutes", "min", True),
    ("Utilisation", "utilisation_percent", "%", False),
)


@require_GET
@member_view()
def plan_view(request: TenantHtmxRequest) -> HttpResponse:
    """The plan of the first site; a business without sites is told how to add one."""
    site = site_list(tenant=request.tenant).first()
    if site is None:
        return render(request, "scheduling/no_sites.html")
    return HttpResponseRedirect(reverse("scheduling:gantt", args=[site.pk]))


def _window(request: TenantHtmxRequest, site: Site) -> tuple[date, int]:
    try:
        days = int(request.GET.get("days", DEFAULT_DAYS))
    except ValueError:
        days = DEFAULT_DAYS
    if days not in WINDOW_DAYS:
        days = DEFAULT_DAYS
    today = timezone.now().astimezone(ZoneInfo(site.timezone)).date()
    try:
        first_day = date.fromisoformat(request.GET.get("from", ""))
    except ValueError:
        first_day = today
    return first_day, days


@require_GET
@member_view()
def gantt_view(request: TenantHtmxRequest, site_id: int) -> HttpResponse:
    site = site_get(tenant=request.tenant, site_id=site_id)
    first_day, days = _window(request, site)
    now = timezone.now().replace(second=0, microsecond=0)  # the chart is as of the minute
    # The plan as a table comes when its disclosure is opened (htmx), or inline with ?table=1;
    # the chart's own refresh (target #chart) is the chart, table or not.
    table = request.GET.get("table") == "1"
    partial = "table" if table and request.htmx and request.htmx.target != "chart" else "chart"
    # A busy site's chart is thousands of bars: rendered once per minute and data version.
    chart = cached_fragment(
        request,
        template=f"{PAGE}#{partial}",
        parts=(request.get_full_path(), now),
        context=lambda: _chart_context(request, site, first_day, days, now, table=table),
    )
    if htmx_partial(request, PAGE, partial) != PAGE:
        return HttpResponse(chart)
    run = _shown_run(request, site)
    context = {
        "site": site,
        "sites": site_list(tenant=request.tenant),
        "chart_html": chart,
        **_run_context(run),
    }
    return render(request, PAGE, context)


def _chart_context(
    request: TenantHtmxRequest,
    site: Site,
    first_day: date,
    days: int,
    now: datetime,
    *,
    table: bool,
) -> dict:
    start = window_start(site=site, first_day=first_day)
    end = start + timedelta(days=days)
    query = request.GET.copy()
    query["table"] = "1"
    return {
        # The table repeats every bar: half a busy chart's page, so it is sent when asked for.
        "show_table": table,
        "table_url": f"?{query.urlencode()}",
        "site": site,
        "chart": build_chart(
            site=site,
            machines=machine_list(tenant=request.tenant, site_id=site.pk),
            operations=plan_operations(site=site, start=start, end=end),
            maintenance=plan_maintenance_windows(site=site, start=start, end=end),
            start=start,
            days=days,
            now=now,
        ),
        "days": days,
        "window_days": WINDOW_DAYS,
        "first_day": first_day,
        "previous_day": first_day - timedelta(days=days),
        "next_day": first_day + timedelta(days=days),
        "today": now.astimezone(ZoneInfo(site.timezone)).date(),
        "unplanned": unplanned_operation_count(site=site),
    }


def _shown_run(request: TenantHtmxRequest, site: Site) -> ScheduleRun | None:
    """The run named in the query string (after a Re-plan without JavaScript), else the site's
    latest run."""
    if "run" in request.GET:
        run = schedule_run_get(tenant=request.tenant, run_id=request.GET["run"])
        if run.site_id == site.pk:
            return run
    return schedule_run_latest_for_site(site=site)


def _run_context(run: ScheduleRun | None) -> dict:
    if run is None:
        return {"run": None, "figures": []}
    previous = run.previous_run
    figures = []
    for label, attribute, unit, lower_is_better in FIGURES:
        new = getattr(run, attribute)
        old = getattr(previous, attribute) if previous is not None else None
        verdict = ""
        if new is not None and old is not None and new != old:
            verdict = "better" if (new < old) == lower_is_better else "worse"
        figures.append({"label": label, "new": new, "old": old, "unit": unit, "verdict": verdict})
    return {
        "run": run,
        "figures": figures,
        "run_active": run.status in (ScheduleRun.Status.QUEUED, ScheduleRun.Status.RUNNING),
    }


@require_POST
@member_view("batches.manage")
def replan_view(request: TenantHtmxRequest, site_id: int) -> HttpResponse:
    site = site_get(tenant=request.tenant, site_id=site_id)
    run = schedule_run_request(actor=request.actor, site=site, requested_by=request.user)
    if not request.htmx:
        messages.success(request, "Re-plan requested. Reload the page to see its progress.")
        return HttpResponseRedirect(f"{reverse('scheduling:gantt', args=[site.pk])}?run={run.pk}")
    run = schedule_run_get(tenant=request.tenant, run_id=run.pk)  # eager mode ran it already
    return _run_partial(request, site, run)


@require_GET
@member_view()
def run_status_view(request: TenantHtmxRequest, site_id: int, run_id: int) -> HttpResponse:
    """The run's progress; polled by the page while it is queued or running."""
    site = site_get(tenant=request.tenant, site_id=site_id)
    run = schedule_run_get(tenant=request.tenant, run_id=run_id)
    if run.site_id != site.pk:
        raise Http404("Schedule run not found.")
    return _run_partial(request, site, run)


@require_GET
@member_view()
def run_latest_view(request: TenantHtmxRequest, site_id: int) -> HttpResponse:
    """Polled every few seconds while the page is idle, so a plan made elsewhere (an order
    confirmed, a machine down) shows up: `shown` is the run the page displays."""
    site = site_get(tenant=request.tenant, site_id=site_id)
    run = schedule_run_latest_for_site(site=site)
    shown = request.GET.get("shown", "")
    if run is None or str(run.pk) == shown:
        return HttpResponse(status=204)  # nothing new: htmx leaves the page alone
    return _run_partial(request, site, run)


def _run_partial(request: TenantHtmxRequest, site: Site, run: ScheduleRun) -> HttpResponse:
    context = {"site": site, **_run_context(run)}
    response = render(request, f"{PAGE}#run", context)
    if run.status == ScheduleRun.Status.SUCCEEDED:
        # The chart reloads itself once the new plan is saved.
        trigger_client_event(response, "planChanged")
    return response

"""The dashboard: the active tenant at a glance (work in progress, orders due and late,
on-time delivery, machines and today's utilisation). The figures refresh every minute through
the `dashboard` partial."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from mfapp.core.web import TenantHtmxRequest, htmx_partial, member_view
from mfapp.dashboard.selectors import (
    ON_TIME_DAYS,
    batch_figures,
    latest_co2e_per_unit,
    machine_figures,
    machines_today,
    order_figures,
)

TEMPLATE = "dashboard/home.html"


@require_GET
@vary_on_headers("HX-Request")
@login_required
def home_view(request: HttpRequest) -> HttpResponse:
    """The home page. A login that belongs to no business is told what to do (member views
    redirect here in that case, so this one cannot simply be a member view)."""
    if request.tenant is None:  # type: ignore[attr-defined]
        return render(request, TEMPLATE)
    return _dashboard_view(request)


@member_view()
def _dashboard_view(request: TenantHtmxRequest) -> HttpResponse:
    tenant = request.actor.tenant
    now = timezone.now()
    sites = machines_today(tenant=tenant, now=now)
    context = {
        "batches": batch_figures(tenant=tenant),
        "orders": order_figures(tenant=tenant, now=now),
        "on_time_days": ON_TIME_DAYS,
        "machines": machine_figures(sites),
        "sites": sites,
        "co2e": latest_co2e_per_unit(tenant=tenant),
    }
    return render(request, htmx_partial(request, TEMPLATE, "dashboard"), context)

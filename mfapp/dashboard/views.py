"""The dashboard: the active tenant at a glance (work in progress, orders due and late,
on-time delivery, machines and today's utilisation). The figures refresh every minute through
the `dashboard` partial."""

from datetime import datetime
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from mfapp.core.web import TenantHtmxRequest, cached_fragment, htmx_partial, member_view
from mfapp.dashboard.selectors import (
    ON_TIME_DAYS,
    batch_figures,
    latest_co2e_per_unit,
    machine_figures,
    machines_today,
    order_figures,
)
from mfapp.tenancy.models import Tenant

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
    # The figures are as of the minute (the page refreshes every minute), and cached until
    # the minute turns or the tenant's data changes.
    now = timezone.now().replace(second=0, microsecond=0)
    figures = cached_fragment(
        request,
        template=f"{TEMPLATE}#dashboard",
        parts=now,
        context=lambda: _figures(tenant, now),
    )
    if htmx_partial(request, TEMPLATE, "dashboard") != TEMPLATE:  # the minute's refresh
        return HttpResponse(figures)
    return render(request, TEMPLATE, {"dashboard": figures})


def _figures(tenant: Tenant, now: datetime) -> dict[str, Any]:
    sites = machines_today(tenant=tenant, now=now)
    return {
        "batches": batch_figures(tenant=tenant),
        "orders": order_figures(tenant=tenant, now=now),
        "on_time_days": ON_TIME_DAYS,
        "machines": machine_figures(sites),
        "sites": sites,
        "co2e": latest_co2e_per_unit(tenant=tenant),
    }

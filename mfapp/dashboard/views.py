"""The dashboard: the active tenant at a glance."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from mfapp.machines.models import Machine
from mfapp.machines.selectors import machine_list
from mfapp.orders.models import Order
from mfapp.orders.selectors import order_status_counts
from mfapp.production.models import Batch
from mfapp.production.selectors import batch_status_counts
from mfapp.tenancy.selectors import site_list


def _with_counts(choices: type, counts: dict[str, int]) -> list[tuple[str, str, int]]:
    return [(value, label, counts.get(value, 0)) for value, label in choices.choices]


@login_required
def home_view(request: HttpRequest) -> HttpResponse:
    """The active tenant at a glance: sites and machine status, orders and batches by status."""
    tenant = request.tenant  # type: ignore[attr-defined]
    context = {}
    if tenant is not None:
        machines = list(machine_list(tenant=tenant))
        context = {
            "sites": [
                (site, [m for m in machines if m.site_id == site.pk])
                for site in site_list(tenant=tenant)
            ],
            "machine_statuses": Machine.Status,
            "orders_by_status": _with_counts(Order.Status, order_status_counts(tenant=tenant)),
            "batches_by_status": _with_counts(Batch.Status, batch_status_counts(tenant=tenant)),
        }
    return render(request, "dashboard/home.html", context)

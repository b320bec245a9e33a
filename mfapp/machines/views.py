"""Machines in the browser: the machines of every site with their live status, the inline
status change, a machine's page with its maintenance windows, and adding or editing machines.

Reading needs only membership; changing a status needs `machines.change_status` (operators
too); machines and maintenance windows need `machines.manage`. The services check again and
trigger the re-plan when a status changes or maintenance is planned.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from mfapp.audit.models import AuditEvent
from mfapp.catalog.capabilities import Capability
from mfapp.core.exceptions import ApplicationError, NotFound, PermissionDenied
from mfapp.core.web import TenantHtmxRequest, form_errors_from, htmx_partial, member_view
from mfapp.machines.forms import MachineForm, MachineStatusForm, MaintenanceWindowForm
from mfapp.machines.models import Machine, MaintenanceWindow
from mfapp.machines.selectors import (
    MACHINES_SHOWN,
    machine_get,
    machine_get_with_activity,
    machine_list_with_activity,
    machine_maintenance_windows,
    machine_status_history,
    maintenance_window_get,
)
from mfapp.machines.services import (
    machine_change_status,
    machine_create,
    machine_delete,
    machine_update,
    maintenance_window_create,
    maintenance_window_delete,
)
from mfapp.tenancy.models import Site
from mfapp.tenancy.selectors import site_list

LIST_TEMPLATE = "machines/machine_list.html"
DETAIL_TEMPLATE = "machines/machine_detail.html"
FORM_TEMPLATE = "machines/machine_form.html"
CAPABILITY_LABELS = dict(Capability.choices)
STATUS_LABELS = dict(Machine.Status.choices)


@dataclass
class MachineRow:
    """One machine as the pages show it, with its inline status form."""

    machine: Machine
    form: MachineStatusForm
    open: bool = False  # the status form is shown unfolded (it has errors)

    @property
    def capability_labels(self) -> list[str]:
        return [CAPABILITY_LABELS.get(code, code) for code in self.machine.capabilities]

    @property
    def next_window(self) -> MaintenanceWindow | None:
        """The maintenance going on now or coming next (from `machine_list_with_activity`)."""
        windows = getattr(self.machine, "upcoming_windows", [])
        return windows[0] if windows else None

    @property
    def in_maintenance_window(self) -> bool:
        window = self.next_window
        return window is not None and window.starts_at <= timezone.now()


@dataclass
class StatusChange:
    """One line of a machine's status history, read from its audit event."""

    at: datetime
    before: str
    after: str
    after_label: str
    reason: str
    by: str

    @classmethod
    def from_event(cls, event: AuditEvent) -> "StatusChange":
        before = str(event.before.get("status", ""))
        after = str(event.after.get("status", ""))
        return cls(
            at=event.created_at,
            before=STATUS_LABELS.get(before, before),
            after=after,
            after_label=STATUS_LABELS.get(after, after),
            reason=str(event.after.get("status_reason") or ""),
            by=event.actor_label,
        )


@dataclass
class SiteSection:
    site: Site
    rows: list[MachineRow] = field(default_factory=list)


def _row(machine: Machine, form: MachineStatusForm | None = None) -> MachineRow:
    if form is None:
        return MachineRow(machine, MachineStatusForm(machine=machine))
    return MachineRow(machine, form, open=True)


# --- the list ----------------------------------------------------------------------------------
def _list_context(
    request: TenantHtmxRequest, forms: dict[int, MachineStatusForm] | None = None
) -> dict[str, Any]:
    forms = forms or {}
    sections = {site.pk: SiteSection(site) for site in site_list(tenant=request.tenant)}
    machines = list(machine_list_with_activity(tenant=request.tenant)[: MACHINES_SHOWN + 1])
    for machine in machines[:MACHINES_SHOWN]:
        sections[machine.site_id].rows.append(_row(machine, forms.get(machine.pk)))
    return {
        "sections": list(sections.values()),
        "machine_count": sum(len(section.rows) for section in sections.values()),
        "machines_shown": MACHINES_SHOWN,
        "more_machines": len(machines) > MACHINES_SHOWN,
    }


@member_view()
@require_GET
def machine_list_view(request: TenantHtmxRequest) -> HttpResponse:
    """Every site with its machines; htmx polls the board so changes elsewhere show up."""
    return render(request, htmx_partial(request, LIST_TEMPLATE, "board"), _list_context(request))


@member_view("machines.change_status")
@require_POST
def machine_change_status_view(request: TenantHtmxRequest, machine_id: int) -> HttpResponse:
    """Available, maintenance or down with a reason. With htmx the changed row (or the status
    part of the machine's page) comes back and `machineChanged` refreshes the rest."""
    machine = machine_get(tenant=request.tenant, machine_id=machine_id)
    on_detail = request.POST.get("return_to") == "detail"
    form = MachineStatusForm(request.POST, machine=machine)
    if form.is_valid():
        try:
            machine = machine_change_status(
                actor=request.actor, machine=machine, **form.cleaned_data
            )
        except (NotFound, PermissionDenied):
            raise
        except ApplicationError as exc:
            form_errors_from(form, exc)
    if form.errors:
        return _status_refused(request, machine_id, form, on_detail=on_detail)
    machine = machine_get_with_activity(tenant=request.tenant, machine_id=machine_id)
    if not request.htmx:
        messages.success(request, f"{machine.name} is now {machine.get_status_display().lower()}.")
        if on_detail:
            return HttpResponseRedirect(reverse("machines:machine-detail", args=[machine.pk]))
        return HttpResponseRedirect(f"{reverse('machines:machine-list')}#machine-{machine.pk}")
    if on_detail:
        response = render(request, f"{DETAIL_TEMPLATE}#status", _detail_context(request, machine))
    else:
        response = render(request, f"{LIST_TEMPLATE}#row", {"row": _row(machine)})
    return trigger_client_event(
        response, "machineChanged", {"id": machine.pk, "status": machine.status}, after="settle"
    )


def _status_refused(
    request: TenantHtmxRequest, machine_id: int, form: MachineStatusForm, *, on_detail: bool
) -> HttpResponse:
    """400 with the form and its errors: the row or status part for htmx, else the page."""
    machine = machine_get_with_activity(tenant=request.tenant, machine_id=machine_id)
    if on_detail:
        context = _detail_context(request, machine, status_form=form)
        template = htmx_partial(request, DETAIL_TEMPLATE, "status")
    elif request.htmx:
        context, template = {"row": _row(machine, form)}, f"{LIST_TEMPLATE}#row"
    else:
        context, template = _list_context(request, {machine.pk: form}), LIST_TEMPLATE
    return render(request, template, context, status=400)


# --- one machine -------------------------------------------------------------------------------
def _detail_context(
    request: TenantHtmxRequest,
    machine: Machine,
    *,
    status_form: MachineStatusForm | None = None,
    window_form: MaintenanceWindowForm | None = None,
) -> dict[str, Any]:
    tenant = request.tenant
    upcoming, past = machine_maintenance_windows(tenant=tenant, machine_id=machine.pk)
    history = machine_status_history(tenant=tenant, machine_id=machine.pk)
    row = _row(machine, status_form)
    return {
        "machine": machine,
        "row": row,
        "capability_labels": row.capability_labels,
        "history": [StatusChange.from_event(event) for event in history],
        "upcoming_windows": upcoming,
        "past_windows": past,
        "window_form": window_form or MaintenanceWindowForm(),
    }


@member_view()
@require_GET
def machine_detail_view(request: TenantHtmxRequest, machine_id: int) -> HttpResponse:
    """A machine's facts, status and history, and its maintenance windows."""
    machine = machine_get_with_activity(tenant=request.tenant, machine_id=machine_id)
    return render(
        request, htmx_partial(request, DETAIL_TEMPLATE, "status"), _detail_context(request, machine)
    )


@member_view("machines.manage")
@require_POST
def maintenance_window_create_view(request: TenantHtmxRequest, machine_id: int) -> HttpResponse:
    """Plan maintenance (times in the site's time zone); the service re-plans the site."""
    machine = machine_get_with_activity(tenant=request.tenant, machine_id=machine_id)
    form = MaintenanceWindowForm(request.POST)
    with timezone.override(machine.site.timezone):  # typed times are the site's local times
        valid = form.is_valid()
    if valid:
        try:
            maintenance_window_create(actor=request.actor, machine=machine, **form.cleaned_data)
        except (NotFound, PermissionDenied):
            raise
        except ApplicationError as exc:
            form_errors_from(form, exc)
    if form.errors:
        context = _detail_context(request, machine, window_form=form)
        template = htmx_partial(request, DETAIL_TEMPLATE, "maintenance")
        return render(request, template, context, status=400)
    if not request.htmx:
        messages.success(request, "Maintenance planned; the site's plan is being updated.")
        return HttpResponseRedirect(reverse("machines:machine-detail", args=[machine.pk]))
    response = render(request, f"{DETAIL_TEMPLATE}#maintenance", _detail_context(request, machine))
    return trigger_client_event(response, "maintenanceChanged", {"id": machine.pk})


@member_view("machines.manage")
@require_POST
def maintenance_window_delete_view(
    request: TenantHtmxRequest, machine_id: int, window_id: int
) -> HttpResponse:
    machine = machine_get_with_activity(tenant=request.tenant, machine_id=machine_id)
    window = maintenance_window_get(tenant=request.tenant, window_id=window_id)
    if window.machine_id != machine.pk:
        raise NotFound("Maintenance window not found.")
    refusal = ""
    try:
        maintenance_window_delete(actor=request.actor, window=window)
    except (NotFound, PermissionDenied):
        raise
    except ApplicationError as exc:
        refusal = exc.message
    if not request.htmx:
        if refusal:
            messages.error(request, refusal)
        else:
            messages.success(request, "Maintenance window deleted.")
        return HttpResponseRedirect(reverse("machines:machine-detail", args=[machine.pk]))
    context = {**_detail_context(request, machine), "maintenance_error": refusal}
    response = render(request, f"{DETAIL_TEMPLATE}#maintenance", context)
    if refusal:
        response.status_code = 400
        return response
    return trigger_client_event(response, "maintenanceChanged", {"id": machine.pk})


# --- adding, editing and deleting machines -----------------------------------------------------
@member_view("machines.manage")
@require_http_methods(["GET", "POST"])
def machine_create_view(request: TenantHtmxRequest) -> HttpResponse:
    sites = list(site_list(tenant=request.tenant))
    initial: dict[str, Any] = {"site": request.GET.get("site") or (sites[0].pk if sites else None)}
    form = MachineForm(request.POST or None, sites=sites, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        site_id = data.pop("site")
        try:
            machine = machine_create(actor=request.actor, site_id=site_id, **data)
        except PermissionDenied:
            raise
        except ApplicationError as exc:  # a site deleted meanwhile is a form error too
            form_errors_from(form, exc)
        else:
            messages.success(request, f"{machine.name} added.")
            return HttpResponseRedirect(reverse("machines:machine-detail", args=[machine.pk]))
    return render(
        request,
        FORM_TEMPLATE,
        {"form": form, "machine": None, "sites": sites},
        status=400 if form.errors else 200,
    )


@member_view("machines.manage")
@require_http_methods(["GET", "POST"])
def machine_update_view(request: TenantHtmxRequest, machine_id: int) -> HttpResponse:
    machine = machine_get(tenant=request.tenant, machine_id=machine_id)
    form = MachineForm(request.POST or None, initial=MachineForm.initial_from(machine))
    if request.method == "POST" and form.is_valid():
        changed = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            if changed:
                machine = machine_update(actor=request.actor, machine=machine, **changed)
        except (NotFound, PermissionDenied):
            raise
        except ApplicationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, f"{machine.name} saved." if changed else "Nothing changed.")
            return HttpResponseRedirect(reverse("machines:machine-detail", args=[machine.pk]))
    return render(
        request,
        FORM_TEMPLATE,
        {"form": form, "machine": machine},
        status=400 if form.errors else 200,
    )


@member_view("machines.manage")
@require_POST
def machine_delete_view(request: TenantHtmxRequest, machine_id: int) -> HttpResponse:
    machine = machine_get(tenant=request.tenant, machine_id=machine_id)
    detail = reverse("machines:machine-detail", args=[machine.pk])
    try:
        machine_delete(actor=request.actor, machine=machine)
    except (NotFound, PermissionDenied):
        raise
    except ApplicationError as exc:  # it ran operations: history keeps it
        messages.error(request, exc.message)
        return HttpResponseClientRedirect(detail) if request.htmx else HttpResponseRedirect(detail)
    messages.success(request, f"{machine.name} deleted.")
    target = reverse("machines:machine-list")
    return HttpResponseClientRedirect(target) if request.htmx else HttpResponseRedirect(target)

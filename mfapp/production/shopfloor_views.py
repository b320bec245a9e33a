"""The shop floor: an overview tile per machine, and a touch page per machine where operators
start, pause, resume and finish operations with their good and scrap quantities.

Both pages refresh themselves by polling their own partial every 5 s with the fingerprint of
what they show (`?version=...`, see `shopfloor_selectors.fingerprint`). When nothing changed the
answer is 204 No Content, which htmx does not swap, so an operator's half-typed quantities stay
put; otherwise the fresh partial replaces the region and carries the new fingerprint. One
request per poll, no separate version endpoint, and no JavaScript needed for it.
"""

from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from mfapp.core.exceptions import ApplicationError, Conflict, NotFound, PermissionDenied
from mfapp.core.web import TenantHtmxRequest, form_errors_from, htmx_partial, member_view
from mfapp.machines.models import Machine
from mfapp.machines.selectors import machine_get
from mfapp.production.models import BatchOperation
from mfapp.production.selectors import operation_get
from mfapp.production.services import (
    operation_finish,
    operation_pause,
    operation_resume,
    operation_start,
)
from mfapp.production.shopfloor_forms import FinishForm, PauseForm
from mfapp.production.shopfloor_selectors import (
    MachineBoard,
    machine_board_get,
    shopfloor_overview_get,
)
from mfapp.tenancy.actors import Actor

LIST_TEMPLATE = "shopfloor/machine_list.html"
MACHINE_TEMPLATE = "shopfloor/machine.html"
FORMS: dict[str, type[forms.Form]] = {"pause": PauseForm, "finish": FinishForm}


def _unchanged(request: TenantHtmxRequest, version: str) -> bool:
    """A poll of a page whose content is still what the browser has."""
    return bool(request.htmx) and request.GET.get("version") == version


@member_view()
@require_GET
@vary_on_headers("HX-Request")
def machine_list_view(request: TenantHtmxRequest) -> HttpResponse:
    overview = shopfloor_overview_get(tenant=request.tenant)
    if _unchanged(request, overview.fingerprint):
        return HttpResponse(status=204)
    return render(request, htmx_partial(request, LIST_TEMPLATE, "tiles"), {"overview": overview})


@member_view()
@require_GET
@vary_on_headers("HX-Request")
def machine_view(request: TenantHtmxRequest, machine_id: int) -> HttpResponse:
    board = machine_board_get(tenant=request.tenant, machine_id=machine_id)
    if _unchanged(request, board.fingerprint):
        return HttpResponse(status=204)
    return _machine_page(request, board)


def _machine_page(
    request: TenantHtmxRequest,
    board: MachineBoard,
    *,
    bound: dict[str, forms.Form] | None = None,
    refusal: str = "",
    notice: str = "",
    status: int = 200,
) -> HttpResponse:
    """The machine page (its live partial for htmx), with the forms of the running operation:
    `bound` ones re-shown with their errors, fresh ones otherwise."""
    bound = bound or {}
    running = board.running
    # The good units proposed are those that reached the step; the operator corrects them.
    initial = {"quantity_good": running.units_in if running else None, "quantity_scrap": 0}
    context = {
        "board": board,
        "machine": board.machine,
        "finish_form": bound["finish"] if "finish" in bound else FinishForm(initial=initial),
        "pause_form": bound["pause"] if "pause" in bound else PauseForm(),
        "refusal": refusal,
        "notice": notice,
    }
    return render(request, htmx_partial(request, MACHINE_TEMPLATE, "live"), context, status=status)


def _start(actor: Actor, machine: Machine, operation: BatchOperation, form: None) -> str:
    operation = operation_start(actor=actor, operation=operation, machine_id=machine.pk)
    return f"Started {operation.name} of batch {operation.batch}."


def _pause(actor: Actor, machine: Machine, operation: BatchOperation, form: PauseForm) -> str:
    operation = operation_pause(actor=actor, operation=operation, reason=form.reason_text())
    return f"Paused {operation.name} of batch {operation.batch}."


def _resume(actor: Actor, machine: Machine, operation: BatchOperation, form: None) -> str:
    operation = operation_resume(actor=actor, operation=operation)
    return f"Resumed {operation.name} of batch {operation.batch}."


def _finish(actor: Actor, machine: Machine, operation: BatchOperation, form: FinishForm) -> str:
    good, scrap = form.cleaned_data["quantity_good"], form.cleaned_data["quantity_scrap"]
    operation = operation_finish(
        actor=actor, operation=operation, quantity_good=good, quantity_scrap=scrap
    )
    return f"Finished {operation.name} of batch {operation.batch}: {good} good, {scrap} scrap."


ACTIONS: dict[str, Callable[..., str]] = {
    "start": _start,
    "pause": _pause,
    "resume": _resume,
    "finish": _finish,
}


@member_view("operations.run")
@require_POST
def operation_action_view(
    request: TenantHtmxRequest, machine_id: int, operation_id: int, action: str
) -> HttpResponse:
    """Start (on this machine), pause, resume or finish an operation. With htmx the answer is
    the refreshed live partial (and an `operationChanged` event); without it, a redirect back
    to the machine page. Invalid input answers 400 with the form's errors, a refusal 409
    (conflicting state) or 400 with the service's message in large text."""
    if action not in ACTIONS:
        raise Http404("Unknown action.")
    actor = request.actor
    machine = machine_get(tenant=actor.tenant, machine_id=machine_id)
    operation = operation_get(tenant=actor.tenant, operation_id=operation_id)
    if action != "start" and operation.machine_id != machine.pk:
        raise NotFound("Operation not found.")  # it runs on another machine, if anywhere
    form = FORMS[action](request.POST) if action in FORMS else None
    if form is not None and not form.is_valid():
        board = machine_board_get(tenant=actor.tenant, machine_id=machine.pk)
        return _machine_page(request, board, bound={action: form}, status=400)
    try:
        done = ACTIONS[action](actor, machine, operation, form)
    except (NotFound, PermissionDenied):
        raise  # 404 / 403 through member_view
    except ApplicationError as exc:
        return _refused(request, machine, action, form, exc)
    if not request.htmx:
        messages.success(request, done)
        return HttpResponseRedirect(reverse("shopfloor:machine", args=[machine.pk]))
    board = machine_board_get(tenant=actor.tenant, machine_id=machine.pk)
    response = _machine_page(request, board, notice=done)
    return trigger_client_event(
        response,
        "operationChanged",
        {"operation": operation.pk, "machine": machine.pk, "action": action},
    )


def _refused(
    request: TenantHtmxRequest,
    machine: Machine,
    action: str,
    form: forms.Form | None,
    exc: ApplicationError,
) -> HttpResponse:
    """Nothing changed. Field problems go beside their inputs (and the page is re-shown, 400);
    anything else is said in large text: in the live partial for htmx, else as a message on
    the machine page after a redirect."""
    status = 409 if isinstance(exc, Conflict) else 400
    if form is not None and exc.extra.get("fields"):
        form_errors_from(form, exc)
        board = machine_board_get(tenant=request.tenant, machine_id=machine.pk)
        return _machine_page(request, board, bound={action: form}, refusal=exc.message, status=400)
    if not request.htmx:
        messages.error(request, exc.message)
        return HttpResponseRedirect(reverse("shopfloor:machine", args=[machine.pk]))
    board = machine_board_get(tenant=request.tenant, machine_id=machine.pk)
    return _machine_page(request, board, refusal=exc.message, status=status)

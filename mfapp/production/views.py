"""Batches in the browser: the board (columns by status, moves by button or drag and drop),
a batch's page (operations, quality checks, material consumption) and its printable traveller.

Views stay thin: selectors read, services decide (and check the role again). With htmx a move
answers the refreshed board (or batch page) and triggers `batchChanged`; without JavaScript it
redirects back with a message.
"""

from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from mfapp.catalog.selectors import material_list, product_get_with_recipe, product_list
from mfapp.core.exceptions import ApplicationError, NotFound, PermissionDenied
from mfapp.core.formatting import plain_decimal
from mfapp.core.web import (
    TenantHtmxRequest,
    cached_fragment,
    cached_fragments,
    can,
    form_errors_from,
    htmx_partial,
    id_urls,
    member_view,
)
from mfapp.production.forms import (
    BatchBoardFilterForm,
    BatchMoveForm,
    MaterialConsumptionForm,
    QualityCheckForm,
)
from mfapp.production.models import Batch, BatchOperation, QualityCheck
from mfapp.production.selectors import (
    batch_board_counts,
    batch_board_list,
    batch_detail_get,
    batch_get,
    quality_characteristics_for_product,
)
from mfapp.production.services import (
    BATCH_MOVES,
    batch_move,
    material_consumption_record,
    quality_check_record,
)
from mfapp.tenancy.models import Tenant
from mfapp.tenancy.selectors import site_list

B = Batch.Status
BOARD = "production/batch_board.html"
DETAIL = "production/batch_detail.html"
COLUMN_PAGE = "production/batch_column.html"
# Cards per open column; "Show more" appends as many again. A column of 50 cards made the board
# a 300 KiB page that took a tablet's browser as long to lay out as the server to render.
COLUMN_LIMIT = 25
MAX_OFFSET = 1_000_000  # beyond any column; keeps the number inside what the database takes
# Finished batches are history: the board shows the latest few, the batch pages keep the rest.
CLOSED_COLUMN_LIMIT = 10
DETAIL_TARGET = "batch-detail"  # the id the batch page's move buttons swap
RECORDING = (B.IN_PROGRESS, B.QUALITY_CHECK)  # when checks and consumption can be recorded
TRAVELLER_BLANK_ROWS = 3
MOVE_LABELS = {
    B.SCHEDULED: "Schedule",
    B.IN_PROGRESS: "Start",
    B.QUALITY_CHECK: "Send to quality check",
    B.COMPLETED: "Complete",
    B.CANCELLED: "Cancel",
}


def _moves(batch: Batch) -> list[tuple[str, str]]:
    return [(to, MOVE_LABELS[to]) for to in BATCH_MOVES[batch.status]]


def _due_date(batch: Batch) -> date | None:
    return batch.order_line.order.due_date if batch.order_line_id else None


def _with_displays(checks: list[QualityCheck]) -> list[QualityCheck]:
    for check in checks:
        check.target_display = plain_decimal(check.target)
        check.tolerance_display = plain_decimal(check.tolerance)
        check.measured_display = plain_decimal(check.measured)
    return checks


def _render_at_site(
    request: TenantHtmxRequest,
    batch: Batch,
    template: str,
    context: dict[str, Any],
    status: int = 200,
) -> HttpResponse:
    """Render with times shown in the batch's site's time zone."""
    with timezone.override(ZoneInfo(batch.site.timezone)):
        return render(request, template, context, status=status)


# --- the board -------------------------------------------------------------------------------
def _limit(status: str) -> int:
    closed = status in (B.COMPLETED, B.CANCELLED)
    return CLOSED_COLUMN_LIMIT if closed else COLUMN_LIMIT


def _cards(
    tenant: Tenant, values: dict[str, Any], status: str, offset: int, today: date
) -> list[Batch]:
    """The column's cards from `offset` on (up to its limit), with what a card shows."""
    limit = _limit(status)
    batches = list(
        batch_board_list(tenant=tenant, status=status, **values)[offset : offset + limit]
    )
    detail_url, move_url = id_urls("production:batch-detail"), id_urls("production:batch-move")
    for batch in batches:
        batch.detail_url, batch.move_url = detail_url(batch.pk), move_url(batch.pk)
        batch.moves = _moves(batch)
        batch.due_date = _due_date(batch)
        batch.is_late = bool(batch.is_open and batch.due_date and batch.due_date < today)
    return batches


def _more(status: str, query: str, count: int, shown: int) -> dict[str, Any] | None:
    """The column's "Show more": where its next cards come from, and how many remain."""
    remaining = count - shown
    if remaining <= 0:
        return None
    url = reverse("production:batch-board-column", args=[status])
    return {
        "url": f"{url}?{query}&offset={shown}" if query else f"{url}?offset={shown}",
        "remaining": remaining,
        "next": min(remaining, _limit(status)),
    }


def _board_columns(
    tenant: Tenant, values: dict[str, Any], query: str, today: date
) -> list[dict[str, Any]]:
    counts = batch_board_counts(tenant=tenant, **values)
    columns = []
    for status, label in B.choices:
        count = counts.get(status, 0)
        batches = _cards(tenant, values, status, 0, today) if count else []
        columns.append(
            {
                "status": status,
                "label": label,
                "batches": batches,
                "count": count,
                "more": _more(status, query, count, len(batches)),
            }
        )
    return columns


def _board_filters(request: TenantHtmxRequest, data: Any) -> dict[str, Any]:
    tenant = request.tenant
    filters = BatchBoardFilterForm(
        data, sites=site_list(tenant=tenant), products=product_list(tenant=tenant)
    )
    values = filters.values()
    query = urlencode(
        {
            key: value
            for key, value in (
                ("site", values["site_id"]),
                ("product", values["product_id"]),
                ("q", values["lot_code"]),
            )
            if value
        }
    )
    board_url = reverse("production:batch-board") + (f"?{query}" if query else "")
    return {
        "filters": filters,
        "values": values,
        "query": query,
        "filtered": bool(query),
        "board_url": board_url,
        "next_url": board_url,
    }


def _board_context(request: TenantHtmxRequest, data: Any) -> dict[str, Any]:
    context = _board_filters(request, data)
    columns = _board_columns(
        request.tenant, context["values"], context["query"], request.tenant.today()
    )
    return {**context, "columns": columns, "total": sum(c["count"] for c in columns)}


@member_view()
@require_GET
def batch_board_view(request: TenantHtmxRequest) -> HttpResponse:
    # Filters and board are cached HTML (the product filter alone lists every product), keyed
    # on the query string; the form and the columns are built only when they are missing.
    fragments = cached_fragments(
        request,
        templates={"board": f"{BOARD}#board", "filters_html": f"{BOARD}#filters"},
        parts=(request.GET.urlencode(), request.tenant.today()),
        context=lambda: _board_context(request, request.GET or None),
    )
    # The filters push their URL into the history; restoring it needs the whole page.
    restoring = request.htmx and request.htmx.history_restore_request
    if request.htmx and not restoring:
        return HttpResponse(fragments["board"])
    return render(request, BOARD, fragments)


@member_view()
@require_GET
def batch_board_column_view(request: TenantHtmxRequest, status: str) -> HttpResponse:
    """A column's next cards for the board's "Show more" (`?offset=` the cards shown so far,
    plus the board's filters); without htmx, a page of that column alone."""
    if status not in B.values:
        raise Http404("No such column.")
    try:
        offset = int(request.GET.get("offset", "0"))
    except ValueError:
        offset = -1
    if not 0 <= offset <= MAX_OFFSET:
        return HttpResponseBadRequest(
            f"offset must be a whole number of cards from 0 to {MAX_OFFSET}."
        )

    def context() -> dict[str, Any]:
        filters = _board_filters(request, request.GET)
        values, today = filters["values"], request.tenant.today()
        counts = batch_board_counts(tenant=request.tenant, statuses=[status], **values)
        count = counts.get(status, 0)
        batches = _cards(request.tenant, values, status, offset, today)
        more = _more(status, filters["query"], count, offset + len(batches))
        return {
            **filters,
            "status": status,
            "label": B(status).label,
            "count": count,
            "offset": offset,
            "last": offset + len(batches),
            "batches": batches,
            "more": more,
        }

    if request.htmx and not request.htmx.history_restore_request:
        return HttpResponse(
            cached_fragment(
                request,
                template=f"{BOARD}#cards",
                parts=(status, request.GET.urlencode(), request.tenant.today()),
                context=context,
            )
        )
    return render(request, COLUMN_PAGE, context())


# --- moves -----------------------------------------------------------------------------------
def _next_url(request: TenantHtmxRequest) -> str | None:
    url = request.POST.get("next", "")
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return None


@member_view("batches.manage")
@require_POST
def batch_move_view(request: TenantHtmxRequest, batch_id: int) -> HttpResponse:
    """Move a batch to the posted status (buttons on the board and the batch page, and drag
    and drop on the board)."""
    batch = batch_get(tenant=request.tenant, batch_id=batch_id)
    detail_url = reverse("production:batch-detail", args=[batch.pk])
    next_url = _next_url(request)
    on_detail = request.htmx.target == DETAIL_TARGET if request.htmx else next_url == detail_url
    form = BatchMoveForm(request.POST)
    error = success = ""
    status = 200
    if not form.is_valid():
        error, status = "Choose a valid status to move the batch to.", 400
    else:
        try:
            batch = batch_move(
                actor=request.actor,
                batch=batch,
                to=form.cleaned_data["status"],
                reason=form.cleaned_data["reason"],
            )
        except (NotFound, PermissionDenied):
            raise
        except ApplicationError as exc:
            error = exc.message
        else:
            success = f"Batch {batch.lot_code} moved to {batch.get_status_display().lower()}."

    if not request.htmx and status == 200:
        if error:
            messages.error(request, error)
        else:
            messages.success(request, success)
        return HttpResponseRedirect(next_url or reverse("production:batch-board"))

    extra = {"move_error": error, "move_message": success}
    if on_detail:
        batch = batch_detail_get(tenant=request.tenant, batch_id=batch.pk)
        context = {**_detail_context(request, batch), **extra}
        template = htmx_partial(request, DETAIL, "detail")
        response = _render_at_site(request, batch, template, context, status)
    else:
        context = {**_board_context(request, request.POST), **extra}
        response = render(request, htmx_partial(request, BOARD, "board"), context, status=status)
    if success:
        trigger_client_event(response, "batchChanged", {"id": batch.pk, "status": batch.status})
    return response


# --- the batch page --------------------------------------------------------------------------
def _failing(checks: list[QualityCheck]) -> list[str]:
    """Characteristics whose latest check failed (they block completing the batch)."""
    latest: dict[str, QualityCheck] = {}
    for check in checks:
        latest[check.characteristic] = check
    return sorted(name for name, check in latest.items() if not check.passed)


def _detail_context(
    request: TenantHtmxRequest,
    batch: Batch,
    *,
    quality_form: QualityCheckForm | None = None,
    consumption_form: MaterialConsumptionForm | None = None,
) -> dict[str, Any]:
    operations = list(batch.operations.all())
    checks = _with_displays(list(batch.quality_checks.all()))
    recording = batch.status in RECORDING
    if quality_form is None and recording and can(request, "quality.record"):
        quality_form = QualityCheckForm(operations=operations)
    if consumption_form is None and recording and can(request, "operations.run"):
        consumption_form = MaterialConsumptionForm(materials=material_list(tenant=request.tenant))
    starts = [op.planned_start for op in operations if op.planned_start]
    ends = [op.planned_end for op in operations if op.planned_end]
    due = _due_date(batch)
    return {
        "batch": batch,
        "order": batch.order_line.order if batch.order_line_id else None,
        "due_date": due,
        "is_late": bool(batch.is_open and due and due < request.tenant.today()),
        "planned_start": min(starts) if starts else None,
        "planned_end": max(ends) if ends else None,
        "operations": operations,
        "operations_done": sum(op.status == BatchOperation.Status.DONE for op in operations),
        "quality_checks": checks,
        "checks_passed": sum(check.passed for check in checks),
        "checks_failed": sum(not check.passed for check in checks),
        "failing": _failing(checks),
        "consumptions": list(batch.material_consumptions.all()),
        "moves": _moves(batch),
        "move_url": reverse("production:batch-move", args=[batch.pk]),
        "recording": recording,
        "quality_form": quality_form,
        "consumption_form": consumption_form,
        "next_url": reverse("production:batch-detail", args=[batch.pk]),
    }


@member_view()
@require_GET
def batch_detail_view(request: TenantHtmxRequest, batch_id: int) -> HttpResponse:
    batch = batch_detail_get(tenant=request.tenant, batch_id=batch_id)
    context = _detail_context(request, batch)
    return _render_at_site(request, batch, htmx_partial(request, DETAIL, "detail"), context)


def _record_response(
    request: TenantHtmxRequest, batch_id: int, partial: str, message: str
) -> HttpResponse:
    """After a recording: back to the page without JavaScript, the refreshed section with."""
    if not request.htmx:
        messages.success(request, message)
        url = reverse("production:batch-detail", args=[batch_id])
        return HttpResponseRedirect(f"{url}#{partial}")
    batch = batch_detail_get(tenant=request.tenant, batch_id=batch_id)
    context = {**_detail_context(request, batch), f"{partial}_message": message}
    return _render_at_site(request, batch, f"{DETAIL}#{partial}", context)


@member_view("quality.record")
@require_POST
def batch_quality_check_create_view(request: TenantHtmxRequest, batch_id: int) -> HttpResponse:
    batch = batch_detail_get(tenant=request.tenant, batch_id=batch_id)
    form = QualityCheckForm(request.POST, operations=batch.operations.all())
    if form.is_valid():
        try:
            check = quality_check_record(
                actor=request.actor, batch=batch, **form.service_arguments()
            )
        except (NotFound, PermissionDenied):
            raise
        except ApplicationError as exc:
            form_errors_from(form, exc)
        else:
            result = "passed" if check.passed else "failed"
            message = f"Check of {check.characteristic} recorded: {result}."
            return _record_response(request, batch.pk, "quality", message)
    context = _detail_context(request, batch, quality_form=form)
    return _render_at_site(request, batch, htmx_partial(request, DETAIL, "quality"), context, 400)


@member_view("operations.run")
@require_POST
def batch_consumption_create_view(request: TenantHtmxRequest, batch_id: int) -> HttpResponse:
    batch = batch_detail_get(tenant=request.tenant, batch_id=batch_id)
    form = MaterialConsumptionForm(request.POST, materials=material_list(tenant=request.tenant))
    if form.is_valid():
        try:
            consumption = material_consumption_record(
                actor=request.actor, batch=batch, **form.service_arguments()
            )
        except (NotFound, PermissionDenied):
            raise
        except ApplicationError as exc:
            form_errors_from(form, exc)
        else:
            material = consumption.material
            message = f"Used {consumption.quantity} {material.unit} of {material.name}."
            return _record_response(request, batch.pk, "consumption", message)
    context = _detail_context(request, batch, consumption_form=form)
    template = htmx_partial(request, DETAIL, "consumption")
    return _render_at_site(request, batch, template, context, 400)


# --- the traveller ---------------------------------------------------------------------------
@member_view()
@require_GET
def batch_traveller_view(request: TenantHtmxRequest, batch_id: int) -> HttpResponse:
    """The paper that travels with the batch: operations to sign off, checks to perform and
    the material to pick."""
    batch = batch_detail_get(tenant=request.tenant, batch_id=batch_id)
    product = product_get_with_recipe(tenant=request.tenant, product_id=batch.product_id)
    materials = []
    for line in product.bom_lines.all():
        needed = (
            line.quantity_per_unit
            * batch.quantity_planned
            * (1 + line.scrap_allowance_percent / Decimal(100))
        )
        materials.append(
            {
                "material": line.material,
                "per_unit": plain_decimal(line.quantity_per_unit),
                "scrap_allowance": plain_decimal(line.scrap_allowance_percent),
                "needed": plain_decimal(needed.quantize(Decimal("0.001"))),
            }
        )
    context = {
        "batch": batch,
        "order": batch.order_line.order if batch.order_line_id else None,
        "due_date": _due_date(batch),
        "operations": list(batch.operations.all()),
        "checks_to_perform": _with_displays(
            quality_characteristics_for_product(tenant=request.tenant, product_id=batch.product_id)
        ),
        "blank_rows": range(TRAVELLER_BLANK_ROWS),
        "materials": materials,
        "printed_at": timezone.now(),
    }
    return _render_at_site(request, batch, "production/batch_traveller.html", context)

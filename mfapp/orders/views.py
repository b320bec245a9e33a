"""Orders in the browser: the filtered list, a new order with its lines, the order page with
Confirm (plans the batches) and Cancel, and the CSV import. Reads go through the selectors,
writes through the services, which check the role again."""

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from mfapp.catalog.selectors import product_list
from mfapp.core.exceptions import ApplicationError, PermissionDenied
from mfapp.core.web import TenantHtmxRequest, can, form_errors_from, htmx_partial, member_view
from mfapp.orders.forms import (
    LINES_PREFIX,
    MAX_LINES,
    OrderCancelForm,
    OrderFilterForm,
    OrderForm,
    OrderImportForm,
    OrderLineForm,
    OrderLineFormSet,
)
from mfapp.orders.imports import (
    COLUMNS,
    MAX_BYTES,
    MAX_ROWS,
    TOO_LARGE,
    RowError,
    orders_import_csv,
    orders_import_example_csv,
)
from mfapp.orders.models import Order
from mfapp.orders.selectors import (
    customer_list,
    order_batch_list,
    order_get,
    order_is_late,
    order_list,
)
from mfapp.orders.services import (
    order_cancel,
    order_confirm,
    order_create_with_lines,
    order_line_add,
)
from mfapp.tenancy.models import Tenant
from mfapp.tenancy.selectors import site_list

LIST = "orders/order_list.html"
CREATE = "orders/order_create.html"
DETAIL = "orders/order_detail.html"
IMPORT = "orders/order_import.html"
PER_PAGE = 25
ERRORS_SHOWN = 200  # of an import's problems; the rest are counted
# An upload's request: the file, the CSRF token and the multipart framing around them.
MAX_UPLOAD_BODY = MAX_BYTES + 64 * 1024
LINE_FIELDS = ("product", "quantity", "unit_price")


def _customer_choices(tenant: Tenant) -> list[tuple[int, str]]:
    return list(customer_list(tenant=tenant).values_list("pk", "name"))


def _site_choices(tenant: Tenant) -> list[tuple[int, str]]:
    return list(site_list(tenant=tenant).values_list("pk", "name"))


def _product_choices(tenant: Tenant) -> list[tuple[int, str]]:
    return [
        (pk, f"{sku} · {name}")
        for pk, sku, name in product_list(tenant=tenant, active=True).values_list(
            "pk", "sku", "name"
        )
    ]


# --- list ----------------------------------------------------------------------------------------
@require_GET
@member_view()
def order_list_view(request: TenantHtmxRequest) -> HttpResponse:
    """Orders, newest first, filtered by status, customer, due dates and a search; htmx
    requests get only the table."""
    tenant = request.tenant
    form = OrderFilterForm(request.GET or None, customer_choices=_customer_choices(tenant))
    filters: dict[str, Any] = {}
    if form.is_bound:
        form.is_valid()  # an invalid filter is shown beside its field and not applied
        data = form.cleaned_data
        filters = {
            "status": data.get("status") or None,
            "customer_id": data.get("customer"),
            "due_from": data.get("due_from"),
            "due_to": data.get("due_to"),
            "search": (data.get("q") or "").strip(),
            "late": bool(data.get("late")),
        }
    page = Paginator(order_list(tenant=tenant, **filters), PER_PAGE).get_page(
        request.GET.get("page")
    )
    now = timezone.now()
    context = {
        "form": form,
        "page": page,
        "rows": [(order, order_is_late(order, now=now)) for order in page.object_list],
        "filtered": any(filters.values()),
    }
    return render(
        request,
        htmx_partial(request, LIST, "table"),
        context,
        status=400 if form.errors else 200,
    )


# --- create --------------------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
@member_view("orders.manage")
def order_create_view(request: TenantHtmxRequest) -> HttpResponse:
    """A new draft order with its lines. "Add line" fetches one more row (htmx); without
    JavaScript it posts the form back with one more row and saves nothing."""
    tenant = request.tenant
    choices = {
        "customer_choices": _customer_choices(tenant),
        "site_choices": _site_choices(tenant),
    }
    line_kwargs = {"product_choices": _product_choices(tenant)}
    if request.method == "GET" and request.htmx and "add_line" in request.GET:
        return _line_row(request, line_kwargs)
    if request.method == "GET":
        form = OrderForm(**choices)
        lines = OrderLineFormSet(prefix=LINES_PREFIX, form_kwargs=line_kwargs)
        return _create_page(request, form, lines)
    if "add_line" in request.POST:
        form = OrderForm(initial=request.POST.dict(), **choices)
        return _create_page(request, form, _one_more_row(request.POST, line_kwargs))
    form = OrderForm(request.POST, **choices)
    lines = OrderLineFormSet(request.POST, prefix=LINES_PREFIX, form_kwargs=line_kwargs)
    if all([form.is_valid(), lines.is_valid()]):
        try:
            order = order_create_with_lines(
                actor=request.actor, lines=lines.lines(), **form.service_arguments()
            )
        except PermissionDenied:
            raise
        except ApplicationError as exc:
            _show_refusal(exc, form, lines)
        else:
            messages.success(request, f"Order {order} created as a draft. Confirm it to plan.")
            return HttpResponseRedirect(reverse("orders:order-detail", args=[order.pk]))
    return _create_page(request, form, lines, status=400)


def _create_page(
    request: TenantHtmxRequest, form: OrderForm, lines: Any, status: int = 200
) -> HttpResponse:
    context = {"form": form, "lines": lines, "has_sites": bool(form.fields["site"].choices)}
    return render(request, CREATE, context, status=status)


def _line_row(request: TenantHtmxRequest, line_kwargs: dict[str, Any]) -> HttpResponse:
    """One more empty line, numbered after the rows the page has (its TOTAL_FORMS)."""
    try:
        index = int(request.GET.get(f"{LINES_PREFIX}-TOTAL_FORMS", ""))
    except ValueError:
        index = -1
    if not 0 <= index < MAX_LINES:
        return HttpResponse(status=204)  # nothing to add: htmx swaps nothing
    line = OrderLineForm(
        prefix=f"{LINES_PREFIX}-{index}", use_required_attribute=False, **line_kwargs
    )
    return render(request, f"{CREATE}#new-line", {"line": line, "total": index + 1})


def _one_more_row(data: QueryDict, line_kwargs: dict[str, Any]) -> Any:
    """An unbound formset showing the posted rows as typed, plus an empty one."""
    try:
        count = min(int(data.get(f"{LINES_PREFIX}-TOTAL_FORMS", "")), MAX_LINES - 1)
    except ValueError:
        count = 0
    rows = [
        {name: data.get(f"{LINES_PREFIX}-{i}-{name}", "") for name in LINE_FIELDS}
        for i in range(max(count, 0))
    ]
    lines = OrderLineFormSet(prefix=LINES_PREFIX, initial=rows, form_kwargs=line_kwargs)
    lines.extra = len(rows) + 1
    return lines


def _show_refusal(exc: ApplicationError, form: OrderForm, lines: Any) -> None:
    """Put the service's refusal where it belongs: on the new customer's fields, on the line
    it is about, or on the order form."""
    part = exc.extra.get("part")
    if part == "line":
        form_errors_from(lines.filled_forms()[exc.extra["line"]], exc)
    elif part == "customer":
        fields = exc.extra.get("fields") or {}
        for field, problems in fields.items():
            name = f"new_customer_{field}"
            form.add_error(name if name in form.fields else None, problems)
        if not fields:
            form.add_error(None, exc.message)
    else:
        form_errors_from(form, exc)


# --- detail and its actions --------------------------------------------------------------------
@require_GET
@member_view()
def order_detail_view(request: TenantHtmxRequest, order_id: int) -> HttpResponse:
    order = order_get(tenant=request.tenant, order_id=order_id)
    return _detail(request, order)


def _detail(
    request: TenantHtmxRequest,
    order: Order,
    *,
    status: int = 200,
    cancel_form: OrderCancelForm | None = None,
    line_form: OrderLineForm | None = None,
) -> HttpResponse:
    """The order page, or (htmx) its `order` region."""
    manage = can(request, "orders.manage")
    if line_form is None and manage and order.status == Order.Status.DRAFT:
        line_form = OrderLineForm(product_choices=_product_choices(request.tenant))
    context = {
        "order": order,
        "lines": list(order.lines.all()),
        "batches": list(order_batch_list(tenant=request.tenant, order_id=order.pk)),
        "late": order_is_late(order),
        "can_confirm": manage and order.status == Order.Status.DRAFT,
        "can_cancel": manage and order.is_open,
        "cancel_form": cancel_form or OrderCancelForm(),
        "line_form": line_form,
    }
    context["total"] = sum(line.line_total for line in context["lines"])
    return render(request, htmx_partial(request, DETAIL, "order"), context, status=status)


def _after_action(
    request: TenantHtmxRequest, order_id: int, *, notice: str = "", error: str = ""
) -> HttpResponse:
    """The message (a refusal as an error), then for htmx the refreshed order region, which
    shows it, with an `orderChanged` event; otherwise back to the order page."""
    if error:
        messages.error(request, error)
    else:
        messages.success(request, notice)
    if request.htmx:
        order = order_get(tenant=request.tenant, order_id=order_id)
        response = _detail(request, order)
        return trigger_client_event(response, "orderChanged", {"id": order_id})
    return HttpResponseRedirect(reverse("orders:order-detail", args=[order_id]))


@require_POST
@member_view("orders.manage")
def order_confirm_view(request: TenantHtmxRequest, order_id: int) -> HttpResponse:
    order = order_get(tenant=request.tenant, order_id=order_id)
    try:
        order = order_confirm(actor=request.actor, order=order)
    except PermissionDenied:
        raise
    except ApplicationError as exc:
        return _after_action(request, order_id, error=exc.message)
    planned = order_batch_list(tenant=request.tenant, order_id=order_id).count()
    return _after_action(
        request,
        order_id,
        notice=f"Order {order} confirmed: {planned} batch{'es' if planned != 1 else ''} planned.",
    )


@require_POST
@member_view("orders.manage")
def order_cancel_view(request: TenantHtmxRequest, order_id: int) -> HttpResponse:
    order = order_get(tenant=request.tenant, order_id=order_id)
    form = OrderCancelForm(request.POST)
    if not form.is_valid():
        return _detail(request, order, status=400, cancel_form=form)
    try:
        order = order_cancel(actor=request.actor, order=order, reason=form.cleaned_data["reason"])
    except PermissionDenied:
        raise
    except ApplicationError as exc:
        return _after_action(request, order_id, error=exc.message)
    return _after_action(request, order_id, notice=f"Order {order} cancelled.")


@require_POST
@member_view("orders.manage")
def order_line_add_view(request: TenantHtmxRequest, order_id: int) -> HttpResponse:
    """One more line on a draft order."""
    order = order_get(tenant=request.tenant, order_id=order_id)
    form = OrderLineForm(request.POST, product_choices=_product_choices(request.tenant))
    if form.is_valid():
        try:
            line = order_line_add(actor=request.actor, order=order, **form.line())
        except PermissionDenied:
            raise
        except ApplicationError as exc:
            form_errors_from(form, exc)
        else:
            return _after_action(
                request, order_id, notice=f"Added {line.quantity} of {line.product.sku}."
            )
    return _detail(request, order, status=400, line_form=form)


# --- CSV import ----------------------------------------------------------------------------------
@csrf_exempt  # checked in _order_import, after the size: the CSRF check reads the whole body
@require_http_methods(["GET", "POST"])
@member_view("orders.manage")
def order_import_view(request: TenantHtmxRequest) -> HttpResponse:
    """Upload a CSV: every row is checked, and the orders are created only if all are valid;
    otherwise a table lists each problem by row and column and nothing is saved. A body larger
    than the largest acceptable file is refused (413) before a byte of it is read."""
    if request.method == "POST" and _content_length(request) > MAX_UPLOAD_BODY:
        return _import_page(request, OrderImportForm(), [RowError(None, None, TOO_LARGE)], 413)
    return _order_import(request)


@csrf_protect
def _order_import(request: TenantHtmxRequest) -> HttpResponse:
    posted = request.method == "POST"
    form = OrderImportForm(request.POST, request.FILES) if posted else OrderImportForm()
    result = None
    if posted and form.is_valid():
        result = orders_import_csv(actor=request.actor, file=form.cleaned_data["file"])
        if result.ok:
            count = len(result.orders)
            messages.success(
                request,
                f"Imported {count} order{'s' if count != 1 else ''} with {result.line_count} "
                f"line{'s' if result.line_count != 1 else ''}, all drafts: confirm them to plan.",
            )
            return HttpResponseRedirect(reverse("orders:order-list"))
    errors = result.errors if result else []
    return _import_page(request, form, errors, 400 if posted else 200)  # a good file redirected


def _content_length(request: TenantHtmxRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _import_page(
    request: TenantHtmxRequest, form: OrderImportForm, errors: list[RowError], status: int
) -> HttpResponse:
    context = {
        "form": form,
        "columns": COLUMNS,
        "max_rows": f"{MAX_ROWS:,}",
        "max_lines": MAX_LINES,
        "errors": errors[:ERRORS_SHOWN],
        "errors_hidden": max(len(errors) - ERRORS_SHOWN, 0),
        "error_count": len(errors),
    }
    return render(request, IMPORT, context, status=status)


@require_GET
@member_view("orders.manage")
def order_import_template_view(request: TenantHtmxRequest) -> HttpResponse:
    response = HttpResponse(
        orders_import_example_csv(tenant=request.tenant), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="orders-example.csv"'
    return response

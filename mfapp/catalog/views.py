"""Catalog pages: products (search, details, routing steps and bill of materials edited inline)
and materials (stock on hand, receipts and corrections).

Every member reads; writes need `catalog.manage`, which `member_view` checks before the view
runs and the services check again. Inline editing swaps whole sections of the product page
(`#routing`, `#bom`): a step's Up/Down buttons depend on its neighbours, and the BOM's add form
offers only materials not used yet. Without JavaScript the same URLs render the full page
(GET) or redirect back to it (POST)."""

from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from mfapp.catalog.forms import (
    BomLineEditForm,
    BomLineForm,
    MaterialForm,
    ProductForm,
    RoutingStepForm,
    StockAdjustForm,
)
from mfapp.catalog.models import BomLine, RoutingStep
from mfapp.catalog.selectors import (
    bom_line_get,
    material_stock_get,
    material_stock_list,
    product_get,
    product_get_with_recipe,
    product_in_use,
    product_list_with_counts,
    routing_step_get,
)
from mfapp.catalog.services import (
    bom_line_create,
    bom_line_delete,
    bom_line_update,
    material_adjust_stock,
    material_create,
    product_create,
    product_delete,
    product_update,
    routing_step_create,
    routing_step_delete,
    routing_step_move,
    routing_step_update,
)
from mfapp.core.exceptions import ApplicationError, NotFound, PermissionDenied
from mfapp.core.web import TenantHtmxRequest, can, form_errors_from, htmx_partial, member_view

PRODUCTS_PER_PAGE = 25
MATERIALS_PER_PAGE = 50
PRODUCT_LIST = "catalog/product_list.html"
PRODUCT_CREATE = "catalog/product_create.html"
PRODUCT_DETAIL = "catalog/product_detail.html"
MATERIAL_LIST = "catalog/material_list.html"
T = TypeVar("T")


def _submit(form: forms.Form, action: Callable[[], T]) -> T | None:
    """Run the service when the form is valid. Its refusal goes onto the form and None comes
    back; a missing object (404) or a missing permission (403) is not a form error."""
    if not form.is_valid():
        return None
    try:
        return action()
    except (NotFound, PermissionDenied):
        raise
    except ApplicationError as exc:
        form_errors_from(form, exc)
        return None


def _status(*forms_: forms.Form | None) -> int:
    return 400 if any(form is not None and form.errors for form in forms_) else 200


# --- products --------------------------------------------------------------------------------
@member_view()
@require_GET
@vary_on_headers("HX-Request")
def product_list_view(request: TenantHtmxRequest) -> HttpResponse:
    """Products by SKU, searched by SKU or name as you type (the table is the htmx partial)."""
    search = request.GET.get("q", "").strip()[:100]
    products = product_list_with_counts(tenant=request.tenant, search=search)
    page = Paginator(products, PRODUCTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request, htmx_partial(request, PRODUCT_LIST, "table"), {"page": page, "search": search}
    )


@member_view("catalog.manage")
@require_http_methods(["GET", "POST"])
def product_create_view(request: TenantHtmxRequest) -> HttpResponse:
    data = request.POST if request.method == "POST" else None
    form = ProductForm(data, currency=request.tenant.currency)
    if data is not None:
        product = _submit(form, lambda: product_create(actor=request.actor, **form.cleaned_data))
        if product is not None:
            messages.success(
                request,
                f"Product {product.sku} added. Now add its routing steps and bill of materials.",
            )
            return redirect("catalog:product-detail", product.pk)
    return render(request, PRODUCT_CREATE, {"form": form}, status=_status(form))


@member_view()
@require_GET
def product_detail_view(request: TenantHtmxRequest, product_id: int) -> HttpResponse:
    return _product_page(request, product_id)


@member_view("catalog.manage")
@require_POST
def product_update_view(request: TenantHtmxRequest, product_id: int) -> HttpResponse:
    product = product_get(tenant=request.tenant, product_id=product_id)
    form = ProductForm(request.POST, currency=request.tenant.currency)
    updated = _submit(
        form, lambda: product_update(actor=request.actor, product=product, **form.changes(product))
    )
    if updated is None:
        return _product_page(request, product_id, product_form=form)
    messages.success(request, "Product details saved.")
    return redirect("catalog:product-detail", product_id)


@member_view("catalog.manage")
@require_POST
def product_delete_view(request: TenantHtmxRequest, product_id: int) -> HttpResponse:
    product = product_get(tenant=request.tenant, product_id=product_id)
    try:
        product_delete(actor=request.actor, product=product)
    except (NotFound, PermissionDenied):
        raise
    except ApplicationError as exc:
        messages.error(request, f"{exc.message} Mark the product inactive instead.")
        return redirect("catalog:product-detail", product_id)
    messages.success(request, f"Product {product.sku} deleted.")
    return redirect("catalog:product-list")


def _product_page(
    request: TenantHtmxRequest,
    product_id: int,
    *,
    partial: str | None = None,
    editing_step: int | None = None,
    editing_line: int | None = None,
    status: int | None = None,
    **extra: Any,
) -> HttpResponse:
    """The product page, or one of its sections for htmx. Bound forms in `extra` replace the
    blank ones; with errors they make the answer a 400."""
    tenant = request.tenant
    product = product_get_with_recipe(tenant=tenant, product_id=product_id)
    steps = list(product.routing_steps.all())
    lines = list(product.bom_lines.all())
    whole_page = not (partial and request.htmx)
    context: dict[str, Any] = {
        "product": product,
        "steps": steps,
        "lines": lines,
        "setup_total": sum(step.setup_minutes for step in steps),
        "run_total": sum(step.run_minutes_per_unit for step in steps),
        "editing_step": editing_step,
        "editing_line": editing_line,
    }
    if can(request, "catalog.manage"):
        used = {line.material_id for line in lines}
        context |= {
            "step_form": RoutingStepForm(tenant=tenant, auto_id="new-step-%s"),
            "bom_form": BomLineForm(tenant=tenant, used=used, auto_id="new-bom-%s"),
        }
        if whole_page:
            context |= {
                "in_use": product_in_use(tenant=tenant, product=product),
                "product_form": ProductForm(
                    initial={name: getattr(product, name) for name in ProductForm.base_fields},
                    currency=tenant.currency,
                ),
            }
        step = next((step for step in steps if step.pk == editing_step), None)
        if step is not None:
            context["step_edit_form"] = RoutingStepForm.for_step(step, tenant=tenant)
        line = next((line for line in lines if line.pk == editing_line), None)
        if line is not None:
            context["line_edit_form"] = BomLineEditForm.for_line(line)
    context |= extra
    template = PRODUCT_DETAIL if whole_page else f"{PRODUCT_DETAIL}#{partial}"
    forms_ = [value for value in extra.values() if isinstance(value, forms.Form)]
    return render(request, template, context, status=status or _status(*forms_))


def _back_to(request: TenantHtmxRequest, product_id: int, section: str) -> HttpResponse:
    """After a write: the fresh section for htmx, the page (at the section) otherwise."""
    if request.htmx:
        return _product_page(request, product_id, partial=section)
    return redirect(reverse("catalog:product-detail", args=[product_id]) + f"#{section}")


# --- routing steps ---------------------------------------------------------------------------
def _step(request: TenantHtmxRequest, product_id: int, step_id: int) -> RoutingStep:
    step = routing_step_get(tenant=request.tenant, routing_step_id=step_id)
    if step.product_id != product_id:
        raise NotFound("Routing step not found.")
    return step


@member_view()
@require_GET
@vary_on_headers("HX-Request")
def routing_step_list_view(request: TenantHtmxRequest, product_id: int) -> HttpResponse:
    """The routing section (Cancel of an inline edit); the page without htmx."""
    return _back_to(request, product_id, "routing")


@member_view("catalog.manage")
@require_POST
def routing_step_create_view(request: TenantHtmxRequest, product_id: int) -> HttpResponse:
    """Add a step at the end of the routing."""
    product = product_get(tenant=request.tenant, product_id=product_id)
    form = RoutingStepForm(request.POST, tenant=request.tenant, auto_id="new-step-%s")
    step = _submit(
        form,
        lambda: routing_step_create(actor=request.actor, product=product, **form.service_fields()),
    )
    if step is None:
        return _product_page(request, product_id, partial="routing", step_form=form)
    return _back_to(request, product_id, "routing")


@member_view("catalog.manage")
@require_http_methods(["GET", "POST"])
def routing_step_edit_view(
    request: TenantHtmxRequest, product_id: int, step_id: int
) -> HttpResponse:
    step = _step(request, product_id, step_id)
    if request.method == "GET":
        return _product_page(request, product_id, partial="routing", editing_step=step.pk)
    form = RoutingStepForm(request.POST, tenant=request.tenant, auto_id=f"step-{step.pk}-%s")
    updated = _submit(
        form,
        lambda: routing_step_update(
            actor=request.actor, routing_step=step, **form.service_fields()
        ),
    )
    if updated is None:
        return _product_page(
            request, product_id, partial="routing", editing_step=step.pk, step_edit_form=form
        )
    return _back_to(request, product_id, "routing")


@member_view("catalog.manage")
@require_POST
def routing_step_move_view(
    request: TenantHtmxRequest, product_id: int, step_id: int
) -> HttpResponse:
    step = _step(request, product_id, step_id)
    direction = request.POST.get("direction", "")
    try:
        routing_step_move(actor=request.actor, routing_step=step, direction=direction)  # type: ignore[arg-type]
    except (NotFound, PermissionDenied):
        raise
    except ApplicationError as exc:
        return _refused(request, product_id, "routing", exc)
    return _back_to(request, product_id, "routing")


@member_view("catalog.manage")
@require_POST
def routing_step_delete_view(
    request: TenantHtmxRequest, product_id: int, step_id: int
) -> HttpResponse:
    step = _step(request, product_id, step_id)
    try:
        routing_step_delete(actor=request.actor, routing_step=step)
    except (NotFound, PermissionDenied):
        raise
    except ApplicationError as exc:
        return _refused(request, product_id, "routing", exc)
    return _back_to(request, product_id, "routing")


def _refused(
    request: TenantHtmxRequest, product_id: int, section: str, exc: ApplicationError
) -> HttpResponse:
    """A refused button press (no form to put it on): for htmx the section with the reason
    (400), otherwise the page with the reason as a message."""
    if request.htmx:
        return _product_page(
            request, product_id, partial=section, status=400, **{f"{section}_error": exc.message}
        )
    messages.error(request, exc.message)
    return redirect(reverse("catalog:product-detail", args=[product_id]) + f"#{section}")


# --- BOM lines -------------------------------------------------------------------------------
def _line(request: TenantHtmxRequest, product_id: int, line_id: int) -> BomLine:
    line = bom_line_get(tenant=request.tenant, bom_line_id=line_id)
    if line.product_id != product_id:
        raise NotFound("BOM line not found.")
    return line


@member_view()
@require_GET
@vary_on_headers("HX-Request")
def bom_line_list_view(request: TenantHtmxRequest, product_id: int) -> HttpResponse:
    """The BOM section (Cancel of an inline edit); the page without htmx."""
    return _back_to(request, product_id, "bom")


@member_view("catalog.manage")
@require_POST
def bom_line_create_view(request: TenantHtmxRequest, product_id: int) -> HttpResponse:
    product = product_get_with_recipe(tenant=request.tenant, product_id=product_id)
    used = {line.material_id for line in product.bom_lines.all()}
    form = BomLineForm(request.POST, tenant=request.tenant, used=used, auto_id="new-bom-%s")
    line = _submit(
        form, lambda: bom_line_create(actor=request.actor, product=product, **form.service_fields())
    )
    if line is None:
        return _product_page(request, product_id, partial="bom", bom_form=form)
    return _back_to(request, product_id, "bom")


@member_view("catalog.manage")
@require_http_methods(["GET", "POST"])
def bom_line_edit_view(request: TenantHtmxRequest, product_id: int, line_id: int) -> HttpResponse:
    line = _line(request, product_id, line_id)
    if request.method == "GET":
        return _product_page(request, product_id, partial="bom", editing_line=line.pk)
    form = BomLineEditForm.for_line(line, request.POST)
    updated = _submit(
        form, lambda: bom_line_update(actor=request.actor, bom_line=line, **form.cleaned_data)
    )
    if updated is None:
        return _product_page(
            request, product_id, partial="bom", editing_line=line.pk, line_edit_form=form
        )
    return _back_to(request, product_id, "bom")


@member_view("catalog.manage")
@require_POST
def bom_line_delete_view(request: TenantHtmxRequest, product_id: int, line_id: int) -> HttpResponse:
    line = _line(request, product_id, line_id)
    try:
        bom_line_delete(actor=request.actor, bom_line=line)
    except (NotFound, PermissionDenied):
        raise
    except ApplicationError as exc:
        return _refused(request, product_id, "bom", exc)
    return _back_to(request, product_id, "bom")


# --- materials -------------------------------------------------------------------------------
def _materials_page(
    request: TenantHtmxRequest,
    *,
    partial: str | None = None,
    adjusting: int | None = None,
    **extra: Any,
) -> HttpResponse:
    """The materials page (or its `materials` section for htmx) at the page in ?page=."""
    materials = material_stock_list(tenant=request.tenant)
    page = Paginator(materials, MATERIALS_PER_PAGE).get_page(request.GET.get("page"))
    context: dict[str, Any] = {"page": page, "adjusting": adjusting}
    if can(request, "catalog.manage"):
        context["material_form"] = MaterialForm(currency=request.tenant.currency)
        if adjusting is not None:
            context["adjust_form"] = StockAdjustForm(auto_id=f"adjust-{adjusting}-%s")
    context |= extra
    forms_ = [value for value in extra.values() if isinstance(value, forms.Form)]
    template = f"{MATERIAL_LIST}#{partial}" if partial and request.htmx else MATERIAL_LIST
    return render(request, template, context, status=_status(*forms_))


def _material_row(request: TenantHtmxRequest, material_id: int, **extra: Any) -> HttpResponse:
    material = material_stock_get(tenant=request.tenant, material_id=material_id)
    form = extra.get("adjust_form")
    return render(
        request,
        f"{MATERIAL_LIST}#{'material-adjust-row' if form is not None else 'material-row'}",
        {"material": material, **extra},
        status=_status(form),
    )


@member_view()
@require_GET
@vary_on_headers("HX-Request")
def material_list_view(request: TenantHtmxRequest) -> HttpResponse:
    return _materials_page(request, partial="materials")


@member_view("catalog.manage")
@require_POST
def material_create_view(request: TenantHtmxRequest) -> HttpResponse:
    form = MaterialForm(request.POST, currency=request.tenant.currency)
    material = _submit(form, lambda: material_create(actor=request.actor, **form.cleaned_data))
    if material is None:
        return _materials_page(request, partial="materials", material_form=form)
    notice = f"Material {material.code} added."
    if request.htmx:
        return _materials_page(request, partial="materials", notice=notice)
    messages.success(request, notice)
    return redirect("catalog:material-list")


@member_view()
@require_GET
def material_row_view(request: TenantHtmxRequest, material_id: int) -> HttpResponse:
    """One material's row (Cancel of an inline stock adjustment)."""
    if not request.htmx:
        return redirect("catalog:material-list")
    return _material_row(request, material_id)


@member_view("catalog.manage")
@require_http_methods(["GET", "POST"])
def material_adjust_view(request: TenantHtmxRequest, material_id: int) -> HttpResponse:
    """Book a receipt (+) or a correction (-) of stock, with its reason."""
    material = material_stock_get(tenant=request.tenant, material_id=material_id)
    if request.method == "GET":
        if request.htmx:
            form = StockAdjustForm(auto_id=f"adjust-{material.pk}-%s")
            return render(
                request,
                f"{MATERIAL_LIST}#material-adjust-row",
                {"material": material, "adjust_form": form},
            )
        return _materials_page(request, adjusting=material.pk)
    form = StockAdjustForm(request.POST, auto_id=f"adjust-{material.pk}-%s")
    adjusted = _submit(
        form,
        lambda: material_adjust_stock(actor=request.actor, material=material, **form.cleaned_data),
    )
    if adjusted is None:
        if request.htmx:
            return _material_row(request, material.pk, adjust_form=form)
        return _materials_page(request, adjusting=material.pk, adjust_form=form)
    booked = (
        f"{form.cleaned_data['delta']:+} {material.unit} booked ({form.cleaned_data['reason']})."
    )
    if request.htmx:
        return _material_row(request, material.pk, booked=booked)
    messages.success(request, f"{material.name}: {booked}")
    page = request.GET.get("page", "")
    return redirect(reverse("catalog:material-list") + (f"?page={page}" if page.isdigit() else ""))

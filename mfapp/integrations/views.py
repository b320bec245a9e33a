"""Webhook endpoints in the browser: register, pause, rotate the secret, delete, and read the
delivery log with every attempt. Owners and managers only (the service checks the role)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from mfapp.core.exceptions import ApplicationError, NotFound, PermissionDenied
from mfapp.integrations.forms import WebhookEndpointForm
from mfapp.integrations.selectors import (
    webhook_delivery_get,
    webhook_delivery_list,
    webhook_endpoint_get,
    webhook_endpoint_list,
)
from mfapp.integrations.services import (
    webhook_delivery_redeliver,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_update,
)
from mfapp.tenancy.actors import Actor
from mfapp.tenancy.permissions import has_permission
from mfapp.tenancy.selectors import actor_for_member

ENDPOINTS_SHOWN = 100  # oldest first; the page says when there are more
DELIVERIES_SHOWN = 50  # newest first; GET /api/v1/webhook-deliveries/?endpoint=<id> has all


def _manager(request: HttpRequest) -> Actor:
    """The acting member, who must be allowed to manage webhooks (checked here and again in
    the services)."""
    if request.tenant is None:  # type: ignore[attr-defined]
        raise Http404("No business selected.")
    actor = actor_for_member(tenant=request.tenant, user=request.user)  # type: ignore[attr-defined]
    if not has_permission(actor, "webhooks.manage"):
        raise DjangoPermissionDenied("Only owners and managers manage webhooks.")
    return actor


def _endpoint(actor: Actor, endpoint_id: int):
    try:
        return webhook_endpoint_get(tenant=actor.tenant, endpoint_id=endpoint_id)
    except NotFound as exc:
        raise Http404(exc.message) from None


@login_required
@require_http_methods(["GET", "POST"])
def webhook_endpoint_list_view(request: HttpRequest) -> HttpResponse:
    actor = _manager(request)
    form = WebhookEndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = webhook_endpoint_create(actor=actor, **form.cleaned_data)
        except ApplicationError as exc:
            for field, problems in exc.extra.get("fields", {}).items():
                form.add_error(field if field in form.fields else None, problems)
            if not exc.extra.get("fields"):
                form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                f"Endpoint added. Its signing secret is {endpoint.secret} — verify the "
                "X-Mfapp-Signature header of every delivery with it.",
            )
            return HttpResponseRedirect(reverse("webhook-endpoint-detail", args=[endpoint.pk]))
    endpoints = list(webhook_endpoint_list(tenant=actor.tenant)[: ENDPOINTS_SHOWN + 1])
    context = {
        "endpoints": endpoints[:ENDPOINTS_SHOWN],
        "more_endpoints": len(endpoints) > ENDPOINTS_SHOWN,
        "endpoints_shown": ENDPOINTS_SHOWN,
        "form": form,
    }
    return render(
        request,
        "integrations/webhook_endpoint_list.html",
        context,
        status=400 if form.errors else 200,
    )


@login_required
def webhook_endpoint_detail_view(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    actor = _manager(request)
    endpoint = _endpoint(actor, endpoint_id)
    deliveries = list(
        webhook_delivery_list(tenant=actor.tenant, endpoint_id=endpoint.pk)[: DELIVERIES_SHOWN + 1]
    )
    context = {
        "endpoint": endpoint,
        "deliveries": deliveries[:DELIVERIES_SHOWN],
        "more_deliveries": len(deliveries) > DELIVERIES_SHOWN,
        "deliveries_shown": DELIVERIES_SHOWN,
    }
    return render(request, "integrations/webhook_endpoint_detail.html", context)


@login_required
@require_POST
def webhook_endpoint_action_view(
    request: HttpRequest, endpoint_id: int, action: str
) -> HttpResponse:
    actor = _manager(request)
    endpoint = _endpoint(actor, endpoint_id)
    try:
        if action == "toggle":
            endpoint = webhook_endpoint_update(
                actor=actor, endpoint=endpoint, is_active=not endpoint.is_active
            )
            messages.success(
                request, "Endpoint active." if endpoint.is_active else "Endpoint paused."
            )
        elif action == "rotate":
            endpoint = webhook_endpoint_rotate_secret(actor=actor, endpoint=endpoint)
            messages.success(request, f"New signing secret: {endpoint.secret}")
        elif action == "delete":
            webhook_endpoint_delete(actor=actor, endpoint=endpoint)
            messages.success(request, "Endpoint deleted.")
            return HttpResponseRedirect(reverse("webhook-endpoint-list"))
        else:
            raise Http404("Unknown action.")
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return HttpResponseRedirect(reverse("webhook-endpoint-detail", args=[endpoint_id]))


@login_required
@require_POST
def webhook_delivery_redeliver_view(request: HttpRequest, delivery_id: int) -> HttpResponse:
    actor = _manager(request)
    try:
        delivery = webhook_delivery_get(tenant_id=actor.tenant.pk, delivery_id=delivery_id)
        delivery = webhook_delivery_redeliver(actor=actor, delivery=delivery)
    except NotFound as exc:
        raise Http404(exc.message) from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return HttpResponseRedirect(reverse("webhook-endpoint-list"))
    messages.success(request, "Delivery queued again.")
    return HttpResponseRedirect(reverse("webhook-endpoint-detail", args=[delivery.endpoint_id]))

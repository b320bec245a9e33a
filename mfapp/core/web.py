"""What every browser page shares: the acting member, permission checks, and turning service
errors into what a person sees (404, 403, inline form errors).

Views stay thin: `@member_view("catalog.manage")` logs the person in, resolves the actor of the
active tenant, checks the role *before* the view runs (the service checks it again), and turns a
`NotFound` from any selector or service into a 404 and a `PermissionDenied` into a 403, so
another tenant's object looks exactly like a missing one.
"""

from collections.abc import Callable, Hashable
from functools import wraps
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.forms.renderers import TemplatesSetting
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django_htmx.middleware import HtmxDetails

from mfapp.core import tenant_cache
from mfapp.core.exceptions import ApplicationError, NotFound, PermissionDenied
from mfapp.tenancy.actors import Actor
from mfapp.tenancy.models import Membership, Tenant
from mfapp.tenancy.permissions import has_permission
from mfapp.tenancy.selectors import actor_for_member


class TenantHtmxRequest(HttpRequest):
    """The request a member view receives (for type checkers)."""

    htmx: HtmxDetails
    tenant: Tenant
    membership: Membership
    actor: Actor


def member_view(
    permission: str = "tenant.view",
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Decorate a page of the active tenant. `permission` is the action the view needs
    (see `mfapp.tenancy.permissions`); reads need only `tenant.view`."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.tenant is None:  # type: ignore[attr-defined]
                # Logged in but a member of no business: the home page explains what to do.
                return HttpResponseRedirect(reverse("home"))
            membership = request.membership  # type: ignore[attr-defined]
            if membership is not None and membership.tenant_id == request.tenant.pk:  # type: ignore[attr-defined]
                # Read and checked against the login by TenantMiddleware in this request.
                actor = Actor(tenant=request.tenant, role=membership.role, user=request.user)  # type: ignore[attr-defined]
            else:
                try:
                    actor = actor_for_member(tenant=request.tenant, user=request.user)  # type: ignore[attr-defined]
                except NotFound:
                    raise Http404("No business selected.") from None
            if not has_permission(actor, permission):
                raise DjangoPermissionDenied(
                    f"Your role ({actor.role}) does not allow this ({permission})."
                )
            request.actor = actor  # type: ignore[attr-defined]
            try:
                return view(request, *args, **kwargs)
            except NotFound as exc:
                raise Http404(exc.message) from None
            except PermissionDenied as exc:
                raise DjangoPermissionDenied(exc.message) from None

        return login_required(wrapper)

    return decorator


def can(request: HttpRequest, permission: str) -> bool:
    """For templates and views deciding what to *show*; never the only check for a write."""
    actor = getattr(request, "actor", None)
    return actor is not None and has_permission(actor, permission)


def form_errors_from(form: forms.Form, exc: ApplicationError) -> None:
    """Put a service's refusal on the form: field errors beside their inputs, the rest on top."""
    fields = exc.extra.get("fields") or {}
    for field, problems in fields.items():
        form.add_error(field if field in form.fields else None, problems)
    if not fields:
        form.add_error(None, exc.message)


def htmx_partial(request: HttpRequest, template: str, partial: str) -> str:
    """The whole page for a normal request, only the named partial for an htmx one (but the
    whole page when htmx restores a page from history)."""
    htmx = getattr(request, "htmx", None)
    if htmx and not htmx.history_restore_request:
        return f"{template}#{partial}"
    return template


# An id no row has, marking where the id goes in a reversed URL.
_ID_MARK = 987654321987654321


def id_urls(viewname: str) -> Callable[[int], str]:
    """`reverse(viewname, args=[pk])` for many ids of a URL taking one integer id, the URL
    resolved once: a board or chart links hundreds of objects, and `reverse()` costs about
    0.1 ms each on these machines."""
    head, mark, tail = reverse(viewname, args=[_ID_MARK]).partition(str(_ID_MARK))
    if not mark:
        raise ValueError(f"{viewname} does not take one id written as a plain integer")
    return lambda pk: f"{head}{int(pk)}{tail}"


# Stands for the request's CSRF token in a cached fragment; replaced on the way out.
CSRF_PLACEHOLDER = "mfapp-csrf-token-placeholder"


def cached_fragment(
    request: TenantHtmxRequest,
    *,
    template: str,
    parts: Hashable,
    context: Callable[[], dict[str, Any]],
) -> SafeString:
    """A partial's HTML, rendered once per tenant data version (`core.tenant_cache`) for every
    member with the same role and `parts` (filters, day...): so it may show the tenant's data and
    what the role may do, never the person. Its forms' CSRF token is the request's own."""
    return cached_fragments(request, templates={"html": template}, parts=parts, context=context)[
        "html"
    ]


def cached_fragments(
    request: TenantHtmxRequest,
    *,
    templates: dict[str, str],
    parts: Hashable,
    context: Callable[[], dict[str, Any]],
) -> dict[str, SafeString]:
    """Several partials of one page rendered from one context, as `cached_fragment` does, and
    cached together: one cache round trip for all of them."""

    def render() -> dict[str, str]:
        values = {**context(), "csrf_token": CSRF_PLACEHOLDER}
        return {
            name: render_to_string(template, values, request=request)
            for name, template in templates.items()
        }

    html = tenant_cache.cached(
        tenant_id=request.tenant.pk,
        name=f"html:{','.join(templates.values())}",
        parts=(request.membership.role, parts),
        compute=render,
    )
    token = get_token(request)
    return {name: mark_safe(text.replace(CSRF_PLACEHOLDER, token)) for name, text in html.items()}  # noqa: S308 - ours


class FormRenderer(TemplatesSetting):
    """Forms render through the project's templates: `{{ form }}` gives labelled fields in
    `<div class="field">` with errors beside them (Django sets aria-invalid and
    aria-describedby)."""

    form_template_name = "forms/div.html"

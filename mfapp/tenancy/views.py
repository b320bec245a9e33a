"""Accounts and tenant settings in the browser: sign-up, a new business, invitations, sites,
members, and the tenant switcher. Views stay thin: the services hold the rules."""

from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from mfapp.core.exceptions import ApplicationError, NotFound
from mfapp.core.web import TenantHtmxRequest, form_errors_from, htmx_partial, member_view
from mfapp.tenancy.forms import (
    AcceptInvitationForm,
    BusinessForm,
    InvitationForm,
    SignupForm,
    SiteForm,
    working_hours_summary,
)
from mfapp.tenancy.middleware import SESSION_KEY
from mfapp.tenancy.models import Membership, Tenant
from mfapp.tenancy.permissions import has_permission
from mfapp.tenancy.selectors import (
    invitation_get,
    invitation_list,
    membership_get_by_id,
    membership_list,
    site_get,
    site_list,
    user_get_by_email,
)
from mfapp.tenancy.services import (
    invitation_accept,
    invitation_create,
    invitation_get_by_token,
    invitation_problem,
    invitation_revoke,
    membership_remove,
    membership_update_role,
    site_create,
    site_delete,
    site_update,
    tenant_create,
    tenant_signup,
)

AUTH_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _posted(request: HttpRequest) -> Any:
    """The submitted data of a POST (even an empty one, so it is validated), else None."""
    return request.POST if request.method == "POST" else None


@login_required
@require_POST
def tenant_switch_view(request: HttpRequest) -> HttpResponse:
    try:
        wanted = int(request.POST.get("tenant_id", ""))
    except ValueError:
        wanted = None
    if any(m.tenant_id == wanted for m in request.memberships):  # type: ignore[attr-defined]
        request.session[SESSION_KEY] = wanted
    return HttpResponseRedirect(reverse("home"))


# --- sign-up and new businesses --------------------------------------------------------------
def _link(url_name: str, text: str) -> str:
    """A link to a page, or just its name while that page does not exist yet."""
    try:
        return format_html('<a href="{}">{}</a>', reverse(url_name), text)
    except NoReverseMatch:
        return text


def _welcome(request: HttpRequest, tenant: Tenant) -> None:
    steps = [
        _link("machines:machine-list", "add your machines"),
        _link("catalog:material-list", "your materials"),
        _link("catalog:product-list", "your products with their routing steps"),
        _link("tenancy:member-list", "invite your team"),
    ]
    messages.success(
        request,
        format_html(
            "Welcome to mfapp! {} and its first site are ready. Next steps: {}.",
            tenant.name,
            format_html_join(", then ", "{}", ((step,) for step in steps)),
        ),
    )


def _enter(request: HttpRequest, tenant_id: int) -> None:
    """Make `tenant_id` the active business of this session."""
    request.session[SESSION_KEY] = tenant_id


@require_http_methods(["GET", "POST"])
def signup_view(request: HttpRequest) -> HttpResponse:
    """A new login that owns a new business with its first site."""
    if request.user.is_authenticated:
        return HttpResponseRedirect(reverse("tenancy:tenant-create"))
    form = SignupForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            tenant, user = tenant_signup(
                business_name=data["business_name"],
                site_name=data["site_name"] or None,
                country=data["country"],
                timezone_name=data["timezone"],
                currency=data["currency"],
                email=data["email"],
                password=data["password"],
            )
        except ApplicationError as exc:
            form_errors_from(form, exc)
        else:
            login(request, user, backend=AUTH_BACKEND)
            _enter(request, tenant.pk)
            _welcome(request, tenant)
            return HttpResponseRedirect(reverse("home"))
    return render(
        request,
        "registration/signup.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def tenant_create_view(request: HttpRequest) -> HttpResponse:
    """Another business owned by the logged-in person (no new login, no password)."""
    form = BusinessForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            tenant = tenant_create(
                name=data["business_name"],
                site_name=data["site_name"] or None,
                country=data["country"],
                timezone_name=data["timezone"],
                currency=data["currency"],
                owner=request.user,
            )
        except ApplicationError as exc:
            form_errors_from(form, exc)
        else:
            _enter(request, tenant.pk)
            _welcome(request, tenant)
            return HttpResponseRedirect(reverse("home"))
    return render(
        request,
        "tenancy/tenant_create.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


# --- invitations (the invitee's side) --------------------------------------------------------
@require_http_methods(["GET", "POST"])
def invitation_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    """The link from the e-mail. A logged-in person joins with one click; someone without a
    login chooses a password; someone whose address has a login is asked to log in first."""
    try:
        invitation = invitation_get_by_token(token=token)
    except NotFound as exc:
        return render(
            request, "tenancy/invitation_accept.html", {"problem": exc.message}, status=404
        )
    problem = invitation_problem(invitation)
    if problem is not None:
        context = {"invitation": invitation, "problem": problem}
        return render(request, "tenancy/invitation_accept.html", context, status=410)
    user = request.user if request.user.is_authenticated else None
    has_login = user is None and user_get_by_email(email=invitation.email) is not None
    form = AcceptInvitationForm(_posted(request)) if user is None and not has_login else None
    if request.method == "POST" and not has_login and (form is None or form.is_valid()):
        try:
            membership = invitation_accept(
                token=token,
                user=user,
                password=form.cleaned_data["password"] if form is not None else None,
            )
        except ApplicationError as exc:
            if form is not None:
                form_errors_from(form, exc)
            else:
                messages.error(request, exc.message)
                return HttpResponseRedirect(request.path)
        else:
            if user is None:
                login(request, membership.user, backend=AUTH_BACKEND)
            _enter(request, membership.tenant_id)
            messages.success(
                request,
                f"Welcome to {invitation.tenant.name}! You joined as "
                f"{membership.get_role_display().lower()}.",
            )
            return HttpResponseRedirect(reverse("home"))
    status = 400 if form is not None and form.errors else 200
    context = {"invitation": invitation, "form": form, "has_login": has_login}
    return render(request, "tenancy/invitation_accept.html", context, status=status)


# --- sites -----------------------------------------------------------------------------------
# Page caps: a business has a handful of sites and people; the API lists every row.
SITES_SHOWN = 100
PEOPLE_SHOWN = 200


def _site_list_context(request: TenantHtmxRequest) -> dict[str, Any]:
    sites = list(site_list(tenant=request.actor.tenant)[: SITES_SHOWN + 1])
    return {
        "sites": [
            (site, working_hours_summary(site.working_hours)) for site in sites[:SITES_SHOWN]
        ],
        "sites_shown": SITES_SHOWN,
        "more_sites": len(sites) > SITES_SHOWN,
    }


@member_view()
@require_http_methods(["GET"])
def site_list_view(request: TenantHtmxRequest) -> HttpResponse:
    template = htmx_partial(request, "tenancy/site_list.html", "sites")
    return render(request, template, _site_list_context(request))


@member_view("sites.manage")
@require_http_methods(["GET", "POST"])
def site_create_view(request: TenantHtmxRequest) -> HttpResponse:
    form = SiteForm(
        _posted(request),
        initial={"country": request.tenant.country, "timezone": request.tenant.timezone},
    )
    if request.method == "POST" and form.is_valid():
        try:
            site = site_create(actor=request.actor, **form.service_fields())
        except ApplicationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, f"Site {site.name} added.")
            return HttpResponseRedirect(reverse("tenancy:site-list"))
    return render(
        request,
        "tenancy/site_form.html",
        {"form": form, "site": None},
        status=400 if form.errors else 200,
    )


@member_view("sites.manage")
@require_http_methods(["GET", "POST"])
def site_update_view(request: TenantHtmxRequest, site_id: int) -> HttpResponse:
    site = site_get(tenant=request.actor.tenant, site_id=site_id)
    form = SiteForm(_posted(request), site=site)
    if request.method == "POST" and form.is_valid():
        try:
            site = site_update(actor=request.actor, site=site, **form.service_fields())
        except ApplicationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, f"Site {site.name} saved.")
            return HttpResponseRedirect(reverse("tenancy:site-list"))
    return render(
        request,
        "tenancy/site_form.html",
        {"form": form, "site": site},
        status=400 if form.errors else 200,
    )


@member_view("sites.manage")
@require_POST
def site_delete_view(request: TenantHtmxRequest, site_id: int) -> HttpResponse:
    site = site_get(tenant=request.actor.tenant, site_id=site_id)
    try:
        site_delete(actor=request.actor, site=site)
    except ApplicationError as exc:
        messages.error(request, f"{site.name} was not deleted: {exc.message}")
    else:
        messages.success(request, f"Site {site.name} deleted.")
    if request.htmx:
        return render(request, "tenancy/site_list.html#sites", _site_list_context(request))
    return HttpResponseRedirect(reverse("tenancy:site-list"))


# --- members and invitations (the owner's side) ----------------------------------------------
def _people_context(
    request: TenantHtmxRequest, invite_form: InvitationForm | None = None
) -> dict[str, Any]:
    tenant = request.actor.tenant
    can_manage = has_permission(request.actor, "members.manage")
    members = list(membership_list(tenant=tenant)[: PEOPLE_SHOWN + 1])
    # Invitees' addresses are for those who manage members only (checked here, not just in the
    # template: a client may ask for the partial alone).
    invitations = list(invitation_list(tenant=tenant)[: PEOPLE_SHOWN + 1]) if can_manage else []
    return {
        "members": members[:PEOPLE_SHOWN],
        "more_members": len(members) > PEOPLE_SHOWN,
        "people_shown": PEOPLE_SHOWN,
        "roles": Membership.Role.choices,
        "can_manage": can_manage,
        "invitations": invitations[:PEOPLE_SHOWN],
        "more_invitations": len(invitations) > PEOPLE_SHOWN,
        "invite_form": (invite_form or InvitationForm()) if can_manage else None,
        "me": request.membership.pk if request.membership is not None else None,
    }


def _people_response(
    request: TenantHtmxRequest, invite_form: InvitationForm | None = None, status: int = 200
) -> HttpResponse:
    template = htmx_partial(request, "tenancy/member_list.html", "people")
    return render(request, template, _people_context(request, invite_form), status=status)


def _back_to_members(request: TenantHtmxRequest) -> HttpResponse:
    """After an action: the refreshed section for htmx, the page again for a plain form."""
    if request.htmx:
        return _people_response(request)
    return HttpResponseRedirect(reverse("tenancy:member-list"))


@member_view()
@require_http_methods(["GET"])
def member_list_view(request: TenantHtmxRequest) -> HttpResponse:
    return _people_response(request)


@member_view("members.manage")
@require_POST
def invitation_create_view(request: TenantHtmxRequest) -> HttpResponse:
    form = InvitationForm(request.POST)
    if form.is_valid():
        try:
            invitation, _ = invitation_create(
                actor=request.actor,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                base_url=request.build_absolute_uri("/"),
            )
        except ApplicationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(
                request,
                f"Invitation sent to {invitation.email} as "
                f"{invitation.get_role_display().lower()}. The link works for 7 days.",
            )
            return _back_to_members(request)
    return _people_response(request, invite_form=form, status=400)


@member_view("members.manage")
@require_POST
def invitation_revoke_view(request: TenantHtmxRequest, invitation_id: int) -> HttpResponse:
    invitation = invitation_get(tenant=request.actor.tenant, invitation_id=invitation_id)
    try:
        invitation_revoke(actor=request.actor, invitation=invitation)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Invitation to {invitation.email} revoked.")
    return _back_to_members(request)


@member_view("members.manage")
@require_POST
def member_role_view(request: TenantHtmxRequest, membership_id: int) -> HttpResponse:
    membership = membership_get_by_id(tenant=request.actor.tenant, membership_id=membership_id)
    try:
        membership = membership_update_role(
            actor=request.actor, membership=membership, role=request.POST.get("role", "")
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"{membership.user.get_username()} is now {membership.get_role_display().lower()}.",
        )
        if membership.pk == request.membership.pk and request.htmx:
            # One's own role changed: the whole page (navigation, buttons) must follow.
            return HttpResponseClientRedirect(reverse("tenancy:member-list"))
    return _back_to_members(request)


@member_view("members.manage")
@require_POST
def member_remove_view(request: TenantHtmxRequest, membership_id: int) -> HttpResponse:
    membership = membership_get_by_id(tenant=request.actor.tenant, membership_id=membership_id)
    try:
        membership_remove(actor=request.actor, membership=membership)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        name = membership.user.get_username()
        if membership.pk == request.membership.pk:
            messages.success(request, f"You left {request.actor.tenant.name}.")
            home = reverse("home")
            return HttpResponseClientRedirect(home) if request.htmx else HttpResponseRedirect(home)
        messages.success(request, f"{name} removed from {request.actor.tenant.name}.")
    return _back_to_members(request)

"""Resolves `request.tenant` and `request.membership` once per request, and the database
context the request runs in (mfapp.core.rls).

The active tenant is the one chosen in the tenant switcher (kept in the session), validated
against the user's memberships on every request, else the user's first membership. The request
then runs as that tenant; an API call names its tenant later, through its key
(core.authentication narrows the context). Platform staff in the admin cross tenants through
`platform_access`, the one path that may.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from mfapp.core import rls
from mfapp.tenancy.selectors import membership_list_for_user

SESSION_KEY = "active_tenant_id"


class TenantMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.tenant = None  # type: ignore[attr-defined]
        request.membership = None  # type: ignore[attr-defined]
        request.memberships = []  # type: ignore[attr-defined]
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            with rls.user_context(None):
                return self.get_response(request)
        if user.is_staff and user.is_active and request.path.startswith(reverse("admin:index")):
            reason = f"admin: {request.method} {request.path}"
            with rls.platform_access(reason=reason, actor=user.get_username()):
                return self.get_response(request)
        with rls.user_context(user.pk):
            memberships = list(membership_list_for_user(user=user))
        wanted = request.session.get(SESSION_KEY)
        active = next((m for m in memberships if m.tenant_id == wanted), None)
        if active is None and memberships:
            active = memberships[0]
        request.memberships = memberships  # type: ignore[attr-defined]
        if active is None:
            with rls.user_context(user.pk):
                return self.get_response(request)
        request.membership = active  # type: ignore[attr-defined]
        request.tenant = active.tenant  # type: ignore[attr-defined]
        with rls.tenant_context(active.tenant_id, user_id=user.pk):
            return self.get_response(request)

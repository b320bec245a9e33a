"""Resolves `request.tenant` and `request.membership` once per request.

The active tenant is the one chosen in the tenant switcher (kept in the session), validated
against the user's memberships on every request, else the user's first membership.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

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
        if user is not None and user.is_authenticated:
            memberships = list(membership_list_for_user(user=user))
            wanted = request.session.get(SESSION_KEY)
            active = next((m for m in memberships if m.tenant_id == wanted), None)
            if active is None and memberships:
                active = memberships[0]
            request.memberships = memberships  # type: ignore[attr-defined]
            if active is not None:
                request.membership = active  # type: ignore[attr-defined]
                request.tenant = active.tenant  # type: ignore[attr-defined]
        return self.get_response(request)

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from mfapp.tenancy.permissions import PERMISSIONS

# The main navigation: (label, URL name). An item is current on every page under its URL.
NAVIGATION = [
    ("Dashboard", "home"),
    ("Orders", "orders:order-list"),
    ("Batches", "production:batch-board"),
    ("Shop floor", "shopfloor:machine-list"),
    ("Plan", "scheduling:plan"),
    ("Products", "catalog:product-list"),
    ("Materials", "catalog:material-list"),
    ("Machines", "machines:machine-list"),
    ("Reports", "sustainability:report-list"),
    ("Settings", "tenancy:site-list"),
]
# Items that are also current on pages outside their URL: the settings section's other pages.
ALSO_CURRENT = {
    "tenancy:site-list": ("tenancy:member-list", "audit:event-list", "webhook-endpoint-list"),
}


def _is_under(path: str, url: str) -> bool:
    return path == url or (url != "/" and path.startswith(url))


def _also_current(path: str, name: str) -> bool:
    for other in ALSO_CURRENT.get(name, ()):
        try:
            if _is_under(path, reverse(other)):
                return True
        except NoReverseMatch:
            continue
    return False


def tenant(request: HttpRequest) -> dict[str, Any]:
    membership = getattr(request, "membership", None)
    role = membership.role if membership is not None else None
    navigation = []
    if membership is not None:
        for label, name in NAVIGATION:
            try:
                url = reverse(name)
            except NoReverseMatch:  # an app without pages is simply not in the menu
                continue
            current = _is_under(request.path, url) or _also_current(request.path, name)
            navigation.append((label, url, current))
    return {
        "tenant": getattr(request, "tenant", None),
        "membership": membership,
        "memberships": getattr(request, "memberships", []),
        "navigation": navigation,
        # What the member may do, to decide which buttons to show; views and services check
        # again. Keys use underscores: `can.catalog_manage`.
        "can": {action.replace(".", "_"): role in roles for action, roles in PERMISSIONS.items()},
    }

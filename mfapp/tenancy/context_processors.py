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
            current = request.path == url or (url != "/" and request.path.startswith(url))
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

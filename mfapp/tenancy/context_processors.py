from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from mfapp.tenancy.permissions import PERMISSIONS

# The main navigation: (label, URL name, namespace that marks it current).
NAVIGATION = [
    ("Dashboard", "home", "dashboard"),
    ("Orders", "orders:order-list", "orders"),
    ("Batches", "production:batch-board", "production"),
    ("Shop floor", "shopfloor:machine-list", "shopfloor"),
    ("Plan", "scheduling:plan", "scheduling"),
    ("Products", "catalog:product-list", "catalog"),
    ("Machines", "machines:machine-list", "machines"),
    ("Reports", "sustainability:report-list", "sustainability"),
    ("Settings", "tenancy:site-list", "tenancy"),
]


def tenant(request: HttpRequest) -> dict[str, Any]:
    membership = getattr(request, "membership", None)
    role = membership.role if membership is not None else None
    match = getattr(request, "resolver_match", None)
    current = match.namespace if match is not None and match.namespace else "dashboard"
    navigation = []
    if membership is not None:
        for label, name, namespace in NAVIGATION:
            try:
                navigation.append((label, reverse(name), namespace == current))
            except NoReverseMatch:  # an app without pages is simply not in the menu
                continue
    return {
        "tenant": getattr(request, "tenant", None),
        "membership": membership,
        "memberships": getattr(request, "memberships", []),
        "navigation": navigation,
        # What the member may do, to decide which buttons to show; views and services check
        # again. Keys use underscores: `can.catalog_manage`.
        "can": {action.replace(".", "_"): role in roles for action, roles in PERMISSIONS.items()},
    }

"""The role matrix: which roles may perform which action. Services enforce it."""

from mfapp.core.exceptions import PermissionDenied
from mfapp.tenancy.actors import Actor
from mfapp.tenancy.models import Membership

Role = Membership.Role
SYSTEM = "system"
INTEGRATION = "integration"  # a read-write API key
INTEGRATION_READ = "integration_read"  # a read-only API key

_READ = {
    Role.OWNER,
    Role.MANAGER,
    Role.OPERATOR,
    Role.VIEWER,
    INTEGRATION,
    INTEGRATION_READ,
    SYSTEM,
}
_PLAN = {Role.OWNER, Role.MANAGER, INTEGRATION, SYSTEM}
_RUN = {Role.OWNER, Role.MANAGER, Role.OPERATOR, INTEGRATION, SYSTEM}

PERMISSIONS: dict[str, set[str]] = {
    "tenant.view": _READ,
    "tenant.manage": {Role.OWNER, SYSTEM},
    "members.manage": {Role.OWNER, SYSTEM},
    "api_keys.manage": {Role.OWNER, SYSTEM},
    "sites.manage": {Role.OWNER, Role.MANAGER, SYSTEM},
    "catalog.manage": _PLAN,
    "machines.manage": _PLAN,
    "machines.change_status": _RUN,
    "orders.manage": _PLAN,
    "batches.manage": _PLAN,
    "operations.run": _RUN,
    "quality.record": _RUN,
    "webhooks.manage": {Role.OWNER, Role.MANAGER, INTEGRATION, SYSTEM},
    # Sustainability reports: people who run the business, and integrations through the API.
    "reports.request": {Role.OWNER, Role.MANAGER, INTEGRATION, SYSTEM},
    # The audit log watches everyone, managers included, and holds personal data (invitees'
    # e-mails, logins): owners only. Platform staff read it in the admin.
    "audit.view": {Role.OWNER, SYSTEM},
}


def has_permission(actor: Actor, action: str) -> bool:
    return actor.role in PERMISSIONS[action]


def require_permission(actor: Actor, action: str) -> None:
    if not has_permission(actor, action):
        raise PermissionDenied(f"Your role ({actor.role}) does not allow this action ({action}).")

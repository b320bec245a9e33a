"""Errors raised by services and selectors; the API and views translate them for people."""

from typing import Any


class ApplicationError(Exception):
    """A business rule refused the request. `message` is shown to the person who asked."""

    def __init__(self, message: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class NotFound(ApplicationError):
    """The object does not exist *for this tenant* (another tenant's object looks the same)."""


class PermissionDenied(ApplicationError):
    """The actor's role does not allow this action."""


class Conflict(ApplicationError):
    """The action is not allowed in the object's current state (an illegal transition)."""


class TenantScopeError(RuntimeError):
    """A query on a tenant-owned model was about to run without a tenant scope.

    This is a programming error, never a user error: scope the queryset with
    `.for_tenant(tenant)` or, for platform jobs and the admin only, `.all_tenants()`.
    """

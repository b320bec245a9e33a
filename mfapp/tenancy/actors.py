"""Who performs an action: a member (browser), an API key (integration) or the system (tasks)."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from mfapp.tenancy.models import ApiKey, Tenant


@dataclass(frozen=True)
class Actor:
    tenant: "Tenant"
    role: str  # a Membership.Role value, "integration", "system" or PLATFORM_STAFF
    user: "AbstractBaseUser | None" = None
    api_key: "ApiKey | None" = None

    PLATFORM_STAFF = "platform_staff"  # staff in the admin, through rls.platform_access

    @property
    def label(self) -> str:
        if self.role == self.PLATFORM_STAFF and self.user is not None:
            return f"platform staff: {self.user.get_username()}"
        if self.user is not None:
            return self.user.get_username()
        if self.api_key is not None:
            return f"api-key:{self.api_key.name}"
        return "system"

import zoneinfo
from datetime import date, datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from mfapp.core.fields import (
    country_code_validator,
    currency_code_validator,
    latitude_field,
    longitude_field,
)
from mfapp.core.models import BaseModel, TenantScopedModel, TenantScopedQuerySet
from mfapp.tenancy.working_hours import default_working_hours, validate_working_hours


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"Unknown time zone {value!r}; use an IANA name like Europe/Berlin.")


class Tenant(BaseModel):
    """One microfactory business. Not tenant-scoped itself: it *is* the scope."""

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    country = models.CharField(
        max_length=2, validators=[country_code_validator], help_text="Default grid region."
    )
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    currency = models.CharField(max_length=3, default="EUR", validators=[currency_code_validator])
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def today(self, now: datetime | None = None) -> date:
        """The date in the tenant's time zone (now, or at `now`)."""
        return (now or timezone.now()).astimezone(zoneinfo.ZoneInfo(self.timezone)).date()


class Site(TenantScopedModel):
    name = models.CharField(max_length=200)
    address = models.TextField(blank=True)
    country = models.CharField(max_length=2, validators=[country_code_validator])
    latitude = latitude_field(null=True, blank=True)
    longitude = longitude_field(null=True, blank=True)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    working_hours = models.JSONField(
        default=default_working_hours,
        validators=[validate_working_hours],
        help_text='Per weekday, shifts as [["08:00", "17:00"]]; an empty list means closed.',
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "name"],
                name="site_unique_name_per_tenant",
                violation_error_message="A site with this name exists already.",
            )
        ]

    def __str__(self) -> str:
        return self.name


class MembershipQuerySet(TenantScopedQuerySet):
    def for_user(self, user: "settings.AUTH_USER_MODEL") -> "MembershipQuerySet":
        """A person's own memberships across tenants (the tenant switcher) is a valid scope."""
        return self._scoped(self.filter(user=user))


class Membership(TenantScopedModel):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        MANAGER = "manager", "Manager"
        OPERATOR = "operator", "Operator"
        VIEWER = "viewer", "Viewer"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)

    objects = models.Manager.from_queryset(MembershipQuerySet)()

    class Meta:
        ordering = ["tenant_id", "user_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "user"],
                name="membership_unique_per_tenant",
                violation_error_message="This person is a member already.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.tenant_id} as {self.role}"


class ApiKey(TenantScopedModel):
    """An integration's credential. Only a SHA-256 hash of the secret is stored."""

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, db_index=True, editable=False)
    hashed_key = models.CharField(max_length=64, editable=False)
    read_only = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "name"],
                name="apikey_unique_name_per_tenant",
                violation_error_message="An API key with this name exists already.",
            ),
            models.UniqueConstraint(
                fields=["tenant", "prefix"],
                name="apikey_unique_prefix",
                violation_error_message="API key prefix collision; create the key again.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Invitation(TenantScopedModel):
    """An e-mailed link that lets a person join a tenant with a role. Only a SHA-256 hash of
    the link's token is stored; the link works once, for seven days, unless revoked."""

    email = models.EmailField()
    role = models.CharField(
        max_length=16, choices=Membership.Role.choices, default=Membership.Role.VIEWER
    )
    # Not `unique`: Django's unique check would query without a tenant. A SHA-256 of a 256-bit
    # random token does not collide; the index serves the lookup by token.
    token_hash = models.CharField(max_length=64, db_index=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "email"], name="invitation_tenant_email")]

    def __str__(self) -> str:
        return f"{self.email} as {self.role}"

    @property
    def is_pending(self) -> bool:
        """Neither accepted nor revoked (it may still have expired)."""
        return self.accepted_at is None and self.revoked_at is None

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at <= (now or timezone.now())

    @property
    def status(self) -> str:
        """pending, expired, accepted or revoked: what a person sees."""
        if self.accepted_at is not None:
            return "accepted"
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.is_expired() else "pending"

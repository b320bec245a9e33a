from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.http import HttpRequest

from mfapp.core.admin import StaffAccessAuditMixin, TenantScopedAdmin, TenantScopedInline
from mfapp.tenancy.models import ApiKey, Invitation, Membership, Site, Tenant
from mfapp.tenancy.services import tenant_create


class TenantCreationForm(forms.ModelForm):
    """A tenant with its first site and owner, in one step (tenant_create does the work)."""

    owner_email = forms.EmailField(help_text="An existing login becomes owner; else one is made.")
    owner_password = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        required=False,
        help_text="Required when the owner has no login yet.",
    )
    site_name = forms.CharField(
        max_length=200, required=False, help_text="Default: the tenant's name and “workshop”."
    )

    class Meta:
        model = Tenant
        fields = ("slug", "name", "country", "timezone", "currency")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        email = (data.get("owner_email") or "").lower()
        password = data.get("owner_password")
        user_model = get_user_model()
        if email and not user_model.objects.filter(username=email).exists():
            if not password:
                self.add_error("owner_password", "A new owner needs a password.")
            else:
                try:
                    validate_password(password, user_model(username=email, email=email))
                except forms.ValidationError as exc:
                    self.add_error("owner_password", exc)
        return data


class SiteInline(TenantScopedInline):
    model = Site
    fields = ("name", "country", "timezone")


class MembershipInline(TenantScopedInline):
    model = Membership
    fields = ("user", "role")
    autocomplete_fields = ("user",)


@admin.register(Tenant)
class TenantAdmin(StaffAccessAuditMixin, admin.ModelAdmin):
    list_display = ("name", "slug", "country", "currency", "is_active", "created_at")
    list_filter = ("is_active", "country")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("created_at", "updated_at")
    inlines = (SiteInline, MembershipInline)

    def get_form(self, request: HttpRequest, obj: Tenant | None = None, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = TenantCreationForm
        return super().get_form(request, obj, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Tenant | None = None) -> Any:
        if obj is None:
            return (
                (None, {"fields": ("name", "slug", "country", "timezone", "currency")}),
                (
                    "Owner and first site",
                    {"fields": ("owner_email", "owner_password", "site_name")},
                ),
            )
        return super().get_fieldsets(request, obj)

    def get_inlines(self, request: HttpRequest, obj: Tenant | None) -> Any:
        return self.inlines if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: Tenant, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        created = tenant_create(
            slug=data["slug"],
            name=data["name"],
            country=data["country"],
            timezone_name=data["timezone"],
            currency=data["currency"],
            owner_email=data["owner_email"],
            owner_password=data.get("owner_password") or None,
            site_name=data.get("site_name") or None,
        )
        obj.pk = created.pk
        obj.refresh_from_db()


@admin.register(Site)
class SiteAdmin(TenantScopedAdmin):
    list_display = ("name", "tenant", "country", "timezone")
    search_fields = ("name", "tenant__name", "tenant__slug")


@admin.register(Membership)
class MembershipAdmin(TenantScopedAdmin):
    list_display = ("user", "tenant", "role", "created_at")
    list_filter = ("tenant", "role")
    search_fields = ("user__username", "user__email", "tenant__name")
    autocomplete_fields = ("tenant", "user")


@admin.register(ApiKey)
class ApiKeyAdmin(TenantScopedAdmin):
    """Keys are created by the tenant (or `create_api_key`): the secret is shown once there."""

    list_display = ("name", "tenant", "prefix", "read_only", "last_used_at", "revoked_at")
    list_filter = ("tenant", "read_only")
    search_fields = ("name", "prefix", "tenant__name")
    readonly_fields = ("prefix", "last_used_at", "created_by", "created_at", "updated_at")
    exclude = ("hashed_key",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Invitation)
class InvitationAdmin(TenantScopedAdmin):
    """Invitations are sent from the members page, where the link is e-mailed; staff may
    look, correct the role or revoke (set revoked at)."""

    list_display = (
        "email",
        "tenant",
        "role",
        "invited_by",
        "expires_at",
        "accepted_at",
        "revoked_at",
    )
    list_filter = ("tenant", "role")
    search_fields = ("email", "tenant__name")
    readonly_fields = (
        "invited_by",
        "accepted_at",
        "accepted_by",
        "created_at",
        "updated_at",
    )
    exclude = ("token_hash",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

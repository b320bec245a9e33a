"""Reads of sustainability reports, settings and factors (always within one tenant)."""

from django.db.models import F, QuerySet

from mfapp.core.exceptions import NotFound
from mfapp.sustainability.models import (
    EmissionFactor,
    FactorOverride,
    SustainabilityReport,
    SustainabilitySettings,
)
from mfapp.tenancy.models import Site, Tenant


def report_get(*, tenant: Tenant, report_id: int) -> SustainabilityReport:
    try:
        return (
            SustainabilityReport.objects.for_tenant(tenant)
            .select_related("site", "tenant")
            .get(pk=report_id)
        )
    except (SustainabilityReport.DoesNotExist, ValueError, TypeError):
        raise NotFound("Sustainability report not found.") from None


def report_list(
    *, tenant: Tenant, site_id: int | None = None, summaries: bool = False
) -> QuerySet[SustainabilityReport]:
    """Newest period first. `summaries`: without the big document, only its totals (read in
    the same query, so `report.totals` costs nothing per row)."""
    qs = (
        SustainabilityReport.objects.for_tenant(tenant)
        .select_related("site")
        .order_by("-period_end", "-period_start", "-id")
    )
    if summaries:
        qs = qs.defer("data").annotate(data_totals=F("data__totals"))
    if site_id is not None:
        qs = qs.filter(site_id=site_id)
    return qs


def report_for_period(
    *, tenant: Tenant, start: object, end: object, site: Site | None = None
) -> SustainabilityReport | None:
    return (
        SustainabilityReport.objects.for_tenant(tenant)
        .filter(period_start=start, period_end=end, site=site)
        .first()
    )


def sustainability_report_latest(*, tenant: Tenant) -> SustainabilityReport | None:
    """The latest succeeded whole-business report (the dashboard's kgCO2e per unit)."""
    return (
        SustainabilityReport.objects.for_tenant(tenant)
        .filter(status=SustainabilityReport.Status.SUCCEEDED, site__isnull=True)
        .order_by("-period_end", "-period_start", "-id")
        .first()
    )


def sustainability_settings_get(*, tenant: Tenant) -> SustainabilitySettings:
    """The tenant's settings, or unsaved defaults when it has none yet."""
    found = SustainabilitySettings.objects.for_tenant(tenant).first()
    return found or SustainabilitySettings(tenant=tenant)


def factor_override_list(*, tenant: Tenant) -> QuerySet[FactorOverride]:
    return (
        FactorOverride.objects.for_tenant(tenant)
        .select_related("site")
        .order_by("kind", "key", "site_id")
    )


def emission_factor_list(*, kind: str | None = None) -> QuerySet[EmissionFactor]:
    """The platform's default factors (not tenant-owned)."""
    qs = EmissionFactor.objects.order_by("kind", "key")
    return qs.filter(kind=kind) if kind else qs


def tenants_for_monthly_reports() -> QuerySet[Tenant]:
    """Every active tenant: the monthly beat job queues one report each."""
    return Tenant.objects.filter(is_active=True).order_by("pk")

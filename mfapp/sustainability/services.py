"""Sustainability reports: compute the document, store it in the one row of its tenant, period
and site (regenerating refreshes that row), queue one on the `reports` queue."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from mfapp.audit.services import audit_record
from mfapp.core.exceptions import ApplicationError
from mfapp.core.serialization import jsonable
from mfapp.core.transitions import ensure_same_tenant
from mfapp.sustainability.document import build_document
from mfapp.sustainability.models import (
    FactorOverride,
    SustainabilityReport,
    SustainabilitySettings,
    validate_baseline_legs,
)
from mfapp.tenancy.actors import Actor
from mfapp.tenancy.models import Site, Tenant
from mfapp.tenancy.permissions import require_permission

logger = logging.getLogger(__name__)

R = SustainabilityReport.Status
MAX_PERIOD_DAYS = 731  # two years (a yearly report and its comparison fit comfortably)
EARLIEST = date(2000, 1, 1)


def period_check(*, start: date, end: date) -> None:
    """The rules of a report period; an ApplicationError naming the field otherwise."""
    if end < start:
        raise ApplicationError(
            "The period cannot end before it starts.",
            {"fields": {"end": ["The end is before the start."]}},
        )
    if start < EARLIEST:
        raise ApplicationError(
            "Reports start in 2000 or later.", {"fields": {"start": ["2000-01-01 or later."]}}
        )
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise ApplicationError(
            f"A report covers at most {MAX_PERIOD_DAYS} days.",
            {"fields": {"end": [f"At most {MAX_PERIOD_DAYS} days after the start."]}},
        )
    if start > timezone.localdate() + timedelta(days=1):
        raise ApplicationError(
            "The period cannot start in the future.",
            {"fields": {"start": ["Today or earlier."]}},
        )


def report_document(
    *, tenant: Tenant, start: date, end: date, site: Site | None = None, progress: Any = None
) -> dict[str, Any]:
    """The report document for the tenant (or one of its sites) and the inclusive period.
    Pure computation: reads only, a fixed number of queries whatever the number of rows."""
    period_check(start=start, end=end)
    if site is not None and site.tenant_id != tenant.pk:
        raise ApplicationError("The site belongs to another business.")
    return build_document(tenant=tenant, start=start, end=end, site=site, progress=progress)


def _report_row(
    *, tenant: Tenant, start: date, end: date, site: Site | None, defaults: dict[str, Any]
) -> tuple[SustainabilityReport, bool]:
    """The one row of (tenant, period, site): created, or updated with `defaults`."""
    return SustainabilityReport.objects.for_tenant(tenant).update_or_create(
        tenant=tenant, period_start=start, period_end=end, site=site, defaults=defaults
    )


def report_request(
    *,
    actor: Actor,
    start: date,
    end: date,
    site: Site | None = None,
    requested_by: AbstractBaseUser | None = None,
) -> SustainabilityReport:
    """Queue a report of the period (a report already queued or running is returned as it is,
    a finished one is refreshed in place). The task runs on the `reports` queue after commit."""
    require_permission(actor, "reports.request")
    if site is not None:
        ensure_same_tenant(actor, site)
    period_check(start=start, end=end)
    tenant = actor.tenant
    with transaction.atomic():
        existing = (
            SustainabilityReport.objects.for_tenant(tenant)
            .select_for_update()
            .filter(period_start=start, period_end=end, site=site)
            .first()
        )
        if existing is not None and existing.status in (R.QUEUED, R.RUNNING):
            return existing
        report, _ = _report_row(
            tenant=tenant,
            start=start,
            end=end,
            site=site,
            defaults={
                "status": R.QUEUED,
                "progress": 0,
                "progress_note": "Waiting for a worker",
                "requested_by": requested_by or actor.user,
                "error": "",
                "started_at": None,
                "finished_at": None,
            },
        )
        audit_record(
            actor=actor,
            verb="sustainability_report.requested",
            target=report,
            after={"period_start": start.isoformat(), "period_end": end.isoformat()},
        )
        transaction.on_commit(lambda: _enqueue(report))
    return report


def _enqueue(report: SustainabilityReport) -> None:
    from mfapp.sustainability.tasks import generate_report  # tasks import this module

    generate_report.delay(
        report.tenant_id,
        report.period_start.isoformat(),
        report.period_end.isoformat(),
        report.site_id,
    )


def _progress_saver(report: SustainabilityReport) -> Any:
    def save(percent: int, note: str) -> None:
        report.progress, report.progress_note = percent, note[:200]
        SustainabilityReport.objects.for_tenant(report.tenant_id).filter(pk=report.pk).update(
            progress=percent, progress_note=note[:200], updated_at=timezone.now()
        )

    return save


def report_generate(*, report: SustainabilityReport) -> SustainabilityReport:
    """Compute the report's document and store it in the row: running (with progress) ->
    succeeded, or failed with the error. Safe to run again: it refreshes the same row."""
    tenant = report.tenant
    report.status, report.progress, report.progress_note = R.RUNNING, 0, "Starting"
    report.started_at, report.finished_at, report.error = timezone.now(), None, ""
    report.save(
        update_fields=[
            "status",
            "progress",
            "progress_note",
            "started_at",
            "finished_at",
            "error",
            "updated_at",
        ]
    )
    try:
        data = report_document(
            tenant=tenant,
            start=report.period_start,
            end=report.period_end,
            site=report.site,
            progress=_progress_saver(report),
        )
    except Exception as exc:
        logger.exception("sustainability report %s of tenant %s failed", report.pk, tenant.pk)
        report.status, report.finished_at = R.FAILED, timezone.now()
        report.error = f"{type(exc).__name__}: {exc}"[:5000]
        report.progress_note = "Failed"
        report.save(update_fields=["status", "finished_at", "error", "progress_note", "updated_at"])
        return report
    report.data, report.status, report.progress = data, R.SUCCEEDED, 100
    report.progress_note, report.finished_at = "Done", timezone.now()
    report.save(
        update_fields=["data", "status", "progress", "progress_note", "finished_at", "updated_at"]
    )
    return report


def report_generate_for_period(
    *, tenant: Tenant, start: date, end: date, site: Site | None = None
) -> SustainabilityReport:
    """The task's and the demo's entry: the period's one row, created if needed, refreshed."""
    if site is not None and site.tenant_id != tenant.pk:
        raise ApplicationError("The site belongs to another business.")
    report = (
        SustainabilityReport.objects.for_tenant(tenant)
        .filter(period_start=start, period_end=end, site=site)
        .first()
    )
    if report is None:
        report, _ = _report_row(
            tenant=tenant, start=start, end=end, site=site, defaults={"status": R.QUEUED}
        )
    return report_generate(report=report)


# --- settings and overrides ---------------------------------------------------------------------
@transaction.atomic
def sustainability_settings_update(*, actor: Actor, **fields: Any) -> SustainabilitySettings:
    """Create or change the tenant's settings (delivery mode, road factor, baseline)."""
    require_permission(actor, "tenant.manage")
    allowed = {
        "delivery_mode",
        "road_factor",
        "baseline_description",
        "baseline_legs",
        "default_product_mass_kg",
    }
    unknown = set(fields) - allowed
    if unknown:
        raise ApplicationError(f"Unknown settings: {', '.join(sorted(unknown))}.")
    if "baseline_legs" in fields:
        validate_baseline_legs(fields["baseline_legs"])
    for name in ("road_factor", "default_product_mass_kg"):
        if name in fields:
            fields[name] = Decimal(str(fields[name]))
    settings_row = (
        SustainabilitySettings.objects.for_tenant(actor.tenant)
        .select_for_update(of=("self",))
        .first()
    )
    created = settings_row is None
    if settings_row is None:
        settings_row = SustainabilitySettings(tenant=actor.tenant)
    # A new row records every setting it starts with; a change, the settings it was given.
    recorded = sorted(allowed) if created else list(fields)
    before = {} if created else {name: jsonable(getattr(settings_row, name)) for name in recorded}
    for name, value in fields.items():
        setattr(settings_row, name, value)
    settings_row.full_clean()
    settings_row.save()
    audit_record(
        actor=actor,
        verb="sustainability_settings.created" if created else "sustainability_settings.updated",
        target=settings_row,
        before=before,
        after={name: jsonable(getattr(settings_row, name)) for name in recorded},
    )
    return settings_row


@transaction.atomic
def factor_override_set(
    *,
    actor: Actor,
    kind: str,
    value: Decimal,
    unit: str,
    source: str,
    key: str = "",
    site: Site | None = None,
    year: int | None = None,
) -> FactorOverride:
    """Create or replace the tenant's override of one factor (for one site or all sites)."""
    require_permission(actor, "tenant.manage")
    if site is not None:
        ensure_same_tenant(actor, site)
        if not key and kind in (FactorOverride.Kind.GRID_ELECTRICITY, "market_electricity"):
            key = site.country
    existing = (
        FactorOverride.objects.for_tenant(actor.tenant)
        .select_for_update(of=("self",))
        .filter(kind=kind, key=key, site=site)
        .first()
    )
    override = existing or FactorOverride(tenant=actor.tenant, kind=kind, key=key, site=site)
    before = {} if existing is None else _override_values(existing)
    override.value, override.unit, override.source, override.year = value, unit, source, year
    override.full_clean()
    override.save()
    audit_record(
        actor=actor,
        verb="factor_override.created" if existing is None else "factor_override.updated",
        target=override,
        before=before,
        after=_override_values(override),
    )
    return override


def _override_values(override: FactorOverride) -> dict[str, Any]:
    """What an override's audit event records: which factor, for where, and its value."""
    names = ("kind", "key", "value", "unit", "year", "source")
    return {"site": override.site_id, **{name: jsonable(getattr(override, name)) for name in names}}

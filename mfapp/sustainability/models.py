"""Emission factors (platform-wide, loaded from the CSV files in `data/factors/`), a tenant's
overrides and settings, and the report snapshots (one row per tenant, period and site)."""

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from mfapp.core.fields import NON_NEGATIVE
from mfapp.core.models import BaseModel, TenantScopedModel


class FactorKind(models.TextChoices):
    GRID_ELECTRICITY = "grid_electricity", "Grid electricity (location-based)"
    ELECTRICITY_SOURCE = "electricity_source", "Electricity by generation source"
    MATERIAL = "material", "Material (cradle-to-gate)"
    FREIGHT = "freight", "Freight transport"
    MACHINE_POWER = "machine_power", "Machine power"
    OTHER = "other", "Other"


class EmissionFactor(BaseModel):
    """One published factor, as published (value and unit), with its year, source and licence.
    Platform-wide: every tenant reads the same table; tenants override with FactorOverride."""

    kind = models.CharField(max_length=32, choices=FactorKind.choices)
    key = models.CharField(max_length=100)
    value = models.DecimalField(max_digits=16, decimal_places=6)
    unit = models.CharField(max_length=32, help_text="As published, e.g. gCO2e/kWh.")
    year = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Empty: not dated.")
    source = models.TextField()
    licence = models.CharField(max_length=200, blank=True)
    is_proxy = models.BooleanField(
        default=False, help_text="Stands in for a missing dataset (e.g. PET for PETG)."
    )
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["kind", "key"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "key"], name="emissionfactor_unique_key")
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.key} = {self.value} {self.unit}"


class FactorOverride(TenantScopedModel):
    """A tenant's own factor. Precedence: site override > tenant override > platform default.
    For the two electricity kinds the key is the site's country code (ISO 3166-1 alpha-2)."""

    class Kind(models.TextChoices):
        GRID_ELECTRICITY = "grid_electricity", "Grid electricity (location-based scope 2)"
        MARKET_ELECTRICITY = "market_electricity", "Electricity contract (market-based scope 2)"
        MATERIAL = "material", "Material"
        FREIGHT = "freight", "Freight mode"

    UNITS = {
        Kind.GRID_ELECTRICITY: ("gCO2e/kWh", "kgCO2e/kWh"),
        Kind.MARKET_ELECTRICITY: ("gCO2e/kWh", "kgCO2e/kWh"),
        Kind.MATERIAL: ("kgCO2e/kg", "kgCO2/kg"),
        Kind.FREIGHT: ("kgCO2e/tonne.km",),
    }

    kind = models.CharField(max_length=32, choices=Kind.choices)
    key = models.CharField(
        max_length=100,
        blank=True,
        help_text="Country code for electricity (filled from the site), material or freight key.",
    )
    site = models.ForeignKey(
        "tenancy.Site",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="factor_overrides",
        help_text="Empty: applies to every site of the business.",
    )
    value = models.DecimalField(max_digits=16, decimal_places=6, validators=[NON_NEGATIVE])
    unit = models.CharField(max_length=32)
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    source = models.TextField(help_text="Where the value comes from (contract, EPD, supplier).")

    class Meta:
        ordering = ["kind", "key", "site_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "kind", "key", "site"],
                condition=models.Q(site__isnull=False),
                name="factoroverride_unique_per_site",
                violation_error_message="This site has an override for this factor already.",
            ),
            models.UniqueConstraint(
                fields=["tenant", "kind", "key"],
                condition=models.Q(site__isnull=True),
                name="factoroverride_unique_per_tenant",
                violation_error_message="There is a business-wide override for this factor.",
            ),
        ]

    def __str__(self) -> str:
        where = f"site {self.site_id}" if self.site_id else "all sites"
        return f"{self.kind}:{self.key} = {self.value} {self.unit} ({where})"

    def clean(self) -> None:
        super().clean()
        errors: dict[str, str] = {}
        electricity = self.kind in (self.Kind.GRID_ELECTRICITY, self.Kind.MARKET_ELECTRICITY)
        if electricity and self.site_id is not None and self.site.tenant_id == self.tenant_id:
            if not self.key:
                self.key = self.site.country
            elif self.key != self.site.country:
                errors["key"] = f"Use the site's country code ({self.site.country})."
        if not self.key:
            errors["key"] = "Give the key the factor replaces."
        allowed = self.UNITS.get(self.kind, ())
        if allowed and self.unit not in allowed:
            errors["unit"] = f"Use one of: {', '.join(allowed)}."
        if errors:
            raise ValidationError(errors)


def default_baseline_legs() -> list[dict[str, Any]]:
    return []


def validate_baseline_legs(value: object) -> None:
    if not isinstance(value, list):
        raise ValidationError('Give a list of legs like [{"mode": "sea_container", "km": 19000}].')
    for index, leg in enumerate(value):
        if not isinstance(leg, dict) or set(leg) != {"mode", "km"}:
            raise ValidationError(f"Leg {index + 1}: give exactly a mode and km.")
        if not isinstance(leg["mode"], str) or not leg["mode"]:
            raise ValidationError(f"Leg {index + 1}: the mode is a freight key.")
        km = leg["km"]
        if isinstance(km, bool) or not isinstance(km, int | float) or not 0 <= km <= 50_000:
            raise ValidationError(f"Leg {index + 1}: km is a number from 0 to 50,000.")


class SustainabilitySettings(TenantScopedModel):
    """How a business ships and what it compares itself with (one row per tenant)."""

    delivery_mode = models.CharField(
        max_length=100, default="van_diesel", help_text="Freight key of the delivery to customers."
    )
    road_factor = models.DecimalField(
        max_digits=4,
        decimal_places=2,
        default=Decimal("1.30"),
        validators=[MinValueValidator(Decimal("1")), MaxValueValidator(Decimal("3"))],
        help_text="Road distance / great-circle distance.",
    )
    baseline_description = models.CharField(max_length=300, blank=True)
    baseline_legs = models.JSONField(
        default=default_baseline_legs,
        blank=True,
        validators=[validate_baseline_legs],
        help_text="Central production's transport per shipment: [{mode, km}, ...].",
    )
    default_product_mass_kg = models.DecimalField(
        max_digits=10,
        decimal_places=3,
        default=Decimal("0.500"),
        validators=[NON_NEGATIVE],
        help_text="Used for products without a unit mass.",
    )

    class Meta:
        verbose_name = "sustainability settings"
        verbose_name_plural = "sustainability settings"
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="sustainabilitysettings_one_per_tenant")
        ]

    def __str__(self) -> str:
        return f"Sustainability settings of tenant {self.tenant_id}"


class SustainabilityReport(TenantScopedModel):
    """A snapshot: the document computed for one tenant, period and (optional) site.
    Regenerating the same period refreshes this row; it is never duplicated."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    site = models.ForeignKey(
        "tenancy.Site",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sustainability_reports",
        help_text="Empty: the whole business.",
    )
    period_start = models.DateField()
    period_end = models.DateField(help_text="Inclusive.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(100)])
    progress_note = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=dict, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-period_end", "-period_start", "-id"]
        verbose_name = "sustainability report"
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "period_start", "period_end", "site"],
                condition=models.Q(site__isnull=False),
                name="sustainabilityreport_unique_site_period",
                violation_error_message="A report for this site and period exists already.",
            ),
            models.UniqueConstraint(
                fields=["tenant", "period_start", "period_end"],
                condition=models.Q(site__isnull=True),
                name="sustainabilityreport_unique_period",
                violation_error_message="A report for this period exists already.",
            ),
            models.CheckConstraint(
                condition=models.Q(period_end__gte=models.F("period_start")),
                name="sustainabilityreport_end_after_start",
                violation_error_message="The period cannot end before it starts.",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "-period_end"], name="sreport_tenant_end_idx"),
        ]

    def __str__(self) -> str:
        where = f"site {self.site_id}" if self.site_id else "all sites"
        return f"{self.period_start} to {self.period_end} ({where}, {self.status})"

    @property
    def totals(self) -> dict[str, Any]:
        if "data_totals" in self.__dict__:  # annotated by report_list(summaries=True)
            return self.data_totals or {}
        return (self.data or {}).get("totals") or {}

    @property
    def kg_co2e_per_unit(self) -> float | None:
        return self.totals.get("kgco2e_per_unit")

    @property
    def total_kgco2e(self) -> float | None:
        return self.totals.get("total_kgco2e")

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models

from mfapp.catalog.capabilities import Capability
from mfapp.core.fields import NON_NEGATIVE, money_field
from mfapp.core.models import TenantScopedModel


def validate_capabilities(value: object) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError("Give the machine at least one capability.")
    unknown = sorted({str(v) for v in value} - set(Capability.values))
    if unknown:
        raise ValidationError(f"Unknown capability: {', '.join(unknown)}.")
    if len(set(value)) != len(value):
        raise ValidationError("Each capability may be listed once.")


class Machine(TenantScopedModel):
    class Kind(models.TextChoices):
        FDM_PRINTER = "fdm-printer", "FDM printer"
        SLA_PRINTER = "sla-printer", "SLA printer"
        SLS_PRINTER = "sls-printer", "SLS printer"
        CNC_MILL = "cnc-mill", "CNC mill"
        CNC_LATHE = "cnc-lathe", "CNC lathe"
        LASER_CUTTER = "laser-cutter", "Laser cutter"
        ROBOT_CELL = "robot-cell", "Robot cell"
        PICK_PLACE = "pick-place", "Pick-and-place machine"
        WORKSTATION = "workstation", "Manual workstation"
        INSPECTION = "inspection", "Inspection station"

    class Status(models.TextChoices):
        AVAILABLE = "available", "Available"
        RUNNING = "running", "Running"
        MAINTENANCE = "maintenance", "Maintenance"
        DOWN = "down", "Down"

    site = models.ForeignKey("tenancy.Site", on_delete=models.PROTECT, related_name="machines")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    capabilities = models.JSONField(
        default=list, validators=[validate_capabilities], help_text="List of capability codes."
    )
    rated_power_running_kw = models.DecimalField(
        max_digits=8, decimal_places=3, default=Decimal("0"), validators=[NON_NEGATIVE]
    )
    rated_power_idle_kw = models.DecimalField(
        max_digits=8, decimal_places=3, default=Decimal("0"), validators=[NON_NEGATIVE]
    )
    hourly_cost = money_field(default=Decimal("0"))
    speed_factor = models.DecimalField(
        max_digits=4,
        decimal_places=2,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0.1"))],
        help_text="Above 1 runs faster than the routing's run minutes, below 1 slower.",
    )
    changeover_minutes = models.PositiveIntegerField(
        default=0, help_text="Time to change material (filament, resin) between operations."
    )
    runs_unattended = models.BooleanField(
        default=False, help_text="May run outside the site's working hours (e.g. overnight prints)."
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.AVAILABLE)
    status_reason = models.CharField(max_length=300, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["site_id", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "site", "name"],
                name="machine_unique_name_per_site",
                violation_error_message="A machine with this name exists at this site already.",
            )
        ]
        indexes = [models.Index(fields=["tenant", "status"], name="machine_status_idx")]

    def __str__(self) -> str:
        return self.name

    def has_capability(self, capability: str) -> bool:
        return capability in self.capabilities


class MaintenanceWindow(TenantScopedModel):
    machine = models.ForeignKey(
        Machine, on_delete=models.CASCADE, related_name="maintenance_windows"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=300)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="maintenance_ends_after_start",
                violation_error_message="A maintenance window must end after it starts.",
            )
        ]
        indexes = [
            models.Index(fields=["tenant", "machine", "starts_at"], name="maintenance_machine_idx")
        ]

    def __str__(self) -> str:
        return f"{self.machine_id}: {self.starts_at:%Y-%m-%d %H:%M} - {self.ends_at:%H:%M}"


class EnergyReading(TenantScopedModel):
    """What a machine's meter reported. A *cumulative* reading is the meter's register (total
    kWh since it was installed); an *interval* reading is the kWh consumed during
    [interval_start, recorded_at). Reports turn either into energy per batch operation."""

    class Kind(models.TextChoices):
        CUMULATIVE = "cumulative", "Cumulative (meter register)"
        INTERVAL = "interval", "Interval (consumed in the interval)"

    machine = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="energy_readings")
    recorded_at = models.DateTimeField(help_text="The meter's timestamp (end of an interval).")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    kwh = models.DecimalField(max_digits=14, decimal_places=4, validators=[NON_NEGATIVE])
    interval_start = models.DateTimeField(
        null=True, blank=True, help_text="Interval readings only: when the interval began."
    )
    source = models.CharField(max_length=100, blank=True, help_text="The meter's id, for example.")

    class Meta:
        ordering = ["recorded_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "machine", "kind", "recorded_at"],
                name="energy_reading_unique_per_time",
                violation_error_message=(
                    "This machine has a reading of this kind at this time already."
                ),
            ),
            models.CheckConstraint(
                condition=models.Q(kwh__gte=0),
                name="energy_reading_kwh_non_negative",
                violation_error_message="kWh cannot be negative.",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(kind="cumulative", interval_start__isnull=True)
                    | models.Q(kind="interval", interval_start__lt=models.F("recorded_at"))
                ),
                name="energy_reading_interval_shape",
                violation_error_message=(
                    "Interval readings need an interval_start before recorded_at; cumulative "
                    "readings have none."
                ),
            ),
        ]
        indexes = [
            models.Index(
                fields=["tenant", "machine", "recorded_at"], name="energy_machine_time_idx"
            ),
            models.Index(fields=["tenant", "recorded_at"], name="energy_time_idx"),
            models.Index(fields=["tenant", "updated_at"], name="energy_updated_idx"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.machine_id}: {self.kwh} kWh ({self.kind}) at {self.recorded_at:%Y-%m-%d %H:%M}"
        )

    def clean(self) -> None:
        super().clean()
        errors: dict[str, str] = {}
        if self.kind == self.Kind.INTERVAL:
            if self.interval_start is None:
                errors["interval_start"] = "Interval readings need interval_start."
            elif self.recorded_at is not None and self.interval_start >= self.recorded_at:
                errors["interval_start"] = "The interval must start before recorded_at."
        elif self.kind == self.Kind.CUMULATIVE and self.interval_start is not None:
            errors["interval_start"] = (
                "Cumulative readings have no interval_start; leave it out or post an interval "
                "reading."
            )
        if errors:
            raise ValidationError(errors)

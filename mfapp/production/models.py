from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from mfapp.catalog.capabilities import Capability
from mfapp.core.fields import NON_NEGATIVE, quantity_field
from mfapp.core.models import TenantScopedModel


class Batch(TenantScopedModel):
    """One small production lot of one product, traceable by its lot code."""

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        SCHEDULED = "scheduled", "Scheduled"
        IN_PROGRESS = "in_progress", "In progress"
        QUALITY_CHECK = "quality_check", "Quality check"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    lot_code = models.CharField(max_length=40)
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="batches")
    design_revision = models.CharField(max_length=32, help_text="Product revision when planned.")
    site = models.ForeignKey("tenancy.Site", on_delete=models.PROTECT, related_name="batches")
    order_line = models.ForeignKey(
        "orders.OrderLine",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="batches",
        help_text="Empty for batches made to stock.",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PLANNED)
    quantity_planned = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    quantity_good = models.PositiveIntegerField(default=0)
    quantity_scrap = models.PositiveIntegerField(default=0)
    release_at = models.DateTimeField(
        null=True, blank=True, help_text="Not to start before (e.g. materials arriving)."
    )
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(
        default=0,
        editable=False,
        help_text="Raised by one on every status change (optimistic concurrency check).",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "batches"
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "lot_code"],
                name="batch_unique_lot_code",
                violation_error_message="A batch with this lot code exists already.",
            )
        ]
        indexes = [
            # Status filters and counts, and the board's completed/cancelled columns (newest
            # change first, a LIMIT away) without sorting every finished batch.
            models.Index(
                fields=["tenant", "status", "-updated_at"], name="batch_status_updated_idx"
            ),
            models.Index(fields=["tenant", "site", "status"], name="batch_site_status_idx"),
            # A product's open batches (the materials' planned need) without its finished ones.
            models.Index(fields=["tenant", "product", "status"], name="batch_product_status_idx"),
            models.Index(fields=["tenant", "-created_at"], name="batch_recent_idx"),
            models.Index(fields=["tenant", "updated_at"], name="batch_updated_idx"),
        ]

    def __str__(self) -> str:
        return self.lot_code

    @property
    def is_open(self) -> bool:
        return self.status not in (self.Status.COMPLETED, self.Status.CANCELLED)


class BatchOperation(TenantScopedModel):
    """One routing step of one batch. The step's recipe is copied when the batch is planned,
    so later edits to the product's routing don't rewrite history."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="operations")
    routing_step = models.ForeignKey(
        "catalog.RoutingStep", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sequence = models.PositiveIntegerField()
    name = models.CharField(max_length=200)
    capability = models.CharField(max_length=32, choices=Capability.choices)
    setup_minutes = models.DecimalField(
        max_digits=8, decimal_places=2, default=Decimal("0"), validators=[NON_NEGATIVE]
    )
    run_minutes_per_unit = models.DecimalField(
        max_digits=8, decimal_places=2, validators=[NON_NEGATIVE]
    )
    material = models.ForeignKey(
        "catalog.Material", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    machine = models.ForeignKey(
        "machines.Machine",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="operations",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    planned_start = models.DateTimeField(null=True, blank=True)
    planned_end = models.DateTimeField(null=True, blank=True)
    actual_start = models.DateTimeField(null=True, blank=True)
    actual_end = models.DateTimeField(null=True, blank=True)
    quantity_good = models.PositiveIntegerField(null=True, blank=True)
    quantity_scrap = models.PositiveIntegerField(null=True, blank=True)
    energy_kwh_measured = models.DecimalField(
        max_digits=12, decimal_places=4, null=True, blank=True, validators=[NON_NEGATIVE]
    )

    class Meta:
        ordering = ["batch_id", "sequence"]
        verbose_name = "operation"
        # No double booking: on PostgreSQL migration 0003 adds the deferred exclusion
        # constraint "operation_no_double_booking" (btree_gist). It is not listed here because
        # ExclusionConstraint is PostgreSQL-only and would break SQLite; there the services'
        # operations_overlap_check (mfapp/production/overlaps.py) keeps the same rule.
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "batch", "sequence"], name="operation_unique_sequence"
            )
        ]
        indexes = [
            models.Index(fields=["tenant", "machine", "planned_start"], name="operation_plan_idx"),
            models.Index(fields=["tenant", "status"], name="operation_status_idx"),
            models.Index(fields=["tenant", "updated_at"], name="operation_updated_idx"),
            # Reports: the operations (and batches) that finished in a period.
            models.Index(fields=["tenant", "actual_end"], name="operation_end_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.batch_id}/{self.sequence} {self.name}"


class QualityCheck(TenantScopedModel):
    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="quality_checks")
    operation = models.ForeignKey(
        BatchOperation,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="quality_checks",
    )
    characteristic = models.CharField(max_length=200)
    unit = models.CharField(max_length=16, blank=True, help_text="e.g. mm, g, N")
    target = models.DecimalField(max_digits=14, decimal_places=4)
    tolerance = models.DecimalField(
        max_digits=14, decimal_places=4, validators=[NON_NEGATIVE], help_text="Plus or minus."
    )
    measured = models.DecimalField(max_digits=14, decimal_places=4)
    passed = models.BooleanField()
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    checked_at = models.DateTimeField()
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["batch_id", "checked_at"]
        indexes = [
            models.Index(fields=["tenant", "-checked_at"], name="qcheck_recent_idx"),
            models.Index(fields=["tenant", "updated_at"], name="qcheck_updated_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.characteristic}: {'pass' if self.passed else 'fail'}"


class MaterialConsumption(TenantScopedModel):
    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="material_consumptions")
    material = models.ForeignKey("catalog.Material", on_delete=models.PROTECT, related_name="+")
    quantity = quantity_field(validators=[MinValueValidator(Decimal("0.001"))])
    material_lot = models.CharField(max_length=64, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["batch_id", "recorded_at"]
        indexes = [
            models.Index(fields=["tenant", "-recorded_at"], name="consumption_recent_idx"),
            models.Index(fields=["tenant", "updated_at"], name="consumption_updated_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} of {self.material_id} for batch {self.batch_id}"

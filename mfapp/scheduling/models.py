from django.conf import settings
from django.db import models

from mfapp.core.models import TenantScopedModel


class ScheduleRun(TenantScopedModel):
    """One run of the scheduler for one site, with the figures of the plan it produced and
    those of the run before it, for comparison."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        MANUAL = "manual", "Re-plan requested"
        ORDER_CONFIRMED = "order_confirmed", "Order confirmed"
        MACHINE_STATUS = "machine_status", "Machine status changed"
        MAINTENANCE = "maintenance", "Maintenance window added"

    site = models.ForeignKey("tenancy.Site", on_delete=models.CASCADE, related_name="schedule_runs")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=32, choices=Trigger.choices, default=Trigger.MANUAL)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    previous_run = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # What the solver said and what the plan is worth.
    solver_status = models.CharField(
        max_length=16, blank=True, help_text="optimal, feasible, dispatch"
    )
    source = models.CharField(max_length=16, blank=True, help_text="cpsat or dispatch")
    operation_count = models.PositiveIntegerField(default=0)
    machine_count = models.PositiveIntegerField(default=0)
    weighted_tardiness = models.BigIntegerField(null=True, blank=True)
    tardy_orders = models.PositiveIntegerField(null=True, blank=True)
    total_tardiness_minutes = models.BigIntegerField(null=True, blank=True)
    makespan_minutes = models.BigIntegerField(null=True, blank=True)
    lower_bound_minutes = models.BigIntegerField(null=True, blank=True)
    utilisation_percent = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    moved_operations = models.PositiveIntegerField(null=True, blank=True)
    wall_seconds = models.DecimalField(max_digits=8, decimal_places=3, null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "site", "-created_at"], name="schedulerun_site_idx")
        ]

    def __str__(self) -> str:
        return f"run {self.pk} of site {self.site_id} ({self.status})"

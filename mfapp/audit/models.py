from django.conf import settings
from django.db import models

from mfapp.core.models import TenantScopedModel


class AuditEvent(TenantScopedModel):
    """One recorded change: who, when, which object, what it was before and after."""

    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200)
    verb = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64)
    target_id = models.BigIntegerField()
    target_repr = models.CharField(max_length=200, blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "target_type", "target_id"], name="audit_target_idx"),
            models.Index(fields=["tenant", "-created_at"], name="audit_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.verb} {self.target_type}#{self.target_id} by {self.actor_label}"

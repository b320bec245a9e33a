"""Batch.version (optimistic concurrency) and, on PostgreSQL only, the exclusion constraint
that makes overlapping occupying operations on one machine impossible.

The constraint is added with RunPython so that it exists in the database but not in the
migration state: the model's Meta stays database-neutral (SQLite cannot create it), and
makemigrations does not try to drop it. See mfapp/production/overlaps.py.
"""

from django.contrib.postgres.operations import BtreeGistExtension
from django.db import migrations, models

CONSTRAINT_NAME = "operation_no_double_booking"


def _constraint():
    from django.contrib.postgres.constraints import ExclusionConstraint
    from django.contrib.postgres.fields import DateTimeRangeField, RangeOperators

    class TsTzRange(models.Func):
        function = "TSTZRANGE"
        output_field = DateTimeRangeField()

    return ExclusionConstraint(
        name=CONSTRAINT_NAME,
        index_type="gist",
        expressions=[
            # Half-open [start, end): back-to-back operations do not overlap.
            (TsTzRange("planned_start", "planned_end"), RangeOperators.OVERLAPS),
            ("machine", RangeOperators.EQUAL),
            ("tenant", RangeOperators.EQUAL),
        ],
        condition=models.Q(
            status__in=["pending", "running", "paused"],
            machine__isnull=False,
            planned_start__isnull=False,
            planned_end__isnull=False,
        ),
        # Checked at COMMIT: the scheduler's bulk_update may pass through overlapping states.
        deferrable=models.Deferrable.DEFERRED,
    )


class BtreeGistExtensionKept(BtreeGistExtension):
    """CREATE EXTENSION btree_gist on PostgreSQL (a no-op elsewhere). Unapplying keeps the
    extension: Django's own backwards step queries pg_extension even on SQLite, and other
    objects may use btree_gist by then."""

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        pass


def add_constraint(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite: operations_overlap_check in the services keeps the rule
    model = apps.get_model("production", "BatchOperation")
    schema_editor.add_constraint(model, _constraint())


def remove_constraint(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    model = apps.get_model("production", "BatchOperation")
    schema_editor.remove_constraint(model, _constraint())


class Migration(migrations.Migration):
    dependencies = [
        ("production", "0002_operation_verbose_name"),
    ]

    operations = [
        migrations.AddField(
            model_name="batch",
            name="version",
            field=models.PositiveIntegerField(
                default=0,
                editable=False,
                help_text="Raised by one on every status change (optimistic concurrency check).",
            ),
        ),
        BtreeGistExtensionKept(),  # no-op on SQLite (checks the vendor itself)
        migrations.RunPython(add_constraint, remove_constraint, elidable=False),
    ]

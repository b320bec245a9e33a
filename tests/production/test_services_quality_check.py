from decimal import Decimal

import pytest

from mfapp.core.exceptions import ApplicationError, Conflict, NotFound, PermissionDenied
from mfapp.production.models import Batch, QualityCheck
from mfapp.production.services import quality_check_record
from tests.factories import (
    audit_count,
    audit_events,
    batch_with_operations,
    member_actor,
)

B = Batch.Status


def _record(actor, batch, measured, target="10.0", tolerance="0.2", **kwargs):
    return quality_check_record(
        actor=actor,
        batch=batch,
        characteristic="length",
        unit="mm",
        target=Decimal(target),
        tolerance=Decimal(tolerance),
        measured=Decimal(measured),
        **kwargs,
    )


@pytest.mark.parametrize(
    ("measured", "passed"),
    [
        ("10.0", True),
        ("10.1999", True),
        ("10.2", True),  # |measured - target| == tolerance passes
        ("9.8", True),
        ("10.2001", False),
        ("9.7999", False),
        ("12", False),
    ],
)
def test_pass_or_fail_against_the_tolerance(tenant, measured, passed):
    operator = member_actor(tenant, "operator")
    batch = batch_with_operations(tenant, status=B.IN_PROGRESS)

    check = _record(operator, batch, measured)

    check.refresh_from_db()
    assert check.passed is passed
    assert (check.batch_id, check.characteristic, check.unit) == (batch.id, "length", "mm")
    assert (check.target, check.tolerance, check.measured) == (
        Decimal("10.0000"),
        Decimal("0.2000"),
        Decimal(measured).quantize(Decimal("0.0001")),
    )
    assert check.checked_by == operator.user
    [event] = audit_events(tenant, verb="quality_check.recorded", target=batch)
    assert event.after == {"characteristic": "length", "measured": measured, "passed": passed}
    assert event.actor_label == operator.label


def test_zero_tolerance_passes_only_the_exact_value(tenant, system):
    batch = batch_with_operations(tenant, status=B.QUALITY_CHECK)

    exact = _record(system, batch, "3.5", target="3.5", tolerance="0")
    off = _record(system, batch, "3.5001", target="3.5", tolerance="0")

    assert (exact.passed, off.passed) == (True, False)
    assert exact.checked_by is None


def test_a_check_can_name_an_operation_of_the_batch(tenant, system):
    batch = batch_with_operations(tenant, status=B.IN_PROGRESS)
    operation = batch.operations.get(sequence=20)

    check = _record(system, batch, "10", operation_id=operation.pk)

    assert check.operation == operation


def test_an_operation_of_another_batch_is_refused(tenant, system):
    batch = batch_with_operations(tenant, status=B.IN_PROGRESS)
    other = batch_with_operations(tenant, status=B.IN_PROGRESS).operations.first()
    events = audit_count(tenant)

    with pytest.raises(NotFound) as exc_info:
        _record(system, batch, "10", operation_id=other.pk)

    assert (exc_info.value.message, exc_info.value.extra) == ("Operation not found.", {})
    assert QualityCheck.objects.for_tenant(tenant).count() == 0
    assert audit_count(tenant) == events


@pytest.mark.parametrize(
    ("status", "label"),
    [
        (B.PLANNED, "planned"),
        (B.SCHEDULED, "scheduled"),
        (B.COMPLETED, "completed"),
        (B.CANCELLED, "cancelled"),
    ],
)
def test_checks_are_refused_outside_production(tenant, system, status, label):
    batch = batch_with_operations(tenant, status=status, lot_code="LOT-Q")
    events = audit_count(tenant)

    with pytest.raises(Conflict) as exc_info:
        _record(system, batch, "10")

    assert exc_info.value.message == (
        f"Batch LOT-Q is {label}; checks are recorded while it is in progress or in quality check."
    )
    assert QualityCheck.objects.for_tenant(tenant).count() == 0
    assert audit_count(tenant) == events


def test_negative_tolerance_is_refused(tenant, system):
    batch = batch_with_operations(tenant, status=B.IN_PROGRESS)

    with pytest.raises(ApplicationError) as exc_info:
        _record(system, batch, "10", tolerance="-0.1")

    assert list(exc_info.value.extra["fields"]) == ["tolerance"]
    assert QualityCheck.objects.for_tenant(tenant).count() == 0


def test_viewer_cannot_record_a_check(tenant):
    batch = batch_with_operations(tenant, status=B.IN_PROGRESS)

    with pytest.raises(PermissionDenied):
        _record(member_actor(tenant, "viewer"), batch, "10")

    assert QualityCheck.objects.for_tenant(tenant).count() == 0

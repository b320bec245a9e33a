from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from mfapp.core.exceptions import ApplicationError, NotFound, PermissionDenied
from mfapp.machines.models import EnergyReading
from mfapp.machines.services import energy_reading_record, energy_reading_record_many
from mfapp.tenancy.actors import Actor
from tests.factories import MachineFactory, audit_count, audit_events, member_actor

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)
CUMULATIVE, INTERVAL = EnergyReading.Kind.CUMULATIVE, EnergyReading.Kind.INTERVAL
LOWER_HINT = "If the meter was reset or replaced, post interval readings instead."
DUPLICATE = "This machine has a reading of this kind at this time already."


def _rows(tenant):
    """Every stored reading of the tenant as plain values, oldest first."""
    return list(
        EnergyReading.objects.for_tenant(tenant)
        .order_by("recorded_at", "kind", "id")
        .values_list("machine_id", "kind", "recorded_at", "kwh", "interval_start", "source")
    )


def _cumulative(actor, machine, at, kwh, **extra):
    return energy_reading_record(
        actor=actor,
        machine_id=machine.pk,
        recorded_at=at,
        kwh=Decimal(kwh),
        kind=CUMULATIVE,
        **extra,
    )


def _interval(actor, machine, start, end, kwh="1"):
    return energy_reading_record(
        actor=actor,
        machine_id=machine.pk,
        recorded_at=end,
        interval_start=start,
        kwh=Decimal(kwh),
        kind=INTERVAL,
    )


def _refused(tenant, call, error_type=ApplicationError):
    before_rows, before_audit = _rows(tenant), audit_count(tenant)
    with pytest.raises(ApplicationError) as exc_info:
        call()
    assert exc_info.type is error_type
    assert _rows(tenant) == before_rows
    assert audit_count(tenant) == before_audit
    return exc_info.value


# --- one reading ---------------------------------------------------------------------------------
def test_record_a_cumulative_reading(tenant, system):
    machine = MachineFactory(tenant=tenant)

    reading = energy_reading_record(
        actor=system,
        machine_id=machine.pk,
        recorded_at=T0,
        kwh=Decimal("1520.1250"),
        kind="cumulative",
        source="meter-7",
    )

    reading.refresh_from_db()
    assert (
        reading.tenant_id,
        reading.machine_id,
        reading.recorded_at,
        reading.kind,
        reading.kwh,
        reading.interval_start,
        reading.source,
    ) == (tenant.pk, machine.pk, T0, CUMULATIVE, Decimal("1520.1250"), None, "meter-7")
    [event] = audit_events(tenant, verb="energy_readings.recorded")
    assert (event.target_id, event.actor_label, event.after) == (
        reading.pk,
        "system",
        {
            "count": 1,
            "machines": [machine.pk],
            "recorded_from": "2026-01-05T08:00:00+00:00",
            "recorded_to": "2026-01-05T08:00:00+00:00",
        },
    )


def test_record_an_interval_reading(tenant, system):
    machine = MachineFactory(tenant=tenant)

    reading = _interval(system, machine, T0, T0 + timedelta(minutes=15), "0.0625")

    assert _rows(tenant) == [
        (machine.pk, INTERVAL, T0 + timedelta(minutes=15), Decimal("0.0625"), T0, "")
    ]
    assert reading.pk is not None


def test_other_time_zones_are_stored_as_the_same_instant(tenant, system):
    machine = MachineFactory(tenant=tenant)
    berlin = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.get_fixed_timezone(60))

    _cumulative(system, machine, berlin, "5")

    assert [row[2] for row in _rows(tenant)] == [T0]


@pytest.mark.parametrize("role", ["owner", "manager", "operator"])
def test_members_who_run_machines_may_record(tenant, role):
    machine = MachineFactory(tenant=tenant)

    _cumulative(member_actor(tenant, role), machine, T0, "1")

    assert len(_rows(tenant)) == 1


def test_an_integration_key_may_record(tenant):
    machine = MachineFactory(tenant=tenant)

    _cumulative(Actor(tenant=tenant, role="integration"), machine, T0, "1")

    assert len(_rows(tenant)) == 1


def test_a_viewer_may_not_record(tenant):
    machine = MachineFactory(tenant=tenant)
    viewer = member_actor(tenant, "viewer")

    error = _refused(tenant, lambda: _cumulative(viewer, machine, T0, "1"), PermissionDenied)

    assert error.message == (
        "Your role (viewer) does not allow this action (machines.change_status)."
    )


@pytest.mark.parametrize("machine_id", ["other-tenant", 0, -1, 10**30, "missing"])
def test_a_foreign_or_unknown_machine_is_not_found(tenant, other_tenant, system, machine_id):
    foreign = MachineFactory(tenant=other_tenant)
    machine_id = {"other-tenant": foreign.pk, "missing": foreign.pk + 1000}.get(
        machine_id, machine_id
    )

    error = _refused(
        tenant,
        lambda: energy_reading_record(
            actor=system, machine_id=machine_id, recorded_at=T0, kwh=Decimal(1), kind=CUMULATIVE
        ),
        NotFound,
    )

    assert (error.message, error.extra) == ("Machine not found.", {})
    assert EnergyReading.objects.for_tenant(other_tenant).count() == 0


def test_a_reading_from_the_future_is_refused(tenant, system):
    machine = MachineFactory(tenant=tenant)
    ahead = timezone.now() + timedelta(minutes=6)

    error = _refused(tenant, lambda: _cumulative(system, machine, ahead, "1"))

    message = (
        "This time is in the future; check the meter's clock (it must not run ahead by more "
        "than 5 minutes)."
    )
    assert error.extra == {"fields": {"recorded_at": [message]}}
    assert error.message == f"recorded_at: {message}"


def test_a_clock_a_little_ahead_is_accepted(tenant, system):
    machine = MachineFactory(tenant=tenant)

    _cumulative(system, machine, timezone.now() + timedelta(minutes=4), "1")

    assert len(_rows(tenant)) == 1


@pytest.mark.parametrize("field", ["recorded_at", "interval_start"])
def test_times_without_a_time_zone_are_refused(tenant, system, field):
    machine = MachineFactory(tenant=tenant)
    times = {"recorded_at": T0, "interval_start": T0 - H, field: datetime(2026, 1, 5, 8, 0)}  # noqa: DTZ001

    error = _refused(
        tenant,
        lambda: energy_reading_record(
            actor=system, machine_id=machine.pk, kwh=Decimal(1), kind=INTERVAL, **times
        ),
    )

    assert error.extra == {
        "fields": {field: ["Give the time zone too, for example 2031-03-03T08:00:00Z."]}
    }


@pytest.mark.parametrize(
    ("kind", "interval_start", "message"),
    [
        (INTERVAL, None, "Interval readings need interval_start."),
        (INTERVAL, T0, "The interval must start before recorded_at."),
        (INTERVAL, T0 + H, "The interval must start before recorded_at."),
        (
            CUMULATIVE,
            T0 - H,
            "Cumulative readings have no interval_start; leave it out or post an interval reading.",
        ),
    ],
    ids=["interval-without-start", "empty-interval", "start-after-end", "cumulative-with-start"],
)
def test_the_interval_must_fit_the_kind(tenant, system, kind, interval_start, message):
    machine = MachineFactory(tenant=tenant)

    error = _refused(
        tenant,
        lambda: energy_reading_record(
            actor=system,
            machine_id=machine.pk,
            recorded_at=T0,
            kwh=Decimal(1),
            kind=kind,
            interval_start=interval_start,
        ),
    )

    assert (error.message, error.extra) == (
        f"interval_start: {message}",
        {"fields": {"interval_start": [message]}},
    )


@pytest.mark.parametrize(
    ("kwh", "kind", "errors"),
    [
        (
            Decimal("-0.0001"),
            CUMULATIVE,
            {"kwh": ["Ensure this value is greater than or equal to 0."]},
        ),
        (
            Decimal("12345678901.5"),
            CUMULATIVE,
            {"kwh": ["Ensure that there are no more than 10 digits before the decimal point."]},
        ),
        (
            Decimal("1.00001"),
            CUMULATIVE,
            {"kwh": ["Ensure that there are no more than 4 decimal places."]},
        ),
        (Decimal(1), "estimated", {"kind": ["Value 'estimated' is not a valid choice."]}),
    ],
    ids=["negative", "huge", "too-precise", "unknown-kind"],
)
def test_invalid_values_are_refused(tenant, system, kwh, kind, errors):
    machine = MachineFactory(tenant=tenant)

    error = _refused(
        tenant,
        lambda: energy_reading_record(
            actor=system, machine_id=machine.pk, recorded_at=T0, kwh=kwh, kind=kind
        ),
    )

    assert error.extra == {"fields": errors}


def test_a_lower_cumulative_reading_is_refused(tenant, system):
    machine = MachineFactory(tenant=tenant)
    _cumulative(system, machine, T0, "100.5")

    error = _refused(tenant, lambda: _cumulative(system, machine, T0 + H, "99"))

    message = (
        "99 kWh is lower than this machine's previous cumulative reading (100.5 kWh at "
        f"2026-01-05T08:00:00+00:00). {LOWER_HINT}"
    )
    assert (error.message, error.extra) == (f"kwh: {message}", {"fields": {"kwh": [message]}})


def test_an_equal_cumulative_reading_is_accepted(tenant, system):
    machine = MachineFactory(tenant=tenant)
    _cumulative(system, machine, T0, "100")

    _cumulative(system, machine, T0 + H, "100")

    assert [row[3] for row in _rows(tenant)] == [Decimal("100"), Decimal("100")]


def test_a_late_reading_must_lie_between_its_neighbours(tenant, system):
    machine = MachineFactory(tenant=tenant)
    _cumulative(system, machine, T0, "100")
    _cumulative(system, machine, T0 + 2 * H, "120")

    error = _refused(tenant, lambda: _cumulative(system, machine, T0 + H, "121"))
    _cumulative(system, machine, T0 + H, "110")

    assert error.extra == {
        "fields": {
            "kwh": [
                "121 kWh is higher than this machine's next cumulative reading (120 kWh at "
                "2026-01-05T10:00:00+00:00); a meter register never goes down."
            ]
        }
    }
    assert [row[3] for row in _rows(tenant)] == [Decimal(100), Decimal(110), Decimal(120)]


def test_cumulative_order_is_per_machine_and_ignores_intervals(tenant, other_tenant, system):
    machine, other = MachineFactory(tenant=tenant), MachineFactory(tenant=tenant)
    _cumulative(system, machine, T0, "100")
    _interval(system, machine, T0, T0 + H, "500")
    theirs = MachineFactory(tenant=other_tenant)
    energy_reading_record(
        actor=Actor(tenant=other_tenant, role="system"),
        machine_id=theirs.pk,
        recorded_at=T0,
        kwh=Decimal(1000),
        kind=CUMULATIVE,
    )

    _cumulative(system, other, T0 + H, "5")
    _cumulative(system, machine, T0 + 2 * H, "101")

    assert len(_rows(tenant)) == 4


def test_a_resent_reading_is_refused(tenant, system):
    machine = MachineFactory(tenant=tenant)
    _cumulative(system, machine, T0, "100")

    error = _refused(tenant, lambda: _cumulative(system, machine, T0, "100"))

    assert (error.message, error.extra) == (
        f"recorded_at: {DUPLICATE}",
        {"fields": {"recorded_at": [DUPLICATE]}},
    )


def test_the_same_time_is_fine_for_another_kind_or_machine(tenant, system):
    machine, other = MachineFactory(tenant=tenant), MachineFactory(tenant=tenant)
    _cumulative(system, machine, T0, "100")

    _interval(system, machine, T0 - H, T0, "2")
    _cumulative(system, other, T0, "100")

    assert len(_rows(tenant)) == 3


@pytest.mark.parametrize(
    ("start", "end"),
    [(T0 - H, T0 + timedelta(minutes=1)), (T0 + timedelta(minutes=59), T0 + 2 * H), (T0, T0 + H)],
    ids=["overlaps-start", "overlaps-end", "same-span-other-end"],
)
def test_overlapping_intervals_are_refused(tenant, system, start, end):
    machine = MachineFactory(tenant=tenant)
    _interval(system, machine, T0, T0 + H)
    if end == T0 + H:
        end = T0 + H + timedelta(seconds=1)

    error = _refused(tenant, lambda: _interval(system, machine, start, end))

    assert error.extra == {
        "fields": {
            "interval_start": [
                "This interval overlaps another interval reading of this machine "
                "(2026-01-05T08:00:00+00:00 to 2026-01-05T09:00:00+00:00); its energy would "
                "count twice."
            ]
        }
    }


def test_adjacent_intervals_are_accepted(tenant, system):
    machine = MachineFactory(tenant=tenant)
    _interval(system, machine, T0, T0 + H)

    _interval(system, machine, T0 + H, T0 + 2 * H)
    _interval(system, machine, T0 - H, T0)

    assert len(_rows(tenant)) == 3


# --- many readings -------------------------------------------------------------------------------
def _reading(machine, at, kwh, kind=CUMULATIVE, **extra):
    return {"machine_id": machine.pk, "recorded_at": at, "kwh": Decimal(kwh), "kind": kind, **extra}


def test_record_many_readings(tenant, system):
    printer, mill = MachineFactory(tenant=tenant), MachineFactory(tenant=tenant)

    saved = energy_reading_record_many(
        actor=system,
        readings=[
            _reading(printer, T0 + H, "11"),
            _reading(printer, T0, "10"),
            _reading(mill, T0 + H, "3", INTERVAL, interval_start=T0, source="clamp-2"),
        ],
    )

    assert [r.pk for r in saved] == sorted(r.pk for r in saved)
    assert [(r.machine_id, r.recorded_at, r.kwh) for r in saved] == [
        (printer.pk, T0 + H, Decimal("11")),
        (printer.pk, T0, Decimal("10")),
        (mill.pk, T0 + H, Decimal("3")),
    ]
    assert _rows(tenant) == [
        (printer.pk, CUMULATIVE, T0, Decimal("10"), None, ""),
        (printer.pk, CUMULATIVE, T0 + H, Decimal("11"), None, ""),
        (mill.pk, INTERVAL, T0 + H, Decimal("3"), T0, "clamp-2"),
    ]
    [event] = audit_events(tenant, verb="energy_readings.recorded")
    assert event.target_id == saved[0].pk
    assert event.after == {
        "count": 3,
        "machines": sorted([printer.pk, mill.pk]),
        "recorded_from": "2026-01-05T08:00:00+00:00",
        "recorded_to": "2026-01-05T09:00:00+00:00",
    }


def test_one_bad_reading_saves_none_and_is_named_by_index(tenant, system):
    machine = MachineFactory(tenant=tenant)
    readings = [_reading(machine, T0 + i * H, str(i)) for i in range(5)]
    readings[3]["kwh"] = Decimal("-1")

    error = _refused(tenant, lambda: energy_reading_record_many(actor=system, readings=readings))

    problem = "Ensure this value is greater than or equal to 0."
    assert error.extra == {"fields": {"readings": {"3": {"kwh": [problem]}}}}
    assert error.message == (
        f"Nothing was saved: 1 of 5 readings are invalid (index 3). Reading 3: kwh: {problem}"
    )


def test_every_bad_reading_is_named(tenant, other_tenant, system):
    machine = MachineFactory(tenant=tenant)
    foreign = MachineFactory(tenant=other_tenant)
    readings = [
        _reading(machine, T0, "10"),
        _reading(foreign, T0, "10"),
        _reading(machine, T0 + H, "9"),
        {"machine_id": machine.pk, "kwh": Decimal(1), "kind": CUMULATIVE, "meter": "x"},
        _reading(machine, T0, "10"),
        "not a reading",
        _reading(machine, T0 + 2 * H, "1", INTERVAL, interval_start=T0 + H),
        _reading(machine, T0 + 2 * H, "1", INTERVAL, interval_start=T0 + 90 * timedelta(minutes=1)),
    ]

    error = _refused(tenant, lambda: energy_reading_record_many(actor=system, readings=readings))

    assert error.extra == {
        "fields": {
            "readings": {
                "1": {"machine_id": ["Machine not found."]},
                "2": {
                    "kwh": [
                        "9 kWh is lower than this machine's previous cumulative reading (10 kWh "
                        f"at 2026-01-05T08:00:00+00:00). {LOWER_HINT}"
                    ]
                },
                "3": {"meter": ["Unknown or read-only field."], "recorded_at": ["Required."]},
                "4": {"recorded_at": ["Reading 0 has this machine, kind and time too."]},
                "5": {"non_field_errors": ["Send each reading as an object."]},
                "7": {"recorded_at": ["Reading 6 has this machine, kind and time too."]},
            }
        }
    }
    assert error.message.startswith("Nothing was saved: 6 of 8 readings are invalid")


def test_overlapping_intervals_in_one_call_are_refused(tenant, system):
    machine = MachineFactory(tenant=tenant)
    readings = [
        _reading(machine, T0 + 2 * H, "1", INTERVAL, interval_start=T0),
        _reading(machine, T0 + H, "1", INTERVAL, interval_start=T0 + timedelta(minutes=30)),
    ]

    error = _refused(tenant, lambda: energy_reading_record_many(actor=system, readings=readings))

    assert error.extra == {
        "fields": {
            "readings": {
                "1": {
                    "interval_start": [
                        "This interval overlaps another interval reading of this machine "
                        "(2026-01-05T08:00:00+00:00 to 2026-01-05T10:00:00+00:00); its energy "
                        "would count twice."
                    ]
                }
            }
        }
    }


def test_stored_readings_are_checked_too(tenant, system):
    machine = MachineFactory(tenant=tenant)
    _cumulative(system, machine, T0 + H, "50")

    error = _refused(
        tenant,
        lambda: energy_reading_record_many(
            actor=system,
            readings=[_reading(machine, T0 + 2 * H, "60"), _reading(machine, T0, "51")],
        ),
    )

    assert list(error.extra["fields"]["readings"]) == ["1"]
    assert error.extra["fields"]["readings"]["1"]["kwh"][0].startswith(
        "51 kWh is higher than this machine's next cumulative reading (50 kWh at "
    )


def test_a_foreign_machine_reads_like_a_missing_one(tenant, other_tenant, system):
    foreign = MachineFactory(tenant=other_tenant)

    errors = [
        _refused(
            tenant,
            lambda machine_id=machine_id: energy_reading_record_many(
                actor=system,
                readings=[
                    {"machine_id": machine_id, "recorded_at": T0, "kwh": 1, "kind": CUMULATIVE}
                ],
            ),
        )
        for machine_id in (foreign.pk, foreign.pk + 1000)
    ]

    assert errors[0].message == errors[1].message
    assert (
        errors[0].extra
        == errors[1].extra
        == {"fields": {"readings": {"0": {"machine_id": ["Machine not found."]}}}}
    )
    assert EnergyReading.objects.for_tenant(other_tenant).count() == 0


@pytest.mark.parametrize(("count", "message"), [(0, "Send at least one reading."), (1001, None)])
def test_between_one_and_a_thousand_readings_per_call(tenant, system, count, message):
    machine = MachineFactory(tenant=tenant)
    readings = [_reading(machine, T0 + i * timedelta(minutes=1), str(i)) for i in range(count)]

    error = _refused(tenant, lambda: energy_reading_record_many(actor=system, readings=readings))

    message = message or "At most 1000 readings per call, not 1001; send them in several calls."
    assert (error.message, error.extra) == (message, {"fields": {"readings": [message]}})


def test_a_thousand_readings_are_accepted(tenant, system):
    machine = MachineFactory(tenant=tenant)
    readings = [_reading(machine, T0 + i * timedelta(minutes=1), str(i)) for i in range(1000)]

    saved = energy_reading_record_many(actor=system, readings=readings)

    assert len(saved) == EnergyReading.objects.for_tenant(tenant).count() == 1000
    assert len(audit_events(tenant, verb="energy_readings.recorded")) == 1


def test_a_viewer_may_not_record_many(tenant):
    machine = MachineFactory(tenant=tenant)

    _refused(
        tenant,
        lambda: energy_reading_record_many(
            actor=member_actor(tenant, "viewer"), readings=[_reading(machine, T0, "1")]
        ),
        PermissionDenied,
    )


@pytest.mark.parametrize("size", [5, 45])
def test_queries_do_not_grow_with_the_readings(tenant, system, size, django_assert_num_queries):
    printer, mill = MachineFactory(tenant=tenant), MachineFactory(tenant=tenant)
    readings = [
        _reading(machine, T0 + i * timedelta(minutes=1), str(i), kind, **extra)
        for i in range(size)
        for machine, kind, extra in (
            (printer, CUMULATIVE, {}),
            (mill, INTERVAL, {"interval_start": T0 + (i - 1) * timedelta(minutes=1)}),
        )
    ]

    # savepoint, lock the machines, duplicates, 3 for the printer's cumulative neighbours,
    # 1 for the mill's overlapping intervals, insert, audit, release. (The insert is split into
    # batches only past the database's parameter limit: ~99 rows on SQLite, none on PostgreSQL.)
    with django_assert_num_queries(10):
        energy_reading_record_many(actor=system, readings=readings)

    assert EnergyReading.objects.for_tenant(tenant).count() == 2 * size

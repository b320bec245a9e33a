from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from mfapp.machines.models import EnergyReading
from mfapp.machines.services import energy_reading_record
from mfapp.tenancy.selectors import system_actor
from mfapp.tenancy.services import api_key_create
from tests.factories import MachineFactory, MembershipFactory, audit_count, audit_events

LIST = reverse("api:energy-reading-list")
BULK = reverse("api:energy-reading-bulk")
T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)
INVALID = "Some fields are invalid."
LOWER_HINT = "If the meter was reset or replaced, post interval readings instead."


def _detail(reading_or_id):
    return reverse("api:energy-reading-detail", args=[getattr(reading_or_id, "pk", reading_or_id)])


def _iso(value):
    return value.isoformat().replace("+00:00", "Z") if value else None


def _json(reading):
    reading.refresh_from_db()
    return {
        "id": reading.pk,
        "machine": reading.machine_id,
        "recorded_at": _iso(reading.recorded_at),
        "kind": reading.kind,
        "kwh": f"{reading.kwh:.4f}",
        "interval_start": _iso(reading.interval_start),
        "source": reading.source,
        "created_at": _iso(reading.created_at),
        "updated_at": _iso(reading.updated_at),
    }


def _record(machine, at, kwh, kind="cumulative", **extra):
    """A stored reading, made through the service as an integration would."""
    return energy_reading_record(
        actor=system_actor(tenant=machine.tenant),
        machine_id=machine.pk,
        recorded_at=at,
        kwh=Decimal(kwh),
        kind=kind,
        **extra,
    )


def _key_client(system, read_only=False):
    _, raw = api_key_create(
        actor=system, name="read" if read_only else "meter", read_only=read_only
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def api(system):
    return _key_client(system)


def _member(tenant, role):
    client = APIClient()
    client.force_login(MembershipFactory(tenant=tenant, role=role).user)
    return client


def _state(tenant):
    readings = EnergyReading.objects.for_tenant(tenant).order_by("pk").values()
    return [dict(row) for row in readings], audit_count(tenant)


def _cumulative(machine, at=T0, kwh="1520.5", **extra):
    return {
        "machine_id": machine.pk,
        "recorded_at": _iso(at),
        "kind": "cumulative",
        "kwh": kwh,
        **extra,
    }


def _interval(machine, start, end, kwh="0.25", **extra):
    return {
        "machine_id": machine.pk,
        "recorded_at": _iso(end),
        "interval_start": _iso(start),
        "kind": "interval",
        "kwh": kwh,
        **extra,
    }


# --- reads ---------------------------------------------------------------------------------------
def test_list_and_retrieve(api, tenant):
    machine = MachineFactory(tenant=tenant)
    reading = _record(machine, T0, "12.5", "interval", interval_start=T0 - H, source="clamp-1")

    listed = api.get(LIST)
    retrieved = api.get(_detail(reading))

    assert listed.status_code == retrieved.status_code == 200
    assert listed.json() == {
        "count": 1,
        "next": None,
        "previous": None,
        "results": [_json(reading)],
    }
    assert retrieved.json() == _json(reading)
    assert {k: retrieved.json()[k] for k in ("kwh", "interval_start", "recorded_at")} == {
        "kwh": "12.5000",
        "interval_start": "2026-01-05T07:00:00Z",
        "recorded_at": "2026-01-05T08:00:00Z",
    }


def test_another_tenants_reading_is_404(api, other_tenant):
    foreign = _record(MachineFactory(tenant=other_tenant), T0, "1")

    response = api.get(_detail(foreign))
    missing = api.get(_detail(foreign.pk + 1000))

    assert response.status_code == missing.status_code == 404
    assert response.json() == missing.json()
    assert missing.json() == {"message": "Energy reading not found.", "extra": {}}


@pytest.mark.parametrize("method", ["patch", "put", "delete"])
def test_readings_are_never_changed(api, tenant, method):
    reading = _record(MachineFactory(tenant=tenant), T0, "1")
    before = _state(tenant)

    response = getattr(api, method)(_detail(reading), {"kwh": "2"}, format="json")

    assert response.status_code == 405
    assert response.json() == {"message": f'Method "{method.upper()}" not allowed.', "extra": {}}
    assert _state(tenant) == before


# --- one reading ---------------------------------------------------------------------------------
def test_post_a_cumulative_reading(api, tenant):
    machine = MachineFactory(tenant=tenant)

    response = api.post(LIST, _cumulative(machine, source="meter-7"), format="json")

    assert response.status_code == 201
    reading = EnergyReading.objects.for_tenant(tenant).get()
    assert response.json() == _json(reading)
    assert (reading.machine_id, reading.recorded_at, reading.kind, reading.kwh, reading.source) == (
        machine.pk,
        T0,
        "cumulative",
        Decimal("1520.5"),
        "meter-7",
    )
    [event] = audit_events(tenant, verb="energy_readings.recorded", target=reading)
    assert (event.actor_label, event.after["count"]) == ("api-key:meter", 1)


def test_post_an_interval_reading_with_an_offset(api, tenant):
    machine = MachineFactory(tenant=tenant)

    response = api.post(
        LIST,
        {
            "machine_id": machine.pk,
            "interval_start": "2026-01-05T08:45:00+01:00",
            "recorded_at": "2026-01-05T09:00:00+01:00",
            "kind": "interval",
            "kwh": 0.0625,
        },
        format="json",
    )

    assert response.status_code == 201
    assert (response.json()["interval_start"], response.json()["recorded_at"]) == (
        "2026-01-05T07:45:00Z",
        "2026-01-05T08:00:00Z",
    )
    reading = EnergyReading.objects.for_tenant(tenant).get()
    assert (reading.interval_start, reading.recorded_at, reading.kwh) == (
        T0 - timedelta(minutes=15),
        T0,
        Decimal("0.0625"),
    )


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"kwh": "-0.5"}, {"kwh": ["Ensure this value is greater than or equal to 0."]}),
        ({"kwh": 1e300}, {"kwh": ["Ensure that there are no more than 14 digits in total."]}),
        (
            {"kwh": "12345678901"},
            {"kwh": ["Ensure that there are no more than 10 digits before the decimal point."]},
        ),
        ({"kwh": "1.23456"}, {"kwh": ["Ensure that there are no more than 4 decimal places."]}),
        ({"kwh": "lots"}, {"kwh": ["A valid number is required."]}),
        ({"kwh": "Infinity"}, {"kwh": ["A valid number is required."]}),
        ({"kind": "estimated"}, {"kind": ['"estimated" is not a valid choice.']}),
        (
            {"machine_id": 10**19},
            {"machine_id": ["Ensure this value is less than or equal to 9223372036854775807."]},
        ),
        ({"machine_id": "one"}, {"machine_id": ["A valid integer is required."]}),
        (
            {"recorded_at": "2026-01-05 08:00"},
            {"recorded_at": ["Give the time zone too, for example 2031-03-03T08:00:00Z."]},
        ),
        (
            {"recorded_at": 1767600000},
            {
                "recorded_at": [
                    "Datetime has wrong format. Use one of these formats instead: "
                    "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
                ]
            },
        ),
        ({"source": "x" * 101}, {"source": ["Ensure this field has no more than 100 characters."]}),
    ],
    ids=[
        "negative",
        "huge-float",
        "huge",
        "too-precise",
        "text",
        "infinity",
        "kind",
        "huge-machine-id",
        "text-machine-id",
        "naive",
        "epoch",
        "long-source",
    ],
)
def test_bad_input_is_400(api, tenant, changes, fields):
    machine = MachineFactory(tenant=tenant)
    before = _state(tenant)

    response = api.post(LIST, {**_cumulative(machine), **changes}, format="json")

    assert response.status_code == 400
    assert response.json() == {"message": INVALID, "extra": {"fields": fields}}
    assert _state(tenant) == before


def test_missing_fields_are_400(api, tenant):
    before = _state(tenant)

    response = api.post(LIST, {}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "message": INVALID,
        "extra": {
            "fields": {
                "kind": ["This field is required."],
                "kwh": ["This field is required."],
                "machine_id": ["This field is required."],
                "recorded_at": ["This field is required."],
            }
        },
    }
    assert _state(tenant) == before


@pytest.mark.parametrize(
    ("reading", "field", "message"),
    [
        (
            {"kind": "interval"},
            "interval_start",
            "Interval readings need interval_start.",
        ),
        (
            {"kind": "interval", "interval_start": "2026-01-05T08:00:00Z"},
            "interval_start",
            "The interval must start before recorded_at.",
        ),
        (
            {"interval_start": "2026-01-05T07:00:00Z"},
            "interval_start",
            "Cumulative readings have no interval_start; leave it out or post an interval reading.",
        ),
    ],
    ids=["interval-without-start", "empty-interval", "cumulative-with-start"],
)
def test_the_interval_must_fit_the_kind(api, tenant, reading, field, message):
    machine = MachineFactory(tenant=tenant)
    before = _state(tenant)

    response = api.post(LIST, {**_cumulative(machine), **reading}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "message": f"{field}: {message}",
        "extra": {"fields": {field: [message]}},
    }
    assert _state(tenant) == before


def test_a_reading_from_the_future_is_400(api, tenant):
    machine = MachineFactory(tenant=tenant)
    before = _state(tenant)

    response = api.post(
        LIST, _cumulative(machine, at=timezone.now() + timedelta(minutes=10)), format="json"
    )

    message = (
        "This time is in the future; check the meter's clock (it must not run ahead by more "
        "than 5 minutes)."
    )
    assert response.status_code == 400
    assert response.json() == {
        "message": f"recorded_at: {message}",
        "extra": {"fields": {"recorded_at": [message]}},
    }
    assert _state(tenant) == before


def test_a_decreasing_cumulative_reading_is_400(api, tenant):
    machine = MachineFactory(tenant=tenant)
    _record(machine, T0, "1520.5")
    before = _state(tenant)

    response = api.post(LIST, _cumulative(machine, at=T0 + H, kwh="3.25"), format="json")

    message = (
        "3.25 kWh is lower than this machine's previous cumulative reading (1520.5 kWh at "
        f"2026-01-05T08:00:00+00:00). {LOWER_HINT}"
    )
    assert response.status_code == 400
    assert response.json() == {
        "message": f"kwh: {message}",
        "extra": {"fields": {"kwh": [message]}},
    }
    assert _state(tenant) == before


def test_a_resent_reading_is_400(api, tenant):
    machine = MachineFactory(tenant=tenant)
    _record(machine, T0, "1520.5")
    before = _state(tenant)

    response = api.post(LIST, _cumulative(machine), format="json")

    message = "This machine has a reading of this kind at this time already."
    assert response.status_code == 400
    assert response.json() == {
        "message": f"recorded_at: {message}",
        "extra": {"fields": {"recorded_at": [message]}},
    }
    assert _state(tenant) == before


@pytest.mark.parametrize("whose", ["other-tenant", "missing"])
def test_another_tenants_machine_is_404_and_nothing_is_created(api, tenant, other_tenant, whose):
    foreign = MachineFactory(tenant=other_tenant)
    machine_id = foreign.pk if whose == "other-tenant" else foreign.pk + 1000
    before, theirs = _state(tenant), _state(other_tenant)

    response = api.post(LIST, {**_cumulative(foreign), "machine_id": machine_id}, format="json")

    assert response.status_code == 404
    assert response.json() == {"message": "Machine not found.", "extra": {}}
    assert (_state(tenant), _state(other_tenant)) == (before, theirs)


# --- many readings -------------------------------------------------------------------------------
def test_post_readings_in_bulk(api, tenant):
    printer, mill = MachineFactory(tenant=tenant), MachineFactory(tenant=tenant)

    response = api.post(
        BULK,
        {
            "readings": [
                _cumulative(printer, T0, "10"),
                _cumulative(printer, T0 + H, "10.5"),
                _interval(mill, T0, T0 + H, "2.5", source="clamp-2"),
            ]
        },
        format="json",
    )

    assert response.status_code == 201
    saved = list(EnergyReading.objects.for_tenant(tenant).order_by("pk"))
    assert response.json() == {"count": 3, "ids": [r.pk for r in saved]}
    assert [
        (r.machine_id, r.kind, r.recorded_at, r.kwh, r.interval_start, r.source) for r in saved
    ] == [
        (printer.pk, "cumulative", T0, Decimal("10"), None, ""),
        (printer.pk, "cumulative", T0 + H, Decimal("10.5"), None, ""),
        (mill.pk, "interval", T0 + H, Decimal("2.5"), T0, "clamp-2"),
    ]
    [event] = audit_events(tenant, verb="energy_readings.recorded")
    assert (event.target_id, event.after["count"]) == (saved[0].pk, 3)


def test_a_bad_row_saves_nothing_and_is_named(api, tenant):
    machine = MachineFactory(tenant=tenant)
    readings = [_cumulative(machine, T0 + i * H, str(i)) for i in range(5)]
    readings[3]["kwh"] = "-3"
    before = _state(tenant)

    response = api.post(BULK, {"readings": readings}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "message": INVALID,
        "extra": {
            "fields": {
                "readings": {"3": {"kwh": ["Ensure this value is greater than or equal to 0."]}}
            }
        },
    }
    assert _state(tenant) == before


def test_a_row_breaking_a_rule_saves_nothing_and_is_named(api, tenant, other_tenant):
    machine = MachineFactory(tenant=tenant)
    foreign = MachineFactory(tenant=other_tenant)
    _record(machine, T0, "100")
    readings = [
        _cumulative(machine, T0 + H, "101"),
        _cumulative(machine, T0 + 2 * H, "99"),
        _cumulative(foreign, T0, "1"),
        _cumulative(machine, T0 + 3 * H, "102"),
    ]
    before, theirs = _state(tenant), _state(other_tenant)

    response = api.post(BULK, {"readings": readings}, format="json")

    lower = (
        "99 kWh is lower than this machine's previous cumulative reading (101 kWh at "
        f"2026-01-05T09:00:00+00:00). {LOWER_HINT}"
    )
    assert response.status_code == 400
    assert response.json() == {
        "message": "Nothing was saved: 2 of 4 readings are invalid (index 1, 2). "
        f"Reading 1: kwh: {lower}",
        "extra": {
            "fields": {
                "readings": {
                    "1": {"kwh": [lower]},
                    "2": {"machine_id": ["Machine not found."]},
                }
            }
        },
    }
    assert (_state(tenant), _state(other_tenant)) == (before, theirs)


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"readings": ["This field is required."]}),
        ({"readings": []}, {"readings": ["Ensure this field has at least 1 elements."]}),
        ({"readings": "all"}, {"readings": ['Expected a list of items but got type "str".']}),
        (
            {"readings": [{"machine_id": 1, "recorded_at": "2026-01-05T08:00:00Z"}, 7]},
            {
                "readings": {
                    "0": {
                        "kind": ["This field is required."],
                        "kwh": ["This field is required."],
                    },
                    "1": {
                        "non_field_errors": ["Invalid data. Expected a dictionary, but got int."]
                    },
                }
            },
        ),
    ],
    ids=["missing", "empty", "text", "bad-rows"],
)
def test_bulk_needs_a_list_of_readings(api, tenant, body, fields):
    before = _state(tenant)

    response = api.post(BULK, body, format="json")

    assert response.status_code == 400
    assert response.json() == {"message": INVALID, "extra": {"fields": fields}}
    assert _state(tenant) == before


def test_at_most_a_thousand_readings_per_call(api, tenant):
    machine = MachineFactory(tenant=tenant)
    readings = [_cumulative(machine, T0 + i * timedelta(minutes=1), str(i)) for i in range(1001)]
    before = _state(tenant)

    response = api.post(BULK, {"readings": readings}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "message": INVALID,
        "extra": {"fields": {"readings": ["Ensure this field has no more than 1000 elements."]}},
    }
    assert _state(tenant) == before


# --- who may do what -----------------------------------------------------------------------------
@pytest.mark.parametrize("write", ["one", "bulk"])
@pytest.mark.parametrize(
    ("who", "message"),
    [
        ("read-only-key", "This API key is read-only."),
        ("viewer", "Your role (viewer) does not allow this action (machines.change_status)."),
    ],
)
def test_who_may_not_post_readings(tenant, system, write, who, message):
    machine = MachineFactory(tenant=tenant)
    _record(machine, T0 - H, "1")
    client = _key_client(system, read_only=True) if who == "read-only-key" else _member(tenant, who)
    before = _state(tenant)

    if write == "one":
        response = client.post(LIST, _cumulative(machine), format="json")
    else:
        response = client.post(BULK, {"readings": [_cumulative(machine)]}, format="json")

    assert response.status_code == 403
    assert response.json() == {"message": message, "extra": {}}
    assert _state(tenant) == before
    assert client.get(LIST).json()["count"] == 1


@pytest.mark.parametrize("role", ["operator", "manager", "owner"])
def test_members_who_run_machines_may_post_readings(tenant, role):
    machine = MachineFactory(tenant=tenant)

    response = _member(tenant, role).post(BULK, {"readings": [_cumulative(machine)]}, "json")

    assert response.status_code == 201
    assert response.json()["count"] == 1


# --- filters -------------------------------------------------------------------------------------
def _ids(response):
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


@pytest.fixture
def readings(tenant, other_tenant):
    printer, mill = MachineFactory(tenant=tenant), MachineFactory(tenant=tenant)
    made = {
        "p1": _record(printer, T0, "10"),
        "p2": _record(printer, T0 + H, "11"),
        "m1": _record(mill, T0 + H, "3", "interval", interval_start=T0),
        "p3": _record(printer, T0 + 2 * H, "12"),
    }
    _record(MachineFactory(tenant=other_tenant), T0, "1")
    return printer, mill, made


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["p1", "p2", "m1", "p3"]),
        ({"machine": "printer"}, ["p1", "p2", "p3"]),
        ({"machine": "mill"}, ["m1"]),
        ({"kind": "interval"}, ["m1"]),
        ({"kind": "cumulative", "machine": "mill"}, []),
        ({"recorded_from": "2026-01-05T09:00:00Z"}, ["p2", "m1", "p3"]),
        ({"recorded_to": "2026-01-05T09:00:00Z"}, ["p1"]),
        (
            {"recorded_from": "2026-01-05T09:00:00Z", "recorded_to": "2026-01-05T10:00:00Z"},
            ["p2", "m1"],
        ),
        ({"recorded_from": "2026-01-05T10:00:00+01:00"}, ["p2", "m1", "p3"]),
        ({"ordering": "-kwh"}, ["p3", "p2", "p1", "m1"]),
    ],
)
def test_filter_readings(api, readings, query, expected):
    printer, mill, made = readings
    if "machine" in query:
        query = {**query, "machine": {"printer": printer.pk, "mill": mill.pk}[query["machine"]]}

    assert _ids(api.get(LIST, query)) == [made[name].pk for name in expected]


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        (
            {"kind": "estimated"},
            {"kind": ["Select a valid choice. estimated is not one of the available choices."]},
        ),
        ({"recorded_from": "monday"}, {"recorded_from": ["Enter a valid date/time."]}),
        ({"machine": "printer"}, {"machine": ["Enter a whole number."]}),
    ],
)
def test_bad_filters_are_400(api, readings, query, fields):
    response = api.get(LIST, query)

    assert response.status_code == 400
    assert response.json() == {"message": INVALID, "extra": {"fields": fields}}


def test_updated_since(api, tenant, readings):
    _, _, made = readings
    for name, day in (("p1", 3), ("p2", 1), ("m1", 2), ("p3", 1)):
        EnergyReading.objects.for_tenant(tenant).filter(pk=made[name].pk).update(
            updated_at=datetime(2026, 2, day, tzinfo=UTC)
        )

    response = api.get(LIST, {"updated_since": "2026-02-02T00:00:00Z"})

    assert _ids(response) == [made["p1"].pk, made["m1"].pk]


@pytest.mark.parametrize("rows", [3, 30])
def test_the_list_query_count_does_not_grow(api, tenant, rows, django_assert_num_queries):
    machine = MachineFactory(tenant=tenant)
    api.post(BULK, {"readings": [_cumulative(machine, T0 + i * H, i) for i in range(rows)]}, "json")

    # the API key (with its tenant), the count, the page
    with django_assert_num_queries(3):
        response = api.get(LIST, {"page_size": 100, "machine": machine.pk})

    assert response.json()["count"] == rows

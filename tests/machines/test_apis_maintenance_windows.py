from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from mfapp.machines.models import MaintenanceWindow
from mfapp.tenancy.services import api_key_create
from tests.factories import (
    MachineFactory,
    MaintenanceWindowFactory,
    MembershipFactory,
    audit_count,
    audit_events,
)

LIST = reverse("api:maintenance-window-list")
T0 = datetime(2031, 3, 3, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)


def _detail(window_or_id):
    return reverse(
        "api:maintenance-window-detail", args=[getattr(window_or_id, "pk", window_or_id)]
    )


def _iso(value):
    return value.isoformat().replace("+00:00", "Z")


def _json(window):
    window.refresh_from_db()
    return {
        "id": window.pk,
        "machine": window.machine_id,
        "starts_at": _iso(window.starts_at),
        "ends_at": _iso(window.ends_at),
        "reason": window.reason,
        "created_at": _iso(window.created_at),
        "updated_at": _iso(window.updated_at),
    }


def _key_client(system, read_only=False):
    _, raw = api_key_create(
        actor=system, name="read" if read_only else "write", read_only=read_only
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
    windows = MaintenanceWindow.objects.for_tenant(tenant).order_by("pk").values()
    return [dict(row) for row in windows], audit_count(tenant)


def _new(machine, start=T0, hours=2, reason="Nozzle swap"):
    return {
        "machine_id": machine.pk,
        "starts_at": _iso(start),
        "ends_at": _iso(start + hours * H),
        "reason": reason,
    }


def test_list_and_retrieve(api, tenant):
    window = MaintenanceWindowFactory(tenant=tenant, starts_at=T0, ends_at=T0 + H, reason="Belts")

    listed = api.get(LIST)
    retrieved = api.get(_detail(window))

    assert listed.status_code == retrieved.status_code == 200
    assert listed.json() == {"count": 1, "next": None, "previous": None, "results": [_json(window)]}
    assert retrieved.json() == _json(window)
    assert retrieved.json()["starts_at"] == "2031-03-03T08:00:00Z"


def test_plan_a_window(api, tenant):
    machine = MachineFactory(tenant=tenant)

    response = api.post(
        LIST,
        {
            "machine_id": machine.pk,
            "starts_at": "2031-03-03T09:00:00+01:00",
            "ends_at": "2031-03-03T12:30:00+01:00",
            "reason": "Calibration",
        },
        format="json",
    )

    assert response.status_code == 201
    window = MaintenanceWindow.objects.for_tenant(tenant).get()
    assert response.json() == _json(window)
    assert (window.machine_id, window.starts_at, window.ends_at, window.reason) == (
        machine.pk,
        T0,
        T0 + 3.5 * H,
        "Calibration",
    )
    assert len(audit_events(tenant, verb="maintenance_window.created", target=window)) == 1


@pytest.mark.parametrize(
    ("changes", "status", "body"),
    [
        (
            {"ends_at": "2031-03-03T07:00:00Z"},
            400,
            {
                "message": "A maintenance window must end after it starts.",
                "extra": {
                    "fields": {
                        "non_field_errors": ["A maintenance window must end after it starts."]
                    }
                },
            },
        ),
        (
            {"starts_at": "2031-03-03T08:00:00"},
            400,
            {
                "message": "Some fields are invalid.",
                "extra": {
                    "fields": {
                        "starts_at": ["Give the time zone too, for example 2031-03-03T08:00:00Z."]
                    }
                },
            },
        ),
        (
            {"starts_at": "soon", "reason": ""},
            400,
            {
                "message": "Some fields are invalid.",
                "extra": {
                    "fields": {
                        "starts_at": [
                            "Datetime has wrong format. Use one of these formats instead: "
                            "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
                        ],
                        "reason": ["This field may not be blank."],
                    }
                },
            },
        ),
        (
            {"machine_id": None},
            400,
            {
                "message": "Some fields are invalid.",
                "extra": {"fields": {"machine_id": ["This field may not be null."]}},
            },
        ),
    ],
    ids=["ends-before-start", "naive", "bad-values", "null-machine"],
)
def test_bad_windows_are_refused(api, tenant, changes, status, body):
    machine = MachineFactory(tenant=tenant)
    before = _state(tenant)

    response = api.post(LIST, {**_new(machine), **changes}, format="json")

    assert response.status_code == status
    assert response.json() == body
    assert _state(tenant) == before


def test_overlapping_windows_are_refused(api, tenant):
    machine = MachineFactory(tenant=tenant, name="Mill")
    MaintenanceWindowFactory(tenant=tenant, machine=machine, starts_at=T0, ends_at=T0 + 2 * H)
    before = _state(tenant)

    response = api.post(LIST, _new(machine, start=T0 + H), format="json")

    assert response.status_code == 400
    assert response.json() == {
        "message": "Mill already has maintenance planned in that time; change that window instead.",
        "extra": {},
    }
    assert _state(tenant) == before


@pytest.mark.parametrize("whose", ["other-tenant", "missing"])
def test_planning_for_another_tenants_machine_is_404(api, tenant, other_tenant, whose):
    foreign = MachineFactory(tenant=other_tenant)
    if whose == "missing":
        foreign.pk += 1000
    before, theirs = _state(tenant), _state(other_tenant)

    response = api.post(LIST, _new(foreign), format="json")

    assert response.status_code == 404
    assert response.json() == {"message": "Machine not found.", "extra": {}}
    assert (_state(tenant), _state(other_tenant)) == (before, theirs)


def test_delete_a_window(api, tenant):
    window = MaintenanceWindowFactory(tenant=tenant)
    kept = MaintenanceWindowFactory(tenant=tenant)

    response = api.delete(_detail(window))

    assert response.status_code == 204
    assert [w.pk for w in MaintenanceWindow.objects.for_tenant(tenant)] == [kept.pk]
    assert [e.target_id for e in audit_events(tenant, verb="maintenancewindow.deleted")] == [
        window.pk
    ]


def test_windows_cannot_be_patched(api, tenant):
    window = MaintenanceWindowFactory(tenant=tenant)
    before = _state(tenant)

    response = api.patch(_detail(window), {"reason": "x"}, format="json")

    assert response.status_code == 405
    assert response.json() == {"message": 'Method "PATCH" not allowed.', "extra": {}}
    assert _state(tenant) == before


@pytest.mark.parametrize("call", ["get", "delete"])
def test_another_tenants_window_is_404(api, tenant, other_tenant, call):
    foreign = MaintenanceWindowFactory(tenant=other_tenant)
    before, theirs = _state(tenant), _state(other_tenant)

    response = getattr(api, call)(_detail(foreign))
    missing = api.get(_detail(foreign.pk + 1000))

    assert response.status_code == 404
    assert response.json() == missing.json()
    assert missing.json() == {"message": "Maintenance window not found.", "extra": {}}
    assert (_state(tenant), _state(other_tenant)) == (before, theirs)


@pytest.mark.parametrize("write", ["create", "delete"])
@pytest.mark.parametrize(
    ("who", "message"),
    [
        ("read-only-key", "This API key is read-only."),
        ("viewer", "Your role (viewer) does not allow this action (machines.manage)."),
        ("operator", "Your role (operator) does not allow this action (machines.manage)."),
    ],
)
def test_who_may_not_plan_maintenance(tenant, system, write, who, message):
    machine = MachineFactory(tenant=tenant)
    window = MaintenanceWindowFactory(tenant=tenant, machine=machine, starts_at=T0 - 10 * H)
    client = _key_client(system, read_only=True) if who == "read-only-key" else _member(tenant, who)
    before = _state(tenant)

    if write == "create":
        response = client.post(LIST, _new(machine), format="json")
    else:
        response = client.delete(_detail(window))

    assert response.status_code == 403
    assert response.json() == {"message": message, "extra": {}}
    assert _state(tenant) == before
    assert client.get(LIST).json()["count"] == 1


def test_a_manager_may_plan_maintenance(tenant):
    machine = MachineFactory(tenant=tenant)

    response = _member(tenant, "manager").post(LIST, _new(machine), format="json")

    assert response.status_code == 201


def _ids(response):
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


@pytest.fixture
def windows(tenant, other_tenant):
    printer, mill = MachineFactory(tenant=tenant), MachineFactory(tenant=tenant)
    made = {
        "early": MaintenanceWindowFactory(
            tenant=tenant, machine=printer, starts_at=T0, ends_at=T0 + 2 * H
        ),
        "late": MaintenanceWindowFactory(
            tenant=tenant, machine=printer, starts_at=T0 + 24 * H, ends_at=T0 + 26 * H
        ),
        "mill": MaintenanceWindowFactory(
            tenant=tenant, machine=mill, starts_at=T0 + H, ends_at=T0 + 3 * H
        ),
    }
    MaintenanceWindowFactory(tenant=other_tenant, starts_at=T0, ends_at=T0 + H)
    return printer, mill, made


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["early", "mill", "late"]),
        ({"machine": "printer"}, ["early", "late"]),
        ({"machine": "mill"}, ["mill"]),
        ({"starts_after": "2031-03-03T09:00:00Z"}, ["mill", "late"]),
        ({"starts_after": "2031-03-03T09:00:01Z"}, ["late"]),
        ({"ends_before": "2031-03-03T10:00:00Z"}, ["early"]),
        ({"ends_before": "2031-03-03T11:00:00Z"}, ["early", "mill"]),
        ({"machine": "printer", "ends_before": "2031-03-03T11:00:00Z"}, ["early"]),
        ({"ordering": "-ends_at"}, ["late", "mill", "early"]),
    ],
)
def test_filter_windows(api, windows, query, expected):
    printer, mill, made = windows
    if "machine" in query:
        query = {**query, "machine": {"printer": printer.pk, "mill": mill.pk}[query["machine"]]}

    assert _ids(api.get(LIST, query)) == [made[name].pk for name in expected]


def test_updated_since(api, tenant, windows):
    _, _, made = windows
    for name, day in (("early", 1), ("late", 2), ("mill", 3)):
        MaintenanceWindow.objects.for_tenant(tenant).filter(pk=made[name].pk).update(
            updated_at=datetime(2031, 1, day, tzinfo=UTC)
        )

    response = api.get(LIST, {"updated_since": "2031-01-02T00:00:00Z"})

    assert _ids(response) == [made["mill"].pk, made["late"].pk]


@pytest.mark.parametrize("rows", [3, 30])
def test_the_list_query_count_does_not_grow(api, tenant, rows, django_assert_num_queries):
    machine = MachineFactory(tenant=tenant)
    for i in range(rows):
        start = T0 + i * 3 * H
        MaintenanceWindowFactory(tenant=tenant, machine=machine, starts_at=start, ends_at=start + H)
    api.get(LIST)  # the key's last_used_at is written on its first use

    # the API key (with its tenant), the count, the page
    with django_assert_num_queries(3):
        response = api.get(LIST, {"page_size": 100})

    assert response.json()["count"] == rows

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from mfapp.machines.models import Machine
from mfapp.tenancy.services import api_key_create
from tests.factories import (
    BatchOperationFactory,
    MachineFactory,
    MembershipFactory,
    SiteFactory,
    audit_count,
    audit_events,
)

M = Machine.Status
LIST = reverse("api:machine-list")
T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
TOO_LARGE = "Ensure this value is less than or equal to 9223372036854775807."
MAX_INTEGER = connection.ops.integer_field_range("PositiveIntegerField")[1]  # by database


def _detail(machine_or_id):
    return reverse("api:machine-detail", args=[getattr(machine_or_id, "pk", machine_or_id)])


def _status_url(machine):
    return reverse("api:machine-status", args=[machine.pk])


def _iso(value):
    return value.isoformat().replace("+00:00", "Z") if value else None


def _json(machine):
    machine.refresh_from_db()
    return {
        "id": machine.pk,
        "site": machine.site_id,
        "name": machine.name,
        "kind": machine.kind,
        "capabilities": machine.capabilities,
        "rated_power_running_kw": f"{machine.rated_power_running_kw:.3f}",
        "rated_power_idle_kw": f"{machine.rated_power_idle_kw:.3f}",
        "hourly_cost": f"{machine.hourly_cost:.2f}",
        "speed_factor": f"{machine.speed_factor:.2f}",
        "changeover_minutes": machine.changeover_minutes,
        "runs_unattended": machine.runs_unattended,
        "status": machine.status,
        "status_reason": machine.status_reason,
        "status_changed_at": _iso(machine.status_changed_at),
        "created_at": _iso(machine.created_at),
        "updated_at": _iso(machine.updated_at),
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
    """Every machine of the tenant as stored, and the audit trail's length."""
    machines = Machine.objects.for_tenant(tenant).order_by("pk").values()
    return [dict(row) for row in machines], audit_count(tenant)


# --- reads ---------------------------------------------------------------------------------------
def test_list_machines(api, tenant):
    site = SiteFactory(tenant=tenant, name="Berlin")
    machine = MachineFactory(
        tenant=tenant,
        site=site,
        name="Prusa MK4",
        capabilities=["fdm-print", "post-process"],
        hourly_cost=Decimal("4.50"),
    )

    response = api.get(LIST)

    assert response.status_code == 200
    assert response.json() == {
        "count": 1,
        "next": None,
        "previous": None,
        "results": [_json(machine)],
    }
    assert response.json()["results"][0]["capabilities"] == ["fdm-print", "post-process"]
    assert response.json()["results"][0]["hourly_cost"] == "4.50"


def test_retrieve_a_machine(api, tenant):
    machine = MachineFactory(
        tenant=tenant, status=M.DOWN, status_reason="Jam", status_changed_at=T0
    )

    response = api.get(_detail(machine))

    assert response.status_code == 200
    assert response.json() == _json(machine)
    assert response.json()["status_changed_at"] == "2026-01-05T08:00:00Z"


def test_no_credentials_is_401(tenant):
    machine = MachineFactory(tenant=tenant)

    response = APIClient().get(_detail(machine))

    assert response.status_code == 401
    assert response.json() == {
        "message": "Authentication credentials were not provided.",
        "extra": {},
    }


# --- create --------------------------------------------------------------------------------------
def test_create_a_machine(api, tenant):
    site = SiteFactory(tenant=tenant)

    response = api.post(
        LIST,
        {
            "site_id": site.pk,
            "name": "Form 3",
            "kind": "sla-printer",
            "capabilities": ["sla-print"],
            "rated_power_running_kw": "0.065",
            "hourly_cost": 3,
            "runs_unattended": True,
        },
        format="json",
    )

    assert response.status_code == 201
    machine = Machine.objects.for_tenant(tenant).get()
    assert response.json() == _json(machine)
    assert (machine.site_id, machine.name, machine.kind, machine.capabilities) == (
        site.pk,
        "Form 3",
        "sla-printer",
        ["sla-print"],
    )
    assert (machine.rated_power_running_kw, machine.hourly_cost, machine.runs_unattended) == (
        Decimal("0.065"),
        Decimal("3.00"),
        True,
    )
    assert (machine.status, machine.speed_factor) == (M.AVAILABLE, Decimal("1.00"))
    [event] = audit_events(tenant, verb="machine.created", target=machine)
    assert (event.actor_label, event.after) == (
        "api-key:write",
        {"site": site.pk, "kind": "sla-printer", "capabilities": ["sla-print"]},
    )


def test_create_needs_the_required_fields(api, tenant):
    before = _state(tenant)

    response = api.post(LIST, {}, format="json")

    assert response.status_code == 400
    required = ["This field is required."]
    assert response.json() == {
        "message": "Some fields are invalid.",
        "extra": {
            "fields": {
                "site_id": required,
                "name": required,
                "kind": required,
                "capabilities": required,
            }
        },
    }
    assert _state(tenant) == before


BAD_INPUT = {
    "site-text": ({"site_id": "abc"}, {"site_id": ["A valid integer is required."]}),
    "site-huge": ({"site_id": 10**30}, {"site_id": [TOO_LARGE]}),
    "kind": ({"kind": "toaster"}, {"kind": ['"toaster" is not a valid choice.']}),
    "no-capability": (
        {"capabilities": []},
        {"capabilities": ["Ensure this field has at least 1 elements."]},
    ),
    "capabilities-text": (
        {"capabilities": "fdm-print"},
        {"capabilities": ['Expected a list of items but got type "str".']},
    ),
    "unknown-capability": (
        {"capabilities": ["teleport"]},
        {"capabilities": {"0": ['"teleport" is not a valid choice.']}},
    ),
    "negative-power": (
        {"rated_power_running_kw": "-1"},
        {"rated_power_running_kw": ["Ensure this value is greater than or equal to 0."]},
    ),
    "huge-cost": (
        {"hourly_cost": 1e20},
        {"hourly_cost": ["Ensure that there are no more than 12 digits in total."]},
    ),
    "nan-cost": ({"hourly_cost": "NaN"}, {"hourly_cost": ["A valid number is required."]}),
    "huge-minutes": (
        {"changeover_minutes": 10**20},
        {"changeover_minutes": [f"Ensure this value is less than or equal to {MAX_INTEGER}."]},
    ),
    "boolean": ({"runs_unattended": "maybe"}, {"runs_unattended": ["Must be a valid boolean."]}),
    "long-name": (
        {"name": "x" * 201},
        {"name": ["Ensure this field has no more than 200 characters."]},
    ),
}


@pytest.mark.parametrize(("changes", "errors"), BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_create_refuses_bad_input(api, tenant, changes, errors):
    site = SiteFactory(tenant=tenant)
    data = {"site_id": site.pk, "name": "X", "kind": "cnc-mill", "capabilities": ["cnc-mill-3axis"]}
    before = _state(tenant)

    response = api.post(LIST, {**data, **changes}, format="json")

    assert response.status_code == 400
    assert response.json() == {"message": "Some fields are invalid.", "extra": {"fields": errors}}
    assert _state(tenant) == before


def test_capabilities_are_listed_once(api, tenant):
    site = SiteFactory(tenant=tenant)
    before = _state(tenant)

    response = api.post(
        LIST,
        {"site_id": site.pk, "name": "X", "kind": "cnc-mill", "capabilities": ["solder", "solder"]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {
        "message": "capabilities: Each capability may be listed once.",
        "extra": {"fields": {"capabilities": ["Each capability may be listed once."]}},
    }
    assert _state(tenant) == before


@pytest.mark.parametrize("whose", ["other-tenant", "missing"])
def test_create_at_another_tenants_site_is_404(api, tenant, other_tenant, whose):
    foreign = SiteFactory(tenant=other_tenant)
    site_id = foreign.pk if whose == "other-tenant" else foreign.pk + 1000
    before, theirs = _state(tenant), _state(other_tenant)

    response = api.post(
        LIST,
        {"site_id": site_id, "name": "X", "kind": "cnc-mill", "capabilities": ["cnc-mill-3axis"]},
        format="json",
    )

    assert response.status_code == 404
    assert response.json() == {"message": "Site not found.", "extra": {}}
    assert (_state(tenant), _state(other_tenant)) == (before, theirs)


def test_malformed_json_and_wrong_content_type(api, tenant):
    before = _state(tenant)

    malformed = api.post(LIST, "{not json", content_type="application/json")
    form = api.post(LIST, {"name": "X"})  # multipart

    assert malformed.status_code == 400
    assert malformed.json()["message"].startswith("JSON parse error")
    assert form.status_code == 415
    assert form.json() == {
        "message": "Unsupported media type "
        '"multipart/form-data; boundary=BoUnDaRyStRiNg; charset=utf-8" in request.',
        "extra": {},
    }
    assert _state(tenant) == before


# --- update and delete ---------------------------------------------------------------------------
def test_patch_a_machines_specs(api, tenant):
    machine = MachineFactory(tenant=tenant, name="Old", speed_factor=Decimal("1.00"))

    response = api.patch(
        _detail(machine),
        {"name": "Prusa XL", "speed_factor": "1.25", "capabilities": ["fdm-print", "assembly"]},
        format="json",
    )

    assert response.status_code == 200
    assert response.json() == _json(machine)
    assert (machine.name, machine.speed_factor, machine.capabilities) == (
        "Prusa XL",
        Decimal("1.25"),
        ["fdm-print", "assembly"],
    )
    [event] = audit_events(tenant, verb="machine.updated", target=machine)
    # (capabilities are left out: core's jsonable() writes lists as their Python repr)
    assert {k: event.before[k] for k in ("name", "speed_factor")} == {
        "name": "Old",
        "speed_factor": "1.00",
    }
    assert {k: event.after[k] for k in ("name", "speed_factor")} == {
        "name": "Prusa XL",
        "speed_factor": "1.25",
    }
    assert set(event.after) == {"name", "speed_factor", "capabilities"}


def test_patch_cannot_move_a_machine(api, tenant):
    machine = MachineFactory(tenant=tenant)
    elsewhere = SiteFactory(tenant=tenant)
    before = _state(tenant)

    response = api.patch(_detail(machine), {"site_id": elsewhere.pk}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "message": "Some fields are invalid.",
        "extra": {
            "fields": {"site_id": ["A machine cannot move to another site; add it there anew."]}
        },
    }
    assert _state(tenant) == before


def test_patch_refuses_bad_values(api, tenant):
    machine = MachineFactory(tenant=tenant)
    before = _state(tenant)

    response = api.patch(_detail(machine), {"speed_factor": "0.05"}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "message": "Some fields are invalid.",
        "extra": {
            "fields": {"speed_factor": ["Ensure this value is greater than or equal to 0.1."]}
        },
    }
    assert _state(tenant) == before


def test_delete_a_machine(api, tenant):
    machine = MachineFactory(tenant=tenant)
    kept = MachineFactory(tenant=tenant)

    response = api.delete(_detail(machine))

    assert response.status_code == 204
    assert list(Machine.objects.for_tenant(tenant).values_list("pk", flat=True)) == [kept.pk]
    assert [e.target_id for e in audit_events(tenant, verb="machine.deleted")] == [machine.pk]


def test_a_machine_that_ran_operations_cannot_be_deleted(api, tenant):
    machine = MachineFactory(tenant=tenant)
    BatchOperationFactory(tenant=tenant, machine=machine)
    before = _state(tenant)

    response = api.delete(_detail(machine))

    assert response.status_code == 409
    assert response.json() == {
        "message": "This machine is still used by other records; remove or reassign them first.",
        "extra": {},
    }
    assert _state(tenant) == before


# --- status --------------------------------------------------------------------------------------
def test_take_a_machine_down(api, tenant):
    machine = MachineFactory(tenant=tenant, status=M.AVAILABLE)

    response = api.post(_status_url(machine), {"status": "down", "reason": "Hotend jam"}, "json")

    assert response.status_code == 200
    assert response.json() == _json(machine)
    assert (machine.status, machine.status_reason) == (M.DOWN, "Hotend jam")
    assert machine.status_changed_at is not None
    [event] = audit_events(tenant, verb="machine.status_changed", target=machine)
    assert (event.before, event.after["status"], event.message) == (
        {"status": "available"},
        "down",
        "Hotend jam",
    )


def test_bring_a_machine_back(api, tenant):
    machine = MachineFactory(tenant=tenant, status=M.MAINTENANCE, status_reason="Belts")

    response = api.post(_status_url(machine), {"status": "available"}, format="json")

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["status_reason"]) == ("available", "")


@pytest.mark.parametrize(
    ("current", "wanted", "message"),
    [
        (M.DOWN, M.DOWN, "Machine Prusa is down already."),
        (M.AVAILABLE, M.AVAILABLE, "Machine Prusa is available already."),
        (
            M.RUNNING,
            M.MAINTENANCE,
            "Machine Prusa is running an operation; pause or finish it before maintenance.",
        ),
        (M.RUNNING, M.AVAILABLE, "Cannot move machine Prusa to available: it is running."),
    ],
    ids=["down-twice", "available-twice", "running-to-maintenance", "running-to-available"],
)
def test_illegal_status_changes_are_409(api, tenant, current, wanted, message):
    machine = MachineFactory(tenant=tenant, name="Prusa", status=current)
    before = _state(tenant)

    response = api.post(_status_url(machine), {"status": wanted, "reason": "x"}, format="json")

    assert response.status_code == 409
    assert response.json()["message"] == message
    assert _state(tenant) == before


@pytest.mark.parametrize(
    ("data", "message", "fields"),
    [
        (
            {"status": "running"},
            "Some fields are invalid.",
            {
                "status": [
                    "Status 'running' cannot be set by hand; choose available, maintenance or down."
                ]
            },
        ),
        ({}, "Some fields are invalid.", {"status": ["This field is required."]}),
        ({"status": "down"}, "Say why the machine is unavailable.", {"reason": ["Required."]}),
        (
            {"status": "down", "reason": "x" * 301},
            "Some fields are invalid.",
            {"reason": ["Ensure this field has no more than 300 characters."]},
        ),
    ],
    ids=["running", "missing", "no-reason", "long-reason"],
)
def test_status_changes_need_valid_input(api, tenant, data, message, fields):
    machine = MachineFactory(tenant=tenant)
    before = _state(tenant)

    response = api.post(_status_url(machine), data, format="json")

    assert response.status_code == 400
    assert response.json() == {"message": message, "extra": {"fields": fields}}
    assert _state(tenant) == before


# --- who may do what -----------------------------------------------------------------------------
def _writes(tenant):
    site = SiteFactory(tenant=tenant)
    machine = MachineFactory(tenant=tenant, site=site, status=M.AVAILABLE)
    new = {"site_id": site.pk, "name": "New", "kind": "cnc-mill", "capabilities": ["cnc-lathe"]}
    return {
        "create": lambda c: c.post(LIST, new, format="json"),
        "patch": lambda c: c.patch(_detail(machine), {"name": "Renamed"}, format="json"),
        "delete": lambda c: c.delete(_detail(machine)),
        "status": lambda c: c.post(_status_url(machine), {"status": "down", "reason": "x"}, "json"),
    }


@pytest.mark.parametrize("write", ["create", "patch", "delete", "status"])
def test_a_read_only_key_cannot_write(tenant, system, write):
    call = _writes(tenant)[write]
    client = _key_client(system, read_only=True)
    before = _state(tenant)

    response = call(client)

    assert response.status_code == 403
    assert response.json() == {"message": "This API key is read-only.", "extra": {}}
    assert _state(tenant) == before
    assert client.get(LIST).status_code == 200


@pytest.mark.parametrize("write", ["create", "patch", "delete", "status"])
def test_a_viewer_cannot_write(tenant, write):
    call = _writes(tenant)[write]
    client = _member(tenant, "viewer")
    before = _state(tenant)

    response = call(client)

    permission = "machines.change_status" if write == "status" else "machines.manage"
    assert response.status_code == 403
    assert response.json() == {
        "message": f"Your role (viewer) does not allow this action ({permission}).",
        "extra": {},
    }
    assert _state(tenant) == before
    assert client.get(LIST).json()["count"] == 1


@pytest.mark.parametrize(("write", "code"), [("create", 403), ("patch", 403), ("status", 200)])
def test_an_operator_may_change_the_status_only(tenant, write, code):
    call = _writes(tenant)[write]
    before = _state(tenant)

    response = call(_member(tenant, "operator"))

    assert response.status_code == code
    if code == 403:
        assert response.json() == {
            "message": "Your role (operator) does not allow this action (machines.manage).",
            "extra": {},
        }
        assert _state(tenant) == before
    else:
        assert Machine.objects.for_tenant(tenant).get().status == M.DOWN


def test_a_manager_may_create(tenant):
    site = SiteFactory(tenant=tenant)

    response = _member(tenant, "manager").post(
        LIST,
        {"site_id": site.pk, "name": "Lathe", "kind": "cnc-lathe", "capabilities": ["cnc-lathe"]},
        format="json",
    )

    assert response.status_code == 201
    assert Machine.objects.for_tenant(tenant).get().name == "Lathe"


@pytest.mark.parametrize("call", ["get", "patch", "delete", "status"])
def test_another_tenants_machine_is_404(api, tenant, other_tenant, call):
    foreign = MachineFactory(tenant=other_tenant, status=M.AVAILABLE)
    before, theirs = _state(tenant), _state(other_tenant)
    requests = {
        "get": lambda: api.get(_detail(foreign)),
        "patch": lambda: api.patch(_detail(foreign), {"name": "Hijacked"}, format="json"),
        "delete": lambda: api.delete(_detail(foreign)),
        "status": lambda: api.post(_status_url(foreign), {"status": "down", "reason": "x"}, "json"),
    }

    response = requests[call]()
    missing = api.get(_detail(foreign.pk + 1000))

    assert response.status_code == 404
    assert response.json() == missing.json() == {"message": "Machine not found.", "extra": {}}
    assert (_state(tenant), _state(other_tenant)) == (before, theirs)


# --- filters -------------------------------------------------------------------------------------
def _ids(response):
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


@pytest.fixture
def fleet(tenant, other_tenant):
    berlin = SiteFactory(tenant=tenant, name="Berlin")
    lyon = SiteFactory(tenant=tenant, name="Lyon")
    machines = {
        "printer": MachineFactory(tenant=tenant, site=berlin, name="A printer"),
        "mill": MachineFactory(
            tenant=tenant,
            site=berlin,
            name="B mill",
            kind="cnc-mill",
            capabilities=["cnc-mill-3axis", "cnc-mill-5axis"],
            status=M.DOWN,
        ),
        "laser": MachineFactory(
            tenant=tenant,
            site=lyon,
            name="C laser",
            kind="laser-cutter",
            capabilities=["laser-engrave", "laser-cut"],
            status=M.MAINTENANCE,
        ),
    }
    MachineFactory(tenant=other_tenant, name="Theirs", capabilities=["laser-cut"])
    return berlin, lyon, machines


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["printer", "mill", "laser"]),
        ({"site": "berlin"}, ["printer", "mill"]),
        ({"site": "lyon"}, ["laser"]),
        ({"status": "down"}, ["mill"]),
        ({"kind": "laser-cutter"}, ["laser"]),
        ({"capability": "laser-cut"}, ["laser"]),
        ({"capability": "cnc-mill-3axis"}, ["mill"]),
        ({"capability": "fdm-print"}, ["printer"]),
        ({"capability": "solder"}, []),
        ({"capability": "laser-cut", "site": "berlin"}, []),
        ({"ordering": "-name"}, ["laser", "mill", "printer"]),
        ({"ordering": "status,name"}, ["printer", "mill", "laser"]),
    ],
)
def test_filter_machines(api, fleet, query, expected):
    berlin, lyon, machines = fleet
    if "site" in query:
        query = {**query, "site": {"berlin": berlin.pk, "lyon": lyon.pk}[query["site"]]}

    response = api.get(LIST, query)

    assert _ids(response) == [machines[name].pk for name in expected]


def _not_a_choice(value):
    return [f"Select a valid choice. {value} is not one of the available choices."]


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ({"status": "broken"}, {"status": _not_a_choice("broken")}),
        ({"capability": "teleport"}, {"capability": _not_a_choice("teleport")}),
        ({"site": "x"}, {"site": ["Enter a whole number."]}),
        ({"updated_since": "yesterday"}, {"updated_since": ["Enter a valid date/time."]}),
    ],
    ids=["status", "capability", "site", "updated_since"],
)
def test_bad_filters_are_400(api, fleet, query, fields):
    response = api.get(LIST, query)

    assert response.status_code == 400
    assert response.json() == {"message": "Some fields are invalid.", "extra": {"fields": fields}}


def test_updated_since(api, tenant, fleet):
    _, _, machines = fleet
    for name, day in (("printer", 1), ("mill", 2), ("laser", 3)):
        Machine.objects.for_tenant(tenant).filter(pk=machines[name].pk).update(
            updated_at=datetime(2026, 1, day, 12, 0, tzinfo=UTC)
        )

    since_2nd = api.get(LIST, {"updated_since": "2026-01-02T12:00:00Z"})
    after_2nd = api.get(LIST, {"updated_since": "2026-01-02T12:00:00.000001Z"})
    in_berlin_time = api.get(LIST, {"updated_since": "2026-01-03T13:00:00+01:00"})

    assert _ids(since_2nd) == [machines["mill"].pk, machines["laser"].pk]
    assert _ids(after_2nd) == [machines["laser"].pk]
    assert _ids(in_berlin_time) == [machines["laser"].pk]


def test_pagination(api, tenant):
    site = SiteFactory(tenant=tenant)
    machines = [MachineFactory(tenant=tenant, site=site, name=f"M{i}") for i in range(5)]

    first = api.get(LIST, {"page_size": 2})
    last = api.get(LIST, {"page_size": 2, "page": 3})

    assert first.json()["count"] == 5
    assert _ids(first) == [m.pk for m in machines[:2]]
    assert first.json()["next"] == "http://testserver/api/v1/machines/?page=2&page_size=2"
    assert _ids(last) == [machines[4].pk]
    assert last.json()["next"] is None


@pytest.mark.parametrize("rows", [3, 30])
def test_the_list_query_count_does_not_grow(api, tenant, rows, django_assert_num_queries):
    site = SiteFactory(tenant=tenant)
    for i in range(rows):
        MachineFactory(tenant=tenant, site=site, name=f"M{i:02}")
    api.get(LIST)  # the key's last_used_at is written on its first use

    # the API key (with its tenant), the count, the page
    with django_assert_num_queries(3):
        response = api.get(LIST, {"page_size": 100, "capability": "fdm-print"})

    assert response.json()["count"] == rows

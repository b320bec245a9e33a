"""A machine's page: facts, status history and its maintenance windows."""

import json
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from mfapp.machines.models import MaintenanceWindow
from mfapp.machines.services import machine_change_status
from mfapp.scheduling.models import ScheduleRun
from tests.factories import (
    MachineFactory,
    MaintenanceWindowFactory,
    MembershipFactory,
    SiteFactory,
    audit_events,
    member_actor,
)

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}
T0 = datetime.fromisoformat("2031-03-03T08:00:00+00:00")  # 09:00 in Berlin


def _login(client, tenant, role="manager"):
    membership = MembershipFactory(tenant=tenant, role=role)
    client.force_login(membership.user)
    return membership.user


def _detail(machine):
    return reverse("machines:machine-detail", args=[machine.pk])


def _add(machine):
    return reverse("machines:maintenance-window-create", args=[machine.pk])


def _delete(window):
    return reverse("machines:maintenance-window-delete", args=[window.machine_id, window.pk])


def _windows(tenant):
    return list(
        MaintenanceWindow.objects.for_tenant(tenant)
        .order_by("id")
        .values_list("machine_id", "starts_at", "ends_at", "reason")
    )


@pytest.fixture
def machine(tenant):
    site = SiteFactory(tenant=tenant, name="Berlin", timezone="Europe/Berlin")
    return MachineFactory(
        tenant=tenant,
        site=site,
        name="Prusa A",
        capabilities=["fdm-print", "post-process"],
        rated_power_running_kw=Decimal("0.350"),
        rated_power_idle_kw=Decimal("0.015"),
        hourly_cost=Decimal("4.50"),
        speed_factor=Decimal("1.25"),
        changeover_minutes=15,
        runs_unattended=True,
    )


def test_the_page_shows_facts_history_and_windows_in_the_sites_time(client, tenant, machine):
    # given
    _login(client, tenant, "viewer")
    operator = member_actor(tenant, "operator")
    machine_change_status(actor=operator, machine=machine, status="down", reason="Clogged")
    machine_change_status(actor=operator, machine=machine, status="available")
    soon = timezone.now() + timedelta(days=1)
    MaintenanceWindowFactory(
        tenant=tenant, machine=machine, starts_at=soon, ends_at=soon + timedelta(hours=1)
    )
    MaintenanceWindowFactory(
        tenant=tenant, machine=machine, starts_at=T0 - timedelta(days=3000), reason="Old service"
    )

    # when
    response = client.get(_detail(machine))

    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Prusa A <small>FDM printer at Berlin</small></h1>" in html
    assert "<dt>Capabilities</dt><dd>FDM printing, Post-processing (support removal" in html
    assert "<dt>Speed factor</dt><dd>1.25 " in html
    assert "<dt>Power running</dt><dd>0.350 kW</dd>" in html
    assert "<dt>Power idle</dt><dd>0.015 kW</dd>" in html
    assert "<dt>Hourly cost</dt><dd>4.50 EUR</dd>" in html
    assert "<dt>Changeover</dt><dd>15 min</dd>" in html
    assert "<dt>Runs unattended</dt><dd>Yes (may run outside working hours)</dd>" in html
    history = [(c.before, c.after, c.reason, c.by) for c in response.context["history"]]
    assert history == [
        ("Down", "available", "", operator.label),
        ("Available", "down", "Clogged", operator.label),
    ]
    assert [w.reason for w in response.context["upcoming_windows"]] == ["Nozzle replacement"]
    assert [w.reason for w in response.context["past_windows"]] == ["Old service"]
    old = timezone.localtime(T0 - timedelta(days=3000), timezone.get_fixed_timezone(60))
    assert f'<td data-label="Start">{old:%a} {old.day} {old:%b %Y, %H:%M}</td>' in html
    assert "Plan maintenance</h3>" not in html  # a viewer sees no forms
    assert reverse("machines:machine-update", args=[machine.pk]) not in html


def test_htmx_refreshes_only_the_status_part(client, tenant, machine):
    _login(client, tenant, "viewer")

    response = client.get(_detail(machine), headers=HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert html.strip().startswith('<section class="card" id="machine-status"')
    assert 'hx-trigger="machineChanged from:body, maintenanceChanged from:body"' in html
    assert "Maintenance windows" not in html


def test_another_tenants_machine_is_a_404(client, tenant, other_tenant):
    _login(client, tenant, "owner")
    foreign = MachineFactory(tenant=other_tenant)

    assert client.get(_detail(foreign)).status_code == 404


def test_a_manager_plans_maintenance_in_the_sites_time(client, tenant, machine):
    _login(client, tenant, "manager")

    response = client.post(
        _add(machine),
        {"starts_at": "2031-03-03T09:00", "ends_at": "2031-03-03T12:30", "reason": "Calibration"},
    )

    assert response.status_code == 302
    assert response["Location"] == _detail(machine)
    assert _windows(tenant) == [
        (machine.pk, T0, T0 + timedelta(hours=3, minutes=30), "Calibration")
    ]
    [run] = ScheduleRun.objects.for_tenant(tenant)
    assert (run.site_id, run.trigger) == (machine.site_id, "maintenance")
    page = client.get(response["Location"]).content.decode()
    assert "Maintenance planned; the site&#x27;s plan is being updated." in page
    assert '<td data-label="Start">Mon 3 Mar 2031, 09:00</td>' in page
    assert '<td data-label="End">Mon 3 Mar 2031, 12:30</td>' in page


def test_with_htmx_the_windows_part_comes_back(client, tenant, machine):
    _login(client, tenant, "owner")

    response = client.post(
        _add(machine),
        {"starts_at": "2031-03-03T09:00", "ends_at": "2031-03-03T10:00", "reason": "Belts"},
        headers=HTMX,
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert html.strip().startswith('<section class="card" id="maintenance"')
    assert '<td data-label="Reason">Belts</td>' in html
    assert json.loads(response["HX-Trigger"]) == {"maintenanceChanged": {"id": machine.pk}}


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        (
            {"starts_at": "2031-03-03T09:00", "ends_at": "2031-03-03T09:00", "reason": "X"},
            {"ends_at": ["The end must be after the start."]},
        ),
        (
            {"starts_at": "2031-03-03T09:00", "ends_at": "2031-03-03T08:00", "reason": "X"},
            {"ends_at": ["The end must be after the start."]},
        ),
        (
            {"starts_at": "", "ends_at": "tomorrow", "reason": ""},
            {
                "starts_at": ["This field is required."],
                "ends_at": ["Enter a valid date/time."],
                "reason": ["This field is required."],
            },
        ),
        (
            {"starts_at": "2031-03-30T02:30", "ends_at": "2031-03-30T05:00", "reason": "X"},
            {
                "starts_at": [
                    "2031-03-30 02:30:00 couldn\u2019t be interpreted in time zone Europe/Berlin; "
                    "it may be ambiguous or it may not exist."
                ]
            },
        ),
    ],
)
def test_invalid_windows_are_refused_and_nothing_is_saved(client, tenant, machine, data, errors):
    _login(client, tenant, "manager")

    response = client.post(_add(machine), data)

    assert response.status_code == 400
    assert response.context["window_form"].errors == errors
    assert _windows(tenant) == []
    assert ScheduleRun.objects.for_tenant(tenant).count() == 0


def test_an_overlapping_window_shows_the_services_message(client, tenant, machine):
    _login(client, tenant, "manager")
    MaintenanceWindowFactory(
        tenant=tenant, machine=machine, starts_at=T0, ends_at=T0 + timedelta(hours=2)
    )

    response = client.post(
        _add(machine),
        {"starts_at": "2031-03-03T10:00", "ends_at": "2031-03-03T12:00", "reason": "Again"},
        headers=HTMX,
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert html.strip().startswith('<section class="card" id="maintenance"')
    message = "Prusa A already has maintenance planned in that time; change that window instead."
    assert f'<ul class="errorlist nonfield"><li>{message}</li></ul>' in html
    assert len(_windows(tenant)) == 1


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_only_owners_and_managers_plan_and_delete_maintenance(client, tenant, machine, role):
    _login(client, tenant, role)
    window = MaintenanceWindowFactory(tenant=tenant, machine=machine)
    before = _windows(tenant)

    responses = [
        client.post(
            _add(machine),
            {"starts_at": "2031-03-03T09:00", "ends_at": "2031-03-03T10:00", "reason": "X"},
        ),
        client.post(_delete(window)),
    ]

    assert [r.status_code for r in responses] == [403, 403]
    assert _windows(tenant) == before
    page = client.get(_detail(machine)).content.decode()
    assert "Plan maintenance</h3>" not in page
    assert _delete(window) not in page


def test_a_manager_deletes_a_window(client, tenant, machine):
    _login(client, tenant, "manager")
    window = MaintenanceWindowFactory(tenant=tenant, machine=machine, reason="Obsolete")
    kept = MaintenanceWindowFactory(
        tenant=tenant, machine=machine, starts_at=T0, ends_at=T0 + timedelta(hours=1)
    )

    plain = client.post(_delete(window))
    htmx = client.post(_delete(kept), headers=HTMX)

    assert plain.status_code == 302
    assert plain["Location"] == _detail(machine)
    assert htmx.status_code == 200
    assert htmx.content.decode().strip().startswith('<section class="card" id="maintenance"')
    assert json.loads(htmx["HX-Trigger"]) == {"maintenanceChanged": {"id": machine.pk}}
    assert _windows(tenant) == []
    assert [e.verb for e in audit_events(tenant)] == ["maintenancewindow.deleted"] * 2


def test_a_window_is_deleted_only_through_its_own_machine(client, tenant, machine):
    _login(client, tenant, "manager")
    window = MaintenanceWindowFactory(tenant=tenant)  # of another machine of the tenant
    url = reverse("machines:maintenance-window-delete", args=[machine.pk, window.pk])

    response = client.post(url)

    assert response.status_code == 404
    assert len(_windows(tenant)) == 1


def test_another_tenants_window_and_machine_are_404s_and_unchanged(
    client, tenant, other_tenant, machine
):
    _login(client, tenant, "owner")
    foreign = MaintenanceWindowFactory(tenant=other_tenant)

    responses = [
        client.post(_delete(foreign)),
        client.post(reverse("machines:maintenance-window-delete", args=[machine.pk, foreign.pk])),
        client.post(
            _add(foreign.machine),
            {"starts_at": "2031-03-03T09:00", "ends_at": "2031-03-03T10:00", "reason": "X"},
        ),
    ]

    assert [r.status_code for r in responses] == [404, 404, 404]
    assert len(_windows(other_tenant)) == 1
    assert _windows(tenant) == []

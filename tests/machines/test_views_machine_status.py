"""The inline status change on the machines page (and on a machine's own page)."""

import json

import pytest
from django.urls import reverse

from mfapp.machines.models import Machine
from mfapp.scheduling.models import ScheduleRun
from tests.factories import (
    BatchFactory,
    BatchOperationFactory,
    MachineFactory,
    MembershipFactory,
    SiteFactory,
    audit_events,
)

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def _login(client, tenant, role="operator"):
    membership = MembershipFactory(tenant=tenant, role=role)
    client.force_login(membership.user)
    return membership.user


def _url(machine):
    return reverse("machines:machine-change-status", args=[machine.pk])


def _reloaded(machine):
    return Machine.objects.for_tenant(machine.tenant_id).get(pk=machine.pk)


def test_an_operator_takes_a_machine_down_without_javascript(client, tenant):
    # given
    _login(client, tenant, "operator")
    site = SiteFactory(tenant=tenant)
    machine = MachineFactory(tenant=tenant, site=site, name="Prusa A")

    # when
    response = client.post(
        _url(machine), {"status": "down", "reason": " Clogged nozzle ", "return_to": "list"}
    )

    # then
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('machines:machine-list')}#machine-{machine.pk}"
    now = _reloaded(machine)
    assert (now.status, now.status_reason) == ("down", "Clogged nozzle")
    [event] = audit_events(tenant, verb="machine.status_changed", target=machine)
    assert (event.before, event.message) == ({"status": "available"}, "Clogged nozzle")
    [run] = ScheduleRun.objects.for_tenant(tenant)  # the site is re-planned
    assert (run.site_id, run.trigger) == (site.pk, "machine_status")
    page = client.get(response["Location"]).content.decode()
    assert "Prusa A is now down." in page


def test_with_htmx_the_row_comes_back_and_machine_changed_is_triggered(client, tenant):
    _login(client, tenant, "manager")
    machine = MachineFactory(tenant=tenant, status="down", status_reason="Fan")

    response = client.post(_url(machine), {"status": "available", "reason": ""}, headers=HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert html.strip().startswith(f'<tr id="machine-{machine.pk}">')
    assert '<span class="chip status-available">Available</span>' in html
    assert '<details class="status-change">' in html  # folded again
    assert json.loads(response["HX-Trigger-After-Settle"]) == {
        "machineChanged": {"id": machine.pk, "status": "available"}
    }
    now = _reloaded(machine)
    assert (now.status, now.status_reason) == ("available", "")


def test_from_the_machine_page_the_status_part_comes_back(client, tenant):
    _login(client, tenant, "operator")
    machine = MachineFactory(tenant=tenant)

    plain = client.post(
        _url(machine), {"status": "maintenance", "reason": "Bed levelling", "return_to": "detail"}
    )
    htmx = client.post(
        _url(machine),
        {"status": "available", "reason": "", "return_to": "detail"},
        headers=HTMX,
    )

    assert plain.status_code == 302
    assert plain["Location"] == reverse("machines:machine-detail", args=[machine.pk])
    html = htmx.content.decode()
    assert htmx.status_code == 200
    assert html.strip().startswith('<section class="card" id="machine-status"')
    assert "<html" not in html
    assert 'Maintenance → <span class="chip status-available">Available</span></span>' in html
    assert "Bed levelling" in html  # the history shows the earlier change and its reason
    assert _reloaded(machine).status == "available"


@pytest.mark.parametrize("status", ["maintenance", "down"])
def test_a_reason_is_required_for_maintenance_and_down(client, tenant, status):
    _login(client, tenant, "operator")
    machine = MachineFactory(tenant=tenant)

    plain = client.post(_url(machine), {"status": status, "reason": "  "})
    htmx = client.post(_url(machine), {"status": status, "reason": ""}, headers=HTMX)

    assert plain.status_code == 400
    [row] = [r for s in plain.context["sections"] for r in s.rows]
    assert row.form.errors == {"reason": ["Required."]}
    assert "<html" in plain.content.decode()
    assert htmx.status_code == 400
    html = htmx.content.decode()
    assert html.strip().startswith(f'<tr id="machine-{machine.pk}">')
    assert '<details class="status-change" open>' in html
    assert '<p class="error" role="alert">Status not changed.</p>' in html
    assert "Required." in html
    assert f'<option value="{status}" selected>' in html  # the choice is kept
    assert _reloaded(machine).status == "available"
    assert audit_events(tenant, verb="machine.status_changed") == []
    assert ScheduleRun.objects.for_tenant(tenant).count() == 0


@pytest.mark.parametrize(
    ("current", "wanted", "message"),
    [
        (
            "running",
            "maintenance",
            "Machine Prusa A is running an operation; pause or finish it before maintenance.",
        ),
        ("running", "available", "Cannot move machine Prusa A to available: it is running."),
        ("down", "down", "Machine Prusa A is down already."),
        (
            "available",
            "running",
            "Status &#x27;running&#x27; cannot be set by hand; choose available, maintenance or "
            "down.",
        ),
    ],
)
def test_illegal_transitions_show_the_services_message(client, tenant, current, wanted, message):
    _login(client, tenant, "operator")
    machine = MachineFactory(tenant=tenant, name="Prusa A", status=current)

    response = client.post(_url(machine), {"status": wanted, "reason": "Why not"}, headers=HTMX)

    assert response.status_code == 400
    assert f'<ul class="errorlist nonfield"><li>{message}</li></ul>' in response.content.decode()
    assert _reloaded(machine).status == current
    assert audit_events(tenant, verb="machine.status_changed") == []


def test_taking_a_running_machine_down_pauses_its_operation(client, tenant):
    _login(client, tenant, "operator")
    machine = MachineFactory(tenant=tenant, status="running")
    batch = BatchFactory(tenant=tenant, site=machine.site)
    operation = BatchOperationFactory(tenant=tenant, batch=batch, machine=machine, status="running")

    response = client.post(_url(machine), {"status": "down", "reason": "Power cut"}, headers=HTMX)

    assert response.status_code == 200
    assert _reloaded(machine).status == "down"
    operation.refresh_from_db()
    assert operation.status == "paused"
    assert "Nothing running" in response.content.decode()


def test_a_viewer_may_not_change_a_status(client, tenant):
    _login(client, tenant, "viewer")
    machine = MachineFactory(tenant=tenant)

    response = client.post(_url(machine), {"status": "down", "reason": "Broken"})

    assert response.status_code == 403
    assert _reloaded(machine).status == "available"
    assert audit_events(tenant, verb="machine.status_changed") == []


def test_anonymous_posts_are_sent_to_login(client, tenant):
    machine = MachineFactory(tenant=tenant)

    response = client.post(_url(machine), {"status": "down", "reason": "Broken"})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert _reloaded(machine).status == "available"


def test_another_tenants_machine_is_a_404_and_unchanged(client, tenant, other_tenant):
    _login(client, tenant, "owner")
    foreign = MachineFactory(tenant=other_tenant)

    response = client.post(_url(foreign), {"status": "down", "reason": "Broken"})

    assert response.status_code == 404
    assert _reloaded(foreign).status == "available"
    assert audit_events(other_tenant) == []


def test_the_status_url_takes_posts_only(client, tenant):
    _login(client, tenant, "operator")
    machine = MachineFactory(tenant=tenant)

    assert client.get(_url(machine)).status_code == 405

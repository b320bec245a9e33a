"""Adding, editing and deleting machines in the browser (owners and managers)."""

from decimal import Decimal

import pytest
from django.urls import reverse

from mfapp.machines.models import Machine
from tests.factories import (
    BatchFactory,
    BatchOperationFactory,
    MachineFactory,
    MembershipFactory,
    SiteFactory,
    audit_events,
)

pytestmark = pytest.mark.django_db
CREATE = reverse("machines:machine-create")
HTMX = {"HX-Request": "true"}
VALID = {
    "name": "Bambu X1",
    "kind": "fdm-printer",
    "capabilities": ["fdm-print", "post-process"],
    "rated_power_running_kw": "0.350",
    "rated_power_idle_kw": "0.012",
    "hourly_cost": "3.50",
    "speed_factor": "1.5",
    "changeover_minutes": "10",
    "runs_unattended": "on",
}


def _login(client, tenant, role="manager"):
    membership = MembershipFactory(tenant=tenant, role=role)
    client.force_login(membership.user)
    return membership.user


def _machines(tenant):
    return list(Machine.objects.for_tenant(tenant).order_by("id"))


def _update(machine):
    return reverse("machines:machine-update", args=[machine.pk])


def _delete(machine):
    return reverse("machines:machine-delete", args=[machine.pk])


@pytest.mark.parametrize("role", ["owner", "manager"])
def test_owners_and_managers_add_a_machine_at_a_site(client, tenant, role):
    # given
    _login(client, tenant, role)
    SiteFactory(tenant=tenant, name="Aachen")
    kiel = SiteFactory(tenant=tenant, name="Kiel")

    # when
    response = client.post(CREATE, {**VALID, "site": kiel.pk})

    # then
    [machine] = _machines(tenant)
    assert response.status_code == 302
    assert response["Location"] == reverse("machines:machine-detail", args=[machine.pk])
    assert (
        machine.site_id,
        machine.name,
        machine.kind,
        machine.capabilities,
        machine.rated_power_running_kw,
        machine.rated_power_idle_kw,
        machine.hourly_cost,
        machine.speed_factor,
        machine.changeover_minutes,
        machine.runs_unattended,
        machine.status,
    ) == (
        kiel.pk,
        "Bambu X1",
        "fdm-printer",
        ["fdm-print", "post-process"],
        Decimal("0.350"),
        Decimal("0.012"),
        Decimal("3.50"),
        Decimal("1.50"),
        10,
        True,
        "available",
    )
    assert [e.verb for e in audit_events(tenant, target=machine)] == ["machine.created"]


def test_the_form_offers_the_tenants_sites_and_preselects_one(client, tenant, other_tenant):
    _login(client, tenant)
    SiteFactory(tenant=tenant, name="Aachen")
    kiel = SiteFactory(tenant=tenant, name="Kiel")
    SiteFactory(tenant=other_tenant, name="Lyon")

    response = client.get(f"{CREATE}?site={kiel.pk}")

    assert response.status_code == 200
    form = response.context["form"]
    assert [label for _, label in form.fields["site"].choices] == ["Aachen", "Kiel"]
    assert f'<option value="{kiel.pk}" selected>Kiel</option>' in response.content.decode()


def test_another_tenants_site_is_not_a_choice(client, tenant, other_tenant):
    _login(client, tenant)
    SiteFactory(tenant=tenant)
    foreign = SiteFactory(tenant=other_tenant)

    response = client.post(CREATE, {**VALID, "site": foreign.pk})

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "site": [f"Select a valid choice. {foreign.pk} is not one of the available choices."]
    }
    assert _machines(tenant) == []
    assert _machines(other_tenant) == []


def test_invalid_input_is_refused_and_nothing_saved(client, tenant):
    _login(client, tenant)
    site = SiteFactory(tenant=tenant)
    data = {
        **VALID,
        "site": site.pk,
        "name": "",
        "capabilities": [],
        "rated_power_running_kw": "-1",
        "speed_factor": "0.05",
    }

    response = client.post(CREATE, data)

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "name": ["This field is required."],
        "capabilities": ["This field is required."],
        "rated_power_running_kw": ["Ensure this value is greater than or equal to 0."],
        "speed_factor": ["Ensure this value is greater than or equal to 0.1."],
    }
    assert 'aria-invalid="true"' in response.content.decode()
    assert _machines(tenant) == []


def test_a_duplicate_name_at_the_site_shows_the_services_message(client, tenant):
    _login(client, tenant)
    site = SiteFactory(tenant=tenant)
    MachineFactory(tenant=tenant, site=site, name="Bambu X1")

    response = client.post(CREATE, {**VALID, "site": site.pk})

    assert response.status_code == 400
    assert response.context["form"].non_field_errors() == [
        "A machine with this name exists at this site already."
    ]
    assert len(_machines(tenant)) == 1


def test_without_a_site_the_page_says_to_add_one_first(client, tenant):
    _login(client, tenant, "owner")

    response = client.get(CREATE)

    html = response.content.decode()
    assert response.status_code == 200
    assert "Add a site first: every machine stands at one of your sites" in html
    assert '<form method="post" novalidate>' not in html


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_operators_and_viewers_may_not_add_edit_or_delete_machines(client, tenant, role):
    _login(client, tenant, role)
    site = SiteFactory(tenant=tenant)
    machine = MachineFactory(tenant=tenant, site=site, name="Prusa A")

    responses = [
        client.get(CREATE),
        client.post(CREATE, {**VALID, "site": site.pk}),
        client.get(_update(machine)),
        client.post(_update(machine), {**VALID, "name": "Renamed"}),
        client.post(_delete(machine)),
    ]

    assert [r.status_code for r in responses] == [403] * 5
    assert [m.name for m in _machines(tenant)] == ["Prusa A"]


def test_a_manager_edits_a_machine_and_only_changes_are_recorded(client, tenant):
    _login(client, tenant)
    machine = MachineFactory(
        tenant=tenant,
        name="Prusa A",
        capabilities=["fdm-print"],
        rated_power_running_kw=Decimal("0.250"),
        rated_power_idle_kw=Decimal("0.010"),
    )
    form = client.get(_update(machine)).context["form"]
    data = {name: form[name].value() for name in form.fields}
    data["runs_unattended"] = "" if not data["runs_unattended"] else "on"

    response = client.post(
        _update(machine), {**data, "name": "Prusa MK4", "capabilities": ["fdm-print", "inspection"]}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("machines:machine-detail", args=[machine.pk])
    [saved] = _machines(tenant)
    assert (saved.name, saved.capabilities, saved.site_id) == (
        "Prusa MK4",
        ["fdm-print", "inspection"],
        machine.site_id,
    )
    [event] = audit_events(tenant, verb="machine.updated")
    assert event.before == {"name": "Prusa A", "capabilities": ["fdm-print"]}
    assert event.after == {"name": "Prusa MK4", "capabilities": ["fdm-print", "inspection"]}


def test_invalid_edits_are_refused(client, tenant):
    _login(client, tenant)
    machine = MachineFactory(tenant=tenant, name="Prusa A")

    response = client.post(_update(machine), {**VALID, "changeover_minutes": "-5"})

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "changeover_minutes": ["Ensure this value is greater than or equal to 0."]
    }
    assert "site" not in response.context["form"].fields  # a machine never moves
    assert [m.name for m in _machines(tenant)] == ["Prusa A"]


def test_another_tenants_machine_cannot_be_edited_or_deleted(client, tenant, other_tenant):
    _login(client, tenant, "owner")
    foreign = MachineFactory(tenant=other_tenant, name="Bambu Z")

    responses = [
        client.get(_update(foreign)),
        client.post(_update(foreign), {**VALID, "name": "Mine now"}),
        client.post(_delete(foreign)),
    ]

    assert [r.status_code for r in responses] == [404, 404, 404]
    assert [m.name for m in _machines(other_tenant)] == ["Bambu Z"]


def test_a_manager_deletes_an_unused_machine(client, tenant):
    _login(client, tenant)
    machine = MachineFactory(tenant=tenant, name="Spare")
    other = MachineFactory(tenant=tenant, name="Keep")

    plain = client.post(_delete(machine))
    htmx = client.post(_delete(other), headers=HTMX)

    assert plain.status_code == 302
    assert plain["Location"] == reverse("machines:machine-list")
    assert htmx.status_code == 200
    assert htmx["HX-Redirect"] == reverse("machines:machine-list")
    assert _machines(tenant) == []


def test_a_machine_with_operations_is_kept_and_the_reason_shown(client, tenant):
    _login(client, tenant)
    machine = MachineFactory(tenant=tenant, name="Busy")
    BatchOperationFactory(
        tenant=tenant, batch=BatchFactory(tenant=tenant, site=machine.site), machine=machine
    )

    response = client.post(_delete(machine), follow=True)

    assert response.redirect_chain == [(reverse("machines:machine-detail", args=[machine.pk]), 302)]
    assert (
        "This machine is still used by other records; remove or reassign them first."
        in response.content.decode()
    )
    assert [m.name for m in _machines(tenant)] == ["Busy"]

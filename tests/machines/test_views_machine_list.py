"""The machines page: every site with its machines, live status chips, empty states."""

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from tests.factories import (
    BatchFactory,
    BatchOperationFactory,
    MachineFactory,
    MaintenanceWindowFactory,
    MembershipFactory,
    SiteFactory,
)

pytestmark = pytest.mark.django_db
LIST = reverse("machines:machine-list")
HTMX = {"HX-Request": "true"}


def _login(client, tenant, role="manager"):
    membership = MembershipFactory(tenant=tenant, role=role)
    client.force_login(membership.user)
    return membership.user


def _batch_link(batch):
    """The lot code, linked to the batch's page once that page exists."""
    try:
        return (
            f'<a href="{reverse("production:batch-detail", args=[batch.pk])}">{batch.lot_code}</a>'
        )
    except NoReverseMatch:
        return batch.lot_code


def test_anonymous_visitors_are_sent_to_login(client):
    response = client.get(LIST)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={LIST}"


def test_machines_are_grouped_by_site_with_status_reason_and_activity(client, tenant, other_tenant):
    # given
    _login(client, tenant, "viewer")
    hamburg = SiteFactory(tenant=tenant, name="Hamburg", timezone="Europe/Berlin")
    aachen = SiteFactory(tenant=tenant, name="Aachen", timezone="UTC")
    MachineFactory(
        tenant=tenant,
        site=hamburg,
        name="Mill 1",
        kind="cnc-mill",
        capabilities=["cnc-mill-3axis", "inspection"],
        status="down",
        status_reason="Spindle noise",
        status_changed_at=datetime.fromisoformat("2031-03-03T08:00:00+00:00"),
    )
    printer = MachineFactory(
        tenant=tenant, site=aachen, name="Prusa A", status="running", runs_unattended=True
    )
    batch = BatchFactory(tenant=tenant, site=aachen, lot_code="LOT-77")
    BatchOperationFactory(
        tenant=tenant, batch=batch, machine=printer, name="Print housing", status="running"
    )
    start = timezone.now() + timedelta(days=2)
    MaintenanceWindowFactory(
        tenant=tenant,
        machine=printer,
        starts_at=start,
        ends_at=start + timedelta(hours=3),
        reason="Belt swap",
    )
    MachineFactory(tenant=other_tenant, site=SiteFactory(tenant=other_tenant), name="Bambu Z")

    # when
    response = client.get(LIST)

    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<h1>") == 1
    sections = [
        (s.site.name, [r.machine.name for r in s.rows]) for s in response.context["sections"]
    ]
    assert sections == [("Aachen", ["Prusa A"]), ("Hamburg", ["Mill 1"])]
    assert html.index(f'<h2 id="site-{aachen.pk}-h">Aachen') < html.index(
        f'<h2 id="site-{hamburg.pk}-h">Hamburg'
    )
    assert '<span class="chip status-down">Down</span>' in html
    assert '<span class="status-reason">Spindle noise</span>' in html
    assert 'since <time datetime="2031-03-03T09:00:00+01:00">Mon 3 Mar, 09:00</time>' in html
    assert "CNC milling, 3-axis, Inspection" in html
    assert '<span class="chip status-running">Running</span>' in html
    assert f"<div>Running Print housing · {_batch_link(batch)}</div>" in html
    assert "FDM printing · runs unattended" in html
    local_start = timezone.localtime(start, timezone.get_fixed_timezone(0))
    end = local_start + timedelta(hours=3)
    assert (
        f"Maintenance {local_start:%a} {local_start.day} {local_start:%b, %H:%M} \u2013 "
        f"{end:%a} {end.day} {end:%b, %H:%M}: Belt swap"
    ) in html
    assert "Bambu Z" not in html
    assert 'hx-trigger="every 10s, machineChanged from:body"' in html


def test_htmx_gets_only_the_board(client, tenant):
    _login(client, tenant)
    MachineFactory(tenant=tenant, name="Prusa A", status="maintenance", status_reason="Nozzle")

    response = client.get(LIST, headers=HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert "<h1>" not in html
    assert html.strip().startswith('<div id="machine-board"')
    assert '<span class="chip status-maintenance">Maintenance</span>' in html
    assert "Nozzle" in html


@pytest.mark.parametrize(
    ("role", "status_forms", "add_button"),
    [
        ("owner", True, True),
        ("manager", True, True),
        ("operator", True, False),
        ("viewer", False, False),
    ],
)
def test_what_each_role_is_offered(client, tenant, role, status_forms, add_button):
    _login(client, tenant, role)
    machine = MachineFactory(tenant=tenant)

    html = client.get(LIST).content.decode()

    status_url = reverse("machines:machine-change-status", args=[machine.pk])
    assert (f'action="{status_url}"' in html) is status_forms
    assert ('<th scope="col">Change status</th>' in html) is status_forms
    assert ("Add machine</a>" in html) is add_button


@pytest.mark.parametrize(
    ("status", "offered"),
    [
        ("available", ["maintenance", "down"]),
        ("maintenance", ["available", "down"]),
        ("down", ["available", "maintenance"]),
        ("running", ["down"]),
    ],
)
def test_the_status_select_offers_what_the_current_status_allows(client, tenant, status, offered):
    _login(client, tenant, "operator")
    machine = MachineFactory(tenant=tenant, status=status)

    response = client.get(LIST)

    [row] = response.context["sections"][0].rows
    assert [value for value, _ in row.form.fields["status"].widget.choices] == offered
    html = response.content.decode()
    assert f'<select name="status" id="machine-{machine.pk}-status">' in html


def test_a_tenant_without_sites_is_told_to_add_a_site_first(client, tenant):
    _login(client, tenant, "owner")

    response = client.get(LIST)

    html = response.content.decode()
    assert response.status_code == 200
    assert "No sites yet. Machines stand at a site, so add your first site" in html
    assert "Add machine</a>" not in html


def test_a_tenant_without_machines_is_told_to_add_the_first(client, tenant):
    _login(client, tenant, "manager")
    site = SiteFactory(tenant=tenant, name="Kiel")

    html = client.get(LIST).content.decode()

    create = reverse("machines:machine-create")
    assert f'No machines yet. <a href="{create}">Add your first machine</a>' in html
    assert f'<a href="{create}?site={site.pk}">Add a machine at Kiel</a>' in html


def test_a_viewer_without_machines_is_told_whom_to_ask(client, tenant):
    _login(client, tenant, "viewer")
    SiteFactory(tenant=tenant)

    html = client.get(LIST).content.decode()

    assert "No machines yet. Ask an owner or manager to add your printers" in html
    assert reverse("machines:machine-create") not in html


def _machines(tenant, site, count):
    for index in range(count):
        machine = MachineFactory(tenant=tenant, site=site, status="running")
        batch = BatchFactory(tenant=tenant, site=site)
        BatchOperationFactory(tenant=tenant, batch=batch, machine=machine, status="running")
        MaintenanceWindowFactory(tenant=tenant, machine=machine, reason=f"Service {index}")


def test_the_list_needs_the_same_queries_for_many_machines(
    client, tenant, django_assert_max_num_queries
):
    _login(client, tenant, "operator")
    sites = [SiteFactory(tenant=tenant), SiteFactory(tenant=tenant)]
    _machines(tenant, sites[0], 1)
    with CaptureQueriesContext(connection) as few:
        client.get(LIST)
    _machines(tenant, sites[0], 4)
    _machines(tenant, sites[1], 5)

    with django_assert_max_num_queries(len(few)) as many:
        response = client.get(LIST)

    assert sum(len(s.rows) for s in response.context["sections"]) == 10
    assert len(many) == len(few)

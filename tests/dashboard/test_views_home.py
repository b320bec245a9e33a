import re
from datetime import date, timedelta

import pytest
from django.urls import reverse

from mfapp.orders.models import Order
from mfapp.tenancy.middleware import SESSION_KEY
from tests.dashboard.conftest import (
    EIGHT_HOURS,
    berlin,
    build_noise,
    build_scenario,
    operation,
    order,
)
from tests.factories import (
    MachineFactory,
    MembershipFactory,
    SiteFactory,
    SustainabilityReportFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

WITH_PAGES = "tests.dashboard.urls_with_pages"
WITHOUT_PAGES = "tests.dashboard.urls_without_pages"


@pytest.fixture
def with_pages(settings):
    settings.ROOT_URLCONF = WITH_PAGES


def login(client, tenant, role="viewer"):
    client.force_login(MembershipFactory(tenant=tenant, role=role).user)


def figure(html: str, name: str) -> tuple[str, str]:
    """The opening tag of figure `name` and its text, whitespace collapsed."""
    match = re.search(rf'(<(a|div) class="[^"]*" id="figure-{name}"[^>]*>)(.*?)</\2>', html, re.S)
    assert match, f"no figure {name}"
    text = " ".join(re.sub(r"<[^>]+>", " ", match.group(3)).split())
    return match.group(1), text


def utilisation_rows(html: str) -> list[str]:
    rows = re.findall(r"<tr>\s*<td data-label=\"Machine\">(.*?)</tr>", html, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in rows]


def test_anonymous_visitors_are_sent_to_login(client):
    response = client.get(reverse("home"))

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next=/"


def test_a_login_without_membership_sees_what_to_do(client):
    client.force_login(UserFactory())

    response = client.get(reverse("home"))

    assert response.status_code == 200
    assert "No business yet" in response.content.decode()


def test_the_figures_of_a_hand_built_week(client, tenant, other_tenant, frozen_now, with_pages):
    # given the scenario of conftest.py, and another tenant's rows that must not count
    tenant.timezone = "Europe/Berlin"
    tenant.save()
    build_scenario(tenant)
    build_noise(other_tenant)
    login(client, tenant)

    # when
    response = client.get(reverse("home"))

    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert figure(html, "wip") == (
        '<a class="figure" id="figure-wip" href="/stand-in/batches/">',
        "3 Batches in progress 1 waiting for quality check",
    )
    assert figure(html, "due") == (
        '<a class="figure" id="figure-due" '
        'href="/stand-in/orders/?due_from=2025-06-09&amp;due_to=2025-06-15">',
        "3 Open orders due this week",
    )
    assert figure(html, "late") == (
        '<a class="figure alert" id="figure-late" href="/stand-in/orders/?late=1">',
        "2 Late orders",
    )
    assert figure(html, "on-time") == (
        '<a class="figure" id="figure-on-time" href="/stand-in/orders/?status=shipped">',
        "75 % Delivered on time, last 30 days 3 of 4 shipped orders",
    )
    assert figure(html, "machines") == (
        '<a class="figure alert" id="figure-machines" href="/stand-in/machines/">',
        "1 / 3 Machines running 1 down",
    )
    assert 'id="figure-co2e"' not in html
    assert "Wednesday 11 June 2025 · this week 9 Jun to 15 Jun" in html
    assert utilisation_rows(html) == [
        "Bambu X unattended Running 12 h of 24 h 50 %",
        "Mill Down Spindle 1 h 15 min of 8 h 16 %",
        "Prusa A Available 2 h of 8 h 25 %",
    ]
    assert (
        '<span class="chip status-available">1 available</span> '
        '<span class="chip status-running">1 running</span> '
        '<span class="chip status-down">1 down</span>'
    ) in html
    assert "Foreign printer" not in html
    assert "Lyon" not in html


def test_another_tenants_rows_are_never_counted(
    client, tenant, other_tenant, frozen_now, with_pages
):
    # given a tenant with one empty site, and a busy other tenant
    SiteFactory(tenant=tenant, name="Berlin", working_hours=EIGHT_HOURS)
    build_scenario(other_tenant)
    build_noise(other_tenant)
    login(client, tenant)

    response = client.get(reverse("home"))

    html = response.content.decode()
    assert figure(html, "wip")[1] == "0 Batches in progress"
    assert figure(html, "due")[1] == "0 Open orders due this week"
    assert figure(html, "late") == (
        '<a class="figure" id="figure-late" href="/stand-in/orders/?late=1">',
        "0 Late orders",
    )
    assert figure(html, "on-time")[1] == ("— Delivered on time, last 30 days No shipments yet")
    assert figure(html, "machines")[1] == "0 / 0 Machines running"
    assert utilisation_rows(html) == []
    assert "No machines at this site yet." in html
    for foreign in ("Prusa A", "Bambu X", "Foreign printer", "Lyon"):
        assert foreign not in html


def test_without_the_linked_pages_the_figures_are_not_links(client, tenant, settings):
    settings.ROOT_URLCONF = WITHOUT_PAGES
    SiteFactory(tenant=tenant)
    login(client, tenant)

    response = client.get(reverse("home"))

    html = response.content.decode()
    assert response.status_code == 200
    for name in ("wip", "due", "late", "on-time", "machines"):
        assert figure(html, name)[0] == f'<div class="figure" id="figure-{name}">'
    assert "All machines" not in html


def test_a_tenant_without_sites_is_told_what_to_do(client, tenant):
    login(client, tenant)

    response = client.get(reverse("home"))

    assert "No sites yet. Add your first microfactory site" in response.content.decode()


def test_htmx_refresh_renders_only_the_figures(client, tenant, frozen_now, with_pages):
    tenant.timezone = "Europe/Berlin"
    tenant.save()
    build_scenario(tenant)
    login(client, tenant)

    response = client.get(reverse("home"), headers={"HX-Request": "true"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert "<h1" not in html
    assert html.strip().startswith(
        '<div id="dashboard" hx-get="/" hx-trigger="every 60s" hx-swap="outerHTML">'
    )
    assert figure(html, "late")[1] == "2 Late orders"
    assert "Prusa A" in html
    assert response["Vary"] == "HX-Request, Cookie"


def test_the_full_page_polls_for_fresh_figures(client, tenant):
    login(client, tenant)

    html = client.get(reverse("home")).content.decode()

    assert '<div id="dashboard" hx-get="/" hx-trigger="every 60s" hx-swap="outerHTML">' in html
    assert "<h1>Acme Microfactory</h1>" in html


@pytest.mark.parametrize("role", ["owner", "manager", "operator", "viewer"])
def test_every_member_sees_the_dashboard(client, tenant, role):
    login(client, tenant, role)

    response = client.get(reverse("home"))

    assert response.status_code == 200
    assert 'id="figure-wip"' in response.content.decode()


def test_the_dashboard_is_read_only(client, tenant):
    login(client, tenant, "owner")

    assert client.post(reverse("home")).status_code == 405


def test_co2e_per_unit_shows_the_latest_whole_business_report(client, tenant, other_tenant):
    def report(owner, start, per_unit, **fields):
        return SustainabilityReportFactory(
            tenant=owner,
            period_start=start,
            period_end=start + timedelta(days=30),
            data={"totals": {"kgco2e_per_unit": per_unit}},
            **fields,
        )

    report(tenant, date(2025, 4, 1), 0.9)
    latest = report(tenant, date(2025, 5, 1), 0.4215)
    report(tenant, date(2025, 6, 1), 7.0, site=SiteFactory(tenant=tenant))  # one site only
    report(tenant, date(2025, 7, 1), 8.0, status="running")
    report(other_tenant, date(2025, 8, 1), 9.0)
    login(client, tenant)

    html = client.get(reverse("home")).content.decode()

    assert figure(html, "co2e") == (
        f'<a class="figure" id="figure-co2e" href="/reports/{latest.pk}/">',
        "0.422 kg CO2e per unit, latest report 1 May 2025 to 31 May 2025",
    )


def _busy_tenant(tenant, orders: int) -> None:
    site = SiteFactory(tenant=tenant, timezone="Europe/Berlin", working_hours=EIGHT_HOURS)
    SiteFactory(tenant=tenant, timezone="America/New_York", working_hours=EIGHT_HOURS)
    for index in range(orders):
        order(site, date(2025, 6, 9) + timedelta(days=index % 10), Order.Status.CONFIRMED)
        order(site, date(2025, 6, 5), Order.Status.SHIPPED, shipped_at=berlin(4 + index % 3, 9))
    for index in range(orders // 5):
        machine = MachineFactory(tenant=tenant, site=site, runs_unattended=index % 2 == 0)
        operation(site, machine, planned_start=berlin(11, 9), planned_end=berlin(11, 10))


@pytest.mark.parametrize("orders", [5, 50])
def test_the_number_of_queries_does_not_grow_with_the_data(
    client, tenant, frozen_now, orders, django_assert_num_queries
):
    # given a tenant with `orders` open and shipped orders, and orders/5 busy machines
    _busy_tenant(tenant, orders)
    login(client, tenant)

    # then: session, user, memberships, the member check, then the dashboard's seven queries
    # (batches; site zones and orders; sites, machines by status, machines, operations)
    with django_assert_num_queries(11):
        response = client.get(reverse("home"))

    assert response.status_code == 200
    assert len(utilisation_rows(response.content.decode())) == orders // 5


def test_switching_to_a_tenant_of_ones_own(client, tenant, other_tenant):
    user = UserFactory()
    MembershipFactory(tenant=tenant, user=user)
    MembershipFactory(tenant=other_tenant, user=user)
    client.force_login(user)

    response = client.post(reverse("tenant-switch"), {"tenant_id": other_tenant.pk})

    assert response.status_code == 302
    assert client.session[SESSION_KEY] == other_tenant.pk
    assert client.get(reverse("home")).context["tenant"] == other_tenant


@pytest.mark.parametrize("wanted", ["foreign", "garbage"])
def test_switching_to_another_tenant_is_ignored(client, tenant, other_tenant, wanted):
    membership = MembershipFactory(tenant=tenant)
    client.force_login(membership.user)

    client.post(
        reverse("tenant-switch"), {"tenant_id": other_tenant.pk if wanted == "foreign" else "x"}
    )

    assert SESSION_KEY not in client.session
    assert client.get(reverse("home")).context["tenant"] == tenant

"""Every list page shows a bounded number of rows, and says so: with one row more than a page
or cap holds (written with bulk_create, so this is quick), each page shows exactly its maximum
and either pages on ("Next", the total) or says that it shows only the first ones.

The API's lists are tested in tests/api/test_bad_input.py (pages of at most 500)."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import reverse

from mfapp.catalog.views import MATERIALS_PER_PAGE, PRODUCTS_PER_PAGE
from mfapp.integrations.views import DELIVERIES_SHOWN, ENDPOINTS_SHOWN
from mfapp.machines.selectors import MACHINES_SHOWN
from mfapp.orders.views import PER_PAGE as ORDERS_PER_PAGE
from mfapp.production.views import COLUMN_LIMIT
from mfapp.sustainability.views import PER_PAGE as REPORTS_PER_PAGE
from mfapp.tenancy.models import Membership, Site, Tenant
from mfapp.tenancy.views import PEOPLE_SHOWN, SITES_SHOWN
from tests.factories import (
    BatchFactory,
    CustomerFactory,
    InvitationFactory,
    MachineFactory,
    MaterialFactory,
    MembershipFactory,
    OrderFactory,
    ProductFactory,
    SiteFactory,
    SustainabilityReportFactory,
    UserFactory,
    WebhookDeliveryFactory,
    WebhookEndpointFactory,
)

pytestmark = pytest.mark.django_db


def _many(factory: Any, count: int, **fields: Any) -> list[Any]:
    """`count` rows in one INSERT (the factories' sequences still number them apart)."""
    model = factory._meta.model
    return model.objects.bulk_create(factory.build(**fields) for _ in range(count))


@dataclass(frozen=True)
class ListPage:
    limit: int  # the most rows the page shows
    row: str  # a regular expression matching one row's markup
    notice: str  # what the page says when there are more rows than it shows
    make: Callable[[Tenant, int], str]  # writes that many rows; answers the page's URL


def _orders(tenant: Tenant, count: int) -> str:
    customer, site = CustomerFactory(tenant=tenant), SiteFactory(tenant=tenant)
    _many(OrderFactory, count, tenant=tenant, customer=customer, site=site)
    return reverse("orders:order-list")


def _products(tenant: Tenant, count: int) -> str:
    _many(ProductFactory, count, tenant=tenant)
    return reverse("catalog:product-list")


def _materials(tenant: Tenant, count: int) -> str:
    _many(MaterialFactory, count, tenant=tenant)
    return reverse("catalog:material-list")


def _reports(tenant: Tenant, count: int) -> str:
    _many(SustainabilityReportFactory, count, tenant=tenant)
    return reverse("sustainability:report-list")


def _batches(tenant: Tenant, count: int) -> str:
    product, site = ProductFactory(tenant=tenant), SiteFactory(tenant=tenant)
    _many(BatchFactory, count, tenant=tenant, product=product, site=site)  # all "planned"
    return reverse("production:batch-board")


def _machines(tenant: Tenant, count: int) -> str:
    _many(MachineFactory, count, tenant=tenant, site=SiteFactory(tenant=tenant))
    return reverse("machines:machine-list")


def _machine_tiles(tenant: Tenant, count: int) -> str:
    _machines(tenant, count)
    return reverse("shopfloor:machine-list")


def _dashboard(tenant: Tenant, count: int) -> str:
    _machines(tenant, count)
    return reverse("home")


def _endpoints(tenant: Tenant, count: int) -> str:
    _many(WebhookEndpointFactory, count, tenant=tenant)
    return reverse("webhook-endpoint-list")


def _sites(tenant: Tenant, count: int) -> str:
    _many(SiteFactory, count - Site.objects.for_tenant(tenant).count(), tenant=tenant)
    return reverse("tenancy:site-list")


def _members(tenant: Tenant, count: int) -> str:
    for _ in range(count - Membership.objects.for_tenant(tenant).count()):
        MembershipFactory(tenant=tenant, user=UserFactory(), role="viewer")
    return reverse("tenancy:member-list")


def _invitations(tenant: Tenant, count: int) -> str:
    for _ in range(count):
        InvitationFactory(tenant=tenant)
    return reverse("tenancy:member-list")


def _deliveries(tenant: Tenant, count: int) -> str:
    endpoint = WebhookEndpointFactory(tenant=tenant)
    _many(WebhookDeliveryFactory, count, tenant=tenant, endpoint=endpoint)
    return reverse("webhook-endpoint-detail", args=[endpoint.pk])


NEXT = r'class="button small" href="[^"]*page=2"'
PAGES = {
    "orders": ListPage(
        ORDERS_PER_PAGE,
        r'<td data-label="Order"><a ',
        rf"All orders <small>26</small>.*{NEXT}",
        _orders,
    ),
    "products": ListPage(
        PRODUCTS_PER_PAGE, r'<td data-label="SKU"><a ', rf"26 products\..*{NEXT}", _products
    ),
    "materials": ListPage(MATERIALS_PER_PAGE, r'<td data-label="Code">', NEXT, _materials),
    "reports": ListPage(REPORTS_PER_PAGE, r'<tr id="report-', r'href="\?page=2">Older', _reports),
    "batch board": ListPage(
        COLUMN_LIMIT,
        r'class="board-card"',
        r"Show 1 more</a>\s*<span class=\"muted\">1 not shown; the filters find any batch\.",
        _batches,
    ),
    "machines": ListPage(
        MACHINES_SHOWN,
        r'<tr id="machine-\d+"',
        r"Showing the first 200 machines, by site and name; the API lists them all\.",
        _machines,
    ),
    "shop floor": ListPage(
        MACHINES_SHOWN,
        r'<a class="tile" ',
        r"Showing the first 200 machines, by site and name\.",
        _machine_tiles,
    ),
    "dashboard machines": ListPage(
        MACHINES_SHOWN,
        r'<td data-label="Machine">',
        r"Showing the first 200 of 201 machines at this site, by name\.",
        _dashboard,
    ),
    "sites": ListPage(
        SITES_SHOWN,
        r'<td data-label="Site">',
        r"Showing the first 100 sites, by name; the API lists them all\.",
        _sites,
    ),
    "members": ListPage(
        PEOPLE_SHOWN,
        r'<tr id="member-\d+"',
        r"Showing the first 200 members, owners first; the API lists them all\.",
        _members,
    ),
    "invitations": ListPage(
        PEOPLE_SHOWN,
        r'<tr id="invitation-\d+"',
        r"Showing the newest 200 pending invitations\.",
        _invitations,
    ),
    "webhook endpoints": ListPage(
        ENDPOINTS_SHOWN,
        r'<td><a href="/settings/webhooks/\d+/">',
        r"Showing the first 100 endpoints, oldest first; the API lists them all\.",
        _endpoints,
    ),
    "webhook deliveries": ListPage(
        DELIVERIES_SHOWN,
        r"<td><ol>",
        r"Showing the latest 50 deliveries; <code>GET /api/v1/webhook-deliveries/\?endpoint=\d+"
        r"</code> lists them all\.",
        _deliveries,
    ),
}


@pytest.mark.parametrize("name", PAGES)
def test_a_list_page_shows_at_most_its_maximum_and_says_there_are_more(client, tenant, name):
    # given: one row more than the page shows
    page = PAGES[name]
    client.force_login(MembershipFactory(tenant=tenant, role="owner").user)
    url = page.make(tenant, page.limit + 1)

    # when
    response = client.get(url)

    # then
    assert response.status_code == 200
    assert len(re.findall(page.row, response.text)) == page.limit
    assert re.search(page.notice, response.text, re.DOTALL), f"{name}: no notice of more rows"


@pytest.mark.parametrize("name", PAGES)
def test_a_list_page_at_its_maximum_shows_everything_and_no_notice(client, tenant, name):
    page = PAGES[name]
    client.force_login(MembershipFactory(tenant=tenant, role="owner").user)
    url = page.make(tenant, page.limit)

    response = client.get(url)

    assert len(re.findall(page.row, response.text)) == page.limit
    assert not re.search(page.notice, response.text, re.DOTALL)


@pytest.mark.parametrize("name", PAGES)
def test_a_list_page_costs_the_same_queries_whatever_its_rows(client, tenant, name):
    """No N+1: the page with three more rows runs exactly as many queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    page = PAGES[name]
    client.force_login(MembershipFactory(tenant=tenant, role="owner").user)
    url = page.make(tenant, 2)
    client.get(url)  # first visit: session and any one-off writes
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    url = page.make(tenant, 5)  # the same page again (deliveries: another endpoint's)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)

    assert len(re.findall(page.row, response.text)) >= 5, "the rows were not added to the page"
    assert len(many) == len(few), f"{name}: {len(few)} queries, then {len(many)}"

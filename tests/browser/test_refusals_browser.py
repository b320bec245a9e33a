"""Tried as people would, in real Chromium: a viewer, an operator and another business's owner
each go for what they may not do, by the buttons they see and by typing addresses, and are
stopped with a page that says so; nothing in the business changes."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from mfapp.audit.models import AuditEvent
from mfapp.catalog.models import Product
from mfapp.orders.models import Order
from tests.browser_helpers import log_in
from tests.factories import (
    MembershipFactory,
    OrderFactory,
    ProductFactory,
    TenantFactory,
    UserFactory,
)

pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(chromium_browser):
    context = chromium_browser.new_context(locale="en-GB")
    yield context.new_page()
    context.close()


@pytest.fixture
def business():
    tenant = TenantFactory(name="Northwind")
    product = ProductFactory(tenant=tenant, name="Bracket", sku="BR-1")
    order = OrderFactory(tenant=tenant, number="SO-1")
    return tenant, product, order


def _person(tenant, role):
    user = UserFactory()
    MembershipFactory(tenant=tenant, user=user, role=role)
    return user


def _unchanged(tenant, product, order):
    product.refresh_from_db()
    assert (product.name, product.sku) == ("Bracket", "BR-1")
    assert list(Order.objects.for_tenant(tenant).values_list("number", "status")) == [
        ("SO-1", order.status)
    ]
    assert Product.objects.for_tenant(tenant).count() == 1
    assert AuditEvent.objects.for_tenant(tenant).count() == 0


def _post_from_page(page, url):
    """A crafted form post from the open page, with its CSRF token: (status, body)."""
    return page.evaluate(
        """async (url) => {
            const token = document.cookie.split('; ').find(c => c.startsWith('csrftoken='));
            const body = new URLSearchParams({name: 'Taken', sku: 'X',
                csrfmiddlewaretoken: token ? token.split('=')[1] : ''});
            const response = await fetch(url, {method: 'POST', body});
            return [response.status, await response.text()];
        }""",
        url,
    )


def _goto(page, live_server, path):
    return page.goto(f"{live_server.url}{path}")


def test_a_viewer_sees_no_edit_buttons_and_typed_addresses_are_refused(live_server, page, business):
    tenant, product, order = business
    log_in(page, live_server, _person(tenant, "viewer"))

    _goto(page, live_server, reverse("catalog:product-detail", args=[product.pk]))
    expect(page.get_by_role("heading", name="Bracket")).to_be_visible()
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    for path in (
        reverse("catalog:product-update", args=[product.pk]),
        reverse("orders:order-create"),
    ):
        response = _goto(page, live_server, path)
        assert response.status == 403, path
        expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    _unchanged(tenant, product, order)


def test_an_operator_runs_the_floor_but_cannot_change_the_catalog_or_orders(
    live_server, page, business
):
    tenant, product, order = business
    log_in(page, live_server, _person(tenant, "operator"))

    for path in (
        reverse("catalog:product-update", args=[product.pk]),
        reverse("catalog:product-create"),
        reverse("orders:order-create"),
    ):
        response = _goto(page, live_server, path)
        assert response.status == 403, path
        expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    # A form posted anyway (as a crafted request from the page) is refused too.
    update = reverse("catalog:product-update", args=[product.pk])
    status, body = _post_from_page(page, f"{live_server.url}{update}")
    assert (status, "Your role (operator) does not allow this" in body) == (403, True)
    _unchanged(tenant, product, order)


def test_another_businesss_owner_finds_nothing_there(live_server, page, business):
    tenant, product, order = business
    other = TenantFactory(name="Rhone")
    log_in(page, live_server, _person(other, "owner"))

    for path in (
        reverse("catalog:product-detail", args=[product.pk]),
        reverse("orders:order-detail", args=[order.pk]),
    ):
        response = _goto(page, live_server, path)
        assert response.status == 404, path  # indistinguishable from a missing record
        expect(page.get_by_role("heading", name="Not found")).to_be_visible()
        expect(page.get_by_text("Bracket")).to_have_count(0)
    update = reverse("catalog:product-update", args=[product.pk])
    status, body = _post_from_page(page, f"{live_server.url}{update}")
    assert (status, "Not found" in body) == (404, True)
    _unchanged(tenant, product, order)

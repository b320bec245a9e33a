"""The order pages in a real browser: htmx adds line rows, filters the list and cancels with a
confirmation."""

import pytest
from django.urls import reverse

from mfapp.orders.models import Order
from tests.browser_helpers import log_in
from tests.factories import (
    CustomerFactory,
    MembershipFactory,
    OrderFactory,
    ProductFactory,
    SiteFactory,
)

pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(chromium_browser, live_server, tenant):
    """A logged-in manager's browser tab on a phone-sized screen."""
    membership = MembershipFactory(tenant=tenant, role="manager")
    tab = chromium_browser.new_page(viewport={"width": 390, "height": 844})
    log_in(tab, live_server, membership.user)
    return tab


def test_add_line_fetches_a_fourth_row_that_is_saved_with_the_order(page, live_server, tenant):
    from playwright.sync_api import expect

    # given
    SiteFactory(tenant=tenant, name="Berlin")
    CustomerFactory(tenant=tenant, name="Bike Shop")
    skus = ["BRK-1", "HOOK-2", "CLIP-3", "PIN-4"]
    products = {sku: ProductFactory(tenant=tenant, sku=sku, name=sku.title()) for sku in skus}
    page.goto(f"{live_server.url}{reverse('orders:order-create')}")

    # when: three rows are there; "Add line" fetches the fourth
    page.locator("#id_customer").select_option(label="Bike Shop")
    page.locator("#id_due_date").fill("2030-03-31")
    expect(page.locator("fieldset.order-line")).to_have_count(3)
    page.get_by_role("button", name="Add line").click()
    expect(page.locator("fieldset.order-line")).to_have_count(4)
    for index, sku in enumerate(skus):
        page.locator(f"#id_lines-{index}-product").select_option(value=str(products[sku].pk))
        page.locator(f"#id_lines-{index}-quantity").fill(str(index + 1))
    page.get_by_role("button", name="Create order").click()

    # then
    expect(page.get_by_role("heading", level=1)).to_contain_text("Draft")
    order = Order.objects.for_tenant(tenant).get()
    assert list(order.lines.order_by("id").values_list("product__sku", "quantity")) == [
        ("BRK-1", 1),
        ("HOOK-2", 2),
        ("CLIP-3", 3),
        ("PIN-4", 4),
    ]


def test_the_status_filter_swaps_the_table_and_cancel_asks_first(page, live_server, tenant):
    from playwright.sync_api import expect

    # given
    site = SiteFactory(tenant=tenant)
    OrderFactory(tenant=tenant, site=site, number="SO-DRAFT")
    shipped = OrderFactory(tenant=tenant, site=site, number="SO-SHIPPED", status="shipped")
    page.goto(f"{live_server.url}{reverse('orders:order-list')}")
    expect(page.locator("#orders tbody tr")).to_have_count(2)

    # when: the status filter changes, htmx swaps the table and the URL follows
    page.get_by_label("Status").select_option("draft")

    # then
    expect(page.locator("#orders tbody tr")).to_have_count(1)
    expect(page).to_have_url(
        f"{live_server.url}/orders/?q=&status=draft&customer=&due_from=&due_to="
    )
    assert shipped.number not in page.locator("#orders").inner_text()

    # when: cancelling, the browser asks first; dismissing changes nothing, accepting cancels
    page.get_by_role("link", name="SO-DRAFT").click()
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_label("Reason").fill("Customer withdrew")
    page.get_by_role("button", name="Cancel order").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Draft")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel order").click()

    # then
    expect(page.get_by_role("status")).to_have_text("Order SO-DRAFT cancelled.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Cancelled")
    assert Order.objects.for_tenant(tenant).get(number="SO-DRAFT").status == "cancelled"

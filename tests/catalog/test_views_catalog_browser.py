"""In real Chromium: live search, the routing edited inline (a refused save comes back in
place with its error), reordered and trimmed, and stock booked inline, also on a phone."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from mfapp.catalog.models import Material, RoutingStep
from tests.browser_helpers import log_in
from tests.factories import (
    MaterialFactory,
    MembershipFactory,
    ProductFactory,
    RoutingStepFactory,
    TenantFactory,
)

pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]

PHONE = {"viewport": {"width": 390, "height": 844}}


def _log_in(browser, live_server, user, path, **context):
    page = browser.new_context(**context).new_page()
    log_in(page, live_server, user)
    page.goto(f"{live_server.url}{path}")
    return page


def _routing(product):
    return list(
        RoutingStep.objects.for_tenant(product.tenant_id)
        .filter(product=product)
        .order_by("sequence")
        .values_list("sequence", "name", "run_minutes_per_unit")
    )


def _no_sideways_scrolling(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_live_search_and_the_routing_edited_inline(live_server, chromium_browser):
    # given
    tenant = TenantFactory()
    manager = MembershipFactory(tenant=tenant, role="manager").user
    ProductFactory(tenant=tenant, sku="CLP-1", name="Clip")
    product = ProductFactory(tenant=tenant, sku="BRK-1", name="Bracket")
    for sequence, name in [(10, "Print"), (20, "Sand"), (30, "Inspect")]:
        RoutingStepFactory(
            tenant=tenant, product=product, sequence=sequence, name=name, run_minutes_per_unit=1
        )
    page = _log_in(chromium_browser, live_server, manager, "/products/")

    # live search: typing filters the table without a page load
    page.get_by_label("Search SKU or name").fill("brk")
    expect(page.locator("#product-table tbody tr")).to_have_count(1)
    expect(page.locator("#product-table")).to_contain_text("1 product match “brk”.")
    page.get_by_role("link", name="BRK-1").click()

    # a refused save comes back in the row with its error; a good one turns it back
    routing = page.locator("#routing")
    routing.get_by_role("link", name="Edit Sand").click()
    edit_row = routing.locator("tr.editing")
    edit_row.get_by_label("Run (min per unit)").fill("")
    edit_row.get_by_role("button", name="Save").click()
    expect(edit_row.locator(".errorlist")).to_have_text("This field is required.")
    edit_row.get_by_label("Run (min per unit)").fill("3")
    edit_row.get_by_role("button", name="Save").click()
    expect(routing.locator("tr.editing")).to_have_count(0)
    assert _routing(product)[1] == (20, "Sand", Decimal("3.00"))

    # Up moves a step one place earlier
    routing.get_by_role("button", name="move Inspect earlier").click()
    expect(routing.locator("tbody tr").nth(1)).to_contain_text("Inspect")
    assert [name for _, name, _ in _routing(product)] == ["Print", "Inspect", "Sand"]

    # Remove asks first
    page.once("dialog", lambda dialog: dialog.accept())
    routing.get_by_role("button", name="Remove Print").click()
    expect(routing.locator("tbody tr")).to_have_count(2)
    assert _routing(product) == [(20, "Inspect", Decimal("1.00")), (30, "Sand", Decimal("3.00"))]


def test_stock_is_booked_inline_on_a_phone(live_server, chromium_browser):
    # given
    tenant = TenantFactory()
    manager = MembershipFactory(tenant=tenant, role="manager").user
    resin = MaterialFactory(tenant=tenant, name="Resin", unit="l", stock_on_hand=Decimal("2"))
    page = _log_in(chromium_browser, live_server, manager, "/materials/", **PHONE)
    assert _no_sideways_scrolling(page)

    row = page.locator(f"#material-{resin.pk}")
    row.get_by_role("link", name="Adjust stock of Resin").click()
    row.get_by_label("Change").fill("-5")
    row.get_by_label("Reason").fill("Stocktake")
    row.get_by_role("button", name="Book").click()
    expect(row.locator(".errorlist")).to_have_text(
        "Only 2.000 l of Resin in stock; cannot remove 5."
    )
    row.get_by_label("Change").fill("5")
    row.get_by_role("button", name="Book").click()

    expect(row.locator("td").nth(3)).to_have_text("7 l+5 l booked (Stocktake).")
    assert Material.objects.for_tenant(tenant).get().stock_on_hand == Decimal("7.000")
    assert _no_sideways_scrolling(page)

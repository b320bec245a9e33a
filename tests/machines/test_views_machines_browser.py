"""In real Chromium: the inline status change swaps its row, a refused change shows the
service's message in place, and the live board refreshes without eating a half-typed change."""

import pytest
from playwright.sync_api import expect

from mfapp.machines.models import Machine
from mfapp.machines.services import machine_change_status
from tests.browser_helpers import log_in
from tests.factories import (
    MachineFactory,
    MembershipFactory,
    SiteFactory,
    TenantFactory,
    member_actor,
)

pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]


def _log_in(browser, live_server, user, **context):
    page = browser.new_context(**context).new_page()
    page.clock.install()  # the 10 s poll runs when the test says so
    log_in(page, live_server, user)
    page.goto(f"{live_server.url}/machines/")
    return page


def _status(machine):
    return Machine.objects.for_tenant(machine.tenant_id).get(pk=machine.pk).status


def test_inline_status_change_and_live_refresh(live_server, chromium_browser):
    # given
    tenant = TenantFactory()
    operator = MembershipFactory(tenant=tenant, role="operator").user
    site = SiteFactory(tenant=tenant, name="Kiel")
    prusa = MachineFactory(tenant=tenant, site=site, name="Prusa A")
    mill = MachineFactory(tenant=tenant, site=site, name="Mill B", kind="cnc-mill")
    page = _log_in(chromium_browser, live_server, operator)
    row = page.locator(f"#machine-{prusa.pk}")

    # a refused change (no reason) comes back in place with the service's field error
    row.get_by_text("Change status").click()
    row.get_by_label("New status").select_option("down")
    row.get_by_role("button", name="Save status").click()
    expect(row.get_by_role("alert")).to_have_text("Status not changed.")
    expect(row.locator(".errorlist")).to_have_text("Required.")
    assert _status(prusa) == "available"

    # with the reason, the row shows the new chip and the form folds again
    row.get_by_label("Reason").fill("Clogged nozzle")
    row.get_by_role("button", name="Save status").click()
    expect(row.locator(".chip")).to_have_text("Down")
    expect(row.locator(".status-reason")).to_have_text("Clogged nozzle")
    expect(row.locator("details")).not_to_have_attribute("open", "")
    assert _status(prusa) == "down"

    # while someone is typing in an unfolded form, the poll leaves the board alone ...
    mill_row = page.locator(f"#machine-{mill.pk}")
    mill_row.get_by_text("Change status").click()
    mill_row.get_by_label("Reason").fill("Half typed")
    machine_change_status(actor=member_actor(tenant, "manager"), machine=prusa, status="available")
    page.clock.run_for(11_000)
    page.wait_for_timeout(300)
    expect(row.locator(".chip")).to_have_text("Down")
    expect(mill_row.get_by_label("Reason")).to_have_value("Half typed")

    # ... and refreshes once the form is folded: the change made elsewhere shows up
    mill_row.get_by_text("Change status").click()
    page.clock.run_for(11_000)
    expect(page.locator(f"#machine-{prusa.pk} .chip")).to_have_text("Available")


def test_the_board_fits_a_phone(live_server, chromium_browser):
    tenant = TenantFactory()
    manager = MembershipFactory(tenant=tenant, role="manager").user
    MachineFactory(tenant=tenant, site=SiteFactory(tenant=tenant), name="Prusa A")

    page = _log_in(chromium_browser, live_server, manager, viewport={"width": 390, "height": 844})
    page.locator("summary").click()

    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    expect(page.get_by_label("New status")).to_be_visible()

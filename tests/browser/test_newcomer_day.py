"""A newcomer's first day in mfapp, in real Chromium, by clicking and typing alone.

Sign up (a business, its first site and its owner), add a second site, two machines, a
material and a product with a two-step routing and a BOM line; take an order for a new
customer and confirm it (`eager_tasks` runs tasks in-process, as `make run` does, even when
CI's second run sets a broker: confirming plans the site at once, in the request's on_commit);
see the batch on the Gantt chart and on the board; run its operations from the shop-floor
pages; record a passing quality check; complete the batch; and watch the dashboard follow.

Only the first page is opened by URL: everything after is reached through links, buttons and
the main menu. The same day is walked at a laptop size and at a phone size. Screenshots of the
main pages go to $MFAPP_SCREENSHOTS_DIR when set (else the test's tmp_path).
"""

import os
import re
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect

from mfapp.orders.models import Order
from mfapp.production.models import Batch, BatchOperation, QualityCheck
from mfapp.tenancy.models import Membership, Site, Tenant

pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]

TIMEOUT_MS = 15_000  # generous: a loaded 2-core machine; nothing here sleeps
SCREENS = {
    "laptop": {"viewport": {"width": 1366, "height": 900}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 2,
    },
}
BUSINESS = "Fjord Fabrication"
SITE = "Kiel workshop"
SECOND_SITE = "Lübeck annex"
OWNER = "ines@fjord-fab.test"
PRINTER = "Prusa MK4"
INSPECTION = "Inspection bench"
PRINT_STEP = "Print bracket"
INSPECT_STEP = "Inspect bracket"
SKU, PRODUCT = "BRK-100", "Cable bracket"


@pytest.fixture(params=list(SCREENS))
def screen(request):
    return request.param


@pytest.fixture
def page(chromium_browser, screen):
    expect.set_options(timeout=TIMEOUT_MS)
    context = chromium_browser.new_context(locale="en-GB", **SCREENS[screen])
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return page


@pytest.fixture
def shots(screen, tmp_path):
    """Saves what the browser shows now (the viewport, not the full page) as <name>-<screen>."""
    folder = Path(os.environ.get("MFAPP_SCREENSHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)

    def shoot(page: Page, name: str, at: Locator | None = None) -> None:
        """`at`: an element to scroll to the top of the window first (else the page's top)."""
        if at is None:
            page.evaluate("window.scrollTo(0, 0)")
        else:
            at.evaluate("element => element.scrollIntoView({block: 'start'})")
        page.screenshot(
            path=folder / f"{name}-{screen}.png", full_page=False, animations="disabled"
        )

    return shoot


def menu(page: Page, label: str, heading: str | re.Pattern) -> None:
    """Follow an entry of the main menu and wait for the page's heading."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name=label, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)


def field(label: str) -> re.Pattern:
    """A label matched whole, with or without Django's label suffix (“Name:”)."""
    return re.compile(rf"^\s*{re.escape(label)}:?\s*$")


def figure(page: Page, key: str):
    return page.locator(f"#figure-{key} .value")


def test_a_newcomers_day(live_server, eager_tasks, page, shots, screen):
    berlin_today = timezone.now().astimezone(ZoneInfo("Europe/Berlin")).date()
    due = berlin_today + timedelta(days=6 - berlin_today.weekday())  # Sunday: due this week

    # --- Sign up: the business, its first site and its owner --------------------------------
    page.goto(f"{live_server.url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in to mfapp")
    page.get_by_role("link", name="Create an account for your business").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Create your business account")
    page.get_by_label("Business name").fill(BUSINESS)
    page.get_by_label("First site").fill(SITE)
    page.get_by_label("Country").fill("de")
    expect(page.get_by_label("Time zone")).to_have_value("Europe/Berlin")
    expect(page.get_by_label("Currency")).to_have_value("EUR")
    page.get_by_label("Your e-mail").fill(OWNER)
    page.get_by_label(field("Password")).fill("printing-is-fun-42")
    page.get_by_label("Password again").fill("printing-is-fun-42")
    page.get_by_role("button", name="Create account").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(BUSINESS)
    expect(page.locator(".account .user")).to_have_text(f"{OWNER} · Owner")
    expect(figure(page, "wip")).to_have_text("0")
    expect(figure(page, "due")).to_have_text("0")
    expect(figure(page, "machines")).to_have_text("0 / 0")
    expect(page.get_by_text("No machines at this site yet.")).to_be_visible()

    # --- A second site, under Settings -------------------------------------------------------
    menu(page, "Settings", "Sites")
    page.get_by_role("link", name="Add site").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a site")
    page.get_by_label(field("Name")).fill(SECOND_SITE)
    expect(page.get_by_label("Country")).to_have_value("DE")
    page.get_by_label("Monday").fill("07:00-15:00")
    page.get_by_role("button", name="Add site").click()
    expect(page.locator("ul.messages")).to_have_text(f"Site {SECOND_SITE} added.")
    sites = page.locator("#sites")
    expect(sites.get_by_role("link", name=SECOND_SITE, exact=True)).to_be_visible()
    expect(sites.get_by_role("link", name=SITE, exact=True)).to_be_visible()

    # --- Two machines at the first site, both may run unattended ------------------------------
    menu(page, "Machines", "Machines")
    page.get_by_role("link", name="Add machine").click()
    add_machine(page, PRINTER, kind="FDM printer", capability="FDM printing", running_kw="0.12")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{PRINTER} FDM printer at {SITE}")
    expect(page.locator("ul.messages")).to_have_text(f"{PRINTER} added.")
    menu(page, "Machines", "Machines")
    page.get_by_role("link", name="Add machine").click()
    add_machine(page, INSPECTION, kind="Inspection station", capability="Inspection")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"{INSPECTION} Inspection station at {SITE}"
    )
    menu(page, "Machines", "Machines")
    board = page.locator("#machine-board")
    expect(board.get_by_role("heading", name=f"{SITE} 2 machines")).to_be_visible()
    expect(page.locator("tr", has_text=PRINTER).locator(".chip")).to_have_text("Available")
    expect(page.locator("tr", has_text=INSPECTION)).to_contain_text("Inspection · runs unattended")
    shots(page, "machines")

    # --- A material with its stock -----------------------------------------------------------
    menu(page, "Materials", "Materials")
    materials = page.locator("#materials")
    materials.get_by_label("Code").fill("PLA-BLK")
    materials.get_by_label(field("Name")).fill("PLA black")
    materials.get_by_label(field("Unit")).select_option(label="kilogram")
    materials.get_by_label("Stock on hand").fill("5")
    materials.get_by_label("Unit cost (EUR)").fill("22")
    materials.get_by_label("Emission factor key").fill("pla")
    materials.get_by_role("button", name="Add material").click()
    expect(page.locator("#materials [role=status]").first).to_have_text("Material PLA-BLK added.")
    expect(page.locator("#materials tbody tr").first).to_contain_text("PLA black")

    # --- A product, its routing (print, then inspect) and its BOM line ------------------------
    menu(page, "Products", "Products")
    page.get_by_role("link", name="New product").click()
    page.get_by_label("SKU").fill(SKU)
    page.get_by_label(field("Name")).fill(PRODUCT)
    page.get_by_label("Unit price (EUR)").fill("4.50")
    page.get_by_label("Unit mass (kg)").fill("0.04")
    page.get_by_role("button", name="Add product").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{SKU} · {PRODUCT}")

    routing = page.locator("#routing")
    add_step(
        routing, PRINT_STEP, "FDM printing", setup="10", run="3", material="PLA black (PLA-BLK)"
    )
    expect(routing.locator("#routing-h")).to_have_text("Routing 1 step, in the order they happen")
    routing = page.locator("#routing")
    add_step(routing, INSPECT_STEP, "Inspection", setup="5", run="1")
    expect(routing.locator("#routing-h")).to_have_text("Routing 2 steps, in the order they happen")
    expect(routing.locator("tbody td[data-label=Step]")).to_have_text([PRINT_STEP, INSPECT_STEP])
    expect(routing.locator("tbody td[data-label=Capability]")).to_have_text(
        ["FDM printing", "Inspection"]
    )
    expect(routing.locator("tfoot td.num")).to_have_text(["15", "4"])

    bom = page.locator("#bom")
    bom.get_by_label("Material").select_option(label="PLA black (PLA-BLK)")
    bom.get_by_label("Quantity per unit").fill("0.035")
    bom.get_by_label("Scrap allowance (%)").fill("5")
    bom.get_by_role("button", name="Add material").click()
    expect(page.locator("#bom tbody tr")).to_have_count(1)
    expect(page.locator("#bom tbody td[data-label='Quantity per unit']")).to_have_text("0.035 kg")
    shots(page, "product")

    # --- An order from a new customer, confirmed ---------------------------------------------
    menu(page, "Orders", "Orders")
    expect(page.get_by_text("No orders yet.")).to_be_visible()
    page.get_by_role("link", name="New order").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New order")
    expect(page.get_by_role("combobox", name=field("Customer"))).to_have_value("")  # “New customer”
    page.get_by_label("New customer's name").fill("Nordic Bikes")
    page.get_by_label("New customer's email").fill("buying@nordic-bikes.test")
    page.get_by_label("New customer's country").fill("DK")
    page.get_by_label(field("Site")).select_option(label=SITE)
    page.get_by_label("Due date").fill(due.isoformat())
    page.get_by_label("Priority").select_option(label="High")
    line = page.get_by_role("group", name="Line 1")
    line.get_by_label(field("Product")).select_option(label=f"{SKU} · {PRODUCT}")
    line.get_by_label(field("Quantity")).fill("12")
    page.get_by_role("button", name="Create order").click()

    number = f"SO-{timezone.now():%Y}-00001"
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Order {number} Draft")
    expect(page.locator("ul.messages")).to_have_text(
        f"Order {number} created as a draft. Confirm it to plan."
    )
    expect(page.locator("#order tfoot td")).to_have_text("54.00 EUR")
    page.get_by_role("button", name="Confirm and plan batches").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Order {number} Confirmed")
    expect(page.locator("#order [role=status]")).to_have_text(
        f"Order {number} confirmed: 1 batch planned."
    )
    batch_row = page.get_by_role("region", name="Batches").locator("tbody tr")
    expect(batch_row).to_have_count(1)
    lot = batch_row.get_by_role("link").inner_text()
    assert re.fullmatch(r"\S+", lot), lot
    expect(batch_row.locator("td")).to_have_text([lot, SKU, "12", "0", "0", "Scheduled"])
    shots(page, "order")

    menu(page, "Orders", "Orders")
    order_row = page.locator("#orders tbody tr")
    expect(order_row).to_have_count(1)
    expect(order_row.get_by_role("link", name=number)).to_be_visible()
    expect(order_row).to_contain_text("Nordic Bikes")
    expect(order_row.locator(".chip")).to_have_text("Confirmed")
    shots(page, "orders")

    # --- The plan: both operations have their bars --------------------------------------------
    menu(page, "Plan", f"Plan of {SITE} Europe/Berlin")
    expect(page.locator("#run .chip")).to_have_text("Succeeded")
    expect(page.locator("#run")).to_contain_text("2 operations on 2 machines planned")
    for step in (f"10. {PRINT_STEP}", f"20. {INSPECT_STEP}"):
        bar = page.locator("svg.gantt g.op", has_text=f"{number} · {lot} · {PRODUCT} · {step} ·")
        expect(bar).to_have_count(1)
        expect(bar.locator("rect.bar")).to_be_attached()
    expect(page.get_by_role("list", name="Orders")).to_contain_text(number)
    page.get_by_role("link", name="1 day", exact=True).click()  # a closer look, for the picture
    expect(page.get_by_role("link", name="1 day", exact=True)).to_have_attribute(
        "aria-current", "true"
    )
    page.get_by_text("Plan as a table").click()
    expect(page.locator("#chart details table")).to_be_visible()
    shots(page, "gantt", at=page.locator("#chart"))

    # --- The batch on the board ----------------------------------------------------------------
    menu(page, "Batches", "Batches")
    scheduled = page.locator(".board-column[data-status=scheduled]")
    expect(scheduled.locator("h2")).to_have_text("Scheduled 1")
    card = scheduled.locator(f'article[data-lot="{lot}"]')
    expect(card.get_by_role("link", name=lot)).to_be_visible()
    expect(card).to_contain_text(f"{SKU} {PRODUCT}")
    expect(card).to_contain_text("0/2 operations done")
    shots(page, "board")

    # --- The shop floor: print on the printer --------------------------------------------------
    menu(page, "Shop floor", "Shop floor")
    page.locator("a.tile", has_text=PRINTER).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(PRINTER)
    live = page.locator("#machine-live")
    expect(live.get_by_role("heading", name="Next as planned")).to_be_visible()
    live.get_by_role("button", name=f"Start {lot} {PRINT_STEP}").click()
    expect(live.locator(".notice")).to_have_text(f"Started {PRINT_STEP} of batch {lot}.")
    current = live.locator("article.operation.current")
    expect(current.get_by_role("heading")).to_have_text(f"Running {lot} · {PRINT_STEP}")
    expect(live.locator(".machine-status .chip")).to_have_text("Running")
    expect(current.get_by_label("Good units")).to_have_value("12")
    shots(page, "shopfloor", at=current if screen == "phone" else None)

    # The dashboard while the print runs.
    menu(page, "Dashboard", BUSINESS)
    expect(figure(page, "wip")).to_have_text("1")
    expect(figure(page, "due")).to_have_text("1")
    expect(figure(page, "late")).to_have_text("0")
    expect(figure(page, "machines")).to_have_text("1 / 2")
    shots(page, "dashboard")

    menu(page, "Shop floor", "Shop floor")
    page.locator("a.tile", has_text=PRINTER).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(PRINTER)
    current = page.locator("#machine-live article.operation.current")
    current.get_by_label("Good units").fill("11")
    current.get_by_label("Scrap units").fill("1")
    current.get_by_role("button", name="Finish").click()
    live = page.locator("#machine-live")
    expect(live.locator(".notice")).to_have_text(
        f"Finished {PRINT_STEP} of batch {lot}: 11 good, 1 scrap."
    )
    expect(live.locator(".now .empty")).to_have_text("Nothing is running on this machine.")
    expect(live.locator(".machine-status .chip")).to_have_text("Available")

    # --- ... then inspect on the inspection bench -----------------------------------------------
    page.get_by_role("link", name="All machines").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Shop floor")
    page.locator("a.tile", has_text=INSPECTION).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(INSPECTION)
    live = page.locator("#machine-live")
    expect(live.locator(".upcoming li").first).to_contain_text(
        f"Step 20 · {INSPECT_STEP} · 11 units"
    )
    live.get_by_role("button", name=f"Start {lot} {INSPECT_STEP}").click()
    expect(live.locator(".notice")).to_have_text(f"Started {INSPECT_STEP} of batch {lot}.")
    current = live.locator("article.operation.current")
    expect(current).to_contain_text("11 from earlier steps")
    current.get_by_label("Good units").fill("10")
    current.get_by_label("Scrap units").fill("1")
    current.get_by_role("button", name="Finish").click()
    expect(live.locator(".notice")).to_have_text(
        f"Finished {INSPECT_STEP} of batch {lot}: 10 good, 1 scrap."
    )

    # --- The batch waits for its quality check: record a pass, then complete it ----------------
    menu(page, "Batches", "Batches")
    waiting = page.locator(".board-column[data-status=quality_check]")
    expect(waiting.locator("h2")).to_have_text("Quality check 1")
    expect(waiting).to_contain_text("2/2 operations done")
    waiting.get_by_role("link", name=lot).click()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(f"Batch {lot} Quality check")
    quality = page.locator("#quality")
    quality.get_by_label("Operation").select_option(label=f"20. {INSPECT_STEP}")
    quality.get_by_label("Characteristic").fill("Hole diameter")
    quality.get_by_label(field("Unit")).fill("mm")
    quality.get_by_label("Target").fill("5.0")
    quality.get_by_label("Tolerance").fill("0.1")
    quality.get_by_label("Measured").fill("5.04")
    quality.get_by_role("button", name="Record check").click()
    check_row = page.locator("#quality tbody tr")
    expect(check_row).to_have_count(1)
    expect(check_row.locator(".chip")).to_have_text("Pass")
    expect(check_row).to_contain_text("Hole diameter")

    page.get_by_role("button", name=f"Complete batch {lot}").click()
    expect(heading).to_have_text(f"Batch {lot} Completed")
    expect(page.locator("#batch-detail [role=status]").first).to_have_text(
        f"Batch {lot} moved to completed."
    )
    output = page.get_by_role("region", name="Output")
    expect(output.locator(".figure .value")).to_have_text(["10", "2", "2/2", "1/1"])
    shots(page, "batch")

    menu(page, "Batches", "Batches")
    done = page.locator(".board-column[data-status=completed]")
    expect(done.locator("h2")).to_have_text("Completed 1")
    expect(done.get_by_role("link", name=lot)).to_be_visible()

    # --- The dashboard follows: nothing in progress, the order still due this week ------------
    menu(page, "Dashboard", BUSINESS)
    expect(figure(page, "wip")).to_have_text("0")
    expect(figure(page, "due")).to_have_text("1")
    expect(figure(page, "late")).to_have_text("0")
    expect(figure(page, "machines")).to_have_text("0 / 2")
    menu(page, "Orders", "Orders")
    expect(page.locator("#orders tbody tr .chip")).to_have_text("Ready")

    # --- What the clicks left in the database ------------------------------------------------
    tenant = Tenant.objects.get(name=BUSINESS)
    assert Membership.objects.for_tenant(tenant).get().role == "owner"
    assert set(Site.objects.for_tenant(tenant).values_list("name", flat=True)) == {
        SITE,
        SECOND_SITE,
    }
    order = Order.objects.for_tenant(tenant).get()
    assert (order.number, order.status, order.due_date) == (number, "ready", due)
    assert (order.customer.name, order.customer.country) == ("Nordic Bikes", "DK")
    batch = Batch.objects.for_tenant(tenant).get()
    assert (batch.lot_code, batch.status, batch.quantity_planned) == (lot, "completed", 12)
    assert (batch.quantity_good, batch.quantity_scrap) == (10, 2)
    assert batch.completed_at is not None
    assert batch.site.name == SITE
    operations = BatchOperation.objects.for_tenant(tenant).order_by("sequence")
    assert [
        (op.name, op.machine.name, op.status, op.quantity_good, op.quantity_scrap)
        for op in operations
    ] == [
        (PRINT_STEP, PRINTER, "done", 11, 1),
        (INSPECT_STEP, INSPECTION, "done", 10, 1),
    ]
    check = QualityCheck.objects.for_tenant(tenant).get()
    assert (check.characteristic, check.passed, check.operation.name) == (
        "Hole diameter",
        True,
        INSPECT_STEP,
    )


def add_machine(
    page: Page, name: str, *, kind: str, capability: str, running_kw: str = "0"
) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a machine")
    page.get_by_label(field("Site")).select_option(label=SITE)
    page.get_by_label(field("Name")).fill(name)
    page.get_by_label("Kind").select_option(label=kind)
    page.get_by_label(field(capability)).check()
    page.get_by_label("Power while running (kW)").fill(running_kw)
    page.get_by_label("Runs unattended").check()
    page.get_by_role("button", name="Add machine").click()


def add_step(routing, name: str, capability: str, *, setup: str, run: str, material: str = ""):
    routing.get_by_label(field("Name")).fill(name)
    routing.get_by_label("Capability").select_option(label=capability)
    routing.get_by_label("Setup (min)").fill(setup)
    routing.get_by_label("Run (min per unit)").fill(run)
    if material:
        routing.get_by_label("Material").select_option(label=material)
    routing.get_by_role("button", name="Add step").click()

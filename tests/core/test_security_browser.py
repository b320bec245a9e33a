"""In real Chromium: the pages that carry the most script, htmx and SVG load under the enforced
Content-Security-Policy without a single violation."""

import copy
from datetime import UTC, date, datetime

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser_helpers import log_in
from tests.factories import (
    DEFAULT_PASSWORD,
    BatchFactory,
    MachineFactory,
    MembershipFactory,
    ProductFactory,
    RoutingStepFactory,
    SiteFactory,
    SustainabilityReportFactory,
    UserFactory,
)
from tests.sustainability.conftest import DOCUMENT

pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]

WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


@pytest.fixture
def page(chromium_browser):
    page = chromium_browser.new_page()
    page.add_init_script(WATCH_VIOLATIONS)
    return page


def test_the_main_pages_load_without_a_policy_violation(live_server, page, tenant):
    owner = MembershipFactory(tenant=tenant, role="owner").user
    site = SiteFactory(tenant=tenant, name="Kiel Hafen")
    machine = MachineFactory(tenant=tenant, site=site, name="Prusa 1")
    product = ProductFactory(tenant=tenant, name="Bracket")
    RoutingStepFactory(tenant=tenant, product=product, name="Print")
    BatchFactory(tenant=tenant, product=product)
    report = SustainabilityReportFactory(
        tenant=tenant,
        period_start=date(2026, 1, 1),
        period_end=date(2026, 3, 31),
        finished_at=datetime(2026, 4, 1, 3, 0, tzinfo=UTC),
        data=copy.deepcopy(DOCUMENT),
    )
    console = []
    page.on(
        "console",
        lambda message: (
            console.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    log_in(page, live_server, owner)

    pages = [
        reverse("home"),
        reverse("scheduling:gantt", args=[site.pk]),
        reverse("catalog:product-detail", args=[product.pk]),
        reverse("machines:machine-detail", args=[machine.pk]),
        reverse("production:batch-board"),
        reverse("sustainability:report-detail", args=[report.pk]),
    ]
    for path in pages:
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__cspViolations") == [], path
    expect(page.locator("svg.chart").first).to_be_visible()  # the report's charts drew

    assert console == []


def test_an_inline_script_would_be_reported(live_server, page, tenant):
    """The watch works: a script injected into the page is blocked and seen."""
    log_in(page, live_server, MembershipFactory(tenant=tenant, role="owner").user)

    page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.__ran = true";
          document.body.append(script);
        }"""
    )
    page.wait_for_timeout(200)

    assert page.evaluate("window.__ran === true") is False
    assert page.evaluate("window.__cspViolations")[0].startswith("script-src")


def test_the_admin_loads_without_a_policy_violation(live_server, page):
    UserFactory(email="staff@mfapp.test", is_staff=True, is_superuser=True)
    page.goto(f"{live_server.url}/admin/")
    page.locator("#id_username").fill("staff@mfapp.test")
    page.locator("#id_password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()

    for path in ["/admin/", "/admin/tenancy/tenant/add/", "/admin/tenancy/membership/"]:
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__cspViolations") == [], path

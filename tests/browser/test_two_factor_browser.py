"""In real Chromium: an owner sets up two-step sign-in from the account menu, reading the key off
the page as an authenticator app would, keeps the backup codes, and logs in again with the
password and a code; the pages break no Content-Security-Policy rule (the QR code is inline
SVG)."""

from base64 import b32decode

import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.browser_helpers import log_in
from tests.factories import DEFAULT_PASSWORD, MembershipFactory

pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]

TIMEOUT_MS = 15_000
WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


@pytest.fixture
def page(chromium_browser):
    page = chromium_browser.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.add_init_script(WATCH_VIOLATIONS)
    return page


def _app_code(key: bytes) -> str:
    """What the authenticator app shows now for `key`."""
    return f"{totp(key):06d}"


def test_an_owner_sets_up_two_step_sign_in_and_logs_in_with_a_code(live_server, page, tenant):
    ada = MembershipFactory(tenant=tenant, role="owner").user
    log_in(page, live_server, ada)

    page.locator(".account").get_by_role("link", name="Security").click()
    page.get_by_role("button", name="Set up two-step sign-in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up two-step sign-in")
    expect(page.locator("svg.totp-qr")).to_be_visible()
    assert page.evaluate("window.__cspViolations") == []
    key = b32decode(page.locator("#totp-secret").inner_text().replace(" ", ""))
    page.get_by_label("Code from the app").fill(_app_code(key))
    page.get_by_role("button", name="Turn on").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Two-step sign-in is on")
    backup_codes = page.locator(".backup-codes code").all_inner_texts()
    assert len(backup_codes) == 10
    page.get_by_role("link", name="I have saved them").click()
    expect(page.locator(".state-on")).to_have_text("on")

    page.get_by_role("button", name="Log out").click()
    TOTPDevice.objects.filter(user=ada).update(last_t=-1)  # as if the next 30 s began
    page.goto(f"{live_server.url}{reverse('login')}?next={reverse('tenancy:site-list')}")
    page.get_by_label("E-mail").fill(ada.email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your code")
    page.get_by_label("Code", exact=True).fill("000000" if _app_code(key) != "000000" else "111111")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("That code is not right.")
    TOTPDevice.objects.filter(user=ada).update(throttling_failure_timestamp=None)
    page.get_by_label("Code", exact=True).fill(_app_code(key))
    page.get_by_role("button", name="Log in").click()

    page.wait_for_url(f"{live_server.url}{reverse('tenancy:site-list')}")  # `next` kept
    expect(page.locator(".account")).to_contain_text(f"{ada.email} · Owner")
    assert page.evaluate("window.__cspViolations") == []

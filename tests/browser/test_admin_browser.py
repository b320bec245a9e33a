"""In real Chromium: platform staff create a tenant in the admin, and its owner logs in."""

import pytest
from playwright.sync_api import expect

from mfapp.tenancy.models import Membership, Tenant
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(chromium_browser):
    return chromium_browser.new_page()


def test_staff_creates_a_tenant_and_its_owner_logs_in(live_server, page):
    UserFactory(email="staff@mfapp.test", is_staff=True, is_superuser=True)

    page.goto(f"{live_server.url}/admin/")
    page.locator("#id_username").fill("staff@mfapp.test")
    page.locator("#id_password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/admin/tenancy/tenant/add/")
    page.locator("#id_slug").fill("kiel")  # typed first, so the admin's prepopulation keeps off
    page.locator("#id_name").fill("Kiel Fab")
    page.locator("#id_country").fill("DE")
    page.locator("#id_timezone").fill("Europe/Berlin")
    page.locator("#id_owner_email").fill("owner@kiel.test")
    page.locator("#id_owner_password").fill("printing-is-fun-42")
    page.locator("#id_site_name").fill("Kiel Hafen")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")

    tenant = Tenant.objects.get(slug="kiel")
    assert Membership.objects.for_tenant(tenant).get().role == "owner"

    page.context.clear_cookies()
    page.goto(f"{live_server.url}/")
    page.get_by_label("E-mail").fill("owner@kiel.test")
    page.get_by_label("Password").fill("printing-is-fun-42")
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Kiel Fab")
    expect(page.get_by_role("heading", name="Kiel Hafen")).to_be_visible()
    expect(page.get_by_text("No machines at this site yet.")).to_be_visible()
    expect(page.locator(".account")).to_contain_text("owner@kiel.test · Owner")


def test_a_wrong_password_is_refused_with_a_message(live_server, page):
    UserFactory(email="ana@example.com")

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("E-mail").fill("ana@example.com")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("alert")).to_contain_text("Please enter a correct")
    assert page.url.endswith("/accounts/login/")

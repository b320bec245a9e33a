"""Helpers for the tests that drive real Chromium (the `chromium_browser` fixture)."""

from django.urls import reverse

from tests.factories import DEFAULT_PASSWORD


def log_in(page, live_server, user):
    """Log `user` in through the login form, as a person would, and wait for the home page."""
    page.goto(f"{live_server.url}{reverse('login')}")
    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")

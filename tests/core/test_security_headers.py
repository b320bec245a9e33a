"""Every page answers with a strict Content-Security-Policy (no inline script or style) and the
other security headers; templates keep to what the policy allows."""

import re
from pathlib import Path

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
# django-csp writes the directives in no fixed order, so the header is compared directive by
# directive: exactly these, each with exactly these sources.
CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}


def _policy(header: str) -> dict[str, list[str]]:
    directives = [part.split() for part in header.split(";")]
    policy = {name: sources for name, *sources in directives}
    assert len(policy) == len(directives), f"a directive repeats: {header}"
    return policy


def test_a_page_answers_with_the_exact_policy_and_security_headers(client, tenant):
    client.force_login(MembershipFactory(tenant=tenant, role="owner").user)

    response = client.get(reverse("home"))

    assert response.status_code == 200
    assert _policy(response["Content-Security-Policy"]) == CSP
    assert "Content-Security-Policy-Report-Only" not in response
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/", "/api/v1/products/"])
def test_anonymous_pages_the_admin_and_the_api_carry_the_policy_too(client, path):
    response = client.get(path)

    assert _policy(response["Content-Security-Policy"]) == CSP
    assert response["X-Frame-Options"] == "DENY"


def test_swagger_ui_alone_is_left_without_a_policy():
    """Its bundle comes from a CDN and starts with an inline script (developer tooling)."""
    response = APIClient().get("/api/docs/")

    assert response.status_code == 200
    assert "Content-Security-Policy" not in response


def _templates():
    return sorted((ROOT / "templates").rglob("*.html"))


def test_no_template_served_to_browsers_has_inline_script_style_or_handlers():
    """The policy would block them: scripts come from static files, styles from CSS classes or
    SVG presentation attributes. The PDF template is rendered by WeasyPrint, never a browser."""
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
    style_attribute = re.compile(r"\sstyle\s*=", re.IGNORECASE)
    handler = re.compile(r"\son[a-z]+\s*=\s*[\"']", re.IGNORECASE)
    offenders = []
    for path in _templates():
        if path.name == "report_pdf.html":
            continue
        text = path.read_text()
        for name, pattern in [
            ("inline <script>", inline_script),
            ("style attribute", style_attribute),
            ("inline <style>", re.compile(r"<style[\s>]", re.IGNORECASE)),
            ("event handler attribute", handler),
            ("javascript: URL", re.compile(r"javascript:", re.IGNORECASE)),
        ]:
            if pattern.search(text):
                offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert offenders == []


def test_htmx_does_not_inject_its_indicator_style(client):
    html = client.get(reverse("login")).content.decode()

    assert '"includeIndicatorStyles": false' in html

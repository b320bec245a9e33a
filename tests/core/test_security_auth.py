"""Login lockout (django-axes), password strength and constant-time API key checks."""

import hmac
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

import mfapp.settings.base as base
from mfapp.tenancy import services
from mfapp.tenancy.services import api_key_authenticate, api_key_create
from tests.factories import DEFAULT_PASSWORD, UserFactory, member_actor

pytestmark = pytest.mark.django_db
LOGIN = reverse("login")
ADMIN_LOGIN = reverse("admin:login")


def _post(client, username, password, url=LOGIN):
    return client.post(url, {"username": username, "password": password})


def _fail(client, username, times, url=LOGIN):
    return [_post(client, username, "not-the-password", url).status_code for _ in range(times)]


# --- lockout ---------------------------------------------------------------------------------
def test_five_failures_lock_the_username_out_of_this_address(client):
    UserFactory(email="ana@example.com")

    assert _fail(client, "ana@example.com", 4) == [200] * 4
    fifth = _post(client, "ana@example.com", "not-the-password")

    assert fifth.status_code == 429
    html = fifth.content.decode()
    assert '<h1 id="lockout-h">Too many failed logins</h1>' in html
    assert (
        "After 5 failed attempts, logging in as ana@example.com from this address is paused "
        "for 15 minutes."
    ) in html
    # Even the right password is refused now, and no session is made.
    locked = _post(client, "ana@example.com", DEFAULT_PASSWORD)
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_lockout_is_per_username_and_address(client):
    UserFactory(email="ana@example.com")
    UserFactory(email="bob@example.com")
    _fail(client, "ana@example.com", 5)

    assert _post(client, "bob@example.com", DEFAULT_PASSWORD).status_code == 302
    elsewhere = Client(REMOTE_ADDR="192.0.2.7")
    assert _post(elsewhere, "ana@example.com", DEFAULT_PASSWORD).status_code == 302


def test_the_lockout_ends_after_the_cool_off(client):
    UserFactory(email="ana@example.com")
    _fail(client, "ana@example.com", 5)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))

    response = _post(client, "ana@example.com", DEFAULT_PASSWORD)

    assert (response.status_code, response["Location"]) == (302, reverse("home"))


def test_a_success_resets_the_count(client):
    UserFactory(email="ana@example.com")
    _fail(client, "ana@example.com", 4)
    assert _post(client, "ana@example.com", DEFAULT_PASSWORD).status_code == 302
    client.logout()

    assert _fail(client, "ana@example.com", 4) == [200] * 4


def test_the_admin_login_is_locked_out_too(client):
    UserFactory(email="staff@example.com", is_staff=True, is_superuser=True)

    assert _fail(client, "staff@example.com", 5, ADMIN_LOGIN)[-1] == 429
    response = _post(client, "staff@example.com", DEFAULT_PASSWORD, ADMIN_LOGIN)

    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()


# --- passwords -------------------------------------------------------------------------------
@pytest.mark.parametrize("password", ["microfactory-demo", DEFAULT_PASSWORD, "fr3sh-Filament"])
def test_long_uncommon_passwords_are_accepted(password):
    validate_password(password)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Short-pass1", "This password is too short. It must contain at least 12 characters."),
        ("password1234", "This password is too common."),
        ("839201748392", "This password is entirely numeric."),
    ],
)
def test_weak_passwords_are_refused(password, message):
    with pytest.raises(ValidationError) as exc_info:
        validate_password(password)

    assert message in exc_info.value.messages


# --- API keys --------------------------------------------------------------------------------
def test_api_keys_are_compared_in_constant_time(tenant, monkeypatch):
    _, raw_key = api_key_create(actor=member_actor(tenant, "owner"), name="Shop")
    calls = []
    compare_digest = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return compare_digest(a, b)

    monkeypatch.setattr(services.hmac, "compare_digest", spy)
    tampered = raw_key[:-1] + ("A" if raw_key[-1] != "A" else "B")

    assert api_key_authenticate(raw_key=tampered) is None
    assert api_key_authenticate(raw_key=raw_key) is not None
    assert len(calls) == 2
    assert all(len(a) == len(b) == 64 for a, b in calls)  # SHA-256 hex digests, never raw keys


# --- the client's address behind proxies --------------------------------------------------------
@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "198.51.100.9", "10.0.0.2"),  # no trusted proxy: the header is ignored
        (1, "198.51.100.9", "198.51.100.9"),
        (1, "203.0.113.66, 198.51.100.9", "198.51.100.9"),  # a spoofed entry on the left
        (2, "203.0.113.66, 198.51.100.9, 10.0.0.1", "198.51.100.9"),
        (2, "198.51.100.9", "10.0.0.2"),  # fewer entries than proxies: not trusted
    ],
)
def test_the_lockout_address_is_the_client_seen_by_the_trusted_proxies(
    rf, monkeypatch, proxies, forwarded, expected
):
    monkeypatch.setattr(base, "TRUSTED_PROXY_COUNT", proxies)
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)

    assert settings.AXES_CLIENT_IP_CALLABLE(request) == expected

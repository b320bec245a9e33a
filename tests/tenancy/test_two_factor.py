"""Two-step sign-in (TOTP): owners set it up with a real code from the device's key, log in
with the password and then the code (or a single-use backup code), and turn it off again.
The half-done login expires, reaches no page, and wrong codes count towards the lockout."""

import re
from base64 import b32decode
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from mfapp.audit.models import AuditEvent
from mfapp.core.exceptions import ApplicationError, PermissionDenied
from mfapp.tenancy import two_factor
from mfapp.tenancy.models import Membership
from mfapp.tenancy.two_factor import (
    pending_login_create,
    pending_login_user,
    totp_setup_start,
    two_factor_enable,
    two_factor_verify,
)
from mfapp.tenancy.two_factor_views import PENDING_SESSION_KEY
from tests.factories import (
    DEFAULT_PASSWORD,
    MembershipFactory,
    SiteFactory,
    TenantFactory,
    UserFactory,
    audit_events,
)

pytestmark = pytest.mark.django_db
LOGIN = reverse("login")
CODE = reverse("login-code")
SECURITY = reverse("two-factor")
SETUP = reverse("two-factor-setup")
OFF = reverse("two-factor-disable")
HOME = reverse("home")
ADMIN_LOGIN = reverse("admin:login")


# --- helpers ---------------------------------------------------------------------------------
def code_for(device: TOTPDevice) -> str:
    """The code the person's app shows now, computed from the device's key (RFC 6238)."""
    device.refresh_from_db()
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def next_window(device: TOTPDevice) -> None:
    """As if 30 seconds passed: django-otp accepts each time step's code once (replay guard)."""
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1)


def wrong_code(device: TOTPDevice) -> str:
    return f"{(int(code_for(device)) + 500_000) % 1_000_000:06d}"


def throttle_passes(device) -> None:
    """As if the device's back-off after a wrong code (1 s, 2 s, 4 s ...) had passed."""
    type(device).objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=timezone.now() - timedelta(days=1)
    )


def owner(tenant, **user):
    return MembershipFactory(tenant=tenant, role="owner", user=UserFactory(**user)).user


def with_two_factor(user) -> tuple[TOTPDevice, list[str]]:
    """Set up through the services, as the pages do."""
    device = totp_setup_start(user=user)
    return two_factor_enable(user=user, code=code_for(device))


def password_step(client, user, next_url=None):
    data = {"username": user.get_username(), "password": DEFAULT_PASSWORD}
    if next_url:
        data["next"] = next_url
    return client.post(LOGIN, data)


def logged_in_as(client) -> str | None:
    return client.session.get("_auth_user_id")


# --- setting it up ---------------------------------------------------------------------------
def test_an_owner_sets_it_up_with_a_code_from_the_app(client, tenant, other_tenant):
    ada = owner(tenant, email="ada@example.com")
    MembershipFactory(tenant=other_tenant, user=ada, role="owner")
    third = TenantFactory()
    MembershipFactory(tenant=third, user=ada, role="manager")
    client.force_login(ada)

    page = client.get(SECURITY)
    assert "Set up two-step sign-in" in page.content.decode()
    started = client.post(SECURITY)
    assert (started.status_code, started["Location"]) == (302, SETUP)

    setup = client.get(SETUP)
    html = setup.content.decode()
    device = TOTPDevice.objects.get(user=ada)
    assert device.confirmed is False
    assert setup.status_code == 200
    assert setup["Cache-Control"].startswith("max-age=0, no-cache, no-store")
    assert re.search(r'<svg width="\d+" height="\d+" class="totp-qr">', html)  # inline, no <img>
    assert "<script" not in html.split("</head>")[1]
    assert "style=" not in html
    secret = re.search(r'<p class="totp-secret" id="totp-secret">([A-Z2-7 ]+)</p>', html).group(1)
    assert b32decode(secret.replace(" ", "")) == device.bin_key  # the key for typing in by hand

    done = client.post(SETUP, {"otp_token": code_for(device)})

    html = done.content.decode()
    assert done.status_code == 200
    assert "Two-step sign-in is on" in html
    codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", html)
    assert len(codes) == len(set(codes)) == 10
    assert sorted(StaticToken.objects.filter(device__user=ada).values_list("token", flat=True)) == (
        sorted(codes)
    )
    device.refresh_from_db()
    assert device.confirmed is True
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id  # this session verified
    # One audit event in each business Ada owns, on her owner membership; none where she manages.
    for owned in (tenant, other_tenant):
        [event] = audit_events(owned, verb="two_factor.enabled")
        assert (event.actor_user, event.target_type) == (ada, "tenancy.membership")
        assert event.after == {"user": "ada@example.com", "backup_codes": 10}
    assert audit_events(third) == []
    assert "on</span> since" in client.get(SECURITY).content.decode()


def test_a_wrong_code_does_not_turn_it_on(client, tenant):
    ada = owner(tenant)
    client.force_login(ada)
    client.post(SECURITY)
    device = TOTPDevice.objects.get(user=ada)

    response = client.post(SETUP, {"otp_token": wrong_code(device)})

    assert response.status_code == 400
    assert "That code is not right." in response.content.decode()
    device.refresh_from_db()
    assert device.confirmed is False
    assert not StaticDevice.objects.filter(user=ada).exists()
    assert audit_events(tenant, verb="two_factor.enabled") == []


def test_an_unconfirmed_device_does_not_count(client, tenant):
    ada = owner(tenant)
    totp_setup_start(user=ada)

    response = password_step(client, ada)

    assert (response.status_code, response["Location"]) == (302, HOME)
    assert logged_in_as(client) == str(ada.pk)


def test_starting_again_makes_a_fresh_secret(tenant):
    ada = owner(tenant)
    first = totp_setup_start(user=ada)
    code_of_first = code_for(first)
    second = totp_setup_start(user=ada)

    assert list(TOTPDevice.objects.filter(user=ada)) == [second]
    assert second.key != first.key
    with pytest.raises(ApplicationError, match="That code is not right"):
        two_factor_enable(user=ada, code=code_of_first)


def test_turning_it_on_ends_the_other_sessions_but_not_this_one(client, tenant):
    ada = owner(tenant)
    laptop = Client()
    laptop.force_login(ada)
    client.force_login(ada)
    client.post(SECURITY)
    device = TOTPDevice.objects.get(user=ada)

    client.post(SETUP, {"otp_token": code_for(device)})

    assert laptop.get(HOME)["Location"].startswith(LOGIN)
    assert client.get(HOME).status_code == 200


@pytest.mark.parametrize("role", ["manager", "operator", "viewer"])
def test_a_non_owner_sees_it_is_for_owners_and_is_refused(client, tenant, role):
    person = MembershipFactory(tenant=tenant, role=role).user
    client.force_login(person)

    page = client.get(SECURITY)
    assert page.status_code == 200
    assert "Two-step sign-in is for the owners of a business" in page.content.decode()
    assert "Set up two-step sign-in" not in page.content.decode()

    assert client.post(SECURITY).status_code == 403
    assert client.get(SETUP).status_code == 403
    assert client.post(SETUP, {"otp_token": "123456"}).status_code == 403
    assert not TOTPDevice.objects.filter(user=person).exists()
    assert not StaticDevice.objects.filter(user=person).exists()
    assert audit_events(tenant) == []
    with pytest.raises(PermissionDenied, match="for owners of a business and for platform staff"):
        totp_setup_start(user=person)


def test_platform_staff_may_set_it_up_too():
    staff = UserFactory(is_staff=True)

    device, codes = with_two_factor(staff)

    assert device.confirmed
    assert len(codes) == 10
    assert AuditEvent.objects.all_tenants().count() == 0  # staff own no business: a log line


def test_the_page_asks_anonymous_visitors_to_log_in(client):
    response = client.get(SECURITY)

    assert (response.status_code, response["Location"]) == (302, f"{LOGIN}?next={SECURITY}")


# --- logging in ------------------------------------------------------------------------------
def test_without_it_the_password_logs_in_at_once(client, tenant):
    ada = owner(tenant)

    response = password_step(client, ada)

    assert (response.status_code, response["Location"]) == (302, HOME)
    assert logged_in_as(client) == str(ada.pk)


def test_with_it_the_password_leads_to_the_code_and_only_the_code_logs_in(client, tenant):
    ada = owner(tenant, email="ada@example.com")
    device, _ = with_two_factor(ada)
    next_window(device)
    client.get(LOGIN)
    first_key = client.session.session_key
    site = SiteFactory(tenant=tenant)
    wanted = reverse("tenancy:site-update", args=[site.pk])

    response = password_step(client, ada, next_url=wanted)

    assert (response.status_code, response["Location"]) == (302, CODE)
    assert logged_in_as(client) is None
    pending_key = client.session.session_key
    assert pending_key != first_key
    page = client.get(CODE)
    assert page.status_code == 200
    assert "Two-step sign-in is on for <strong>ada@example.com</strong>" in page.content.decode()

    response = client.post(CODE, {"otp_token": code_for(device)})

    assert (response.status_code, response["Location"]) == (302, wanted)  # `next` kept
    assert logged_in_as(client) == str(ada.pk)
    assert client.session.session_key not in (first_key, pending_key)  # rotated at login
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert PENDING_SESSION_KEY not in client.session
    assert not Session.objects.filter(session_key=pending_key).exists()
    assert client.get(wanted).status_code == 200


def test_a_wrong_code_is_refused_with_a_clear_error(client, tenant, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 60  # a back-off this slow test machine cannot outlast
    ada = owner(tenant)
    device, _ = with_two_factor(ada)
    password_step(client, ada)

    response = client.post(CODE, {"otp_token": wrong_code(device)})

    assert response.status_code == 400
    assert "That code is not right. Enter the newest 6-digit code" in response.content.decode()
    assert logged_in_as(client) is None
    # Right after a wrong code the device waits a moment (django-otp's back-off) and says so.
    response = client.post(CODE, {"otp_token": wrong_code(device)})
    assert re.search(
        r"Too many wrong codes in a row\. Wait (59|60) seconds and try again\.",
        response.content.decode(),
    )
    throttle_passes(device)
    next_window(device)
    response = client.post(CODE, {"otp_token": code_for(device)})
    assert (response.status_code, logged_in_as(client)) == (302, str(ada.pk))


def test_a_code_is_accepted_once(tenant):
    ada = owner(tenant)
    device, _ = with_two_factor(ada)
    next_window(device)
    code = code_for(device)

    assert two_factor_verify(user=ada, code=code) == device
    with pytest.raises(ApplicationError, match="That code is not right"):
        two_factor_verify(user=ada, code=code)


def test_wrong_codes_count_towards_the_lockout(client, tenant, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # only axes limits here
    ada = owner(tenant, email="ada@example.com")
    device, _ = with_two_factor(ada)
    client.post(LOGIN, {"username": "ada@example.com", "password": "not-the-password"})
    password_step(client, ada)

    statuses = [client.post(CODE, {"otp_token": wrong_code(device)}).status_code for _ in range(4)]

    # one wrong password and four wrong codes: five failures for ada@example.com here
    assert statuses == [400, 400, 400, 429]
    attempt = AccessAttempt.objects.get(username="ada@example.com")
    assert attempt.failures_since_start == 5
    assert wrong_code(device) not in attempt.post_data  # codes are masked like passwords
    # Locked out: the right password and the right code are refused too.
    next_window(device)
    assert password_step(client, ada).status_code == 429
    assert client.post(CODE, {"otp_token": code_for(device)}).status_code == 429
    assert logged_in_as(client) is None


def test_five_wrong_codes_end_the_half_done_login_even_without_axes(client, tenant, settings):
    settings.AXES_ENABLED = False
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    ada = owner(tenant)
    device, _ = with_two_factor(ada)
    password_step(client, ada)

    for _ in range(4):
        assert client.post(CODE, {"otp_token": wrong_code(device)}).status_code == 400
    fifth = client.post(CODE, {"otp_token": wrong_code(device)})

    assert (fifth.status_code, fifth["Location"]) == (302, LOGIN)
    assert PENDING_SESSION_KEY not in client.session
    next_window(device)
    assert client.post(CODE, {"otp_token": code_for(device)})["Location"] == LOGIN
    assert logged_in_as(client) is None


def test_the_half_done_login_expires_after_five_minutes(client, tenant):
    ada = owner(tenant)
    device, _ = with_two_factor(ada)
    password_step(client, ada, next_url="/orders/")
    session = client.session
    session[PENDING_SESSION_KEY]["started"] -= 5 * 60 + 1
    session.save()
    next_window(device)

    response = client.post(CODE, {"otp_token": code_for(device)}, follow=True)

    assert response.redirect_chain == [(f"{LOGIN}?next=%2Forders%2F", 302)]
    assert "Your sign-in expired" in response.content.decode()
    assert logged_in_as(client) is None
    assert PENDING_SESSION_KEY not in client.session


def test_the_half_done_login_reaches_no_page(client, tenant):
    ada = owner(tenant)
    ada.is_staff = ada.is_superuser = True
    ada.save()
    with_two_factor(ada)
    password_step(client, ada)
    site = SiteFactory(tenant=tenant)

    for path in (
        HOME,
        reverse("tenancy:site-list"),
        reverse("tenancy:site-update", args=[site.pk]),
        reverse("tenancy:member-list"),
        SECURITY,
        reverse("password_change"),
    ):
        response = client.get(path)
        assert (response.status_code, response["Location"].split("?")[0]) == (302, LOGIN), path
    assert client.get("/api/v1/sites/").status_code in (401, 403)
    assert client.get(reverse("admin:index"))["Location"].startswith(ADMIN_LOGIN)
    assert logged_in_as(client) is None


def test_the_code_step_without_a_password_goes_to_the_login(client):
    response = client.get(CODE)

    assert (response.status_code, response["Location"]) == (302, LOGIN)


def test_a_changed_password_voids_the_half_done_login(client, tenant):
    ada = owner(tenant)
    device, _ = with_two_factor(ada)
    password_step(client, ada)
    ada.set_password("another-long-passphrase")
    ada.save()
    next_window(device)

    response = client.post(CODE, {"otp_token": code_for(device)})

    assert response["Location"] == LOGIN
    assert logged_in_as(client) is None


def test_a_backup_code_logs_in_once(client, tenant):
    ada = owner(tenant)
    _, codes = with_two_factor(ada)
    password_step(client, ada)

    response = client.post(CODE, {"otp_token": codes[3].upper()[:4] + " " + codes[3][4:]})

    assert (response.status_code, logged_in_as(client)) == (302, str(ada.pk))
    assert StaticToken.objects.filter(device__user=ada).count() == 9
    client.logout()
    password_step(client, ada)
    again = client.post(CODE, {"otp_token": codes[3]})
    assert again.status_code == 400
    assert "That code is not right." in again.content.decode()
    assert logged_in_as(client) is None
    device = StaticDevice.objects.get(user=ada)
    throttle_passes(device)
    assert client.post(CODE, {"otp_token": codes[4]}).status_code == 302
    client.force_login(ada)
    assert "Backup codes left: <strong>8</strong>" in client.get(SECURITY).content.decode()


def test_pending_login_states_that_are_not_right_name_no_one(tenant):
    ada = owner(tenant)
    now = timezone.now()
    good = pending_login_create(user=ada, backend="b", next_url="/", now=now)

    assert pending_login_user(pending=good, now=now) == ada
    assert pending_login_user(pending=None) is None
    assert pending_login_user(pending="junk") is None  # type: ignore[arg-type]
    assert pending_login_user(pending={**good, "started": "x"}, now=now) is None
    assert pending_login_user(pending=good, now=now + timedelta(minutes=5, seconds=1)) is None
    assert pending_login_user(pending=good, now=now - timedelta(seconds=1)) is None
    assert pending_login_user(pending={**good, "attempts": 5}, now=now) is None
    assert pending_login_user(pending={**good, "auth_hash": "forged"}, now=now) is None
    ada.is_active = False
    ada.save()
    assert pending_login_user(pending=good, now=now) is None


# --- turning it off --------------------------------------------------------------------------
def test_turning_it_off_needs_a_current_code(client, tenant):
    ada = owner(tenant, email="ada@example.com")
    device, _ = with_two_factor(ada)
    client.force_login(ada)

    refused = client.post(OFF, {"otp_token": wrong_code(device)})
    assert refused.status_code == 400
    assert "That code is not right." in refused.content.decode()
    assert TOTPDevice.objects.filter(user=ada, confirmed=True).exists()
    empty = client.post(OFF, {"otp_token": "", "password": ""})
    assert "or your password to turn it off" in empty.content.decode()
    assert audit_events(tenant, verb="two_factor.disabled") == []

    throttle_passes(device)
    next_window(device)
    response = client.post(OFF, {"otp_token": code_for(device)}, follow=True)

    assert response.redirect_chain == [(SECURITY, 302)]
    assert "Two-step sign-in is off." in response.content.decode()
    assert not TOTPDevice.objects.filter(user=ada).exists()
    assert not StaticDevice.objects.filter(user=ada).exists()
    [event] = audit_events(tenant, verb="two_factor.disabled")
    assert (event.actor_user, event.after) == (ada, {"user": "ada@example.com"})
    client.logout()
    assert password_step(client, ada)["Location"] == HOME  # one step again


def test_turning_it_off_with_the_password(client, tenant):
    ada = owner(tenant)
    with_two_factor(ada)
    client.force_login(ada)

    assert client.post(OFF, {"password": "not-the-password"}).status_code == 400
    assert TOTPDevice.objects.filter(user=ada).exists()
    response = client.post(OFF, {"password": DEFAULT_PASSWORD})

    assert (response.status_code, response["Location"]) == (302, SECURITY)
    assert not TOTPDevice.objects.filter(user=ada).exists()


def test_a_former_owner_can_still_turn_it_off(client, tenant):
    ada = owner(tenant)
    with_two_factor(ada)
    MembershipFactory(tenant=tenant, role="owner")
    Membership.objects.for_tenant(tenant).filter(user=ada).update(role="viewer")
    client.force_login(ada)

    assert "Turn two-step sign-in off" in client.get(SECURITY).content.decode()
    assert client.post(OFF, {"password": DEFAULT_PASSWORD}).status_code == 302
    assert not two_factor.two_factor_enabled(user=ada)


# --- the admin's login -----------------------------------------------------------------------
def _admin_post(client, user, code=None):
    data = {"username": user.get_username(), "password": DEFAULT_PASSWORD, "next": "/admin/"}
    if code is not None:
        data["otp_token"] = code
    return client.post(ADMIN_LOGIN, data)


def test_the_admin_login_asks_staff_with_a_device_for_the_code(client, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    staff = UserFactory(email="staff@example.com", is_staff=True, is_superuser=True)
    device, _ = with_two_factor(staff)
    next_window(device)

    page = client.get(ADMIN_LOGIN)
    assert 'name="otp_token"' in page.content.decode()
    missing = _admin_post(client, staff)
    assert missing.status_code == 200
    assert "Two-step sign-in is on for this login" in missing.content.decode()
    wrong = _admin_post(client, staff, wrong_code(device))
    assert "That code is not right." in wrong.content.decode()
    assert logged_in_as(client) is None
    assert AccessAttempt.objects.get(username="staff@example.com").failures_since_start == 1

    response = _admin_post(client, staff, code_for(device))

    assert (response.status_code, response["Location"]) == (302, "/admin/")
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert client.get("/admin/").status_code == 200


def test_staff_without_a_device_log_in_to_the_admin_with_the_password(client):
    staff = UserFactory(is_staff=True, is_superuser=True)

    response = _admin_post(client, staff, "")

    assert (response.status_code, response["Location"]) == (302, "/admin/")

"""Two-step sign-in: a time-based code (TOTP, RFC 6238) from an authenticator app after the
password, for the people who can do the most harm with a stolen password: owners of a business
and platform staff.

django-otp does the cryptography, the replay protection (a code is accepted once) and the
per-device throttling (after n wrong codes in a row the device refuses for 2^(n-1) seconds);
these services hold mfapp's rules on top of it:

- only owners (of at least one business) and platform staff may turn it on;
- a device counts only once it is confirmed with a code from the app;
- turning it on also makes ten single-use backup codes (django-otp's static device), shown
  once, and ends the person's other sessions;
- turning it off needs a current code, a backup code or the password;
- both are written to the audit log of every business the person owns.

The login's half-done state (password right, code still missing) lives in the session and
never logs anyone in; `pending_login_*` hold its rules, `two_factor_views` the pages.
"""

import logging
import math
import re
from base64 import b32encode
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import segno
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.safestring import SafeString, mark_safe
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from mfapp.audit.services import audit_record
from mfapp.core import rls
from mfapp.core.exceptions import ApplicationError, Conflict, PermissionDenied
from mfapp.tenancy.actors import Actor
from mfapp.tenancy.models import Membership
from mfapp.tenancy.selectors import membership_list_for_user
from mfapp.tenancy.sessions import user_sessions_end

logger = logging.getLogger(__name__)

TOTP_DEVICE_NAME = "Authenticator app"
BACKUP_DEVICE_NAME = "Backup codes"
BACKUP_CODE_COUNT = 10
# How long the half-done login (password right, code missing) waits for the code, and how many
# wrong codes it takes before the password has to be entered again. Wrong codes also count
# towards django-axes' lockout (AXES_FAILURE_LIMIT per username and address), like wrong
# passwords; the device's own throttling counts across every address.
PENDING_LOGIN_LIFETIME = timedelta(minutes=5)
PENDING_LOGIN_MAX_ATTEMPTS = 5

TOTP_CODE = re.compile(r"\d{6}")
NOT_ELIGIBLE = (
    "Two-step sign-in is for owners of a business and for platform staff. Your login owns no "
    "business, so there is nothing to turn on."
)
WRONG_CODE = (
    "That code is not right. Enter the newest 6-digit code from your app (check that your "
    "phone's clock is right), or one of your backup codes."
)


@dataclass(frozen=True)
class TwoFactorStatus:
    """What the account security page shows."""

    eligible: bool
    enabled: bool
    enabled_at: datetime | None
    backup_codes_left: int


# --- reading ------------------------------------------------------------------------------------
def two_factor_eligible(*, user: AbstractBaseUser) -> bool:
    """Owners of at least one (active) business and platform staff may turn it on."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_staff:
        return True
    return any(m.role == Membership.Role.OWNER for m in membership_list_for_user(user=user))


def two_factor_device(*, user: AbstractBaseUser) -> TOTPDevice | None:
    """The person's confirmed authenticator app, or None when two-step sign-in is off."""
    if not user.is_authenticated:
        return None
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def two_factor_enabled(*, user: AbstractBaseUser) -> bool:
    return two_factor_device(user=user) is not None


def two_factor_status(*, user: AbstractBaseUser) -> TwoFactorStatus:
    device = two_factor_device(user=user)
    return TwoFactorStatus(
        eligible=two_factor_eligible(user=user),
        enabled=device is not None,
        enabled_at=device.created_at if device is not None else None,
        backup_codes_left=(
            StaticToken.objects.filter(device__user=user, device__confirmed=True).count()
            if device is not None
            else 0
        ),
    )


def totp_setup_pending(*, user: AbstractBaseUser) -> TOTPDevice | None:
    """The device being set up (not confirmed yet), if any."""
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()


def totp_secret(device: TOTPDevice) -> str:
    """The secret as the apps want it typed: base32, in groups of four."""
    secret = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def totp_qr_svg(device: TOTPDevice) -> SafeString:
    """The `otpauth://` URI as an inline SVG QR code (no script, no style: our CSP allows
    neither inline; the colours are SVG presentation attributes)."""
    svg = segno.make(device.config_url, error="m").svg_inline(
        scale=4,
        border=4,
        dark="#000",
        light="#fff",
        svgclass="totp-qr",
        lineclass=None,
        title="QR code for your authenticator app",
    )
    # segno writes only path data and our constant attributes; the URI is not in the output.
    return mark_safe(svg)  # noqa: S308


# --- turning it on and off ----------------------------------------------------------------------
def _require_eligible(user: AbstractBaseUser) -> None:
    if not two_factor_eligible(user=user):
        raise PermissionDenied(NOT_ELIGIBLE)


@transaction.atomic
def totp_setup_start(*, user: AbstractBaseUser) -> TOTPDevice:
    """A new unconfirmed device with a fresh secret (an earlier unconfirmed one is dropped, so
    a secret that someone may have seen on an abandoned set-up never becomes valid)."""
    _require_eligible(user)
    if two_factor_enabled(user=user):
        raise Conflict("Two-step sign-in is on already.")
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)


def two_factor_enable(
    *, user: AbstractBaseUser, code: str, keep_session_key: str | None = None
) -> tuple[TOTPDevice, list[str]]:
    """Confirm the device being set up with a code from the app. Returns the device and the new
    backup codes (shown once: they are not readable from anywhere else in the app). Ends the
    person's other sessions, except `keep_session_key` (the one they act from)."""
    _require_eligible(user)
    code = _normalized(code)
    problem: ApplicationError | None = None
    with transaction.atomic():
        if two_factor_enabled(user=user):
            raise Conflict("Two-step sign-in is on already.")
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user=user, confirmed=False)
            .order_by("-pk")
            .first()
        )
        if device is None:
            raise Conflict("Start the set-up again: there is no code to confirm.")
        # A refusal must not roll back the device's throttling counters: keep it for later.
        problem = _verify_problem(device, code, totp=True)
        if problem is None:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            TOTPDevice.objects.filter(user=user, confirmed=False).delete()
            codes = _backup_codes_replace(user)
            _audit(user, "two_factor.enabled", {"backup_codes": len(codes)})
    if problem is not None:
        raise problem
    ended = user_sessions_end(user=user, except_session_key=keep_session_key)
    logger.info("Two-step sign-in on for user %s (%d other session(s) ended).", user.pk, ended)
    return device, codes


def two_factor_disable(*, user: AbstractBaseUser, code: str = "", password: str = "") -> None:
    """Turn it off: every device and backup code goes. The person proves it is them once more,
    with a current code, a backup code or the password, so an unattended open browser alone
    cannot switch it off. Anyone who has it on may turn it off (also after they stopped owning
    a business)."""
    if not two_factor_enabled(user=user):
        raise Conflict("Two-step sign-in is off already.")
    if code.strip():
        two_factor_verify(user=user, code=code)
    elif password:
        if not user.check_password(password):
            raise ApplicationError("That password is not right.")
    else:
        raise ApplicationError(
            "Enter a code from your app, a backup code or your password to turn it off."
        )
    with transaction.atomic():
        for model in (TOTPDevice, StaticDevice):
            model.objects.filter(user=user).delete()
        _audit(user, "two_factor.disabled", {})
    logger.info("Two-step sign-in off for user %s.", user.pk)


def _backup_codes_replace(user: AbstractBaseUser) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=BACKUP_DEVICE_NAME, confirmed=True)
    codes: list[str] = []
    while len(codes) < BACKUP_CODE_COUNT:
        token = StaticToken.random_token()  # 8 characters of base32: 40 random bits
        if token not in codes:
            codes.append(token)
    StaticToken.objects.bulk_create(StaticToken(device=device, token=t) for t in codes)
    return codes


def _audit(user: AbstractBaseUser, verb: str, after: dict[str, Any]) -> None:
    """One event in each business the person owns, on their owner membership, so the other
    owners see it. Staff who own no business get the log line only."""
    owned = [m for m in membership_list_for_user(user=user) if m.role == Membership.Role.OWNER]
    for membership in owned:
        actor = Actor(tenant=membership.tenant, role=membership.role, user=user)
        # Written as that tenant (row-level security on PostgreSQL, mfapp.core.rls).
        with rls.tenant_context(membership.tenant_id, user_id=user.pk):
            audit_record(
                actor=actor,
                verb=verb,
                target=membership,
                after={"user": user.get_username(), **after},
            )


# --- checking a code ----------------------------------------------------------------------------
def _normalized(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "").lower()


def _verify_problem(device: Device, code: str, *, totp: bool) -> ApplicationError | None:
    """None when `device` accepts `code`, else the refusal to raise (after the transaction, so
    the device's throttling counters are saved)."""
    allowed, extra = device.verify_is_allowed()
    if not allowed:
        locked_until = (extra or {}).get("locked_until")
        wait = (
            max(1, math.ceil((locked_until - timezone.now()).total_seconds()))
            if locked_until
            else 1
        )
        return ApplicationError(
            f"Too many wrong codes in a row. Wait {wait} second{'s' if wait != 1 else ''} "
            "and try again.",
            {"retry_after": wait},
        )
    if totp and not TOTP_CODE.fullmatch(code):
        return ApplicationError(WRONG_CODE)
    if not device.verify_token(code):
        return ApplicationError(WRONG_CODE)
    return None


def two_factor_verify(*, user: AbstractBaseUser, code: str) -> Device:
    """The confirmed device that accepts `code`: six digits are checked against the app, anything
    else against the backup codes (a used backup code is deleted). Only the one device is tried,
    so a wrong code never throttles the other. Raises ApplicationError."""
    code = _normalized(code)
    if not code:
        raise ApplicationError("Enter the 6-digit code from your app, or a backup code.")
    totp = TOTP_CODE.fullmatch(code) is not None
    model: type[Device] = TOTPDevice if totp else StaticDevice
    with transaction.atomic():
        device = (
            model.objects.select_for_update()
            .filter(user=user, confirmed=True)
            .order_by("pk")
            .first()
        )
        if device is None:
            problem: ApplicationError | None = ApplicationError(WRONG_CODE)
        else:
            problem = _verify_problem(device, code, totp=totp)
    if problem is not None:
        raise problem
    if not totp:
        logger.info("User %s signed in with a backup code.", user.pk)
    return device


# --- the half-done login ------------------------------------------------------------------------
def pending_login_create(
    *, user: AbstractBaseUser, backend: str, next_url: str, now: datetime | None = None
) -> dict[str, Any]:
    """What the session keeps between the password and the code (JSON-serialisable). It logs
    no one in: Django's auth keys are set only once the code is right."""
    now = now or timezone.now()
    return {
        "user_id": str(user.pk),
        "backend": backend,
        # A password changed (or reset) meanwhile voids the half-done login.
        "auth_hash": user.get_session_auth_hash(),
        "started": now.timestamp(),
        "next": next_url,
        "attempts": 0,
    }


def pending_login_user(
    *, pending: dict[str, Any] | None, now: datetime | None = None
) -> AbstractBaseUser | None:
    """The person whose code is awaited, or None when there is no half-done login, it is older
    than PENDING_LOGIN_LIFETIME, has used up its attempts, or no longer matches the login."""
    if not isinstance(pending, dict):
        return None
    now = now or timezone.now()
    try:
        started = float(pending["started"])
        attempts = int(pending["attempts"])
        user_id = pending["user_id"]
        auth_hash = str(pending["auth_hash"])
    except (KeyError, TypeError, ValueError):
        return None
    age = now.timestamp() - started
    if not 0 <= age <= PENDING_LOGIN_LIFETIME.total_seconds():
        return None
    if attempts >= PENDING_LOGIN_MAX_ATTEMPTS:
        return None
    user = get_user_model()._default_manager.filter(pk=user_id, is_active=True).first()
    if user is None or not constant_time_compare(user.get_session_auth_hash(), auth_hash):
        return None
    return user

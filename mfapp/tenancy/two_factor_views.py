"""Two-step sign-in in the browser: the login's second step, the account security page (set up,
backup codes, turn off) and the admin's login form. The rules live in `two_factor`.

Wrong codes count as failed logins for django-axes (the same username and address, the same
limit and cool-off as wrong passwords): the code step sends Django's `user_login_failed`, which
axes records, and refuses a locked-out pair before looking at the code.
"""

from typing import Any
from urllib.parse import urlencode

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_lockout_response
from django import forms
from django.contrib import messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login

from mfapp.core.exceptions import ApplicationError, PermissionDenied
from mfapp.core.web import form_errors_from
from mfapp.tenancy import two_factor
from mfapp.tenancy.two_factor import (
    PENDING_LOGIN_LIFETIME,
    PENDING_LOGIN_MAX_ATTEMPTS,
    pending_login_create,
    pending_login_user,
    totp_qr_svg,
    totp_secret,
    totp_setup_pending,
    totp_setup_start,
    two_factor_disable,
    two_factor_enable,
    two_factor_enabled,
    two_factor_status,
    two_factor_verify,
)

PENDING_SESSION_KEY = "two_factor_pending"
CODE_FIELD = "otp_token"
CODE_WIDGET_ATTRS = {
    "autocomplete": "one-time-code",
    "inputmode": "text",
    "autocapitalize": "none",
    "spellcheck": "false",
    "autofocus": True,
}


class CodeForm(forms.Form):
    otp_token = forms.CharField(
        label="Code",
        max_length=32,
        strip=True,
        help_text="No phone at hand? Enter one of your backup codes instead; each works once.",
        widget=forms.TextInput(attrs=CODE_WIDGET_ATTRS),
    )


class ConfirmDeviceForm(forms.Form):
    otp_token = forms.CharField(
        label="Code from the app",
        max_length=32,
        strip=True,
        help_text="The 6 digits your app shows for mfapp.",
        widget=forms.TextInput(attrs={**CODE_WIDGET_ATTRS, "inputmode": "numeric"}),
    )


class DisableForm(forms.Form):
    otp_token = forms.CharField(
        label="Code from your app or a backup code",
        max_length=32,
        required=False,
        strip=True,
        widget=forms.TextInput(attrs={**CODE_WIDGET_ATTRS, "autofocus": False}),
    )
    password = forms.CharField(
        label="Or your password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


def _posted(request: HttpRequest) -> Any:
    return request.POST if request.method == "POST" else None


def _count_failure(request: HttpRequest, username: str) -> None:
    """A wrong code is a failed login for django-axes. Axes keeps the POST data of failures
    for staff; the code is masked first (a mistyped backup code is close to a real one)."""
    if CODE_FIELD in request.POST:
        masked = request.POST.copy()
        masked[CODE_FIELD] = "********************"
        request.POST = masked  # type: ignore[misc]
    user_login_failed.send(sender=__name__, credentials={"username": username}, request=request)


def _locked_out(request: HttpRequest, username: str) -> HttpResponse | None:
    credentials = {"username": username}
    if AxesProxyHandler.is_locked(request, credentials):
        return get_lockout_response(request, None, credentials)
    return None


# --- login ----------------------------------------------------------------------------------
class TwoFactorLoginView(auth_views.LoginView):
    """Django's login; for a person with two-step sign-in on, a right password does not log in
    yet but leads to the code step."""

    def form_valid(self, form: Any) -> HttpResponse:
        user = form.get_user()
        if not two_factor_enabled(user=user):
            return super().form_valid(form)
        # A new session key now (and again at the real login), so a key planted before the
        # password was typed cannot be used to enter the code.
        self.request.session.cycle_key()
        self.request.session[PENDING_SESSION_KEY] = pending_login_create(
            user=user, backend=user.backend, next_url=self.get_success_url()
        )
        return HttpResponseRedirect(reverse("login-code"))


def _restart_login(request: HttpRequest, pending: Any, message: str) -> HttpResponse:
    request.session.pop(PENDING_SESSION_KEY, None)
    if message:
        messages.error(request, message)
    url = reverse("login")
    next_url = pending.get("next") if isinstance(pending, dict) else None
    if next_url and next_url != resolve_url("home"):
        url = f"{url}?{urlencode({'next': next_url})}"
    return HttpResponseRedirect(url)


@sensitive_post_parameters(CODE_FIELD)
@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def login_code_view(request: HttpRequest) -> HttpResponse:
    """The second step: the code from the app (or a backup code) for the person whose password
    was right less than five minutes ago in this browser."""
    pending = request.session.get(PENDING_SESSION_KEY)
    user = pending_login_user(pending=pending)
    if user is None:
        minutes = int(PENDING_LOGIN_LIFETIME.total_seconds() // 60)
        message = (
            f"Your sign-in expired (the code is needed within {minutes} minutes of the "
            "password). Please log in again."
            if pending
            else ""
        )
        return _restart_login(request, pending, message)
    username = user.get_username()
    locked = _locked_out(request, username)
    if locked is not None:
        request.session.pop(PENDING_SESSION_KEY, None)
        return locked
    form = CodeForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            device = two_factor_verify(user=user, code=form.cleaned_data[CODE_FIELD])
        except ApplicationError as exc:
            form.add_error(CODE_FIELD, exc.message)
            pending["attempts"] = int(pending.get("attempts", 0)) + 1
            request.session[PENDING_SESSION_KEY] = pending
            _count_failure(request, username)
            if pending["attempts"] >= PENDING_LOGIN_MAX_ATTEMPTS:
                return _restart_login(
                    request, pending, "Too many wrong codes. Please log in again."
                )
        else:
            request.session.pop(PENDING_SESSION_KEY, None)
            auth_login(request, user, backend=pending["backend"])  # new session key, axes reset
            otp_login(request, device)
            return HttpResponseRedirect(pending.get("next") or resolve_url("home"))
    context = {"form": form, "username": username}
    return render(
        request, "registration/login_code.html", context, status=400 if form.errors else 200
    )


# --- the account security page --------------------------------------------------------------
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def two_factor_view(request: HttpRequest) -> HttpResponse:
    """The state of two-step sign-in; POST starts the set-up with a fresh secret."""
    if request.method == "POST":
        try:
            totp_setup_start(user=request.user)
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(exc.message) from None
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(reverse("two-factor"))
        return HttpResponseRedirect(reverse("two-factor-setup"))
    status = two_factor_status(user=request.user)
    context = {
        "status": status,
        "disable_form": DisableForm() if status.enabled else None,
        "pending": status.eligible and not status.enabled and totp_setup_pending(user=request.user),
    }
    return render(request, "accounts/two_factor.html", context)


@sensitive_post_parameters(CODE_FIELD)
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def two_factor_setup_view(request: HttpRequest) -> HttpResponse:
    """The QR code and the secret of the device being set up, and the code that confirms it.
    The answer to a right code shows the backup codes, once."""
    user = request.user
    if not two_factor.two_factor_eligible(user=user):
        raise DjangoPermissionDenied(two_factor.NOT_ELIGIBLE)
    device = totp_setup_pending(user=user)
    if device is None or two_factor_enabled(user=user):
        return HttpResponseRedirect(reverse("two-factor"))
    form = ConfirmDeviceForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            device, codes = two_factor_enable(
                user=user,
                code=form.cleaned_data[CODE_FIELD],
                keep_session_key=request.session.session_key,
            )
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(exc.message) from None
        except ApplicationError as exc:
            form_errors_from(form, exc)
        else:
            otp_login(request, device)  # this session proved the code: it counts as verified
            return render(request, "accounts/two_factor_backup_codes.html", {"codes": codes})
    context = {
        "form": form,
        "qr_svg": totp_qr_svg(device),
        "secret": totp_secret(device),
        "account": user.get_username(),
    }
    return render(
        request, "accounts/two_factor_setup.html", context, status=400 if form.errors else 200
    )


@sensitive_post_parameters(CODE_FIELD, "password")
@never_cache
@login_required
@require_POST
def two_factor_disable_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = DisableForm(request.POST)
    if form.is_valid():
        username = user.get_username()
        locked = _locked_out(request, username)
        if locked is not None:
            return locked
        code, password = form.cleaned_data[CODE_FIELD], form.cleaned_data["password"]
        try:
            two_factor_disable(user=user, code=code, password=password)
        except ApplicationError as exc:
            form_errors_from(form, exc)
            if code or password:
                _count_failure(request, username)
        else:
            messages.success(request, "Two-step sign-in is off. Your password alone logs you in.")
            return HttpResponseRedirect(reverse("two-factor"))
    context = {"status": two_factor_status(user=user), "disable_form": form, "pending": None}
    return render(request, "accounts/two_factor.html", context, status=400)


# --- the admin's login ----------------------------------------------------------------------
class TwoFactorAdminLoginForm(AdminAuthenticationForm):
    """The admin's login with one more field: staff with two-step sign-in on give the code on
    the same page (django-otp's OTPAdminSite would refuse staff without a device altogether)."""

    otp_token = forms.CharField(
        label="Code (if two-step sign-in is on)",
        max_length=32,
        required=False,
        strip=True,
        widget=forms.TextInput(attrs={**CODE_WIDGET_ATTRS, "autofocus": False}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()  # the password, axes' lockout and is_staff
        user = self.get_user()
        if user is None or not two_factor_enabled(user=user):
            return cleaned
        code = cleaned.get(CODE_FIELD, "")
        if not code:
            raise ValidationError(
                "Two-step sign-in is on for this login: enter the code from your app "
                "(or a backup code) too.",
                code="otp_required",
            )
        try:
            device = two_factor_verify(user=user, code=code)
        except ApplicationError as exc:
            if self.request is not None:
                _count_failure(self.request, user.get_username())
            raise ValidationError(exc.message, code="otp_invalid") from None
        # django-otp's user_logged_in receiver marks the new session as verified by it.
        user.otp_device = device
        return cleaned

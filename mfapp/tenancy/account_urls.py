"""Accounts: login (with its two-step code), logout, password change and reset, two-step
sign-in, sign-up and accepting an invitation (no namespace: Django's own names, so its views
and `LOGIN_URL` find them)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from mfapp.tenancy import two_factor_views, views

urlpatterns = [
    path("login/", two_factor_views.TwoFactorLoginView.as_view(), name="login"),
    path("login/code/", two_factor_views.login_code_view, name="login-code"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("password/reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("two-factor/", two_factor_views.two_factor_view, name="two-factor"),
    path("two-factor/setup/", two_factor_views.two_factor_setup_view, name="two-factor-setup"),
    path("two-factor/off/", two_factor_views.two_factor_disable_view, name="two-factor-disable"),
    path("signup/", views.signup_view, name="signup"),
    path("invitations/<str:token>/", views.invitation_accept_view, name="invitation-accept"),
]

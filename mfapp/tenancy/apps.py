from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "mfapp.tenancy"
    label = "tenancy"
    verbose_name = "Tenancy"

    def ready(self) -> None:
        # The admin's login asks staff with two-step sign-in on for their code as well
        # (mfapp.tenancy.two_factor_views).
        from django.contrib import admin

        from mfapp.tenancy.two_factor_views import TwoFactorAdminLoginForm

        admin.site.login_form = TwoFactorAdminLoginForm
        admin.site.login_template = "admin/two_factor_login.html"

"""Settings pages of the tenant: sites and members (mounted under the `tenancy` namespace)."""

from django.urls import path

from mfapp.tenancy import views

app_name = "tenancy"

urlpatterns = [
    path("sites/", views.site_list_view, name="site-list"),
    path("sites/new/", views.site_create_view, name="site-create"),
    path("sites/<int:site_id>/", views.site_update_view, name="site-update"),
    path("sites/<int:site_id>/delete/", views.site_delete_view, name="site-delete"),
    path("members/", views.member_list_view, name="member-list"),
    path("members/<int:membership_id>/role/", views.member_role_view, name="member-role"),
    path("members/<int:membership_id>/remove/", views.member_remove_view, name="member-remove"),
    path("invitations/", views.invitation_create_view, name="invitation-create"),
    path(
        "invitations/<int:invitation_id>/revoke/",
        views.invitation_revoke_view,
        name="invitation-revoke",
    ),
    path("businesses/new/", views.tenant_create_view, name="tenant-create"),
]

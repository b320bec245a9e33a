"""Browser pages of the machines app (the `machines` URL namespace, mounted at machines/)."""

from django.urls import path

from mfapp.machines import views

app_name = "machines"

urlpatterns = [
    path("", views.machine_list_view, name="machine-list"),
    path("new/", views.machine_create_view, name="machine-create"),
    path("<int:machine_id>/", views.machine_detail_view, name="machine-detail"),
    path("<int:machine_id>/edit/", views.machine_update_view, name="machine-update"),
    path("<int:machine_id>/delete/", views.machine_delete_view, name="machine-delete"),
    path(
        "<int:machine_id>/status/",
        views.machine_change_status_view,
        name="machine-change-status",
    ),
    path(
        "<int:machine_id>/maintenance/",
        views.maintenance_window_create_view,
        name="maintenance-window-create",
    ),
    path(
        "<int:machine_id>/maintenance/<int:window_id>/delete/",
        views.maintenance_window_delete_view,
        name="maintenance-window-delete",
    ),
]

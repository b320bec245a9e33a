"""The shop-floor pages (mounted under the `shopfloor` namespace)."""

from django.urls import path

from mfapp.production import shopfloor_views as views

app_name = "shopfloor"

urlpatterns = [
    path("", views.machine_list_view, name="machine-list"),
    path("<int:machine_id>/", views.machine_view, name="machine"),
    path(
        "<int:machine_id>/operations/<int:operation_id>/<slug:action>/",
        views.operation_action_view,
        name="operation-action",
    ),
]

"""The plan pages (the `scheduling` URL namespace, mounted at plan/)."""

from django.urls import path

from mfapp.scheduling import views

app_name = "scheduling"

urlpatterns = [
    path("", views.plan_view, name="plan"),
    path("<int:site_id>/", views.gantt_view, name="gantt"),
    path("<int:site_id>/replan/", views.replan_view, name="replan"),
    path("<int:site_id>/runs/latest/", views.run_latest_view, name="run-latest"),
    path("<int:site_id>/runs/<int:run_id>/", views.run_status_view, name="run-status"),
]

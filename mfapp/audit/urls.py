"""The audit log page (the `audit` URL namespace, mounted at settings/audit/)."""

from django.urls import path

from mfapp.audit import views

app_name = "audit"

urlpatterns = [
    path("", views.audit_event_list_view, name="event-list"),
]

from django.urls import path

from mfapp.integrations import views

urlpatterns = [
    path("", views.webhook_endpoint_list_view, name="webhook-endpoint-list"),
    path("<int:endpoint_id>/", views.webhook_endpoint_detail_view, name="webhook-endpoint-detail"),
    path(
        "<int:endpoint_id>/<slug:action>/",
        views.webhook_endpoint_action_view,
        name="webhook-endpoint-action",
    ),
    path(
        "deliveries/<int:delivery_id>/redeliver/",
        views.webhook_delivery_redeliver_view,
        name="webhook-delivery-redeliver",
    ),
]

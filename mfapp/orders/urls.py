"""Browser pages of the orders app (the `orders` URL namespace, mounted at orders/)."""

from django.urls import path

from mfapp.orders import views

app_name = "orders"

urlpatterns = [
    path("", views.order_list_view, name="order-list"),
    path("new/", views.order_create_view, name="order-create"),
    path("import/", views.order_import_view, name="order-import"),
    path("import/example.csv", views.order_import_template_view, name="order-import-template"),
    path("<int:order_id>/", views.order_detail_view, name="order-detail"),
    path("<int:order_id>/confirm/", views.order_confirm_view, name="order-confirm"),
    path("<int:order_id>/cancel/", views.order_cancel_view, name="order-cancel"),
    path("<int:order_id>/lines/", views.order_line_add_view, name="order-line-add"),
]

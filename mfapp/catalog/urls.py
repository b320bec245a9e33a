"""Browser pages of the catalog app (the `catalog` URL namespace, mounted at the site root)."""

from django.urls import path

from mfapp.catalog import views

app_name = "catalog"

STEP = "products/<int:product_id>/steps/<int:step_id>/"
LINE = "products/<int:product_id>/bom/<int:line_id>/"

urlpatterns = [
    path("products/", views.product_list_view, name="product-list"),
    path("products/new/", views.product_create_view, name="product-create"),
    path("products/<int:product_id>/", views.product_detail_view, name="product-detail"),
    path("products/<int:product_id>/edit/", views.product_update_view, name="product-update"),
    path("products/<int:product_id>/delete/", views.product_delete_view, name="product-delete"),
    path(
        "products/<int:product_id>/steps/",
        views.routing_step_list_view,
        name="routing-step-list",
    ),
    path(
        "products/<int:product_id>/steps/new/",
        views.routing_step_create_view,
        name="routing-step-create",
    ),
    path(f"{STEP}edit/", views.routing_step_edit_view, name="routing-step-edit"),
    path(f"{STEP}move/", views.routing_step_move_view, name="routing-step-move"),
    path(f"{STEP}delete/", views.routing_step_delete_view, name="routing-step-delete"),
    path("products/<int:product_id>/bom/", views.bom_line_list_view, name="bom-line-list"),
    path(
        "products/<int:product_id>/bom/new/",
        views.bom_line_create_view,
        name="bom-line-create",
    ),
    path(f"{LINE}edit/", views.bom_line_edit_view, name="bom-line-edit"),
    path(f"{LINE}delete/", views.bom_line_delete_view, name="bom-line-delete"),
    path("materials/", views.material_list_view, name="material-list"),
    path("materials/new/", views.material_create_view, name="material-create"),
    path("materials/<int:material_id>/", views.material_row_view, name="material-row"),
    path(
        "materials/<int:material_id>/adjust/",
        views.material_adjust_view,
        name="material-adjust",
    ),
]

"""Browser pages of the production app (the `production` URL namespace, under batches/)."""

from django.urls import path

from mfapp.production import views

app_name = "production"

urlpatterns = [
    path("", views.batch_board_view, name="batch-board"),
    path("columns/<str:status>/", views.batch_board_column_view, name="batch-board-column"),
    path("<int:batch_id>/", views.batch_detail_view, name="batch-detail"),
    path("<int:batch_id>/move/", views.batch_move_view, name="batch-move"),
    path(
        "<int:batch_id>/quality-checks/",
        views.batch_quality_check_create_view,
        name="batch-quality-check-create",
    ),
    path(
        "<int:batch_id>/consumption/",
        views.batch_consumption_create_view,
        name="batch-consumption-create",
    ),
    path("<int:batch_id>/traveller/", views.batch_traveller_view, name="batch-traveller"),
]

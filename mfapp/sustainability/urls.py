"""Report pages (the `sustainability` URL namespace, mounted at reports/)."""

from django.urls import path

from mfapp.sustainability import views

app_name = "sustainability"

urlpatterns = [
    path("", views.report_list_view, name="report-list"),
    path("request/", views.report_request_view, name="report-request"),
    path("<int:report_id>/", views.report_detail_view, name="report-detail"),
    path("<int:report_id>/row/", views.report_row_view, name="report-row"),
    path("<int:report_id>/csv/", views.report_csv_view, name="report-csv"),
    path("<int:report_id>/json/", views.report_json_view, name="report-json"),
    path("<int:report_id>/pdf/", views.report_pdf_view, name="report-pdf"),
]

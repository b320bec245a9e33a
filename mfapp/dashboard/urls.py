from django.urls import path

from mfapp.dashboard import views

urlpatterns = [
    path("", views.home_view, name="home"),
]

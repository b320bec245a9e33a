"""The project's URLs plus stand-ins for the pages the dashboard links to, so the links are
tested whether or not those apps have their pages yet (the first namespace listed wins)."""

from django.http import HttpResponse
from django.urls import include, path

from mfapp.urls import urlpatterns as project_urlpatterns


def _page(request):
    return HttpResponse("stand-in")


def _app(namespace, name):
    return include(([path("", _page, name=name)], namespace))


urlpatterns = [
    path("stand-in/batches/", _app("production", "batch-board")),
    path("stand-in/orders/", _app("orders", "order-list")),
    path("stand-in/machines/", _app("machines", "machine-list")),
    *project_urlpatterns,
]

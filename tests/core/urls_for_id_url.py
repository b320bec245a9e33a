from django.http import HttpResponse
from django.urls import path, register_converter


class HexConverter:
    regex = "[0-9a-f]+"

    def to_python(self, value: str) -> int:
        return int(value, 16)

    def to_url(self, value: int) -> str:
        return f"{value:x}"


register_converter(HexConverter, "hex")


def _view(request, pk):
    return HttpResponse()


urlpatterns = [
    path("things/<int:pk>/", _view, name="thing"),
    path("hex/<hex:pk>/", _view, name="hex-thing"),
]

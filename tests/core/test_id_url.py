"""`id_urls`: the URLs `reverse()` gives for objects' ids, from one reversal per view name."""

import pytest
from django.test import override_settings
from django.urls import NoReverseMatch, reverse, set_script_prefix

from mfapp.core.web import id_urls


@pytest.mark.parametrize("pk", [1, 42, 987654321])
@pytest.mark.parametrize(
    "viewname", ["production:batch-detail", "production:batch-move", "scheduling:gantt"]
)
def test_it_matches_reverse(viewname, pk):
    assert id_urls(viewname)(pk) == reverse(viewname, args=[pk])


def test_it_follows_the_script_prefix():
    set_script_prefix("/mfapp/")
    try:
        assert id_urls("production:batch-detail")(7) == "/mfapp/batches/7/"
        assert id_urls("production:batch-detail")(7) == reverse("production:batch-detail", args=[7])
    finally:
        set_script_prefix("/")
    assert id_urls("production:batch-detail")(7) == "/batches/7/"


@override_settings(ROOT_URLCONF="tests.core.urls_for_id_url")
def test_it_follows_the_url_configuration():
    assert id_urls("thing")(3) == "/things/3/"


def test_a_view_without_one_id_is_refused_as_reverse_refuses_it():
    with pytest.raises(NoReverseMatch):
        id_urls("home")(1)


@override_settings(ROOT_URLCONF="tests.core.urls_for_id_url")
def test_an_id_the_url_does_not_show_as_written_is_refused():
    with pytest.raises(
        ValueError, match="hex-thing does not take one id written as a plain integer"
    ):
        id_urls("hex-thing")(255)

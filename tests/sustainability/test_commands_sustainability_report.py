"""`manage.py sustainability_report`: the JSON it prints is the document, errors are clear."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from mfapp.sustainability.services import report_document
from tests.sustainability.scenario import JANUARY, build_world, with_settings

pytestmark = pytest.mark.django_db


def _run(*args):
    out = StringIO()
    call_command("sustainability_report", *args, stdout=out)
    return out.getvalue()


def _without_time(document):
    return {k: v for k, v in document.items() if k != "generated_at"}


def test_json_is_exactly_the_document(tenant):
    with_settings(tenant)
    world = build_world(tenant)
    for site in (None, world.site):
        args = ["--tenant", "acme", "--start", "2026-01-01", "--end", "2026-01-31", "--json"]
        if site is not None:
            args += ["--site", str(site.pk)]

        printed = json.loads(_run(*args))

        expected = report_document(tenant=tenant, start=JANUARY[0], end=JANUARY[1], site=site)
        assert _without_time(printed) == _without_time(json.loads(json.dumps(expected)))
        assert printed["totals"]["total_kgco2e"] == 14.091


def test_without_json_a_short_summary(tenant):
    with_settings(tenant)
    build_world(tenant)

    out = _run("--tenant", "acme", "--start", "2026-01-01", "--end", "2026-01-31")

    assert out.splitlines()[0] == "Acme Microfactory (all sites), 2026-01-01 to 2026-01-31"
    assert "Total                   14.091 kgCO2e" in out
    assert "Per unit                 0.783 kgCO2e" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tenant", "nobody"], "No tenant with the slug 'nobody'."),
        (["--tenant", "acme", "--start", "2026-13-01"], "--start must be a date as YYYY-MM-DD"),
        (["--tenant", "acme", "--end", "31.01.2026"], "--end must be a date as YYYY-MM-DD"),
        (["--tenant", "acme", "--start", "2026-02-01"], "--end is before --start."),
        (["--tenant", "acme", "--site", "999999"], "Site not found."),
    ],
)
def test_clear_errors(tenant, args, message):
    defaults = {"--start": "2026-01-01", "--end": "2026-01-31"}
    for name, value in defaults.items():
        if name not in args:
            args = [*args, name, value]

    with pytest.raises(CommandError) as exc_info:
        _run(*args)

    assert str(exc_info.value).startswith(message)

"""The report's number of queries does not grow with the number of rows."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mfapp.sustainability.factor_data import ensure_factors_loaded, factor_rows
from mfapp.sustainability.models import EmissionFactor
from mfapp.sustainability.services import report_document
from tests.sustainability.scenario import JANUARY, build_world, with_settings

pytestmark = pytest.mark.django_db


def _queries(tenant) -> int:
    with CaptureQueriesContext(connection) as captured:
        report_document(tenant=tenant, start=JANUARY[0], end=JANUARY[1])
    return len(captured)


def test_the_query_count_does_not_grow_with_rows(tenant):
    with_settings(tenant)
    build_world(tenant)
    build_world(tenant, shift=-timedelta(days=31), tag="-dec")  # the comparison has rows too
    few = _queries(tenant)

    for day in range(1, 6):  # five more copies of the month's activity: 5x the rows
        build_world(tenant, shift=timedelta(days=day), tag=f"-{day}")
    many = _queries(tenant)

    assert few == many == 24


def test_every_csv_row_is_in_the_factor_table():
    ensure_factors_loaded()  # as the migration left them (a flush elsewhere may have emptied)
    rows = factor_rows()
    stored = {(f.kind, f.key): f for f in EmissionFactor.objects.all()}

    assert len(stored) == len(rows) == 163
    for row in rows:
        factor = stored[(row.kind, row.key)]
        assert (factor.value, factor.unit, factor.year, factor.is_proxy) == (
            row.value,
            row.unit,
            row.year,
            row.is_proxy,
        )
        assert factor.source
        assert factor.licence
    assert stored[("grid_electricity", "EU27")].is_proxy
    assert stored[("grid_electricity", "WORLD_FALLBACK")].is_proxy
    assert not stored[("grid_electricity", "DE")].is_proxy
    assert stored[("grid_electricity", "DE")].year == 2023
    assert stored[("machine_power", "sls_small_avg_power")].is_proxy  # "approximated"
    assert stored[("machine_power", "fdm_desktop_peak_power_measured_300mm_bed")].year is None

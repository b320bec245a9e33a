"""CSV, JSON and PDF of a report document: the same numbers in all three."""

import csv
import io
import json

import pytest
from weasyprint.formatting_structure.boxes import TextBox

from mfapp.sustainability.exports import (
    download_filename,
    report_csv,
    report_json,
    report_pdf,
    report_pdf_html,
    report_pdf_layout,
)

A4_CSS_PX = (793.7, 1122.5)  # 210 x 297 mm at 96 px per inch


def _csv_rows(document):
    text = report_csv(document)
    return list(csv.DictReader(io.StringIO(text)))


def csv_section(document, section):
    """{metric: value} of a section without keys (totals, transport, data_quality)."""
    return {r["metric"]: r["value"] for r in _csv_rows(document) if r["section"] == section}


def pdf_pages_text(layout):
    """The text WeasyPrint laid out on each page, in reading order."""
    return [
        " ".join(box.text for box in page._page_box.descendants() if isinstance(box, TextBox))
        for page in layout.pages
    ]


def test_json_is_exactly_the_document(report_document):
    report_document["per_product"][0]["name"] = "Lampe für Küche"

    data = report_json(report_document)

    assert json.loads(data) == report_document
    assert "Lampe für Küche".encode() in data  # UTF-8, not \\u escapes
    assert list(json.loads(data)) == list(report_document)  # keys in the document's order


def test_csv_is_one_long_table_with_a_section_column(report_document):
    rows = _csv_rows(report_document)

    assert list(rows[0]) == ["section", "key", "name", "metric", "value", "unit"]
    sections = list(dict.fromkeys(r["section"] for r in rows))
    assert sections == [
        "report", "totals", "per_site", "per_product", "per_machine", "per_month", "materials",
        "transport", "previous_period", "change", "data_quality", "factors",
    ]  # fmt: skip
    # One row per value: 8 about the report, 16 totals, 11 per site, 8 per product, 6 per
    # machine, 7 per month, 5 per material, 7 transport, 16 + 16 comparison, 3 shares + 2 notes,
    # 6 per factor.
    assert len(rows) == 8 + 16 + 2 * 11 + 3 * 8 + 3 * 6 + 3 * 7 + 2 * 5 + 7 + 16 + 16 + 5 + 3 * 6


def test_csv_totals_are_the_documents_numbers_with_units(report_document):
    rows = [r for r in _csv_rows(report_document) if r["section"] == "totals"]

    assert {r["metric"]: float(r["value"]) for r in rows} == report_document["totals"]
    units = {r["metric"]: r["unit"] for r in rows}
    assert units["total_kgco2e"] == "kgCO2e"
    assert units["energy_kwh"] == "kWh"
    assert units["kgco2e_per_unit"] == "kgCO2e/unit"
    assert units["scrap_rate"] == "fraction"
    assert units["units_good"] == "units"
    assert units["material_input_kg"] == "kg"


def test_csv_rows_of_each_section(report_document):
    rows = _csv_rows(report_document)

    def pick(section, key, metric):
        (row,) = [
            r for r in rows if (r["section"], r["key"], r["metric"]) == (section, key, metric)
        ]
        return row["name"], row["value"], row["unit"]

    assert pick("per_site", "1", "grid_factor_kgco2e_per_kwh") == ("Berlin", "0.3809", "kgCO2e/kWh")
    assert pick("per_site", "2", "country") == ("Lyon", "FR", "")
    assert pick("per_product", "P-2", "kgco2e_per_unit") == ("Lamp shade", "6.0", "kgCO2e/unit")
    assert pick("per_product", "P-3", "kgco2e_per_unit") == ("Prototype", "", "kgCO2e/unit")
    assert pick("per_machine", "22", "running_hours") == ("Laser cutter", "120.25", "h")
    assert pick("per_month", "2026-02", "total_kgco2e") == ("Feb 2026", "175.0", "kgCO2e")
    assert pick("materials", "PLA-BLK", "scrap_kg") == ("PLA black", "1.5", "kg")
    assert pick("transport", "", "tonne_km") == ("", "19.693", "tonne-km")
    assert pick("previous_period", "2025-10-01/2025-12-31", "total_kgco2e") == (
        "",
        "400.0",
        "kgCO2e",
    )
    assert pick("change", "2025-10-01/2025-12-31", "total_kgco2e") == ("", "-0.1", "fraction")
    assert pick("factors", "material:petg", "value") == ("petg", "3.864", "kgCO2e/kg")
    assert pick("factors", "material:petg", "year") == ("petg", "", "")
    assert pick("factors", "material:petg", "proxy") == ("petg", "true", "")
    assert pick("factors", "market_electricity:Berlin", "override") == ("Berlin", "site", "")
    assert pick("factors", "grid_electricity:DE", "override") == ("DE", "", "")
    legs = [{"mode": "sea_container", "km": 19000}]
    report_document["transport"]["baseline_legs"] = legs
    (row,) = [r for r in _csv_rows(report_document) if r["metric"] == "baseline_legs"]
    assert json.loads(row["value"]) == legs  # nested values as JSON
    notes = [r["value"] for r in rows if r["metric"] == "note"]
    assert notes == report_document["data_quality"]["notes"]


def test_csv_text_that_a_spreadsheet_would_run_is_neutralised(report_document):
    report_document["per_product"][0]["name"] = '=HYPERLINK("http://x.test","click")'
    report_document["materials"][0]["name"] = "-2+3"

    rows = _csv_rows(report_document)

    names = {r["name"] for r in rows if r["section"] in ("per_product", "materials")}
    assert '\'=HYPERLINK("http://x.test","click")' in names
    assert "'-2+3" in names
    assert "-0.1" in {r["value"] for r in rows if r["section"] == "change"}  # numbers stay


def test_the_pdf_is_a4_with_numbered_pages_and_the_charts(report_document):
    layout = report_pdf_layout(report_document)
    pages = pdf_pages_text(layout)

    assert [(round(p.width, 1), round(p.height, 1)) for p in layout.pages] == [A4_CSS_PX] * len(
        pages
    )
    assert [f"Page {n} of {len(pages)}" in text for n, text in enumerate(pages, 1)] == [True] * len(
        pages
    )
    text = " ".join(pages)
    assert "Sustainability report · Acme Microfactory" in text
    for title in ("Emissions by month", "Intensity per product", "Energy by machine",
                  "Materials and scrap", "Per site", "Methodology", "Data quality"):  # fmt: skip
        assert title in text
    html = report_pdf_html(report_document)
    assert html.count('<svg class="chart"') == 4
    assert 'fill="url(#chart-emissions-avoided)"' in html
    assert "@bottom-right" in html
    assert "DEFRA 2025 material use, PET incl. forming" in text
    assert report_pdf(report_document).startswith(b"%PDF-")


def test_the_pdf_escapes_names(report_document):
    report_document["per_product"][0]["name"] = '<img src="file:///etc/passwd">'

    html = report_pdf_html(report_document)

    assert '<img src="file:///etc/passwd">' not in html
    assert '<img src="file:///etc/passwd">' in " ".join(
        pdf_pages_text(report_pdf_layout(report_document))
    )


def test_csv_json_and_pdf_agree_on_the_totals(report_document):
    totals = report_document["totals"]

    from_csv = {k: float(v) for k, v in csv_section(report_document, "totals").items()}
    from_json = json.loads(report_json(report_document))["totals"]
    pdf_text = " ".join(pdf_pages_text(report_pdf_layout(report_document)))

    assert from_csv == from_json == totals
    # The PDF's table of months ends with the period's totals, to the gram.
    assert "Period 400.500 152.100 100.000 192.500 15.400 360.000 125" in pdf_text
    assert "Avoided transport (separate, not subtracted) 42.250 kgCO2e" in pdf_text
    assert "360.0  kgCO2e Total emissions" in pdf_text
    assert "2.880  kgCO2e Per good unit" in pdf_text


@pytest.mark.parametrize(
    ("site", "filename"),
    [
        (None, "mfapp-report-acme-2026-01-01-2026-03-31.csv"),
        ({"id": 1, "name": "Berlin Süd", "country": "DE"},
         "mfapp-report-acme-berlin-sud-2026-01-01-2026-03-31.csv"),
        ({"id": 7, "name": "工场", "country": "JP"},
         "mfapp-report-acme-site-7-2026-01-01-2026-03-31.csv"),
    ],
)  # fmt: skip
def test_download_filenames_name_the_tenant_site_and_period(report_document, site, filename):
    report_document["site"] = site

    assert download_filename(report_document, "csv") == filename

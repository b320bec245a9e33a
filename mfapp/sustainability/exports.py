"""The report document as downloads: CSV, JSON and a print-ready PDF (WeasyPrint).

All three are made from the stored document (`report.data`) and nothing else, so their totals
agree by construction:
- JSON is exactly the document (what the API and `manage.py sustainability_report --json` give);
- CSV is one table in long form, one value per row, with the columns
  `section,key,name,metric,value,unit`: filter on `section` (report, totals, per_site,
  per_product, per_machine, per_month, materials, transport, previous_period, change,
  data_quality, factors) and pivot on `metric` to get any table of the report. Numbers are
  written as the document holds them (no rounding, `.` as decimal point), nested values as
  JSON, booleans as true/false, no value as an empty cell; text cells that a spreadsheet would
  run as a formula (starting with = + - @) are prefixed with `'`;
- PDF is templates/sustainability/report_pdf.html (the page's charts as inline SVG and its
  tables, A4, numbered pages) rendered by WeasyPrint, which fetches nothing from outside.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.template.loader import render_to_string
from django.utils.text import slugify

from mfapp.sustainability.charts import month_name, report_view

CSV_COLUMNS = ("section", "key", "name", "metric", "value", "unit")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PDF_TEMPLATE = "sustainability/report_pdf.html"


def download_filename(document: dict, extension: str) -> str:
    """mfapp-report-<tenant>[-<site>]-<start>-<end>.<extension>"""
    parts = ["mfapp-report", document["tenant"]["slug"]]
    if document.get("site"):
        parts.append(slugify(document["site"]["name"]) or f"site-{document['site']['id']}")
    parts += [document["period"]["start"], document["period"]["end"]]
    return f"{'-'.join(parts)}.{extension}"


# --- JSON ------------------------------------------------------------------------------------
def report_json(document: dict) -> bytes:
    """Exactly the document, keys in its order, UTF-8."""
    return json.dumps(document, indent=2, ensure_ascii=False).encode()


# --- CSV -------------------------------------------------------------------------------------
def unit_of(metric: str) -> str:
    if metric.endswith("kgco2e_per_kwh"):
        return "kgCO2e/kWh"
    if metric.endswith("kgco2e_per_unit"):
        return "kgCO2e/unit"
    if metric == "kgco2e" or metric.endswith("_kgco2e"):
        return "kgCO2e"
    if metric.endswith("_kwh"):
        return "kWh"
    if metric.endswith("_kg"):
        return "kg"
    if metric.endswith(("_share", "_rate", "_efficiency")):
        return "fraction"
    if metric.startswith("units_"):
        return "units"
    return {"running_hours": "h", "tonne_km": "tonne-km", "shipments": "shipments"}.get(metric, "")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _entries(
    section: str, entries: list[dict], key_field: str, name_field: str, name=None
) -> Iterator[tuple]:
    """One row per field of each entry, except the fields naming it (and ids, which only the
    key may be)."""
    for entry in entries:
        key = entry.get(key_field)
        label = name(entry) if name else entry.get(name_field)
        for metric, value in entry.items():
            if metric in (key_field, name_field) or metric.endswith("_id"):
                continue
            yield section, key, label, metric, value, unit_of(metric)


def _rows(document: dict) -> Iterator[tuple]:
    site = document.get("site")
    metadata = {
        "schema": document.get("schema"),
        "tenant": document["tenant"]["name"],
        "tenant_slug": document["tenant"]["slug"],
        "site": site["name"] if site else "all sites",
        "period_start": document["period"]["start"],
        "period_end": document["period"]["end"],
        "generated_at": document.get("generated_at"),
        "boundary": document.get("boundary"),
    }
    for metric, value in metadata.items():
        yield "report", "", "", metric, value, ""
    for metric, value in (document.get("totals") or {}).items():
        yield "totals", "", "", metric, value, unit_of(metric)
    yield from _entries("per_site", document.get("per_site") or [], "site_id", "site")
    yield from _entries("per_product", document.get("per_product") or [], "sku", "name")
    yield from _entries("per_machine", document.get("per_machine") or [], "machine_id", "machine")
    yield from _entries(
        "per_month", document.get("per_month") or [], "month", "", lambda m: month_name(m["month"])
    )
    yield from _entries("materials", document.get("materials") or [], "code", "name")
    for metric, value in (document.get("transport") or {}).items():
        yield "transport", "", "", metric, value, unit_of(metric)
    comparison = document.get("comparison")
    if comparison:
        period = f"{comparison['period']['start']}/{comparison['period']['end']}"
        for metric, value in (comparison.get("totals") or {}).items():
            yield "previous_period", period, "", metric, value, unit_of(metric)
        for metric, value in (comparison.get("change") or {}).items():
            yield "change", period, "", metric, value, "fraction"
    quality = document.get("data_quality") or {}
    for metric, value in quality.items():
        if metric == "notes":
            for note in value:
                yield "data_quality", "", "", "note", note, ""
        else:
            yield "data_quality", "", "", metric, value, unit_of(metric)
    for factor in document.get("factors") or []:
        key = f"{factor['kind']}:{factor['key']}"
        for metric in ("value", "year", "source", "licence", "proxy", "override"):
            unit = factor.get("unit", "") if metric == "value" else ""
            yield "factors", key, factor["key"], metric, factor.get(metric), unit


def report_csv(document: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in _rows(document):
        writer.writerow([_cell(value) for value in row])
    return out.getvalue()


# --- PDF -------------------------------------------------------------------------------------
def report_pdf_html(document: dict) -> str:
    """The HTML that WeasyPrint lays out into the PDF."""
    return render_to_string(PDF_TEMPLATE, {"document": document, **report_view(document)})


def report_pdf_layout(document: dict) -> Any:
    """The laid-out pages (a weasyprint Document): `.pages`, `.write_pdf()`."""
    # Imported here: loading pango takes a moment, and only downloads need it.
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    class NoFetching(URLFetcher):
        """The print template is self-contained: nothing (file, network) is ever fetched."""

        def fetch(self, url: str, headers: Any = None) -> Any:
            raise ValueError(f"The report PDF fetches no resources ({url[:40]}).")

    html = HTML(string=report_pdf_html(document), url_fetcher=NoFetching())
    return html.render()


def report_pdf(document: dict) -> bytes:
    return report_pdf_layout(document).write_pdf()

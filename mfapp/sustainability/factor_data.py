"""The platform's default emission factors, read from the CSV files shipped in
`data/factors/` (see the README there for sources and licences).

Published files (`key,value,unit,year,source`) are loaded as they are; two files of our own
add derived rows: `material_aliases.csv` (the short keys materials use, e.g. `pla`, pointing at
a published row) and `freight_modes.csv` (well-to-wheel freight factors = TTW + WTT rows).
Used by the data migrations, which call `factor_rows()` and `update_or_create` each row."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data" / "factors"

# file -> kind of every row in it
PUBLISHED_FILES = {
    "grid_electricity_intensity.csv": "grid_electricity",
    "electricity_source_intensity.csv": "electricity_source",
    "material_embodied_carbon.csv": "material",
    "freight_transport.csv": "freight",
    "machine_power.csv": "machine_power",
    "other_factors.csv": "other",
}
PROXY_KEYS = {"EU27", "WORLD_FALLBACK"}  # regional/world fallbacks stand in for a country
PROXY_WORDS = ("proxy", "approximat")


@dataclass(frozen=True)
class FactorRow:
    kind: str
    key: str
    value: Decimal
    unit: str
    year: int | None
    source: str
    licence: str
    is_proxy: bool
    note: str = ""


def licence_for(source: str) -> str:
    """The licence under which a row's source publishes it (see data/factors/README.md)."""
    text = source.lower()
    if "gov.uk" in text or "defra" in text or "desnz" in text:
        return "Open Government Licence v3.0 (UK DESNZ/DEFRA)"
    if "ice v2" in text:
        return "ICE v2.0 (University of Bath) database terms: free use with attribution"
    if "owid" in text or "ourworldindata" in text or "ember" in text:
        return "CC BY 4.0 (Our World in Data / Ember); codecarbon redistribution MIT"
    if "codecarbon" in text:
        return "Figure as redistributed by codecarbon (MIT); cited with its original source"
    return "Single published figure, cited with attribution (fact, not a database copy)"


def _year(text: str) -> int | None:
    return int(text) if text.strip().isdigit() else None


def _is_proxy(key: str, source: str) -> bool:
    text = f"{key} {source}".lower()
    return key in PROXY_KEYS or any(word in text for word in PROXY_WORDS)


def _read(name: str) -> list[dict[str, str]]:
    with (DATA_DIR / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def published_rows() -> list[FactorRow]:
    rows = []
    for name, kind in PUBLISHED_FILES.items():
        for raw in _read(name):
            source = raw["source"].strip()
            rows.append(
                FactorRow(
                    kind=kind,
                    key=raw["key"].strip(),
                    value=Decimal(raw["value"].strip()),
                    unit=raw["unit"].strip(),
                    year=_year(raw["year"]),
                    source=source,
                    licence=licence_for(source),
                    is_proxy=_is_proxy(raw["key"], source),
                    note=f"{name}",
                )
            )
    return rows


def derived_rows(published: list[FactorRow]) -> list[FactorRow]:
    by_key = {(row.kind, row.key): row for row in published}
    rows = []
    for raw in _read("material_aliases.csv"):
        target = by_key[("material", raw["alias_of"])]
        rows.append(
            FactorRow(
                kind="material",
                key=raw["key"],
                value=target.value,
                unit=target.unit,
                year=target.year,
                source=f"= {target.key}: {target.source}",
                licence=target.licence,
                is_proxy=target.is_proxy or raw["proxy"] == "yes",
                note=raw["note"],
            )
        )
    for raw in _read("freight_modes.csv"):
        ttw, wtt = by_key[("freight", raw["ttw_key"])], by_key[("freight", raw["wtt_key"])]
        rows.append(
            FactorRow(
                kind="freight",
                key=raw["key"],
                value=ttw.value + wtt.value,
                unit=ttw.unit,
                year=ttw.year,
                source=(
                    f"Well-to-wheel = {ttw.key} ({ttw.value}) + {wtt.key} ({wtt.value}): "
                    f"{ttw.source}"
                ),
                licence=ttw.licence,
                is_proxy=ttw.is_proxy or wtt.is_proxy,
                note=f"{raw['label']} (WTW, the GLEC / ISO 14083 basis)",
            )
        )
    return rows


def factor_rows() -> list[FactorRow]:
    published = published_rows()
    return published + derived_rows(published)


def load_factors(emission_factor_model: type) -> int:
    """Create or refresh every default factor (safe to run again). Returns the row count."""
    rows = factor_rows()
    for row in rows:
        emission_factor_model.objects.update_or_create(
            kind=row.kind,
            key=row.key,
            defaults={
                "value": row.value,
                "unit": row.unit,
                "year": row.year,
                "source": row.source,
                "licence": row.licence,
                "is_proxy": row.is_proxy,
                "note": row.note,
            },
        )
    return len(rows)


def ensure_factors_loaded() -> int:
    """Load the default factors if rows are missing (after `flush`, which empties tables a data
    migration filled; tests that flush do the same). Returns the number of rows loaded."""
    from mfapp.sustainability.models import EmissionFactor

    rows = factor_rows()
    if EmissionFactor.objects.count() >= len(rows):
        return 0
    return load_factors(EmissionFactor)

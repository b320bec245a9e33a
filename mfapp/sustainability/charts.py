"""The report document (a dict, the contract's JSON) as positioned SVG shapes and as figures.

Everything here is arithmetic on the stored document: no queries, no models, so the page, the
PDF and the tests draw exactly the same thing from `report.data`. Each chart is a list of
rectangles, lines and texts in SVG user units; the template `_chart.html` draws any of them.
Colours always come with words: a legend names every series, every bar has a tooltip with its
number, each chart has a caption describing it and a table beneath it carries the numbers.

The four charts:
- emissions by month: stacked bars (scope 2 location-based, purchased materials, delivery
  transport); the transport avoided against the baseline is a separate hatched bar after a
  divider, never stacked on (or subtracted from) the emissions;
- intensity per product: kgCO2e per good unit, horizontal bars, highest first;
- energy by machine: kWh, horizontal bars split into measured and estimated;
- materials and scrap: input kg and scrap kg side by side per material.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

WIDTH = 720
# Vertical chart (months): the value axis goes up.
V_HEIGHT = 320
V_LEFT = 64  # room for the tick labels
V_RIGHT = 16
V_TOP = 20
V_BOTTOM = 50  # month and year labels
BAR_FRACTION = 0.6  # of a slot; the rest is the gap around the bar
# Horizontal charts (products, machines, materials): the value axis goes right.
H_LEFT = 180  # room for the category labels
H_RIGHT = 60  # room for the value label after the longest bar
H_TOP = 10
H_BOTTOM = 40  # tick labels and the axis title
ROW = 32
BAR = 20
PAIR_ROW = 44  # materials: two bars per row
PAIR_BAR = 16
DASH = "\N{EN DASH}"  # for a figure that has no value
MAX_ROWS = 15  # bars drawn on a horizontal chart; the table beneath lists every row
LABEL_CHARS = 28  # category labels longer than this are shortened (the table has them whole)


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    colour: str
    hatched: bool = False


SCOPE2 = Series("scope2", "Scope 2 electricity (location-based)", "#1f77b4")
MATERIALS = Series("materials", "Purchased materials", "#e67700")
TRANSPORT = Series("transport", "Delivery transport", "#862e9c")
AVOIDED = Series("avoided", "Avoided transport (whole period, not subtracted)", "#2b8a3e", True)
INTENSITY = Series("intensity", "kgCO2e per good unit", "#0b7285")
MEASURED = Series("measured", "Measured energy", "#0d6e6e")
ESTIMATED = Series("estimated", "Estimated energy", "#b86e00", True)
INPUT = Series("input", "Material input", "#495057")
SCRAP = Series("scrap", "Scrap", "#c2255c")


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    series: Series
    title: str


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    css: str  # grid, axis, divider


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    text: str
    anchor: str = "start"  # start, middle, end (SVG text-anchor)
    css: str = ""  # tick, category, value, axis-title, note


@dataclass(frozen=True)
class Tick:
    value: float
    position: float  # y of a vertical chart's tick, x of a horizontal chart's tick
    label: str


@dataclass
class Chart:
    id: str
    title: str
    caption: str
    unit: str
    width: int
    height: int
    plot_left: float
    plot_top: float
    plot_right: float
    plot_bottom: float
    ticks: list[Tick] = field(default_factory=list)
    rects: list[Rect] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    legend: list[Series] = field(default_factory=list)
    empty: bool = False

    @property
    def patterns(self) -> list[Series]:
        """The hatched series, each an SVG <pattern> with an id unique to this chart."""
        return [series for series in self.legend if series.hatched]


# --- numbers ---------------------------------------------------------------------------------
def nice_ticks(maximum: float, intervals: int = 5) -> list[float]:
    """Round tick values from 0 to at least `maximum`: steps of 1, 2, 2.5 or 5 times a power of
    ten, about `intervals` of them (0 to 1 when there is nothing to show)."""
    if maximum <= 0:
        return [0.0, 1.0]
    raw = maximum / intervals
    magnitude = 10 ** math.floor(math.log10(raw))
    step = 10 * magnitude
    for multiple in (1, 2, 2.5, 5):
        if multiple * magnitude >= raw * (1 - 1e-9):
            step = multiple * magnitude
            break
    count = max(1, math.ceil(maximum / step - 1e-9))
    return [round(i * step, 10) for i in range(count + 1)]


def _decimals(step: float) -> int:
    for decimals in range(7):
        if abs(round(step, decimals) - step) < 1e-9:
            return decimals
    return 6


def tick_label(value: float, step: float) -> str:
    return f"{value:,.{_decimals(step)}f}"


def short_number(value: float, axis_top: float) -> str:
    """A bar's value label, with as many decimals as the chart's scale calls for (the same for
    every bar of a chart; the table beneath has the exact numbers)."""
    magnitude = abs(axis_top)
    decimals = 0 if magnitude >= 100 else 1 if magnitude >= 10 else 2 if magnitude >= 1 else 3
    return f"{value:,.{decimals}f}"


def number(value: Any, decimals: int = 3) -> str:
    """A figure for people: thousands separators, fixed decimals, a dash for no value."""
    if value is None or value == "":
        return DASH
    return f"{float(value):,.{decimals}f}"


def percent(share: Any, decimals: int = 1) -> str:
    """A share 0..1 as a percentage; a dash when there is none."""
    if share is None or share == "":
        return DASH
    return f"{float(share) * 100:.{decimals}f}%"


def _value(row: dict, key: str) -> float:
    value = row.get(key)
    return float(value) if value is not None else 0.0


def _shorten(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def month_name(month: str) -> str:
    """'2026-02' -> 'Feb 2026'."""
    year, number_ = month.split("-")
    return date(int(year), int(number_), 1).strftime("%b %Y")


# --- emissions by month ----------------------------------------------------------------------
def emissions_by_month(document: dict) -> Chart:
    months = document.get("per_month") or []
    avoided = _value(document.get("totals") or {}, "avoided_transport_kgco2e")
    segments = ((SCOPE2, "scope2_location_kgco2e"), (MATERIALS, "materials_kgco2e"),
                (TRANSPORT, "transport_kgco2e"))  # fmt: skip
    stacks = [sum(max(0.0, _value(month, key)) for _, key in segments) for month in months]
    ticks = nice_ticks(max([*stacks, avoided, 0.0]))
    top, bottom = V_TOP, V_HEIGHT - V_BOTTOM
    left, right = V_LEFT, WIDTH - V_RIGHT
    scale = (bottom - top) / ticks[-1]
    slot = (right - left) / (len(months) + 1)  # one slot more for the avoided bar
    bar = slot * BAR_FRACTION
    highest = max(range(len(months)), key=lambda i: stacks[i]) if months else None
    chart = Chart(
        id="chart-emissions",
        title="Emissions by month",
        caption=(
            "Stacked bars of kgCO2e per month: scope 2 electricity (location-based), "
            "purchased materials and delivery transport. "
            + (
                f"The highest month is {month_name(months[highest]['month'])} with "
                f"{number(stacks[highest], 1)} kgCO2e. "
                if highest is not None
                else "There are no months in this report. "
            )
            + f"The hatched green bar after the dashed line is the transport avoided over the "
            f"whole period ({number(avoided, 1)} kgCO2e) compared with central production; "
            "it is shown separately and never subtracted."
        ),
        unit="kgCO2e",
        width=WIDTH,
        height=V_HEIGHT,
        plot_left=left,
        plot_top=top,
        plot_right=right,
        plot_bottom=bottom,
        legend=[SCOPE2, MATERIALS, TRANSPORT, AVOIDED],
        empty=not months,
    )
    _vertical_axis(chart, ticks, scale)
    previous_year = None
    for index, month in enumerate(months):
        x = left + index * slot + (slot - bar) / 2
        centre = left + (index + 0.5) * slot
        base = bottom
        name = month_name(month["month"])
        for series, key in segments:
            value = max(0.0, _value(month, key))
            if value == 0:
                continue
            height = value * scale
            base -= height
            chart.rects.append(
                Rect(
                    x, base, bar, height, series, f"{name} · {series.label}: {number(value)} kgCO2e"
                )
            )
        chart.texts.append(
            Text(centre, base - 4, short_number(stacks[index], ticks[-1]), "middle", "value")
        )
        year = month["month"][:4]
        chart.texts.append(Text(centre, bottom + 16, name[:3], "middle", "category"))
        if year != previous_year:
            chart.texts.append(Text(centre, bottom + 30, year, "middle", "category"))
            previous_year = year
    divider = left + len(months) * slot
    chart.lines.append(Line(divider, top, divider, bottom, "divider"))
    centre = divider + slot / 2
    height = avoided * scale
    if avoided > 0:
        chart.rects.append(
            Rect(
                divider + (slot - bar) / 2,
                bottom - height,
                bar,
                height,
                AVOIDED,
                f"{AVOIDED.label}: {number(avoided)} kgCO2e",
            )
        )
    chart.texts.append(
        Text(centre, bottom - height - 4, short_number(avoided, ticks[-1]), "middle", "value")
    )
    chart.texts.append(Text(centre, bottom + 16, "Avoided", "middle", "category"))
    chart.texts.append(Text(centre, bottom + 30, "not subtracted", "middle", "note"))
    return chart


def _vertical_axis(chart: Chart, ticks: list[float], scale: float) -> None:
    step = ticks[1] - ticks[0]
    for value in ticks:
        y = chart.plot_bottom - value * scale
        label = tick_label(value, step)
        chart.ticks.append(Tick(value, y, label))
        chart.lines.append(
            Line(chart.plot_left, y, chart.plot_right, y, "axis" if not value else "grid")
        )
        chart.texts.append(Text(chart.plot_left - 6, y + 4, label, "end", "tick"))
    chart.texts.append(Text(8, chart.plot_top - 8, chart.unit, "start", "axis-title"))


# --- horizontal charts -----------------------------------------------------------------------
def _horizontal_chart(*, id: str, title: str, caption: str, unit: str, axis_title: str,
                      rows: int, row_height: int, maximum: float,
                      legend: list[Series]) -> tuple[Chart, float]:  # fmt: skip
    ticks = nice_ticks(maximum)
    height = H_TOP + max(1, rows) * row_height + H_BOTTOM
    chart = Chart(
        id=id,
        title=title,
        caption=caption,
        unit=unit,
        width=WIDTH,
        height=height,
        plot_left=H_LEFT,
        plot_top=H_TOP,
        plot_right=WIDTH - H_RIGHT,
        plot_bottom=height - H_BOTTOM,
        legend=legend,
        empty=rows == 0,
    )
    scale = (chart.plot_right - chart.plot_left) / ticks[-1]
    step = ticks[1] - ticks[0]
    for value in ticks:
        x = chart.plot_left + value * scale
        label = tick_label(value, step)
        chart.ticks.append(Tick(value, x, label))
        css = "axis" if not value else "grid"
        chart.lines.append(Line(x, chart.plot_top, x, chart.plot_bottom, css))
        chart.texts.append(Text(x, chart.plot_bottom + 16, label, "middle", "tick"))
    chart.texts.append(
        Text(chart.plot_right, chart.plot_bottom + 32, axis_title, "end", "axis-title")
    )
    return chart, scale


def _cut_note(rows: list) -> str:
    if len(rows) <= MAX_ROWS:
        return ""
    return f" The first {MAX_ROWS} of {len(rows)} are drawn; the table lists all of them."


def intensity_by_product(document: dict) -> Chart:
    products = sorted(
        document.get("per_product") or [],
        key=lambda p: (p.get("kgco2e_per_unit") is None, -_value(p, "kgco2e_per_unit")),
    )
    measured = [p for p in products if p.get("kgco2e_per_unit") is not None]
    caption = "kgCO2e per good unit of each product, highest first. "
    if measured:
        caption += (
            f"{measured[0]['name']} has the highest footprint per unit "
            f"({number(measured[0]['kgco2e_per_unit'])} kgCO2e)"
            + (
                f" and {measured[-1]['name']} the lowest "
                f"({number(measured[-1]['kgco2e_per_unit'])} kgCO2e)."
                if len(measured) > 1
                else "."
            )
        )
    if len(measured) < len(products):
        caption += " Products without good units have no bar."
    caption += _cut_note(products)
    products = products[:MAX_ROWS]
    chart, scale = _horizontal_chart(
        id="chart-intensity",
        title="Intensity per product",
        caption=caption,
        unit="kgCO2e per unit",
        axis_title="kgCO2e per good unit",
        rows=len(products),
        row_height=ROW,
        maximum=max([_value(p, "kgco2e_per_unit") for p in products] + [0.0]),
        legend=[INTENSITY],
    )
    for index, product in enumerate(products):
        y = H_TOP + index * ROW
        middle = y + ROW / 2
        chart.texts.append(
            Text(H_LEFT - 8, middle + 4, _shorten(product["name"]), "end", "category")
        )
        per_unit = product.get("kgco2e_per_unit")
        if per_unit is None:
            chart.texts.append(Text(H_LEFT + 6, middle + 4, "no good units", "start", "note"))
            continue
        width = float(per_unit) * scale
        chart.rects.append(
            Rect(
                H_LEFT,
                middle - BAR / 2,
                width,
                BAR,
                INTENSITY,
                f"{product['sku']} {product['name']}: {number(per_unit)} kgCO2e per unit",
            )
        )
        chart.texts.append(
            Text(
                H_LEFT + width + 6,
                middle + 4,
                short_number(float(per_unit), chart.ticks[-1].value),
                "start",
                "value",
            )
        )
    return chart


def energy_by_machine(document: dict) -> Chart:
    machines = sorted(document.get("per_machine") or [], key=lambda m: -_value(m, "energy_kwh"))
    cut = _cut_note(machines)
    machines = machines[:MAX_ROWS]
    totals = document.get("totals") or {}
    caption = (
        "kWh per machine, longest bar first; the solid part was measured from energy readings, "
        "the hatched part estimated from rated power and run time. "
        f"{percent((document.get('data_quality') or {}).get('energy_measured_share'))} of "
        f"{number(totals.get('energy_kwh'), 1)} kWh was measured.{cut}"
    )
    chart, scale = _horizontal_chart(
        id="chart-energy",
        title="Energy by machine",
        caption=caption,
        unit="kWh",
        axis_title="kWh",
        rows=len(machines),
        row_height=ROW,
        maximum=max([_value(m, "energy_kwh") for m in machines] + [0.0]),
        legend=[MEASURED, ESTIMATED],
    )
    for index, machine in enumerate(machines):
        y = H_TOP + index * ROW
        middle = y + ROW / 2
        label = f"{machine['machine']} · {machine['site']}" if machine.get("site") else None
        chart.texts.append(
            Text(H_LEFT - 8, middle + 4, _shorten(label or machine["machine"]), "end", "category")
        )
        energy = _value(machine, "energy_kwh")
        measured = min(energy, _value(machine, "energy_measured_kwh"))
        x = float(H_LEFT)
        for series, value in ((MEASURED, measured), (ESTIMATED, energy - measured)):
            if value <= 0:
                continue
            width = value * scale
            chart.rects.append(
                Rect(
                    x,
                    middle - BAR / 2,
                    width,
                    BAR,
                    series,
                    f"{machine['machine']} · {series.label}: {number(value)} kWh",
                )
            )
            x += width
        chart.texts.append(
            Text(x + 6, middle + 4, short_number(energy, chart.ticks[-1].value), "start", "value")
        )
    return chart


def materials_and_scrap(document: dict) -> Chart:
    materials = sorted(document.get("materials") or [], key=lambda m: -_value(m, "input_kg"))
    cut = _cut_note(materials)
    materials = materials[:MAX_ROWS]
    totals = document.get("totals") or {}
    caption = (
        "Material input and scrap in kg per material, side by side, largest input first. "
        f"In all {number(totals.get('material_input_kg'), 1)} kg went in and "
        f"{number(totals.get('scrap_kg'), 1)} kg became scrap.{cut}"
    )
    chart, scale = _horizontal_chart(
        id="chart-materials",
        title="Materials and scrap",
        caption=caption,
        unit="kg",
        axis_title="kg",
        rows=len(materials),
        row_height=PAIR_ROW,
        maximum=max([_value(m, "input_kg") for m in materials] + [0.0]),
        legend=[INPUT, SCRAP],
    )
    for index, material in enumerate(materials):
        y = H_TOP + index * PAIR_ROW
        chart.texts.append(
            Text(H_LEFT - 8, y + PAIR_ROW / 2 + 4, _shorten(material["name"]), "end", "category")
        )
        for offset, series, key in ((5, INPUT, "input_kg"), (23, SCRAP, "scrap_kg")):
            value = _value(material, key)
            width = value * scale
            if value > 0:
                chart.rects.append(
                    Rect(
                        H_LEFT,
                        y + offset,
                        width,
                        PAIR_BAR,
                        series,
                        f"{material['name']} · {series.label}: {number(value)} kg",
                    )
                )
            chart.texts.append(
                Text(
                    H_LEFT + width + 6,
                    y + offset + 12,
                    short_number(value, chart.ticks[-1].value),
                    "start",
                    "value",
                )
            )
    return chart


def report_charts(document: dict) -> list[Chart]:
    """The four charts in the order the page and the PDF show them."""
    return [
        emissions_by_month(document),
        intensity_by_product(document),
        energy_by_machine(document),
        materials_and_scrap(document),
    ]


# --- figures for the page and the PDF --------------------------------------------------------
@dataclass(frozen=True)
class Figure:
    id: str
    label: str
    value: str
    unit: str
    note: str = ""


def headline_figures(document: dict) -> list[Figure]:
    totals = document.get("totals") or {}
    quality = document.get("data_quality") or {}
    return [
        Figure("total", "Total emissions", number(totals.get("total_kgco2e"), 1), "kgCO2e",
               "Scope 2 location-based + materials + transport"),
        Figure("per-unit", "Per good unit", number(totals.get("kgco2e_per_unit")), "kgCO2e"),
        Figure("energy", "Electricity", number(totals.get("energy_kwh"), 1), "kWh"),
        Figure("scope2-location", "Scope 2, location-based",
               number(totals.get("scope2_location_kgco2e"), 1), "kgCO2e"),
        Figure("scope2-market", "Scope 2, market-based",
               number(totals.get("scope2_market_kgco2e"), 1), "kgCO2e",
               "With the contracts entered as overrides; not added to the total"),
        Figure("materials", "Purchased materials", number(totals.get("materials_kgco2e"), 1),
               "kgCO2e"),
        Figure("transport", "Delivery transport", number(totals.get("transport_kgco2e"), 1),
               "kgCO2e"),
        Figure("avoided", "Avoided transport", number(totals.get("avoided_transport_kgco2e"), 1),
               "kgCO2e", "Against central production; shown separately, not subtracted"),
        Figure("scrap-rate", "Scrap rate", percent(totals.get("scrap_rate")), "",
               f"{totals.get('units_scrap', 0)} of "
               f"{(totals.get('units_good') or 0) + (totals.get('units_scrap') or 0)} units"),
        Figure("material-efficiency", "Material efficiency",
               percent(totals.get("material_efficiency")), "",
               f"{number(totals.get('scrap_kg'), 1)} kg scrap of "
               f"{number(totals.get('material_input_kg'), 1)} kg input"),
        Figure("measured-share", "Measured energy", percent(quality.get("energy_measured_share")),
               "", "The rest is estimated from rated power"),
    ]  # fmt: skip


# (key, label, unit, which direction is better: -1 lower, +1 higher, 0 neither)
COMPARED = (
    ("total_kgco2e", "Total emissions", "kgCO2e", -1),
    ("kgco2e_per_unit", "kgCO2e per good unit", "kgCO2e", -1),
    ("energy_kwh", "Electricity", "kWh", -1),
    ("scope2_location_kgco2e", "Scope 2, location-based", "kgCO2e", -1),
    ("scope2_market_kgco2e", "Scope 2, market-based", "kgCO2e", -1),
    ("materials_kgco2e", "Purchased materials", "kgCO2e", -1),
    ("transport_kgco2e", "Delivery transport", "kgCO2e", -1),
    ("avoided_transport_kgco2e", "Avoided transport", "kgCO2e", 0),
    ("units_good", "Good units", "", 1),
    ("scrap_rate", "Scrap rate", "%", -1),
    ("material_efficiency", "Material efficiency", "%", 1),
)


@dataclass(frozen=True)
class Comparison:
    label: str
    previous: str
    current: str
    change: str  # in words: "10.0% lower"
    verdict: str  # better, worse, unchanged, "" (neither or not comparable)


def comparison_rows(document: dict) -> list[Comparison]:
    """This period against the previous one, each change in words with better or worse."""
    comparison = document.get("comparison")
    if not comparison:
        return []
    totals = document.get("totals") or {}
    previous = comparison.get("totals") or {}
    changes = comparison.get("change") or {}
    rows = []
    for key, label, unit, better in COMPARED:
        if unit == "%":
            shown = (percent(previous.get(key)), percent(totals.get(key)))
        else:
            decimals = 0 if key == "units_good" else 3 if key == "kgco2e_per_unit" else 1
            suffix = f" {unit}" if unit else ""
            shown = tuple(
                number(value, decimals) + (suffix if value is not None else "")
                for value in (previous.get(key), totals.get(key))
            )
        change = changes.get(key)
        if change is None:
            words, verdict = "not comparable (nothing before)", ""
        elif abs(change) < 0.0005:
            words, verdict = "unchanged", "unchanged"
        else:
            words = f"{abs(change) * 100:.1f}% {'lower' if change < 0 else 'higher'}"
            verdict = "" if not better else "better" if (change > 0) == (better > 0) else "worse"
        rows.append(Comparison(label, shown[0], shown[1], words, verdict))
    return rows


def report_view(document: dict) -> dict:
    """Everything the report's body (page and PDF) shows, from the document alone."""
    quality = document.get("data_quality") or {}
    return {
        "charts": report_charts(document),
        "figures": headline_figures(document),
        "comparison": comparison_rows(document),
        "months": [
            {**month, "label": month_name(month["month"])}
            for month in document.get("per_month") or []
        ],
        "machines": [
            {**machine, "measured_percent": percent(machine.get("measured_share"))}
            for machine in document.get("per_machine") or []
        ],
        "materials": [
            {**material, "recorded_percent": percent(material.get("recorded_share"))}
            for material in document.get("materials") or []
        ],
        "quality": {
            "energy_measured": percent(quality.get("energy_measured_share")),
            "material_recorded": percent(quality.get("material_recorded_share")),
            "shipments_located": percent(quality.get("shipments_located_share")),
            "notes": quality.get("notes") or [],
        },
    }

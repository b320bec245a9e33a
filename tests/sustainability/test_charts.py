"""The report's charts as geometry: exact positions from the hand-written document (conftest)."""

import pytest

from mfapp.sustainability.charts import (
    AVOIDED,
    ESTIMATED,
    INPUT,
    INTENSITY,
    MATERIALS,
    MEASURED,
    SCOPE2,
    SCRAP,
    TRANSPORT,
    comparison_rows,
    emissions_by_month,
    energy_by_machine,
    headline_figures,
    intensity_by_product,
    materials_and_scrap,
    nice_ticks,
    report_charts,
    tick_label,
)


def _boxes(chart):
    """Rectangles as (series, x, y, width, height), to a millionth of a pixel."""
    return [(r.series, *(round(v, 6) for v in (r.x, r.y, r.width, r.height))) for r in chart.rects]


def _texts(chart, css):
    return [(round(t.x, 6), round(t.y, 6), t.text) for t in chart.texts if t.css == css]


@pytest.mark.parametrize(
    ("maximum", "ticks"),
    [
        (175.0, [0, 50, 100, 150, 200]),
        (6.0, [0, 2, 4, 6]),
        (250.5, [0, 100, 200, 300]),
        (12.0, [0, 2.5, 5, 7.5, 10, 12.5]),
        (1234.0, [0, 250, 500, 750, 1000, 1250]),
        (0.3, [0, 0.1, 0.2, 0.3]),
        (0.0, [0, 1]),
    ],
)
def test_axis_ticks_are_round_numbers_reaching_the_maximum(maximum, ticks):
    assert nice_ticks(maximum) == ticks


def test_tick_labels_have_the_decimals_of_their_step():
    assert [tick_label(v, 2.5) for v in (0, 7.5, 10)] == ["0.0", "7.5", "10.0"]
    assert tick_label(1250, 250) == "1,250"
    assert tick_label(0.2, 0.1) == "0.2"


def test_emissions_are_stacked_per_month_and_avoided_stands_apart(report_document):
    chart = emissions_by_month(report_document)

    # 175 kgCO2e in February -> axis to 200 over 250 px: 1.25 px per kg; 4 slots of 160 px.
    assert [(t.value, t.position, t.label) for t in chart.ticks] == [
        (0, 270, "0"), (50, 207.5, "50"), (100, 145, "100"), (150, 82.5, "150"), (200, 20, "200"),
    ]  # fmt: skip
    assert _boxes(chart) == [
        (SCOPE2, 96, 212.625, 96, 57.375),
        (MATERIALS, 96, 137.625, 96, 75),
        (TRANSPORT, 96, 132.5, 96, 5.125),
        (SCOPE2, 256, 174.75, 96, 95.25),
        (MATERIALS, 256, 62.25, 96, 112.5),
        (TRANSPORT, 256, 51.25, 96, 11),
        (SCOPE2, 416, 232.5, 96, 37.5),
        (MATERIALS, 416, 179.375, 96, 53.125),
        (TRANSPORT, 416, 176.25, 96, 3.125),
        (AVOIDED, 576, 217.1875, 96, 52.8125),
    ]
    avoided = chart.rects[-1]
    assert avoided.y + avoided.height == chart.plot_bottom  # from the baseline, never stacked
    assert [(line.x1, line.css) for line in chart.lines if line.css == "divider"] == [
        (544, "divider")
    ]
    assert avoided.x > 544
    assert _texts(chart, "value") == [
        (144, 128.5, "110"),
        (304, 47.25, "175"),
        (464, 172.25, "75"),
        (624, 213.1875, "42"),
    ]
    assert _texts(chart, "category") == [
        (144, 286, "Jan"), (144, 300, "2026"), (304, 286, "Feb"), (464, 286, "Mar"),
        (624, 286, "Avoided"),
    ]  # fmt: skip
    assert _texts(chart, "note") == [(624, 300, "not subtracted")]
    assert chart.rects[3].title == "Feb 2026 · Scope 2 electricity (location-based): 76.200 kgCO2e"
    assert chart.legend == [SCOPE2, MATERIALS, TRANSPORT, AVOIDED]
    assert chart.patterns == [AVOIDED]
    assert "The highest month is Feb 2026 with 175.0 kgCO2e." in chart.caption
    assert "(42.2 kgCO2e)" in chart.caption
    assert "never subtracted" in chart.caption


def test_product_intensity_is_sorted_and_products_without_good_units_have_no_bar(
    report_document,
):
    chart = intensity_by_product(report_document)

    # 6 kgCO2e per unit at most -> axis 0..6 over 480 px: 80 px per kgCO2e.
    assert (chart.width, chart.height, chart.plot_bottom) == (720, 146, 106)
    assert [(t.position, t.label) for t in chart.ticks] == [
        (180, "0"), (340, "2"), (500, "4"), (660, "6"),
    ]  # fmt: skip
    assert _boxes(chart) == [(INTENSITY, 180, 16, 480, 20), (INTENSITY, 180, 48, 160, 20)]
    assert _texts(chart, "category") == [
        (172, 30, "Lamp shade"), (172, 62, "Phone stand"), (172, 94, "Prototype"),
    ]  # fmt: skip
    assert _texts(chart, "value") == [(666, 30, "6.00"), (346, 62, "2.00")]
    assert _texts(chart, "note") == [(186, 94, "no good units")]
    assert chart.rects[0].title == "P-2 Lamp shade: 6.000 kgCO2e per unit"
    assert chart.caption == (
        "kgCO2e per good unit of each product, highest first. Lamp shade has the highest "
        "footprint per unit (6.000 kgCO2e) and Phone stand the lowest (2.000 kgCO2e). "
        "Products without good units have no bar."
    )


def test_machine_energy_is_split_into_measured_and_estimated(report_document):
    chart = energy_by_machine(report_document)

    # 250.5 kWh at most -> axis 0..300 over 480 px: 1.6 px per kWh.
    assert [t.label for t in chart.ticks] == ["0", "100", "200", "300"]
    assert _boxes(chart) == [
        (MEASURED, 180, 16, 80.8, 20),
        (ESTIMATED, 260.8, 16, 320, 20),
        (MEASURED, 180, 48, 160, 20),
        (ESTIMATED, 180, 80, 80, 20),
    ]
    assert _texts(chart, "category") == [
        (172, 30, "Laser cutter · Berlin"), (172, 62, "Prusa MK4 · Berlin"),
        (172, 94, "CNC router · Lyon"),
    ]  # fmt: skip
    assert _texts(chart, "value") == [(586.8, 30, "250"), (346, 62, "100"), (266, 94, "50")]
    assert chart.patterns == [ESTIMATED]
    assert chart.caption.endswith("37.6% of 400.5 kWh was measured.")


def test_materials_show_input_and_scrap_side_by_side(report_document):
    chart = materials_and_scrap(report_document)

    # 30 kg at most -> axis 0..30 over 480 px: 16 px per kg; rows of 44 px with two bars.
    assert (chart.height, [t.label for t in chart.ticks]) == (138, ["0", "10", "20", "30"])
    assert _boxes(chart) == [
        (INPUT, 180, 15, 480, 16), (SCRAP, 180, 33, 24, 16),
        (INPUT, 180, 59, 320, 16), (SCRAP, 180, 77, 8, 16),
    ]  # fmt: skip
    assert _texts(chart, "value") == [
        (666, 27, "30.0"), (210, 45, "1.5"), (506, 71, "20.0"), (194, 89, "0.5"),
    ]  # fmt: skip
    assert _texts(chart, "category") == [(172, 36, "PLA black"), (172, 80, "Plywood 4 mm")]


def test_an_empty_period_draws_empty_charts_with_a_unit_axis(report_document):
    for key in ("per_month", "per_product", "per_machine", "materials"):
        report_document[key] = []
    report_document["totals"]["avoided_transport_kgco2e"] = 0.0

    charts = report_charts(report_document)

    assert [chart.empty for chart in charts] == [True, True, True, True]
    assert [[t.value for t in chart.ticks] for chart in charts] == [[0, 1]] * 4
    assert [chart.rects for chart in charts] == [[], [], [], []]
    assert "There are no months in this report." in charts[0].caption


def test_long_names_are_shortened_on_the_chart_only(report_document):
    report_document["per_product"][0]["name"] = "A very long product name that goes on and on"

    chart = intensity_by_product(report_document)

    assert ("A very long product name th…") in [t.text for t in chart.texts]


def test_headline_figures_read_the_totals(report_document):
    figures = {f.id: (f.value, f.unit, f.note) for f in headline_figures(report_document)}

    assert figures["total"][:2] == ("360.0", "kgCO2e")
    assert figures["per-unit"][:2] == ("2.880", "kgCO2e")
    assert figures["energy"][:2] == ("400.5", "kWh")
    assert figures["scope2-location"][:2] == ("152.1", "kgCO2e")
    assert figures["scope2-market"][:2] == ("100.0", "kgCO2e")
    assert figures["avoided"] == (
        "42.2",
        "kgCO2e",
        "Against central production; shown separately, not subtracted",
    )
    assert figures["scrap-rate"] == ("3.9%", "", "5 of 130 units")
    assert figures["measured-share"][0] == "37.6%"
    assert figures["material-efficiency"] == ("90.0%", "", "2.0 kg scrap of 50.0 kg input")


def test_the_comparison_says_better_or_worse_in_words(report_document):
    rows = {row.label: row for row in comparison_rows(report_document)}

    total = rows["Total emissions"]
    assert (total.previous, total.current, total.change, total.verdict) == (
        "400.0 kgCO2e", "360.0 kgCO2e", "10.0% lower", "better",
    )  # fmt: skip
    assert (rows["Purchased materials"].change, rows["Purchased materials"].verdict) == (
        "6.9% higher",
        "worse",
    )
    assert (rows["Good units"].current, rows["Good units"].verdict) == ("125", "better")
    assert (rows["Scrap rate"].previous, rows["Scrap rate"].current) == ("9.1%", "3.9%")
    assert rows["Avoided transport"].verdict == ""  # neither better nor worse

    report_document["comparison"]["change"]["total_kgco2e"] = None
    report_document["comparison"]["change"]["energy_kwh"] = 0.0
    rows = {row.label: row for row in comparison_rows(report_document)}
    assert (rows["Total emissions"].change, rows["Total emissions"].verdict) == (
        "not comparable (nothing before)",
        "",
    )
    assert rows["Electricity"].verdict == "unchanged"

    report_document["comparison"] = None
    assert comparison_rows(report_document) == []


def test_horizontal_charts_draw_the_first_fifteen_rows_and_say_so(report_document):
    machine = report_document["per_machine"][2]
    report_document["per_machine"] = [
        {**machine, "machine_id": n, "machine": f"M{n}", "energy_kwh": float(n)}
        for n in range(1, 21)
    ]

    chart = energy_by_machine(report_document)

    assert [t.text for t in chart.texts if t.css == "category"][:2] == ["M20 · Lyon", "M19 · Lyon"]
    assert len(chart.rects) == 15
    assert chart.height == 10 + 15 * 32 + 40
    assert chart.caption.endswith("The first 15 of 20 are drawn; the table lists all of them.")

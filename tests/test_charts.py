"""Charts and number formats, as pure functions (no warehouse, no browser): every chart has a
title, axis titles and a text alternative; count axes tick at whole numbers; colours meet
WCAG AA contrast on white; every percent shown rounds half up (5 of 8 is 63%, everywhere)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import altair as alt
import polars as pl
import pytest

from dashboard import charts, ui
from warehouse.access import INDICATORS

# --- contrast (WCAG 2.x relative luminance) ----------------------------------------------


def luminance(colour: str) -> float:
    channels = [int(colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str = "#ffffff") -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_formula_matches_known_pairs() -> None:
    assert contrast("#000000") == pytest.approx(21.0)
    assert contrast("#767676") == pytest.approx(4.54, abs=0.01)  # the well-known AA grey


@pytest.mark.parametrize("colour", charts.TEXT_COLOURS)
def test_text_and_line_colours_meet_aa_for_text(colour: str) -> None:
    assert contrast(colour) >= 4.5, colour


@pytest.mark.parametrize("colour", sorted(set(charts.MARK_COLOURS)))
def test_mark_colours_meet_aa_for_graphics(colour: str) -> None:
    assert contrast(colour) >= 3.0, colour


def test_the_old_failing_colours_are_gone() -> None:
    # Light blue bands (1.75:1), orange (3.0:1 for text) and mid grey (4.0:1) failed AA.
    every = {*charts.TEXT_COLOURS, *charts.MARK_COLOURS}
    assert not {"#9ecae1", "#f4a259", "#e07b00", "#7f7f7f"} & every


# --- specs -----------------------------------------------------------------------------


def units(spec: Any) -> Iterator[dict[str, Any]]:
    """Every unit (single-mark) spec inside a chart spec."""
    if isinstance(spec, dict):
        if "mark" in spec:
            yield spec
        for key in ("layer", "spec", "hconcat", "vconcat", "concat"):
            value = spec.get(key)
            if isinstance(value, list):
                for part in value:
                    yield from units(part)
            elif isinstance(value, dict):
                yield from units(value)


def axis_titles(spec: dict[str, Any]) -> dict[str, list[Any]]:
    """The titles each positional channel carries across a chart's units."""
    found: dict[str, list[Any]] = {"x": [], "y": []}
    for unit in units(spec):
        for channel in ("x", "y"):
            enc = unit.get("encoding", {}).get(channel)
            if enc is None:
                continue
            title = enc.get("title", enc.get("axis", {}).get("title") if enc.get("axis") else None)
            found[channel].append(title)
    return found


def assert_described(chart: alt.TopLevelMixin, *, x: bool = True, y: bool = True) -> dict:
    spec = chart.to_dict()
    title = spec.get("title")
    text = title.get("text") if isinstance(title, dict) else title
    assert text, "a chart needs a title"
    assert len(spec.get("description", "")) > 20, "a chart needs a text alternative"
    titles = axis_titles(spec)
    if x:
        assert any(titles["x"]), f"no x axis title: {titles}"
    if y:
        assert any(titles["y"]), f"no y axis title: {titles}"
    return spec


def formats_in(spec: Any) -> Iterator[str]:
    """Every d3 ``format`` string anywhere in a spec."""
    if isinstance(spec, dict):
        for key, value in spec.items():
            if key == "format" and isinstance(value, str):
                yield value
            else:
                yield from formats_in(value)
    elif isinstance(spec, list):
        for value in spec:
            yield from formats_in(value)


def assert_no_share_formats(spec: dict[str, Any]) -> None:
    """No d3 format rounds a share in the browser: percents arrive as whole-number text."""
    bad = [f for f in formats_in(spec) if f.endswith("%") or f.endswith("f")]
    assert not bad, bad


@pytest.fixture
def funnel_frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    boards = pl.DataFrame(
        {
            "board_code": ["B1", "B2", "B3", None, "B5"],
            "board_name": ["One", "Two", "Three", None, "Five"],
            "region": ["london"] * 5,
            "region_label": ["London"] * 5,
            "k": [5, 1, 1, 1, 0],
            "n": [8, 2, 2, 2, 1],
            "value": [5 / 8, 0.5, 0.5, 0.5, 0.0],
            "england": [0.4] * 5,
            "band": ["within 95% limits"] * 4 + ["too few to compare"],
            "selected": [True, False, False, False, False],
            "in_region": [True] * 5,
            "suppressed": [False] * 5,
        }
    )
    limits = pl.DataFrame(
        {
            "n": [1, 2, 4, 8],
            "lower_95": [0.0, 0.0, 0.05, 0.1],
            "upper_95": [1.0, 1.0, 0.9, 0.75],
            "lower_998": [0.0, 0.0, 0.0, 0.02],
            "upper_998": [1.0, 1.0, 1.0, 0.9],
            "england": [0.4] * 4,
        }
    )
    return boards, limits


def test_funnel_axes_points_and_limits(funnel_frames: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    boards, limits = funnel_frames
    spec = assert_described(charts.funnel_chart(boards, limits, "Under one"))
    assert_no_share_formats(spec)
    layers = spec["layer"]
    # The x axis spans every board from 0, ticks at whole numbers, drawn over the lines.
    x = layers[2]["encoding"]["x"]
    assert x["scale"]["domain"][0] == 0 and x["scale"]["domain"][1] >= 8
    assert x["axis"]["tickMinStep"] == 1 and x["axis"]["format"] == "d"
    assert x["axis"]["zindex"] == 1
    # Three boards at 1 of 2 are one point sized 3, named in its tooltip.
    points = spec["datasets"][layers[2]["data"]["name"]]
    shared = [p for p in points if p["n"] == 2]
    assert len(shared) == 1 and shared[0]["boards"] == 3
    assert shared[0]["who"] == "Three, Two; 1 board not named"
    assert layers[2]["encoding"]["size"]["field"] == "boards"
    # 5 of 8 is 63% in the tooltip, as text computed half up on the server.
    chosen = next(p for p in points if p["n"] == 8)
    assert chosen["counts"] == "63% (5 of 8)"
    # No limit line runs along 0% or 100% (it would hide the axis).
    lines = spec["datasets"][layers[0]["data"]["name"]]
    assert lines and all(0 < row["bound"] < 100 for row in lines)


def test_trend_panels_and_grid(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = []
    for key in ("reviews", "under_one", "median_months"):
        for series, order in (("London", 0), ("England", 2)):
            for period, value in (("2001-03", 5 / 8), ("2003-05", 0.5)):
                kind = next(i.kind for i in INDICATORS if i.key == key)
                if kind == "count" and order:
                    continue
                rows.append(
                    {
                        "indicator": key,
                        "kind": kind,
                        "period": period,
                        "value": value * (10 if kind != "share" else 1),
                        "suppressed": False,
                        "series": series,
                        "series_order": order,
                    }
                )
    plot = ui.trend_frame(pl.DataFrame(rows), ["reviews", "under_one", "median_months"])
    assert plot.filter(pl.col("indicator") == "under_one")["text"][0] == "63%"
    assert set(plot["unit"]) == {"Reviews", "% of children", "Months"}
    for key in ("reviews", "under_one"):
        panel = charts.trend_panel(plot.filter(pl.col("indicator") == key))
        spec = assert_described(panel)
        assert spec["autosize"]["type"] == "pad"  # its whole size known: rows of panels fit
        y = spec["layer"][0]["encoding"]["y"]["axis"]
        assert y["tickMinStep"] == 1
        if key == "reviews":
            assert y["format"] == "d"
    grid = charts.trend_grid(plot, columns=4, width=200)
    spec = assert_described(grid, x=True, y=False)
    # Four panels and their axes fit the 820 px main column at 1280 px.
    assert 4 * (spec["spec"]["width"] + 50) <= 820


def test_heatmap_hbar_stacked_and_benchmark_are_described() -> None:
    cells = pl.DataFrame(
        {
            "agency": ["Police", "Police", "Housing"],
            "focus": ["Training", "Other", "Other"],
            "share": [0.75, 0.25, 1.0],
            "text": ["3", "1", "1"],
            "total": [4, 4, 1],
        }
    )
    heat = assert_described(
        charts.heatmap(cells, "agency", "focus", "share", "text", x_sort=["Police", "Housing"])
    )
    assert heat["layer"][0]["encoding"]["x"]["axis"]["labelOverlap"] is False
    faint = charts.heatmap(cells, "agency", "focus", "share", "text", total="total").to_dict()
    data = faint["datasets"][faint["data"]["name"]]
    housing = next(r for r in data if r["agency"] == "Housing")
    police = next(r for r in data if r["agency"] == "Police")
    assert housing["_strength"] < police["_strength"] < 1  # 1 of 1 is faint, not darkest
    assert housing["_x"] == "Housing (n=1)"

    numbers = pl.DataFrame({"number": ["0", "1", "2"], "children": [5, None, 2], "text": "x"})
    bars = assert_described(charts.hbar(numbers, "number", "children", "text", "Children"))
    assert bars["layer"][0]["encoding"]["x"]["axis"]["tickMinStep"] == 1
    assert bars["layer"][0]["encoding"]["y"]["scale"]["domain"] == ["0", "1", "2"]

    mix = pl.DataFrame(
        {
            "period": ["2001-03", "2001-03", "2003-05"],
            "focus_label": ["A", "B", "A"],
            "focus_order": [1, 2, 1],
            "share": [5 / 8, 3 / 8, None],
            "text": ["5", "3", "c"],
        }
    )
    stacked = charts.stacked_share(
        mix, "period", "focus_label", "focus_order", "share", "Period", "Focus"
    )
    spec = assert_described(stacked)
    assert_no_share_formats(spec)
    # The period whose figures are hidden keeps its place on the axis.
    assert spec["encoding"]["x"]["scale"]["domain"] == ["2001-03", "2003-05"]
    shown = spec["datasets"][spec["data"]["name"]]
    assert [r["_percent_text"] for r in shown] == ["63%", "38%"]

    bench = pl.DataFrame(
        {
            "label": ["Under one"],
            "board_value": [5 / 8],
            "ci_low": [0.245],
            "ci_high": [0.915],
            "region_value": [0.5],
            "england_value": [0.285],
        }
    )
    spec = assert_described(charts.benchmark_chart(bench, "One", "London"))
    assert_no_share_formats(spec)
    texts = {r["who"]: r["text"] for r in spec["datasets"][spec["layer"][1]["data"]["name"]]}
    assert texts == {"One": "63%", "London": "50%", "England": "29%"}


# --- the one rounding rule in the dashboard's formatters ----------------------------------


def test_formatters_round_half_up() -> None:
    assert ui.pct(5 / 8) == "63%"
    assert ui.pct(57 / 200) == "29%"  # stored as 0.28499999999999998
    assert ui.fmt_indicator("under_one", 5 / 8) == "63%"
    assert ui.fmt_indicator("median_months", 10.25) == "10.3 months"
    assert ui.fmt_indicator("reviews", 1234.5) == "1,235"
    assert ui.delta_text("under_one", 5 / 8, 0.5) == "+13 pts"
    frame = pl.DataFrame(
        {"share": [5 / 8, 57 / 200], "n": [1.5, 2.0], "suppressed": [False, False]}
    )
    shown, config = ui.figure_columns(
        frame, {"share": ("Share", "pct", None), "n": ("N", "int", None)}
    )
    assert shown["share"].to_list() == [63, 29] and shown["n"].to_list() == [2, 2]
    assert config["share"]["type_config"]["format"] == "%d%%"
    hidden = frame.with_columns(pl.Series("suppressed", [False, True]), pl.lit(None).alias("x"))
    texts = hidden.select(ui.figure_text("share", "pct"))["share"].to_list()
    assert texts == ["63%", "29%"]
    assert ui.column_formats(a=("A", "pct"))["a"]["type_config"]["format"] == "%d%%"
    long = pl.DataFrame(
        {
            "indicator": ["under_one", "recs_per_review", "reviews", "reviews"],
            "value": [5 / 8, 2.25, 1234567.0, None],
            "suppressed": [False, False, False, True],
        }
    )
    assert long.select(ui.indicator_text().alias("t"))["t"].to_list() == [
        "63%",
        "2.3",
        "1,234,567",
        "c",
    ]
    assert long.select(ui.indicator_number().alias("t"))["t"].to_list()[:2] == pytest.approx(
        [63.0, 2.3]
    )


def test_plurals() -> None:
    assert ui.plural(1, "board") == "1 board"
    assert ui.plural(2, "review") == "2 reviews"
    assert ui.plural(1, "child", "children") == "1 child"
    assert ui.plural(1234, "review") == "1,234 reviews"


def test_marks_are_described_for_screen_readers_without_raw_shares() -> None:
    """Vega reads each mark's description out; by default it lists the encoded fields, a
    raw share among them (0.353591160221). Every data mark carries its tooltip's text."""
    cells = pl.DataFrame(
        {"a": ["x", "y"], "b": ["p", "q"], "share": [0.353591160221, 5 / 8], "text": ["35%", "63%"]}
    )
    spec = charts.heatmap(cells, "a", "b", "share", "text", value_title="Children").to_dict()
    rect, labels = spec["layer"]
    assert rect["encoding"]["description"]["field"] == "_aria"
    assert labels["mark"]["aria"] is False
    rows = spec["datasets"][spec["data"]["name"]]
    assert [r["_aria"] for r in rows] == ["B: p; A: x; Children: 35%", "B: q; A: y; Children: 63%"]


@pytest.mark.parametrize("scheme", sorted(charts.HEAT_RANGES))
def test_heatmap_labels_readable_on_every_shade(scheme: str) -> None:
    """Cell labels are always dark text; the darkest shade keeps them >= 4.5:1."""
    for shade in charts.HEAT_RANGES[scheme]:
        assert contrast(charts.TEXT_COLOUR, shade) >= 4.5, shade
    cells = pl.DataFrame({"a": ["x"], "b": ["y"], "share": [1.0], "text": ["100%"]})
    spec = charts.heatmap(cells, "a", "b", "share", "text", scheme=scheme).to_dict()
    assert spec["layer"][1]["mark"]["color"] == charts.TEXT_COLOUR
    assert spec["layer"][0]["encoding"]["color"]["scale"]["range"] == charts.HEAT_RANGES[scheme]


def test_translucent_marks_keep_their_contrast(
    funnel_frames: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    """A mark drawn with opacity is lighter on white: the funnel's points, blended, still
    reach 3:1 in every band colour."""
    boards, limits = funnel_frames
    spec = charts.funnel_chart(boards, limits, "Under one").to_dict()
    opacity = spec["layer"][2]["mark"]["opacity"]
    for colour in set(charts.BAND_PALETTE) | set(charts.BAND_COLOURS.values()):
        channels = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
        blended = "#" + "".join(f"{round(opacity * c + (1 - opacity) * 255):02x}" for c in channels)
        assert contrast(blended) >= 3.0, (colour, blended)

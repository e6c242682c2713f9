"""Altair chart builders. They take tidy polars frames from the access layer and return
charts; they never read data themselves.

Every chart has a title, axis titles with their units and a text alternative (the spec's
``description``, which Vega gives the chart as its ARIA label; the pages show it again as
``alt``). Every percent a chart shows as text (tooltips, labels) is a whole number rounded
half up by ``warehouse.numbers`` here on the server: no d3 format (".0f", ".0%") rounds a
share in the browser. Count axes tick at whole numbers only. The colours keep at least
WCAG AA contrast against the white page: 4.5:1 for anything read as text, 3:1 for marks.
"""

from __future__ import annotations

import altair as alt
import polars as pl

from warehouse.disclosure import SYMBOL
from warehouse.numbers import percent_expr, percent_of_expr

# The selection in a strong blue, its region in dark orange, England in grey: the same
# everywhere, each with its own shape too, so no series is told by colour alone.
SERIES_COLOURS = ["#1f5fa8", "#b35900", "#6b6b6b"]
SERIES_SHAPES = ["circle", "triangle-up", "square"]
TEXT_COLOUR = "#222222"
RULE_COLOUR = "#555555"
# A board outside the viewer's scope is a point without a name (never in a tooltip either).
UNNAMED_BOARD = "another board (not named)"
# Funnel bands: named ones keep their colour; any other band (the read layer names them)
# takes the next colour of BAND_PALETTE. Each is >= 3:1 against white.
BAND_COLOURS = {
    "within 95% limits": "#2b7bba",
    "between 95% and 99.8% limits": "#b35900",
    "outside 99.8% limits": "#b2182b",
    "too few to compare": "#6b6b6b",  # grey: no comparison (warehouse.stats.comparable)
    "Similar": "#2b7bba",
    "Higher": "#b2182b",
    "Lower": "#8c510a",
}
BAND_PALETTE = ["#2b7bba", "#b35900", "#b2182b", "#6b6b6b", "#1a7f64", "#8c510a"]
BAND_SHAPES = ["circle", "triangle-up", "diamond", "square", "cross", "triangle-down"]
# Categorical colours for stacked bars (Okabe-Ito order, darkened where needed for 3:1).
CATEGORY_PALETTE = [
    "#1f5fa8",
    "#b35900",
    "#1a7f64",
    "#b2182b",
    "#6a3d9a",
    "#8c510a",
    "#2b7bba",
    "#6b6b6b",
    "#a6336b",
    "#4d7326",
    "#0e6e8c",
    "#7a5c00",
]
# Heatmap shading, light to mid: dark text is readable (>= 4.5:1) on every cell, the
# darkest included, so the labels never switch to white (white on mid blue is 3:1).
HEAT_RANGES = {
    "blues": ["#f2f7fc", "#4a98c9"],
    "greens": ["#f4fbf2", "#5eae6e"],
}
# Every colour a chart draws text or marks in (tests check their contrast).
TEXT_COLOURS = (*SERIES_COLOURS, TEXT_COLOUR, RULE_COLOUR)
MARK_COLOURS = (*BAND_PALETTE, *BAND_COLOURS.values(), *CATEGORY_PALETTE)
# Widths that fit the page: at 1280 px wide with the sidebar open, the main column is
# about 820 px, so a grid of N panels gets GRID_WIDTH / N each, axis and gaps included.
GRID_WIDTH = 760
PANEL_OVERHEAD = 62  # the y axis labels and title, and the gap between panels
COUNT_AXIS = {"tickMinStep": 1, "format": "d"}
# A heatmap cell whose total is below this is drawn fainter (a share of few is not large).
FULL_SHADE_FROM = 50


def described(
    chart: alt.TopLevelMixin, title: str, description: str, subtitle: str = ""
) -> alt.TopLevelMixin:
    """``chart`` with its title (anchored left, as the page's headings are) and its text
    alternative (``description``, read out by screen readers)."""
    params = alt.TitleParams(title, anchor="start", subtitle=subtitle or alt.Undefined)
    return chart.properties(title=params, description=description)


def description_of(chart: alt.TopLevelMixin) -> str:
    """A chart's text alternative, for ``st.altair_chart(..., alt=...)``."""
    text = chart.to_dict(validate=False).get("description")
    return str(text) if text else ""


def with_aria(data: pl.DataFrame, fields: dict[str, str]) -> pl.DataFrame:
    """``data`` with ``_aria``: each mark's description for screen readers, from the same
    pre-formatted fields as its tooltip (title: field), so no raw share is read out."""
    parts = [
        pl.format(f"{title}: {{}}", pl.col(field).cast(pl.String).fill_null("–"))
        for field, title in fields.items()
    ]
    return data.with_columns(pl.concat_str(parts, separator="; ").alias("_aria"))


ARIA = alt.Description("_aria:N")


def count_axis(**kwargs: object) -> alt.Axis:
    """An axis of counts: ticks at whole numbers only (no 0.5 of a review)."""
    return alt.Axis(**COUNT_AXIS, **kwargs)  # type: ignore[arg-type]


def series_scales(data: pl.DataFrame) -> tuple[list[str], list[str], list[str]]:
    """The series names in order with their colours and shapes, by role (selection, region,
    England), so England is grey squares on every page."""
    named = data.select("series", "series_order").unique().sort("series_order")
    roles = [min(int(o), 2) for o in named["series_order"].to_list()]
    return (
        named["series"].to_list(),
        [SERIES_COLOURS[r] for r in roles],
        [SERIES_SHAPES[r] for r in roles],
    )


def panel_width(columns: int, width: int) -> int:
    """The plot width of each of ``columns`` panels: ``width`` at most, but never so wide
    that the grid is wider than the page at 1280 px."""
    return max(120, min(width, GRID_WIDTH // max(columns, 1) - PANEL_OVERHEAD))


def _trend_encodings(
    data: pl.DataFrame, legend: bool, y_title: str | None, count: bool
) -> alt.Chart:
    series, colours, shapes = series_scales(data)
    # Every period keeps its place, one whose figures are all hidden too.
    periods = data["period"].unique().sort().to_list()
    y_axis = count_axis(title=y_title) if count else alt.Axis(title=y_title, tickMinStep=1)
    shown = with_aria(
        data.filter(pl.col("shown").is_not_null()),
        {"series": "Series", "title": "Indicator", "period": "Period", "text": "Value"},
    )
    return alt.Chart(shown).encode(
        description=ARIA,
        x=alt.X(
            "period:O", title="Period", axis=alt.Axis(labelAngle=0), scale=alt.Scale(domain=periods)
        ),
        y=alt.Y("shown:Q", axis=y_axis, scale=alt.Scale(zero=True)),
        color=alt.Color(
            "series:N",
            title=None,
            scale=alt.Scale(domain=series, range=colours),
            legend=alt.Legend(orient="top") if legend and len(series) > 1 else None,
        ),
        shape=alt.Shape(
            "series:N", title=None, scale=alt.Scale(domain=series, range=shapes), legend=None
        ),
        tooltip=[
            alt.Tooltip("series:N", title="Series"),
            alt.Tooltip("title:N", title="Indicator"),
            alt.Tooltip("period:O", title="Period"),
            alt.Tooltip("text:N", title="Value"),
        ],
    )


def trend_grid(
    data: pl.DataFrame, columns: int = 3, height: int = 130, width: int = 220
) -> alt.FacetChart:
    """Small multiples: one panel per indicator (``title``), a line per ``series`` across
    ``period``; expects columns period, title, series, series_order, shown, text (and
    ``unit``, the y axis title, when present). A hidden figure (``shown`` null) is no point:
    the line skips it. The grid fits the page at 1280 px (panels narrow to fit); for a grid
    that wraps on narrower windows, use ``ui.trend_grid``."""
    units = (
        ", ".join(data["unit"].unique(maintain_order=True).to_list())
        if "unit" in data.columns
        else "each indicator's value"
    )
    base = _trend_encodings(data, legend=True, y_title=None, count=False)
    layered = alt.layer(base.mark_line(), base.mark_point(filled=True, size=45)).properties(
        height=height, width=panel_width(columns, width)
    )
    names = ", ".join(data["title"].unique(maintain_order=True).to_list())
    series = ", ".join(series_scales(data)[0])
    chart = (
        layered.facet(
            facet=alt.Facet("title:N", title=None, sort=alt.SortField("order")),
            columns=columns,
        )
        .resolve_scale(y="independent")
        .configure_header(
            labelFontSize=13, labelFontWeight="bold", labelLimit=panel_width(columns, width) + 40
        )
    )
    return described(  # type: ignore[return-value]
        chart,
        "Trends by period",
        f"Line charts by period, one panel per indicator ({names}), a line for {series}. "
        f"Y axes: {units}; x axis: period.",
    )


def trend_panel(data: pl.DataFrame, height: int = 130, width: int = 200) -> alt.LayerChart:
    """One indicator's panel of a trend grid (``data`` holds one ``title``): its own title,
    an x axis of periods, a y axis titled with its unit (``unit``), counts at whole numbers,
    and a line per series (colour and shape by role)."""
    title = str(data["title"][0]) if data.height else ""
    unit = str(data["unit"][0]) if "unit" in data.columns and data.height else "Value"
    count = bool(data["kind"][0] == "count") if "kind" in data.columns and data.height else False
    base = _trend_encodings(data, legend=False, y_title=unit, count=count)
    # "pad": the plot is width x height and the axes and title are added around it (a
    # panel's whole size is known, so a row of panels fits the page).
    chart = alt.layer(base.mark_line(), base.mark_point(filled=True, size=45)).properties(
        height=height, width=width, autosize=alt.AutoSizeParams(type="pad")
    )
    points = (
        data.filter(pl.col("shown").is_not_null())
        .sort("series_order", "period")
        .group_by("series", maintain_order=True)
        .agg(pl.format("{} {}", "period", "text").str.join(", ").alias("values"))
        .select(pl.format("{}: {}", "series", "values").str.join("; "))
        .item()
        if data.height
        else ""
    )
    return described(  # type: ignore[return-value]
        chart, title, f"{title} by period ({unit}). {points or 'No figures to show.'}"
    )


def _limit_lines(limits: pl.DataFrame) -> pl.DataFrame:
    """The funnel's limits long (n, limit, level, bound in %), without the stretches that
    lie on 0% or 100%, which would hide the axes (the line starts where the limit leaves
    the edge)."""
    bounds = [c for c in limits.columns if c.startswith(("lower_", "upper_"))]
    return (
        limits.unpivot(index="n", on=bounds, variable_name="limit", value_name="bound")
        .with_columns(
            (pl.col("bound") * 100).alias("bound"),
            pl.when(pl.col("limit").str.ends_with("95"))
            .then(pl.lit("95% limits"))
            .otherwise(pl.lit("99.8% limits"))
            .alias("level"),
        )
        .filter((pl.col("bound") > 0) & (pl.col("bound") < 100))
    )


def _funnel_points(boards: pl.DataFrame) -> pl.DataFrame:
    """One point per (k, n): boards at the same place are one point sized by how many they
    are (so none hides another), named in the tooltip (unnamed ones counted)."""
    data = boards.filter(pl.col("value").is_not_null() & pl.col("n").is_not_null())
    if "band" not in data.columns:
        data = data.with_columns(pl.lit(None, dtype=pl.String).alias("band"))
    if "selected" not in data.columns:
        data = data.with_columns(pl.lit(False).alias("selected"))
    return (
        data.with_columns(pl.col("band").fill_null("too few to compare"))
        .group_by("k", "n", "band")
        .agg(
            pl.col("value").first(),
            pl.len().alias("boards"),
            pl.col("board_name").drop_nulls().sort().alias("names"),
            pl.col("board_name").null_count().alias("unnamed"),
            pl.col("selected").fill_null(False).any().alias("selected"),
        )
        .with_columns(
            (pl.col("value") * 100).alias("percent"),
            pl.format("{}% ({} of {})", percent_of_expr(pl.col("k"), pl.col("n")), "k", "n").alias(
                "counts"
            ),
            pl.concat_str(
                pl.col("names").list.join(", "),
                pl.when(pl.col("unnamed") > 0)
                .then(
                    pl.format(
                        "{} {}",
                        "unnamed",
                        pl.when(pl.col("unnamed") == 1)
                        .then(pl.lit("board not named"))
                        .otherwise(pl.lit("boards not named")),
                    )
                )
                .otherwise(pl.lit("")),
                separator="; ",
                ignore_nulls=True,
            )
            .str.strip_chars("; ")
            .alias("who"),
        )
        .drop("names")
        .sort("n", "k")
    )


def funnel_chart(boards: pl.DataFrame, limits: pl.DataFrame, title: str) -> alt.LayerChart:
    """Boards' proportions against their number of cases, with England's line and the 95%
    and 99.8% control limits; the selected board ringed and labelled. A board without a name
    (outside the viewer's scope) is an unnamed point; a point without a value is not drawn.

    The x axis runs from 0 past the largest board with whole-number ticks; boards at the
    same place are one point sized by their number; the limit lines stop where they meet
    0% or 100% and the axes are drawn over them."""
    points_data = with_aria(
        _funnel_points(boards),
        {"who": "Boards", "boards": "How many", "counts": "Cases", "band": "Against England"},
    )
    n_max = max(
        int(points_data["n"].max() or 1) if points_data.height else 1,
        int(limits["n"].max() or 1) if limits.height else 1,
    )
    x_scale = alt.Scale(domain=[0, n_max + 1], nice=False)
    x_title, y_title = "Number of cases (the denominator)", f"{title} (% of cases)"
    x = alt.X(
        "n:Q",
        title=x_title,
        scale=x_scale,
        axis=count_axis(zindex=1),
    )
    y = alt.Y(
        "percent:Q",
        title=y_title,
        scale=alt.Scale(domain=[0, 100]),
        axis=alt.Axis(zindex=1),
    )
    limit_long = _limit_lines(limits)
    lines = (
        alt.Chart(limit_long)
        .mark_line(strokeWidth=1.4, color=RULE_COLOUR, clip=True, aria=False)
        .encode(
            x=alt.X("n:Q", scale=x_scale, axis=count_axis(zindex=1), title=x_title),
            y=alt.Y(
                "bound:Q", scale=alt.Scale(domain=[0, 100]), axis=alt.Axis(zindex=1), title=y_title
            ),
            detail="limit:N",
            strokeDash=alt.StrokeDash(
                "level:N",
                title="Control limits",
                scale=alt.Scale(domain=["95% limits", "99.8% limits"], range=[[5, 4], [1, 0]]),
            ),
        )
    )
    england_share = float(limits["england"][0]) if limits.height else 0.0
    england_text = percent_expr(pl.lit(england_share))
    england_frame = pl.DataFrame({"england": [england_share * 100]}).with_columns(
        pl.format("{}%", england_text).alias("text")
    )
    england = (
        alt.Chart(england_frame)
        .mark_rule(color=TEXT_COLOUR, strokeWidth=1.5)
        .encode(
            y="england:Q",
            tooltip=[alt.Tooltip("text:N", title="England")],
            description=alt.value(f"England: {england_frame['text'][0]}"),
        )
    )
    bands = points_data["band"].unique(maintain_order=True).to_list()
    known = [b for b in BAND_COLOURS if b in bands]
    domain = known + sorted(b for b in bands if b not in BAND_COLOURS)
    spare = iter(c for c in BAND_PALETTE if c not in {BAND_COLOURS[b] for b in known})
    colours = [BAND_COLOURS[b] if b in BAND_COLOURS else next(spare, "#6b6b6b") for b in domain]
    points = (
        alt.Chart(points_data)
        .mark_point(filled=True, opacity=0.9, stroke="white", strokeWidth=0.8)
        .encode(
            x=x,
            y=y,
            size=alt.Size(
                "boards:Q",
                title="Boards at this point",
                scale=alt.Scale(range=[60, 600], zero=False),
                legend=alt.Legend(orient="bottom", format="d", tickMinStep=1)
                if points_data["boards"].max() != 1
                else None,
            ),
            color=alt.Color(
                "band:N",
                title="Against England",
                scale=alt.Scale(domain=domain, range=colours),
                legend=alt.Legend(orient="bottom", labelLimit=320),
            ),
            shape=alt.Shape(
                "band:N",
                scale=alt.Scale(domain=domain, range=BAND_SHAPES[: len(domain)]),
                legend=None,
            ),
            description=ARIA,
            tooltip=[
                alt.Tooltip("who:N", title="Boards"),
                alt.Tooltip("boards:Q", title="How many", format="d"),
                alt.Tooltip("counts:N", title="Cases"),
                alt.Tooltip("band:N", title="Against England"),
            ],
        )
    )
    chosen = points_data.filter(pl.col("selected"))
    chosen_name = (
        boards.filter(pl.col("selected").fill_null(False))
        if "selected" in boards.columns
        else boards.head(0)
    )
    chosen = chosen.with_columns(
        pl.lit(chosen_name["board_name"][0] if chosen_name.height else "").alias("label")
    )
    ring = (
        alt.Chart(chosen)
        .mark_point(size=320, shape="circle", strokeWidth=2.5, color=SERIES_COLOURS[0], aria=False)
        .encode(x=x, y=y)
    )
    label = (
        alt.Chart(chosen)
        .mark_text(
            align="left", dx=14, dy=-12, fontWeight="bold", color=SERIES_COLOURS[0], aria=False
        )
        .encode(x=x, y=y, text="label:N")
    )
    chart = alt.layer(lines, england, points, ring, label).properties(height=420)
    outside = (
        points_data.filter(~pl.col("band").str.starts_with("within"))
        .select(pl.col("boards").sum())
        .item()
    )
    return described(  # type: ignore[return-value]
        chart,
        f"{title}: every board against England",
        f"Funnel plot of {int(points_data['boards'].sum()) if points_data.height else 0} boards: "
        f"y axis {title} as a % of each board's cases, x axis its number of cases (0 to "
        f"{n_max}). England's line at {england_frame['text'][0]}, with 95% (dashed) and "
        f"99.8% (solid) control limits. {outside or 0} boards are not within the 95% "
        "limits or have too few cases to compare.",
    )


def benchmark_chart(bench: pl.DataFrame, board: str, region: str | None) -> alt.LayerChart:
    """Per indicator: the board's value and 95% interval, its region's and England's values."""
    shares = ("board_value", "ci_low", "ci_high", "region_value", "england_value")
    data = bench.with_columns(
        *(pl.col(c) * 100 for c in shares),
        *(pl.format("{}%", percent_expr(pl.col(c))).alias(f"{c}_text") for c in shares),
    )
    y = alt.Y("label:N", title="Indicator", sort=None, axis=alt.Axis(labelLimit=260))
    x_scale = alt.Scale(domain=[0, 100])
    x_title = "% of the board's children or reviews"
    ci_aria = {"label": "Indicator", "ci_low_text": "95% CI from", "ci_high_text": "95% CI to"}
    interval = (
        alt.Chart(with_aria(data, ci_aria))
        .mark_rule(strokeWidth=3, color=BAND_PALETTE[0])
        .encode(
            description=ARIA,
            y=y,
            x=alt.X("ci_low:Q", title=x_title, scale=x_scale),
            x2="ci_high:Q",
            tooltip=[
                alt.Tooltip("label:N", title="Indicator"),
                alt.Tooltip("ci_low_text:N", title="95% CI from"),
                alt.Tooltip("ci_high_text:N", title="95% CI to"),
            ],
        )
    )
    names = [board, region or "Region", "England"]
    marks = (
        data.unpivot(
            index=["label"],
            on=["board_value", "region_value", "england_value"],
            variable_name="who",
            value_name="percent",
        )
        .join(
            data.unpivot(
                index=["label"],
                on=["board_value_text", "region_value_text", "england_value_text"],
                variable_name="who",
                value_name="text",
            ).with_columns(pl.col("who").str.strip_suffix("_text")),
            on=["label", "who"],
            how="left",
        )
        .with_columns(
            pl.col("who").replace_strict(
                {"board_value": names[0], "region_value": names[1], "england_value": names[2]}
            )
        )
    )
    points = (
        alt.Chart(
            with_aria(
                marks.drop_nulls("percent"), {"who": "Who", "label": "Indicator", "text": "%"}
            )
        )
        .mark_point(filled=True, size=90)
        .encode(
            description=ARIA,
            y=y,
            x=alt.X("percent:Q", scale=x_scale, title=x_title),
            color=alt.Color(
                "who:N",
                title=None,
                scale=alt.Scale(domain=names, range=SERIES_COLOURS),
                legend=alt.Legend(orient="top"),
            ),
            shape=alt.Shape(
                "who:N",
                title=None,
                scale=alt.Scale(domain=names, range=["circle", "triangle-up", "diamond"]),
            ),
            tooltip=[
                alt.Tooltip("who:N", title="Who"),
                alt.Tooltip("label:N", title="Indicator"),
                alt.Tooltip("text:N", title="%"),
            ],
        )
    )
    chart = alt.layer(interval, points).properties(height=alt.Step(30))
    return described(  # type: ignore[return-value]
        chart,
        f"{board} beside {names[1]} and England",
        f"Dot plot: for each indicator, {board}'s percent with its 95% interval (a bar), "
        f"{names[1]}'s and England's percents (x axis 0 to 100%).",
    )


def stacked_share(
    data: pl.DataFrame,
    x: str,
    colour: str,
    order: str,
    value: str,
    x_title: str,
    colour_title: str,
    text: str = "text",
) -> alt.Chart:
    """A stacked bar of shares (``value``, proportions of each ``x``, e.g. period) per ``x``,
    segments in code-list ``order``, each with its ``text`` (the count) in the tooltip. A
    hidden share (null) is no segment: the bar stops short of 100% by what is hidden. Every
    ``x`` keeps its place on the axis, an empty one too."""
    domain = data.sort(order)[colour].unique(maintain_order=True).to_list()
    x_domain = data.sort(x)[x].unique(maintain_order=True).to_list()
    plotted = data.filter(pl.col(value).is_not_null()).with_columns(
        (pl.col(value) * 100).alias("_percent"),
        pl.format("{}%", percent_expr(pl.col(value))).alias("_percent_text"),
    )
    plotted = with_aria(
        plotted, {x: x_title, colour: colour_title, text: "Number", "_percent_text": "Share"}
    )
    palette = [CATEGORY_PALETTE[i % len(CATEGORY_PALETTE)] for i in range(len(domain))]
    chart = (
        alt.Chart(plotted)
        .mark_bar(stroke="white", strokeWidth=0.5)
        .encode(
            description=ARIA,
            x=alt.X(
                f"{x}:O",
                title=x_title,
                axis=alt.Axis(labelAngle=0),
                scale=alt.Scale(domain=x_domain),
            ),
            y=alt.Y(
                "_percent:Q",
                stack="zero",
                title="% of recommendations",
                scale=alt.Scale(domain=[0, 100]),
            ),
            color=alt.Color(
                f"{colour}:N",
                title=colour_title,
                sort=domain,
                scale=alt.Scale(domain=domain, range=palette),
                # At the side: a legend below would take the bars' height (autosize fit).
                legend=alt.Legend(orient="right", labelLimit=220),
            ),
            order=alt.Order(f"{order}:Q"),
            tooltip=[
                alt.Tooltip(f"{x}:O", title=x_title),
                alt.Tooltip(f"{colour}:N", title=colour_title),
                alt.Tooltip(f"{text}:N", title="Number"),
                alt.Tooltip("_percent_text:N", title="Share"),
            ],
        )
        .properties(height=360)
    )
    return described(  # type: ignore[return-value]
        chart,
        f"{colour_title} by {x_title.lower()}",
        f"Stacked bars, one per {x_title.lower()} ({', '.join(map(str, x_domain))}): each "
        f"split by {colour_title.lower()} as a percent of the bar's total (y axis, 0-100%).",
    )


def heatmap(
    data: pl.DataFrame,
    x: str,
    y: str,
    value: str,
    text: str,
    *,
    x_sort: list[str] | None = None,
    y_sort: list[str] | None = None,
    x_title: str | None = None,
    y_title: str | None = None,
    scheme: str = "blues",
    domain: tuple[float, float] | None = None,
    step: int = 28,
    total: str | None = None,
    title: str | None = None,
    description: str | None = None,
    value_title: str = "Share",
) -> alt.LayerChart:
    """A labelled heatmap: colour by ``value``, the ``text`` column printed in each cell.

    ``total``: each cell's denominator (e.g. its agency's recommendations). A share of a
    small total is not a large figure: cells whose total is small are drawn faint (full
    strength from FULL_SHADE_FROM), and the x labels carry each column's n, so one
    recommendation of one never looks like the darkest cell."""
    shades = HEAT_RANGES.get(scheme, HEAT_RANGES["blues"])
    scale = (
        alt.Scale(range=shades, domain=list(domain), clamp=True)
        if domain
        else alt.Scale(range=shades)
    )
    # Axis titles always: the caller's, else the field's name in words (focus_label: Focus).
    x_title = x_title or _humanise(x)
    y_title = y_title or _humanise(y)
    if total is not None:
        totals = data.group_by(x).agg(pl.col(total).max().alias("_n"))
        data = data.join(totals, on=x, how="left").with_columns(
            # A hidden total (disclosure control) reads c, and is small: drawn faint.
            pl.format("{} (n={})", pl.col(x), pl.col("_n").cast(pl.String).fill_null(SYMBOL)).alias(
                "_x"
            ),
            (
                pl.col("_n").fill_null(0).clip(0, FULL_SHADE_FROM) / FULL_SHADE_FROM * 0.8 + 0.2
            ).alias("_strength"),
        )
        if x_sort is not None:
            names = dict(zip(data[x].to_list(), data["_x"].to_list(), strict=True))
            x_sort = [names.get(v, v) for v in x_sort]
        x_field = "_x"
    else:
        data = data.with_columns(pl.lit(1.0).alias("_strength"))
        x_field = x
    data = with_aria(data, {y: y_title, x_field: x_title, text: value_title})
    # Empty categories keep their row and column: every sorted value stays on its axis.
    x_scale = alt.Scale(domain=x_sort) if x_sort else alt.Undefined
    y_scale = alt.Scale(domain=y_sort) if y_sort else alt.Undefined
    base = alt.Chart(data).encode(
        x=alt.X(
            f"{x_field}:N",
            title=x_title,
            sort=x_sort,
            scale=x_scale,
            # Every label shown (none dropped for overlap), slanted to fit.
            axis=alt.Axis(labelAngle=-40, labelLimit=200, labelOverlap=False, labelAlign="right"),
        ),
        y=alt.Y(f"{y}:N", title=y_title, sort=y_sort, scale=y_scale, axis=alt.Axis(labelLimit=260)),
    )
    cells = base.mark_rect().encode(
        description=ARIA,
        color=alt.Color(f"{value}:Q", scale=scale, legend=None),
        opacity=alt.Opacity("_strength:Q", scale=None, legend=None),
        tooltip=[
            alt.Tooltip(f"{y}:N", title=y_title),
            alt.Tooltip(f"{x_field}:N", title=x_title),
            alt.Tooltip(f"{text}:N", title=value_title),
        ],
    )
    # Dark text on every cell: the shading stops at a mid tone (HEAT_RANGES).
    labels = base.mark_text(fontSize=11, aria=False, color=TEXT_COLOUR).encode(text=f"{text}:N")
    # A fixed step per row, so the axis labels never squeeze the cells.
    chart = alt.layer(cells, labels).properties(height=alt.Step(step))
    rows = ", ".join(map(str, y_sort or data[y].unique(maintain_order=True).to_list()))
    return described(  # type: ignore[return-value]
        chart,
        title or f"{y_title} by {x_title.lower()}",
        description
        or f"Heatmap, rows: {rows}; each cell labelled with its figure and shaded by it"
        + (" (faint where its column's total is small)." if total else "."),
    )


def _humanise(field: str) -> str:
    return field.removesuffix("_label").replace("_", " ").capitalize()


def hbar(
    data: pl.DataFrame,
    y: str,
    x: str,
    text: str,
    x_title: str,
    *,
    y_title: str | None = None,
    title: str | None = None,
) -> alt.LayerChart:
    """Horizontal bars in the frame's order, each labelled with ``text``. A hidden value (null)
    has no bar, and its label (c) sits at the axis, so it never reads as an empty bar. The
    x axis counts, so it ticks at whole numbers."""
    data = data.with_columns(pl.col(x).fill_null(0).alias("_label_at"))
    order = data[y].cast(pl.String).to_list()
    axis_title = y_title or y.replace("_", " ").capitalize()
    data = with_aria(data, {y: axis_title, text: x_title})
    base = alt.Chart(data).encode(
        y=alt.Y(
            f"{y}:N",
            title=axis_title,
            sort=order,
            scale=alt.Scale(domain=order),
            axis=alt.Axis(labelLimit=360),
        ),
    )
    chart = alt.layer(
        base.mark_bar(color=SERIES_COLOURS[0]).encode(
            x=alt.X(f"{x}:Q", title=x_title, axis=count_axis()), description=ARIA
        ),
        base.mark_text(align="left", dx=4, color=TEXT_COLOUR, aria=False).encode(
            x="_label_at:Q", text=f"{text}:N"
        ),
    ).properties(height=alt.Step(28))
    bars = data.select(pl.format("{}: {}", y, text).str.join("; ")).item() if data.height else ""
    return described(  # type: ignore[return-value]
        chart,
        title or f"{x_title} by {axis_title.lower()}",
        f"Bar chart of {x_title.lower()} by {axis_title.lower()}: {bars}.",
    )


def implementation_curve(data: pl.DataFrame, title: str) -> alt.LayerChart:
    """The Tracking page's implementation curve: the share of action points completed by
    months since the report, a line per ``series`` (the selection, its region, England:
    colour and shape by ``series_order``). Expects columns series, series_order, months,
    shown (the percent, null where hidden: no point) and text (e.g. "15% (41 of 266)",
    rounded on the server)."""
    series, colours, shapes = series_scales(data)
    plotted = with_aria(
        data.filter(pl.col("shown").is_not_null()).sort("series_order", "months"),
        {"series": "Series", "months": "Months since the report", "text": "Completed"},
    )
    base = alt.Chart(plotted).encode(
        description=ARIA,
        x=alt.X("months:Q", title="Months since the report", axis=count_axis()),
        y=alt.Y(
            "shown:Q",
            title="% of action points completed",
            scale=alt.Scale(domain=[0, 100]),
        ),
        color=alt.Color(
            "series:N",
            title=None,
            scale=alt.Scale(domain=series, range=colours),
            legend=alt.Legend(orient="top") if len(series) > 1 else None,
        ),
        shape=alt.Shape("series:N", title=None, scale=alt.Scale(domain=series, range=shapes)),
        detail="series:N",
        tooltip=[
            alt.Tooltip("series:N", title="Series"),
            alt.Tooltip("months:Q", title="Months since the report"),
            alt.Tooltip("text:N", title="Completed"),
        ],
    )
    # fit-x: the width follows the page and the plot keeps its 300 px of height (under
    # Streamlit's default "fit", the title, legend and axes would come out of it).
    chart = alt.layer(base.mark_line(), base.mark_point(filled=True, size=45)).properties(
        height=300, autosize=alt.AutoSizeParams(type="fit-x", contains="padding")
    )
    ends = (
        plotted.group_by("series", maintain_order=True)
        .agg(pl.col("months").last(), pl.col("text").last())
        .select(pl.format("{} at {} months {}", "series", "months", "text").str.join("; "))
        .item()
        if plotted.height
        else "no figures to show"
    )
    return described(  # type: ignore[return-value]
        chart,
        title,
        f"Line chart: the percent of action points completed (y axis, 0-100%) by months "
        f"since the review's report (x axis), a line for {', '.join(series)}. Latest points: "
        f"{ends}.",
    )

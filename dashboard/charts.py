"""Altair chart builders. They take tidy polars frames from the access layer and return
charts; they never read data themselves."""

from __future__ import annotations

import altair as alt
import polars as pl

# The selection in a strong blue, its region in orange, England in grey: the same everywhere.
SERIES_COLOURS = ["#1f5fa8", "#e07b00", "#7f7f7f"]
# A board outside the viewer's scope is a point without a name (never in a tooltip either).
UNNAMED_BOARD = "another board (not named)"
BAND_COLOURS = {
    "within 95% limits": "#9ecae1",
    "between 95% and 99.8% limits": "#f4a259",
    "outside 99.8% limits": "#c0392b",
}


def trend_grid(
    data: pl.DataFrame, columns: int = 3, height: int = 130, width: int = 220
) -> alt.FacetChart:
    """Small multiples: one panel per indicator (``title``), a line per ``series`` across
    ``period``; expects columns period, title, series, series_order, shown, text. A hidden
    figure (``shown`` null) is no point: the line skips it."""
    named = data.select("series", "series_order").unique().sort("series_order")
    data = data.filter(pl.col("shown").is_not_null())
    series = named["series"].to_list()
    # Colour by role (selection, region, England), so England is grey on every page.
    colours = [SERIES_COLOURS[min(o, 2)] for o in named["series_order"].to_list()]
    base = alt.Chart(data).encode(
        x=alt.X("period:O", title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("shown:Q", title=None, scale=alt.Scale(zero=True)),
        color=alt.Color(
            "series:N",
            title=None,
            scale=alt.Scale(domain=series, range=colours),
            legend=alt.Legend(orient="top") if len(series) > 1 else None,
        ),
        tooltip=[
            alt.Tooltip("series:N", title="Series"),
            alt.Tooltip("title:N", title="Indicator"),
            alt.Tooltip("period:O", title="Period"),
            alt.Tooltip("text:N", title="Value"),
        ],
    )
    layered = alt.layer(base.mark_line(), base.mark_point(filled=True, size=45)).properties(
        height=height, width=width
    )
    return (
        layered.facet(
            facet=alt.Facet("title:N", title=None, sort=alt.SortField("order")),
            columns=columns,
        )
        .resolve_scale(y="independent")
        .configure_header(labelFontSize=13, labelFontWeight="bold")
    )


def funnel_chart(boards: pl.DataFrame, limits: pl.DataFrame, title: str) -> alt.LayerChart:
    """Boards' proportions against their number of cases, with England's line and the 95%
    and 99.8% control limits; the selected board ringed and labelled. A board without a name
    (outside the viewer's scope) is an unnamed point; a point without a value is not drawn."""
    limit_long = limits.unpivot(
        index="n",
        on=["lower_95", "upper_95", "lower_998", "upper_998"],
        variable_name="limit",
        value_name="bound",
    ).with_columns(
        (pl.col("bound") * 100).alias("bound"),
        pl.when(pl.col("limit").str.ends_with("95"))
        .then(pl.lit("95% limits"))
        .otherwise(pl.lit("99.8% limits"))
        .alias("level"),
    )
    lines = (
        alt.Chart(limit_long)
        .mark_line(strokeWidth=1.2, color="#555555")
        .encode(
            x=alt.X("n:Q", title="Number of cases (denominator)"),
            y=alt.Y("bound:Q", title=f"{title} (%)", scale=alt.Scale(domain=[0, 100])),
            detail="limit:N",
            strokeDash=alt.StrokeDash(
                "level:N",
                title="Control limits",
                scale=alt.Scale(domain=["95% limits", "99.8% limits"], range=[[5, 4], [1, 0]]),
            ),
        )
    )
    england_value = float(limits["england"][0]) * 100 if limits.height else 0.0
    england = (
        alt.Chart(pl.DataFrame({"england": [england_value]}))
        .mark_rule(color="#222222", strokeWidth=1.5)
        .encode(y="england:Q", tooltip=[alt.Tooltip("england:Q", title="England %", format=".1f")])
    )
    points_data = boards.filter(pl.col("value").is_not_null()).with_columns(
        (pl.col("value") * 100).alias("percent"),
        pl.format("{} of {}", pl.col("k"), pl.col("n")).alias("counts"),
        pl.col("board_name").fill_null(UNNAMED_BOARD),
        pl.col("region_label").fill_null("–"),
    )
    points = (
        alt.Chart(points_data)
        .mark_circle(size=70, opacity=0.85)
        .encode(
            x="n:Q",
            y="percent:Q",
            color=alt.Color(
                "band:N",
                title="Board",
                scale=alt.Scale(domain=list(BAND_COLOURS), range=list(BAND_COLOURS.values())),
                legend=alt.Legend(orient="bottom", labelLimit=320),
            ),
            tooltip=[
                alt.Tooltip("board_name:N", title="Board"),
                alt.Tooltip("region_label:N", title="Region"),
                alt.Tooltip("counts:N", title="Cases"),
                alt.Tooltip("percent:Q", title="%", format=".0f"),
                alt.Tooltip("band:N", title="Against England"),
            ],
        )
    )
    chosen = points_data.filter(pl.col("selected"))
    ring = (
        alt.Chart(chosen)
        .mark_point(size=260, shape="circle", strokeWidth=2.5, color="#1f5fa8")
        .encode(x="n:Q", y="percent:Q")
    )
    label = (
        alt.Chart(chosen)
        .mark_text(align="left", dx=12, dy=-10, fontWeight="bold", color="#1f5fa8")
        .encode(x="n:Q", y="percent:Q", text="board_name:N")
    )
    return alt.layer(lines, england, points, ring, label).properties(height=420)


def benchmark_chart(bench: pl.DataFrame, board: str, region: str | None) -> alt.LayerChart:
    """Per indicator: the board's value and 95% interval, its region's and England's values."""
    data = bench.with_columns(
        (pl.col(c) * 100).alias(c)
        for c in ("board_value", "ci_low", "ci_high", "region_value", "england_value")
    )
    y = alt.Y("label:N", title=None, sort=None, axis=alt.Axis(labelLimit=260))
    x_scale = alt.Scale(domain=[0, 100])
    interval = (
        alt.Chart(data)
        .mark_rule(strokeWidth=3, color="#9ecae1")
        .encode(
            y=y,
            x=alt.X("ci_low:Q", title="%", scale=x_scale),
            x2="ci_high:Q",
            tooltip=[
                alt.Tooltip("label:N", title="Indicator"),
                alt.Tooltip("ci_low:Q", title="95% CI from", format=".0f"),
                alt.Tooltip("ci_high:Q", title="95% CI to", format=".0f"),
            ],
        )
    )
    marks = data.unpivot(
        index=["label"],
        on=["board_value", "region_value", "england_value"],
        variable_name="who",
        value_name="percent",
    ).with_columns(
        pl.col("who").replace_strict(
            {
                "board_value": board,
                "region_value": region or "Region",
                "england_value": "England",
            }
        )
    )
    names = [board, region or "Region", "England"]
    points = (
        alt.Chart(marks.drop_nulls("percent"))
        .mark_point(filled=True, size=90)
        .encode(
            y=y,
            x=alt.X("percent:Q", scale=x_scale),
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
                alt.Tooltip("percent:Q", title="%", format=".0f"),
            ],
        )
    )
    return alt.layer(interval, points).properties(height=alt.Step(30))


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
    hidden share (null) is no segment: the bar stops short of 100% by what is hidden."""
    domain = data.sort(order)[colour].unique(maintain_order=True).to_list()
    data = data.filter(pl.col(value).is_not_null())
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X(f"{x}:O", title=x_title, axis=alt.Axis(labelAngle=0)),
            y=alt.Y(
                f"{value}:Q",
                stack="zero",
                title="Share",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            color=alt.Color(
                f"{colour}:N",
                title=colour_title,
                sort=domain,
                scale=alt.Scale(domain=domain, scheme="tableau20"),
                legend=alt.Legend(orient="right", labelLimit=320),
            ),
            order=alt.Order(f"{order}:Q"),
            tooltip=[
                alt.Tooltip(f"{x}:O", title=x_title),
                alt.Tooltip(f"{colour}:N", title=colour_title),
                alt.Tooltip(f"{text}:N", title="Number"),
                alt.Tooltip(f"{value}:Q", title="Share", format=".0%"),
            ],
        )
        .properties(height=360)
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
) -> alt.LayerChart:
    """A labelled heatmap: colour by ``value``, the ``text`` column printed in each cell."""
    scale = (
        alt.Scale(scheme=scheme, domain=list(domain), clamp=True)
        if domain
        else alt.Scale(scheme=scheme)
    )
    base = alt.Chart(data).encode(
        x=alt.X(
            f"{x}:N", title=x_title, sort=x_sort, axis=alt.Axis(labelAngle=-30, labelLimit=200)
        ),
        y=alt.Y(f"{y}:N", title=y_title, sort=y_sort, axis=alt.Axis(labelLimit=260)),
    )
    cells = base.mark_rect().encode(
        color=alt.Color(f"{value}:Q", scale=scale, legend=None),
        tooltip=[alt.Tooltip(f"{y}:N"), alt.Tooltip(f"{x}:N"), alt.Tooltip(f"{text}:N")],
    )
    labels = base.mark_text(fontSize=11).encode(
        text=f"{text}:N",
        color=alt.condition(
            f"datum.{value} > {0.6 * (domain[1] if domain else 1)}",
            alt.value("white"),
            alt.value("#222222"),
        ),
    )
    # A fixed step per row, so the axis labels never squeeze the cells.
    return alt.layer(cells, labels).properties(height=alt.Step(step))


def hbar(data: pl.DataFrame, y: str, x: str, text: str, x_title: str) -> alt.LayerChart:
    """Horizontal bars in the frame's order, each labelled with ``text``. A hidden value (null)
    has no bar, and its label (c) sits at the axis, so it never reads as an empty bar."""
    data = data.with_columns(pl.col(x).fill_null(0).alias("_label_at"))
    base = alt.Chart(data).encode(
        y=alt.Y(f"{y}:N", title=None, sort=None, axis=alt.Axis(labelLimit=360)),
    )
    return alt.layer(
        base.mark_bar(color="#1f5fa8").encode(x=alt.X(f"{x}:Q", title=x_title)),
        base.mark_text(align="left", dx=4).encode(x="_label_at:Q", text=f"{text}:N"),
    ).properties(height=alt.Step(28))

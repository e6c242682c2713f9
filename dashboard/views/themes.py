"""Themes: neglect, domestic violence, parental substance misuse and mental ill health (the
family circumstances of the study's Chapters 2-3): how common, how often together, by period."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from dashboard import charts, state, ui
from warehouse.access import THEME_SHORT, THEMES
from warehouse.numbers import percent_expr, percent_of, percent_of_expr

access = state.get_access()
sel = state.selection()
ui.page_header("Themes", access, sel, "family circumstances of the children")

themes = access.themes(sel)
if themes.is_empty():
    ui.empty_note("children")
    st.stop()

st.caption(
    "Optional coding of each child's family circumstances. A share is of **all** children in "
    "the period; children coded *not stated* or left blank count in the denominator, so the "
    "shares are lower bounds. The study found neglect and domestic violence, often with "
    "substance misuse and mental ill health, in many reviews (Chapter 3)."
)

current = themes.filter(pl.col("period") == sel.period) if sel.period else themes
# A pooled count is known only when every period's is: one hidden period hides the sum.
totals = current.group_by("theme", "label").agg(
    *(
        pl.when(pl.col(c).is_null().any()).then(None).otherwise(pl.col(c).sum()).alias(c)
        for c in ("yes", "children", "not_stated", "blank")
    ),
    pl.col("suppressed").any(),
)
order = [key for key, _ in THEMES]
columns = st.columns(len(THEMES))
for i, key in enumerate(order):
    row = totals.filter(pl.col("theme") == key)
    if row.is_empty():
        continue
    r = row.row(0, named=True)
    series = themes.filter(pl.col("theme") == key).sort("period")["share"].drop_nulls()
    known = r["yes"] is not None and r["children"] is not None
    counts = {c: ui.SYMBOL if r[c] is None else r[c] for c in ("yes", "not_stated", "blank")}
    # Whole percents from the counts, half up (the one rounding rule).
    share = percent_of(r["yes"], r["children"]) if known else None
    children = ui.plural(r["children"], "child", "children") if known else ui.SYMBOL
    columns[i].metric(
        r["label"],
        (ui.DASH if share is None else f"{share}%") if known else ui.SYMBOL,
        help=f"{counts['yes']} of {children} coded yes; "
        f"{counts['not_stated']} not stated, {counts['blank']} blank.",
        border=True,
        chart_data=(series * 100).to_list() if series.len() > 1 else None,
    )
ui.disclosure_note(access, current)

st.subheader("How common, by period")
# A hidden share is no point on the line (the note below says why).
trend = themes.filter(pl.col("share").is_not_null()).with_columns(
    (pl.col("share") * 100).alias("percent"),
    pl.format("{}%", percent_of_expr(pl.col("yes"), pl.col("children"))).alias("percent_text"),
    pl.format("{} of {}", pl.col("yes"), pl.col("children")).alias("counts"),
)
trend = charts.with_aria(
    trend,
    {
        "label": "Circumstance",
        "period": "Period",
        "percent_text": "% of children",
        "counts": "Children",
    },
)
periods = themes["period"].unique().sort().to_list()
line = (
    alt.Chart(trend)
    .mark_line(point=True)
    .encode(
        description=charts.ARIA,
        # Every period keeps its place on the axis, one whose figures are hidden too.
        x=alt.X(
            "period:O",
            title="Period",
            axis=alt.Axis(labelAngle=0),
            scale=alt.Scale(domain=periods),
        ),
        y=alt.Y("percent:Q", title="% of children", scale=alt.Scale(domain=[0, 100])),
        color=alt.Color(
            "label:N",
            title=None,
            sort=[label for _, label in THEMES],
            scale=alt.Scale(
                domain=[label for _, label in THEMES], range=charts.CATEGORY_PALETTE[:4]
            ),
            legend=alt.Legend(orient="top"),
        ),
        shape=alt.Shape("label:N", sort=[label for _, label in THEMES], legend=None),
        tooltip=[
            alt.Tooltip("label:N", title="Circumstance"),
            alt.Tooltip("period:O", title="Period"),
            alt.Tooltip("percent_text:N", title="% of children"),
            alt.Tooltip("counts:N", title="Children"),
        ],
    )
    .properties(height=300)
)
latest = (
    trend.sort("period")
    .group_by("label", maintain_order=True)
    .last()
    .select(pl.format("{} {} in {}", "label", "percent_text", "period").str.join("; "))
    .item()
    if trend.height
    else "no figures to show"
)
ui.chart(
    charts.described(
        line,
        "Children with each family circumstance, by period (%)",
        "Line chart, one line per circumstance (neglect, domestic violence, parental "
        "substance misuse, parental mental ill health), percent of all children by period. "
        f"Latest: {latest}.",
    )
)
ui.disclosure_note(access, themes)

pairs = access.theme_pairs(sel)
combos = access.theme_combinations(sel)
numbers = access.theme_numbers(sel)
left, right = st.columns([3, 2])
with left:
    st.subheader("How often together")
    st.caption(
        f"{ui.plain(sel.period or 'All periods')}: share of all children with both circumstances "
        "(the diagonal is each circumstance at all). Substance misuse and mental ill health "
        "are the parents'."
    )
    shorts = list(THEME_SHORT.values())
    # A hidden cell is left blank and labelled c.
    cells = pairs.with_columns(
        pl.when(pl.col("share").is_null() | pl.col("both").is_null())
        .then(pl.lit(ui.SYMBOL))
        .otherwise(
            pl.format("{}% ({})", percent_of_expr(pl.col("both"), pl.col("children")), "both")
        )
        .alias("text")
    )
    ui.chart(
        charts.heatmap(
            cells,
            "short_b",
            "short_a",
            "share",
            "text",
            x_sort=shorts,
            y_sort=shorts,
            x_title="Together with",
            y_title="Circumstance",
            domain=(0.0, max(float(pairs["share"].max() or 0.0), 0.01)),
            step=50,
            title="Children with both circumstances (% of all children)",
            description="Heatmap of pairs of circumstances ("
            + ", ".join(shorts)
            + "): each cell gives the percent and number of all children with both; the "
            "diagonal is each circumstance alone.",
            value_title="Children with both",
        )
    )
    ui.disclosure_note(access, pairs)
with right:
    st.subheader("How many at once")
    bars = (
        numbers.filter(pl.col("number") != "2+")
        .with_columns(
            pl.when(pl.col("children").is_null())
            .then(pl.lit(ui.SYMBOL))
            .otherwise(pl.format("{} ({}%)", pl.col("children"), percent_expr(pl.col("share"))))
            .alias("text")
        )
        .sort("number")
    )
    two_plus = numbers.filter(pl.col("number") == "2+").row(0, named=True)
    if two_plus["children"] is None:
        how_many = f"the number with two or more is hidden ({ui.SYMBOL})."
    else:
        n = two_plus["children"]
        how_many = (
            f"{ui.plural(n, 'child', 'children')} ({ui.pct(two_plus['share'])}) "
            f"{'has' if n == 1 else 'have'} two or more."
        )
    st.caption(f"Children by how many of the four circumstances are coded 'yes': {how_many}")
    ui.chart(
        charts.hbar(
            bars,
            "number",
            "children",
            "text",
            "Number of children",
            y_title="Circumstances coded yes",
            title="Children by how many circumstances are coded yes",
        )
    )
    ui.disclosure_note(access, numbers)

st.subheader("The commonest combinations")
shown, figures = ui.figure_columns(
    combos.head(12),
    {"children": ("Children", "int", None), "share": ("% of children", "pct", None)},
)
ui.table(
    shown.drop("suppressed"),
    ui.column_formats(
        combination=("Circumstances coded 'yes'", "text"),
        circumstances=("How many", "int"),
    )
    | figures,
)
ui.disclosure_note(access, combos.head(12))

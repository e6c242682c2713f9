"""Themes: neglect, domestic violence, parental substance misuse and mental ill health (the
family circumstances of the study's Chapters 2-3): how common, how often together, by period."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from dashboard import charts, state, ui
from warehouse.access import THEME_SHORT, THEMES

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
totals = current.group_by("theme", "label").agg(
    pl.col("yes").sum(),
    pl.col("children").sum(),
    pl.col("not_stated").sum(),
    pl.col("blank").sum(),
)
order = [key for key, _ in THEMES]
columns = st.columns(len(THEMES))
for i, key in enumerate(order):
    row = totals.filter(pl.col("theme") == key)
    if row.is_empty():
        continue
    r = row.row(0, named=True)
    series = themes.filter(pl.col("theme") == key).sort("period")
    columns[i].metric(
        r["label"],
        ui.pct(r["yes"] / r["children"] if r["children"] else None),
        help=f"{r['yes']} of {r['children']} children coded yes; {r['not_stated']} not "
        f"stated, {r['blank']} blank.",
        border=True,
        chart_data=(series["share"] * 100).to_list() if series.height > 1 else None,
    )

st.subheader("How common, by period")
trend = themes.with_columns(
    (pl.col("share") * 100).alias("percent"),
    pl.format("{} of {}", pl.col("yes"), pl.col("children")).alias("counts"),
)
line = (
    alt.Chart(trend)
    .mark_line(point=True)
    .encode(
        x=alt.X("period:O", title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("percent:Q", title="% of children", scale=alt.Scale(domain=[0, 100])),
        color=alt.Color(
            "label:N",
            title=None,
            sort=[label for _, label in THEMES],
            legend=alt.Legend(orient="top"),
        ),
        tooltip=[
            alt.Tooltip("label:N", title="Circumstance"),
            alt.Tooltip("period:O", title="Period"),
            alt.Tooltip("percent:Q", title="%", format=".0f"),
            alt.Tooltip("counts:N", title="Children"),
        ],
    )
    .properties(height=300)
)
st.altair_chart(line, width="stretch")

pairs = access.theme_pairs(sel)
combos = access.theme_combinations(sel)
kids = int(combos["children"].sum())
left, right = st.columns([3, 2])
with left:
    st.subheader("How often together")
    st.caption(
        f"{ui.plain(sel.period or 'All periods')}: share of all children with both circumstances "
        "(the diagonal is each circumstance at all). Substance misuse and mental ill health "
        "are the parents'."
    )
    shorts = list(THEME_SHORT.values())
    cells = pairs.with_columns(
        pl.format(
            "{}% ({})", (pl.col("share") * 100).round(0).cast(pl.Int64), pl.col("both")
        ).alias("text")
    )
    st.altair_chart(
        charts.heatmap(
            cells,
            "short_b",
            "short_a",
            "share",
            "text",
            x_sort=shorts,
            y_sort=shorts,
            domain=(0.0, max(float(pairs["share"].max() or 0.0), 0.01)),
            step=50,
        ),
        width="stretch",
    )
with right:
    st.subheader("How many at once")
    counts = (
        combos.group_by("circumstances")
        .agg(pl.col("children").sum())
        .sort("circumstances")
        .with_columns(
            pl.col("circumstances").cast(pl.String).alias("number"),
            pl.format(
                "{} ({}%)",
                pl.col("children"),
                (100 * pl.col("children") / max(kids, 1)).round(0).cast(pl.Int64),
            ).alias("text"),
        )
    )
    two_plus = int(combos.filter(pl.col("circumstances") >= 2)["children"].sum())
    st.caption(
        f"Children by how many of the four circumstances are coded 'yes': {two_plus} of {kids} "
        f"({ui.pct(two_plus / kids if kids else None)}) have two or more."
    )
    st.altair_chart(charts.hbar(counts, "number", "children", "text", "Children"), width="stretch")

st.subheader("The commonest combinations")
ui.table(
    combos.head(12).with_columns((100 * pl.col("share")).alias("share")),
    ui.column_formats(
        combination=("Circumstances coded 'yes'", "text"),
        circumstances=("How many", "int"),
        children=("Children", "int"),
        share=("% of children", "pct"),
    ),
)

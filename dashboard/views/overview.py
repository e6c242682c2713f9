"""National overview: headline indicators for the selection, with their trend by period."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import charts, state, ui
from warehouse.access import INDICATORS, INDICATORS_BY_KEY

access = state.get_access()
sel = state.selection()
ui.page_header("National overview", access, sel, "headline indicators and their trends")

headline = access.headline(sel)
trends = access.trends(sel)
if headline.is_empty() or headline.filter(pl.col("indicator") == "reviews")["value"][0] == 0:
    # (a hidden number of reviews is None, not 0: some reviews, too few to show)
    ui.empty_note()
    st.stop()

own = trends.filter(pl.col("series_order") == 0)
values = {row["indicator"]: row for row in headline.iter_rows(named=True)}
previous_note = "change since the previous period" if sel.period else "all periods pooled"

st.subheader("Headline figures")
st.caption(
    f"For {ui.plain(sel.period or 'all periods together')}; the small line is the trend "
    f"across periods and the arrow the {previous_note}. Hover over a figure's (?) for its "
    "definition."
)
# Grouped as people ask: who the children were, how the reviews were done, what they asked.
GROUPS = (
    (
        "The children",
        ("children", "under_one", "age_11_plus", "deaths", "on_register", "ethnicity_not_recorded"),
    ),
    (
        "The reviews and their reports",
        ("reviews", "independent_author", "median_months", "genogram", "chronology"),
    ),
    ("Their recommendations", ("recs_per_review", "procedures")),
)
for group, keys in GROUPS:
    st.markdown(f"**{group}**")
    columns = st.columns(6)
    for column, key in zip(columns, keys, strict=False):
        ind = INDICATORS_BY_KEY[key]
        row = values[key]
        series = own.filter(pl.col("indicator") == key).sort("period")
        # A hidden period is left out of the small line, never drawn as zero.
        spark = [ui.display_value(key, v) for v in series["value"].drop_nulls().to_list()]
        hidden = bool(row["suppressed"]) and row["value"] is None
        detail = ""
        if hidden:
            detail = f" ({ui.SYMBOL}: hidden, see the note below)"
        elif ind.kind == "share":
            detail = f" ({row['numerator']:.0f} of {row['denominator']} {ind.unit})"
        elif ind.kind in ("median", "mean"):
            detail = f" (of {row['denominator']} {ind.unit})"
        value = ui.fmt_indicator(key, row["value"], bool(row["suppressed"]))
        if ind.kind == "median":  # the unit is in the label; keep the tile's number short
            value = value.replace(" months", "")
        column.metric(
            ui.SHORT_LABELS[key],
            value,
            delta=ui.delta_text(key, row["value"], row["previous"]),
            delta_color="off",
            help=f"**{ind.label}.** {ind.definition}{detail}",
            border=True,
            chart_data=spark if len(spark) > 1 else None,
            chart_type="line",
        )
ui.disclosure_note(access, headline, own)

st.subheader("Trends by period")
comparators = trends["series"].unique(maintain_order=True).to_list()
if len(comparators) > 1:
    st.caption(
        f"{' vs '.join(ui.plain(c) for c in comparators)}. Shares are percentages of all "
        "children, reviews or recommendations in each period, as defined above."
    )
else:
    st.caption(
        "Shares are percentages of all children, reviews or recommendations in each "
        "period, as defined in the headline figures."
    )
plot = ui.trend_frame(trends, [ind.key for ind in INDICATORS])
st.altair_chart(charts.trend_grid(plot, columns=4, width=200), width="stretch")
ui.disclosure_note(access, plot)
if "2001-03" in set(plot["period"]):
    st.caption(
        "2001-03 holds the study's 40 reviews, the reports it received (about 180 were "
        "expected), so its counts are far below the later periods' national figures."
    )

with st.expander("The figures as a table"):
    table = (
        plot.filter(pl.col("series_order") == 0)
        .pivot(on="period", index=["order", "label"], values="text", aggregate_function="first")
        .sort("order")
        .drop("order")
    )
    ui.table(table)
    ui.disclosure_note(access, plot.filter(pl.col("series_order") == 0))
    st.caption("Definitions: " + " ".join(f"**{i.label}**: {i.definition}" for i in INDICATORS))

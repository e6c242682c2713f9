"""Overview: headline indicators for the selection, with their trend by period. The title
names the selection (England, a region or a board, and the period)."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from dashboard import published, state, ui
from warehouse.access import INDICATORS, INDICATORS_BY_KEY
from warehouse.numbers import percent_of, points_text, round_half_up
from warehouse.stats import MIN_CASES_FOR_CHANGE

access = state.get_access()
sel = state.selection()
# The title is the selection: "England · 2009-11", "Synthetic Board 001 (SYN001) · 2009-11".
name = ui.plain(access.describe(sel)) + (f" ({ui.plain(sel.board)})" if sel.board else "")
st.title(f"{name} · {sel.period or 'all periods'}")
st.caption("Overview: headline indicators and their trends")

headline = access.headline(sel)
trends = access.trends(sel)
if headline.is_empty() or headline.filter(pl.col("indicator") == "reviews")["value"][0] == 0:
    # (a hidden number of reviews is None, not 0: some reviews, too few to show)
    ui.empty_note()
    st.stop()

own = trends.filter(pl.col("series_order") == 0)
values = {row["indicator"]: row for row in headline.iter_rows(named=True)}
previous_period = headline["previous_period"].drop_nulls().first()


def counts_text(k: Any, n: Any, unit: str) -> str:
    """k of n as counted, with its percent (half up): '5 of 8 children (63%)'."""
    if k is None or n is None:
        return "hidden"
    return f"{k:.0f} of {n:,} {unit} ({percent_of(int(k), int(n))}%)" if n else f"no {unit}"


def change(key: str, row: dict[str, Any]) -> tuple[str | None, str]:
    """The change since the previous period for a tile, and its arrow. A share's change is in
    points only when both periods have enough cases; otherwise the previous period's count
    stands in for it (a 50-point swing on 5 reviews says nothing)."""
    if row["previous_period"] is None or row["value"] is None or row["previous"] is None:
        return None, "auto"
    kind = INDICATORS_BY_KEY[key].kind
    if kind == "count":
        return f"{int(row['value'] - row['previous']):+,d}", "auto"
    n_now, n_then = row["denominator"], row["previous_denominator"]
    enough = n_now is not None and n_then is not None
    enough = enough and min(n_now, n_then) >= MIN_CASES_FOR_CHANGE
    if kind == "share":
        if enough:
            return points_text(row["value"] - row["previous"]), "auto"
        counts = (row["numerator"], n_now, row["previous_numerator"], n_then)
        if any(c is None for c in counts) or not n_now or not n_then:
            return None, "auto"  # a hidden count, or nothing to count: no change shown
        # Short enough for a narrow tile: then -> now, as k/n.
        return f"{counts[2]:.0f}/{n_then} → {counts[0]:.0f}/{n_now}", "off"
    if enough:  # a median or mean
        return f"{round_half_up(row['value'] - row['previous'], 1):+.1f}", "auto"
    return None, "auto"


st.subheader("Headline figures")
if sel.period is None:
    previous_note = "All periods are pooled, so no change is shown."
elif previous_period is None:
    previous_note = "There is no earlier period to compare with."
else:
    previous_note = (
        f"Under each figure, the change since {previous_period}: a share's in percentage "
        f"points where both periods have at least {MIN_CASES_FOR_CHANGE} cases, otherwise "
        f"its counts then and now (k/n in {previous_period} → k/n now); a median's or mean's "
        "only where both "
        f"have {MIN_CASES_FOR_CHANGE} or more; a count's as the difference."
    )
st.caption(
    f"For {sel.period or 'all periods together'}; the small line is the trend across "
    f"periods. {previous_note} Hover over a figure's (?) for what it counts."
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
            detail = f" Now: {counts_text(row['numerator'], row['denominator'], ind.unit)}."
            if row["previous_period"]:
                then = counts_text(row["previous_numerator"], row["previous_denominator"], ind.unit)
                detail += f" {row['previous_period']}: {then}."
        elif ind.kind in ("median", "mean"):
            detail = f" (of {row['denominator']} {ind.unit})"
        whole = ind.completeness_of and values[ind.completeness_of]
        if whole and whole["value"] is not None and row["denominator"] is not None:
            # The unanswered are left out of the denominator and counted here instead.
            total = int(whole["value"])
            unanswered = counts_text(total - int(row["denominator"]), total, "reviews")
            detail += f" Left out as unanswered or not known: {unanswered}."
        value = ui.fmt_indicator(key, row["value"], bool(row["suppressed"]))
        if ind.kind == "median":  # the unit is in the label; keep the tile's number short
            value = value.replace(" months", "")
        delta, arrow = change(key, row)
        column.metric(
            ui.SHORT_LABELS[key],
            value,
            delta=delta,
            delta_color="off",
            delta_arrow=arrow,
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
        f"{' vs '.join(ui.plain(c) for c in comparators)}. Each share is a percentage of its "
        "own denominator in each period (see the definitions below)."
    )
else:
    st.caption(
        "Each share is a percentage of its own denominator in each period (see the "
        "definitions below)."
    )
plot = ui.trend_frame(trends, [ind.key for ind in INDICATORS])
ui.trend_grid(plot)  # panels that wrap to the window's width
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
with st.expander("What each figure counts"):
    for ind in INDICATORS:
        st.markdown(f"**{ind.label}**: {ind.definition}")

# Real published national figures: public information, kept apart from the coded sample.
published.render(access)

"""Region: a region's trends against England, and its boards side by side."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import charts, state, ui
from warehouse.access import INDICATORS, INDICATORS_BY_KEY, SIDE_BY_SIDE, Selection

access = state.get_access()
sel = state.selection()

region = sel.region
if region is None and sel.board is not None:
    boards = access.boards()
    found = boards.filter(pl.col("board_code") == sel.board)
    region = found["region"][0] if found.height and found["region"][0] != "not_stated" else None

if region is None:
    ui.page_header("Region", access, sel, "regions side by side")
    st.info(
        "Choose a region in the sidebar to see its trends against England and its boards "
        "side by side. Meanwhile, here are the regions for the period.",
        icon=":material/map:",
    )
    long = access.indicators(Selection(period=sel.period), ("region",))
    regions = access.regions()
    hidden = ui.any_hidden(long)
    # Numbers when nothing is hidden; otherwise text, so a hidden figure reads c.
    cells = long.with_columns(
        pl.struct("indicator", "value")
        .map_elements(
            lambda r: ui.display_value(r["indicator"], r["value"]), return_dtype=pl.Float64
        )
        .alias("shown"),
        pl.struct("indicator", "value", "suppressed")
        .map_elements(
            lambda r: ui.fmt_indicator(r["indicator"], r["value"], bool(r["suppressed"])),
            return_dtype=pl.String,
        )
        .alias("text"),
    )
    reviews = long.filter(pl.col("indicator") == "reviews").select(
        "region", pl.col("value").alias("_reviews")
    )
    wide = (
        cells.pivot(
            on="indicator",
            index="region",
            values="text" if hidden else "shown",
            aggregate_function="first",
        )
        .join(regions.select("region", "label", pl.col("boards")), on="region", how="inner")
        .join(reviews, on="region", how="left")
        .sort("_reviews", descending=True, nulls_last=True)
    )
    keys = [i.key for i in INDICATORS if i.key in wide.columns]
    ui.table(
        wide.select("label", "boards", *keys),
        column_config={
            "label": "Region",
            "boards": st.column_config.NumberColumn(
                "Boards", help="Boards whose most recent stated region this is"
            ),
        }
        | {
            i.key: (
                st.column_config.TextColumn(
                    i.label + (" %" if i.kind == "share" else ""), help=i.definition
                )
                if hidden
                else st.column_config.NumberColumn(
                    i.label + (" %" if i.kind == "share" else ""),
                    format="%.0f%%"
                    if i.kind == "share"
                    else ("%.1f" if i.kind != "count" else "%d"),
                    help=i.definition,
                )
            )
            for i in INDICATORS
        },
    )
    ui.disclosure_note(access, long)
    st.caption(
        "Reviews count in the region they are coded to (as in the study's Table 10); "
        "reviews with region not stated appear only in England's figures."
    )
    st.stop()

region_sel = Selection(period=sel.period, region=region)
label = access.describe(region_sel)
ui.page_header(
    "Region", access, region_sel, f"{ui.plain(label)} against {ui.plain(access.comparator_label)}"
)
if sel.board is not None:
    st.caption(f"Showing the region of the selected board, {ui.plain(access.describe(sel))}.")

trends = access.trends(Selection(region=region))
wanted = [
    "reviews",
    "under_one",
    "age_11_plus",
    "on_register",
    "ethnicity_not_recorded",
    "independent_author",
    "median_months",
    "genogram",
    "procedures",
]
plot = ui.trend_frame(trends, wanted)
st.subheader(f"{ui.plain(label)} against {ui.plain(access.comparator_label)}, by period")
st.caption(
    "Regional figures count reviews coded to the region. Small regional numbers move a "
    "lot from one period to the next: read the trend, not one point."
)
st.altair_chart(charts.trend_grid(plot, columns=3, width=300), width="stretch")
ui.disclosure_note(access, plot)

st.subheader(f"Boards in {ui.plain(label)}, {ui.plain(sel.period or 'all periods')}")
with ui.unless_refused():
    side = access.boards_side_by_side(region_sel)
    if side.is_empty():
        st.caption("None of this region's boards is in your view: only its figures as a whole.")
    else:
        st.caption(
            f"{side.height} boards whose most recent stated region is {ui.plain(label)}; "
            f"{side.filter(pl.col('reviews') == 0).height} had no review in the selection. "
            "Shares are of each board's own children or reviews, so a board with one review shows "
            "0% or 100%."
        )
        ui.table(
            side.drop("region_label"),
            column_config={
                "board_code": "Code",
                "board_name": "Board",
                "reviews": st.column_config.NumberColumn("Reviews", format="%d"),
                "children": st.column_config.NumberColumn("Children", format="%d"),
            }
            | {
                k: st.column_config.NumberColumn(
                    INDICATORS_BY_KEY[k].label
                    + (" %" if INDICATORS_BY_KEY[k].kind == "share" else ""),
                    format="%.0f%%" if INDICATORS_BY_KEY[k].kind == "share" else "%.1f",
                    help=INDICATORS_BY_KEY[k].definition,
                )
                for k in SIDE_BY_SIDE
            },
        )

"""Region: a region's trends against England, and its boards side by side."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import state, ui
from warehouse.access import INDICATORS, INDICATORS_BY_KEY, SIDE_BY_SIDE, Selection

access = state.get_access()
sel = state.selection()
WIDE_KEYS = ("reviews", "children", *SIDE_BY_SIDE)


def comparator_row(selection: Selection, code: str, name: str) -> pl.DataFrame:
    """A region's or England's own figures as one row of the boards' table (shares in %,
    as ``boards_side_by_side`` gives them), from the read layer (hidden figures null)."""
    long = access.indicators(selection).filter(pl.col("indicator").is_in(WIDE_KEYS))
    wide = (
        long.select(
            pl.lit(code).alias("board_code"),
            "indicator",
            pl.when(pl.col("kind") == "share").then(pl.col("value") * 100).otherwise("value"),
        )
        .pivot(on="indicator", values="value", index="board_code", aggregate_function="first")
        .drop("board_code")
    )
    return wide.with_columns(
        pl.lit(code).alias("board_code"),
        pl.lit(name).alias("board_name"),
        pl.lit(bool(long["suppressed"].fill_null(False).any())).alias("suppressed"),
    )


def side_by_side_table(
    side: pl.DataFrame, label: str
) -> tuple[pl.DataFrame, dict[str, object], pl.DataFrame]:
    """The region's boards with the region's and England's rows on top: whole percents
    (half up) and counts, or text with c for a hidden figure when one is. Also the rows
    with their ``suppressed`` flag, for the note on c."""
    period = sel.period
    rows = [
        comparator_row(Selection(period=period), "England", access.comparator_label),
        comparator_row(Selection(period=period, region=region), "Region", label),
        side.drop("region_label").with_columns(pl.lit(False).alias("suppressed")),
    ]
    columns = ["board_code", "board_name", *(k for k in WIDE_KEYS if k in side.columns)]
    table = pl.concat(
        [r.select(*(c for c in columns if c in r.columns), "suppressed") for r in rows],
        how="diagonal_relaxed",
    ).select(*columns, "suppressed")
    kinds = {k: INDICATORS_BY_KEY[k].kind for k in WIDE_KEYS}
    specs = {
        k: (
            INDICATORS_BY_KEY[k].label + (" %" if kinds[k] == "share" else ""),
            "int" if kinds[k] == "count" else "dec" if kinds[k] != "share" else "pct",
            INDICATORS_BY_KEY[k].definition,
        )
        for k in columns[2:]
    }
    # boards_side_by_side gives shares in %: back to proportions for the one rounding rule.
    as_shares = table.with_columns(
        (pl.col(k) / 100) for k, (_, kind, _) in specs.items() if kind == "pct"
    )
    shown, figures = ui.figure_columns(as_shares, specs)
    config = {"board_code": "Code", "board_name": "Board"} | figures
    return shown.drop("suppressed"), config, table


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
    england = access.indicators(Selection(period=sel.period))
    regions = access.regions()
    hidden = ui.any_hidden(long, england)
    # England first, then the regions, most reviews first. Numbers (percents whole, half up)
    # when nothing is hidden; otherwise text, so a hidden figure reads c.
    cells = pl.concat(
        [
            england.with_columns(pl.lit("England").alias("region")).select(long.columns),
            long,
        ]
    ).with_columns(ui.indicator_number().alias("shown"), ui.indicator_text().alias("text"))
    reviews = long.filter(pl.col("indicator") == "reviews").select(
        "region", pl.col("value").alias("_reviews")
    )
    labels = pl.concat(
        [
            regions.select("region", "label", pl.col("boards").cast(pl.Int64)),
            pl.DataFrame(
                {"region": ["England"], "label": [access.comparator_label], "boards": [None]},
                schema={"region": pl.String, "label": pl.String, "boards": pl.Int64},
            ),
        ]
    )
    wide = (
        cells.pivot(
            on="indicator",
            index="region",
            values="text" if hidden else "shown",
            aggregate_function="first",
        )
        .join(labels, on="region", how="inner")
        .join(reviews, on="region", how="left")
        .with_columns((pl.col("region") == "England").alias("_england"))
        .sort("_england", "_reviews", descending=True, nulls_last=True)
    )
    keys = [i.key for i in INDICATORS if i.key in wide.columns]
    ui.table(
        wide.select("label", "boards", *keys),
        column_config={
            "label": "Region",
            "boards": st.column_config.NumberColumn(
                "Boards", format="%d", help="Boards whose most recent stated region this is"
            ),
        }
        | {
            i.key: (
                st.column_config.TextColumn(
                    i.label + (" %" if i.kind == "share" else ""), help=i.definition
                )
                if hidden
                else ui.indicator_column(i.key)
            )
            for i in INDICATORS
        },
    )
    ui.disclosure_note(access, long, england)
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
ui.trend_grid(plot)
ui.disclosure_note(access, plot)

st.subheader(f"Boards in {ui.plain(label)}, {ui.plain(sel.period or 'all periods')}")
with ui.unless_refused():
    side = access.boards_side_by_side(region_sel)
    if side.is_empty():
        st.caption("None of this region's boards is in your view: only its figures as a whole.")
    else:
        none = side.filter(pl.col("reviews").fill_null(0) == 0).height
        st.caption(
            f"{ui.plural(side.height, 'board')} whose most recent stated region is "
            f"{ui.plain(label)}; {none or 'none'} had no review in the selection. "
            f"The region's and {ui.plain(access.comparator_label)}'s own figures are in the "
            "first rows, for comparison. Shares are of each board's own children or reviews, "
            "so a board with one review shows 0% or 100%."
        )
        table, config, flagged = side_by_side_table(side, label)
        ui.table(table, column_config=config)
        ui.disclosure_note(access, flagged)

"""Board benchmark: a board against its region and England on the key proportions, with
Wilson 95% intervals, a single-overlap comparison with England and a funnel plot."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import charts, state, ui
from warehouse.access import INDICATORS, INDICATORS_BY_KEY, SHARE_INDICATORS, funnel_limits

access = state.get_access()
sel = state.selection()
ui.page_header("Board benchmark", access, sel, "a board beside its region and England")

st.info(
    "**Counts are small.** A board has only a few serious case reviews in a period, so each "
    "proportion here rests on a handful of children or reviews, moves in large steps and has "
    "a wide interval. These figures describe the reviews that were coded; they are **not a "
    "measure of a board's performance**.",
    icon=":material/info:",
)

if sel.board is None:
    st.markdown(
        "Choose a **board** in the sidebar to see it beside its region and England. "
        "The funnel plot below shows every board."
    )
else:
    bench = access.benchmark(sel)
    board_label = access.describe(sel)
    boards = access.boards()
    row = boards.filter(pl.col("board_code") == sel.board)
    region_label = row["region_label"][0] if row.height else None
    n_reviews = int(access.indicators(sel).filter(pl.col("indicator") == "reviews")["value"][0])
    st.subheader(f"{ui.plain(board_label)} ({ui.plain(sel.board)})")
    pool = " Choose *All periods* in the sidebar to pool periods for steadier figures."
    st.caption(
        f"Region: {ui.plain(region_label or 'not stated')} · {n_reviews} review"
        f"{'s' if n_reviews != 1 else ''} in {ui.plain(sel.period or 'all periods')}."
        + (pool if sel.period else "")
    )
    if n_reviews == 0:
        ui.empty_note("reviews for this board")
    else:
        hidden = ui.any_hidden(bench)
        figure = (
            st.column_config.TextColumn
            if hidden
            else lambda label=None: st.column_config.NumberColumn(label, format="%.0f%%")
        )
        table = bench.with_columns(
            pl.format(
                "{} ({} of {})",
                pl.col("board_value").map_elements(ui.pct, return_dtype=pl.String),
                pl.col("board_k").cast(pl.Int64),
                pl.col("board_n"),
            ).alias("Board"),
            pl.format(
                "{} to {}",
                pl.col("ci_low").map_elements(ui.pct, return_dtype=pl.String),
                pl.col("ci_high").map_elements(ui.pct, return_dtype=pl.String),
            ).alias("95% interval"),
            # Region and England are under disclosure control: a hidden value reads c.
            *(
                (
                    ui.figure_text("region_value", "pct", "region_suppressed").alias("Region"),
                    ui.figure_text("england_value", "pct", "england_suppressed").alias(
                        access.comparator_label
                    ),
                )
                if hidden
                else (
                    (pl.col("region_value") * 100).alias("Region"),
                    (pl.col("england_value") * 100).alias(access.comparator_label),
                )
            ),
            pl.col("comparison").alias(f"Compared with {access.comparator_label}"),
        ).with_columns(
            pl.when(pl.col("board_n") == 0)
            .then(pl.lit("no cases"))
            .otherwise(pl.col("Board"))
            .alias("Board"),
            pl.when(pl.col("board_n") == 0)
            .then(pl.lit("–"))
            .otherwise(pl.col("95% interval"))
            .alias("95% interval"),
        )
        ui.table(
            table.select(
                pl.col("label").alias("Indicator"),
                "Board",
                "95% interval",
                "Region",
                access.comparator_label,
                f"Compared with {access.comparator_label}",
            ),
            column_config={
                "Region": figure(f"Region ({region_label})" if region_label else "Region"),
                access.comparator_label: figure(access.comparator_label),
            },
        )
        st.altair_chart(charts.benchmark_chart(bench, board_label, region_label), width="stretch")
        ui.disclosure_note(access, bench)
    st.caption(
        "**Method.** Each board proportion has a Wilson score 95% confidence interval. "
        "*Compared with England* follows the single-overlap convention of the public-health "
        "(PHE Fingertips) profiles: the board's 95% interval is compared with England's "
        "**value** (not with England's interval). If the interval contains England's value the "
        "board is *Similar*; otherwise it is *Better* or *Worse* where one direction is better "
        "(fewer children with ethnicity not recorded; more independent authors, genograms and "
        "integrated chronologies), and *Higher* or *Lower* where neither is (case-mix "
        "measures such as age). England includes the board itself."
    )
    with st.expander("Definitions of the proportions"):
        for ind in INDICATORS:
            if ind.kind == "share":
                st.markdown(f"**{ind.label}**: {ind.definition}")

st.subheader(f"Funnel plot: every board, {ui.plain(sel.period or 'all periods')}")
with ui.unless_refused():
    indicator = state.page_select(
        "Proportion",
        "indicator",
        list(SHARE_INDICATORS),
        {k: INDICATORS_BY_KEY[k].label for k in SHARE_INDICATORS},
        default=state.PAGE_DEFAULTS["indicator"],
        help="Which proportion to plot for every board.",
    )
    funnel = access.funnel(sel, indicator)
    # Boards outside the viewer's scope come unnamed; a hidden point has no value and is not
    # plotted (it is counted in the caption, with the note).
    plotted = funnel.filter(pl.col("value").is_not_null() & pl.col("n").is_not_null())
    not_plotted = funnel.height - plotted.height
    if funnel.is_empty():
        ui.empty_note()
    elif funnel["england"][0] is None:
        st.info(
            f"{access.comparator_label}'s value for this proportion is hidden ({ui.SYMBOL}) in "
            "this selection, so the funnel cannot be drawn. Choose another period or "
            "proportion.",
            icon=":material/visibility_off:",
        )
        ui.disclosure_note(access, funnel)
    else:
        england = float(funnel["england"][0])
        limits = funnel_limits(england, int(plotted["n"].max() or 1))
        st.altair_chart(
            charts.funnel_chart(plotted, limits, INDICATORS_BY_KEY[indicator].label),
            width="stretch",
        )
        outside = plotted.filter(pl.col("band") != "within 95% limits")
        hidden_points = (
            f" {not_plotted} more are not plotted: their figures are hidden ({ui.SYMBOL})."
            if not_plotted
            else ""
        )
        st.caption(
            f"{plotted.height} boards with at least one case; England {ui.pct(england)}. "
            "Dashed lines: 95% control limits; solid lines: 99.8%. The limits are England's "
            "value ± z·√(p(1−p)/n), which is exactly where a board's Wilson interval stops "
            "containing England's value, so a point outside the 95% funnel is a board marked "
            f"Higher/Lower (or Better/Worse) above. {outside.height} boards lie outside the 95% "
            "limits; with this many boards, about 1 in 20 would by chance alone." + hidden_points
        )
        ui.disclosure_note(access, funnel)
        if outside.height:
            with st.expander(f"Boards outside the 95% limits ({outside.height})"):
                ui.table(
                    outside.select(
                        pl.col("board_name").fill_null(charts.UNNAMED_BOARD).alias("Board"),
                        pl.col("region_label").alias("Region"),
                        pl.col("k").alias("Cases"),
                        pl.col("n").alias("Of"),
                        (pl.col("value") * 100).alias("%"),
                        pl.col("band").alias("Against England"),
                    ),
                    column_config={"%": st.column_config.NumberColumn(format="%.0f%%")},
                )

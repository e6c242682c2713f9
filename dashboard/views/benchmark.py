"""Board benchmark: a board against its region and England on the key proportions, with exact
(Clopper-Pearson) 95% intervals, a comparison with England by its exact funnel limits
(Higher, Similar, Lower or too few to compare), two boards side by side, and a funnel plot.
Board figures pool the latest three periods by default (``pool`` in the URL)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import charts, state, ui
from warehouse import stats
from warehouse.access import INDICATORS, INDICATORS_BY_KEY, SHARE_INDICATORS, funnel_limits
from warehouse.numbers import percent_expr, percent_of_expr, percent_text, round_half_up

access = state.get_access()
sel = state.selection()


def span(periods: tuple[str, ...]) -> str:
    """The pooled periods in words: 2009-11, or 2005-07 to 2009-11."""
    if sel.period is None:
        return "all periods"
    return periods[0] if len(periods) == 1 else f"{periods[0]} to {periods[-1]}"


# The title and what is pooled go first on the page, though they follow from the control below.
top = st.container()
# Pooling: the latest three periods up to the sidebar's period by default, or that one alone.
pool = 3
if sel.period is not None:
    three = access.pooled_periods(sel.period, 3)
    pool = int(
        state.page_select(
            "Periods",
            "pool",
            ["3", "1"],
            {"3": f"Three periods pooled ({span(three)})", "1": f"{sel.period} alone"},
            default=state.PAGE_DEFAULTS["pool"],
            help="A board has one or two reviews in a period: pooling three periods gives "
            "steadier figures.",
        )
    )
periods = access.pooled_periods(sel.period, pool)
when = span(periods)

# The title is the selection: the board (or England / the region for the funnel alone) and
# the periods its figures pool.
if sel.board is not None:
    title = f"{ui.plain(access.describe(sel))} ({ui.plain(sel.board)})"
else:
    title = ui.plain(access.describe(sel))
top.title(f"{title} · {when}")
if sel.period is None:
    pooled_note = "All periods pooled (chosen in the sidebar)."
elif len(periods) > 1:
    count = {2: "two", 3: "three"}.get(len(periods), str(len(periods)))
    pooled_note = (
        f"Figures pool the latest {count} periods up to {sel.period} "
        f"({', '.join(periods)}): their counts are added together. Choose *{sel.period} "
        "alone* below for the single period."
    )
elif pool == 3:
    pooled_note = f"{sel.period} alone: there is no earlier period to pool with it."
else:
    pooled_note = f"{sel.period} alone. Choose *Three periods pooled* below for steadier figures."
top.caption(f"Board benchmark: a board beside its region and England. {pooled_note}")

st.info(
    "**Counts are small.** A board has only a few serious case reviews in a period, so each "
    "proportion here rests on a handful of children or reviews, moves in large steps and has "
    "a wide interval. These figures describe the reviews that were coded; they are **not a "
    "measure of a board's performance**: *Higher* and *Lower* describe the figures, they do "
    "not rank boards.",
    icon=":material/info:",
)


def share_text(k: str, n: str, value: str, flag: str | None = None) -> pl.Expr:
    """'63% (5 of 8)' from counts (the percent half up); c when hidden, a dash when none."""
    counted = pl.format(
        "{}% ({} of {})",
        percent_of_expr(pl.col(k), pl.col(n)),
        pl.col(k).cast(pl.Int64),
        pl.col(n),
    )
    hidden = pl.col(value).is_null() & (pl.col(flag).fill_null(False) if flag else pl.lit(False))
    return (
        pl.when(hidden)
        .then(pl.lit(ui.SYMBOL))
        .when(pl.col(n).fill_null(0) == 0)
        .then(pl.lit("no cases"))
        .otherwise(counted)
    )


def interval_text(low: str, high: str, flag: str | None = None) -> pl.Expr:
    """An exact 95% interval as '28% to 72%' (half up); c when hidden, a dash when none."""
    hidden = pl.col(low).is_null() & (pl.col(flag).fill_null(False) if flag else pl.lit(False))
    return (
        pl.when(hidden)
        .then(pl.lit(ui.SYMBOL))
        .when(pl.col(low).is_null())
        .then(pl.lit("–"))
        .otherwise(pl.format("{}% to {}%", percent_expr(pl.col(low)), percent_expr(pl.col(high))))
    )


def value_text(value: str, flag: str) -> pl.Expr:
    """A region's or England's proportion: c when hidden, a dash when none."""
    return (
        pl.when(pl.col(value).is_null() & pl.col(flag).fill_null(False))
        .then(pl.lit(ui.SYMBOL))
        .when(pl.col(value).is_null())
        .then(pl.lit("–"))
        .otherwise(pl.format("{}%", percent_expr(pl.col(value))))
    )


comparator = access.comparator_label
METHOD = (
    "**Method.** Each board proportion has an exact (Clopper-Pearson) 95% confidence "
    f"interval. *Compared with {comparator}* uses {comparator}'s exact binomial funnel limits "
    "(Spiegelhalter 2005): the board is *Higher* (or *Lower*) when, were it just like "
    f"{comparator}, a count at least as high (or as low) as its own would arise by chance "
    f"less than 2.5% of the time; this is exactly when its exact 95% interval leaves out "
    f"{comparator}'s value. Otherwise it is *Similar*. A proportion of fewer than "
    f"{stats.MIN_CASES} cases, or of so few that no count could fall outside the 95% limits, "
    f"is *too few to compare* and gets no comparison. {comparator} includes the board itself."
)


def _board_report_downloads(board: str, period: str | None, pool: int) -> None:
    """The board report for a board meeting (2-4 pages: the board beside its region and
    England, pooled periods), built on click by ``scr report``'s own code, for this viewer."""
    from warehouse.report import board_report_html, board_report_pdf
    from warehouse.report.pdf import PdfError, chromium_path

    stem = f"board-report-{board}-{period or 'all'}"
    left, right = st.columns(2)
    try:
        chromium_path()
    except PdfError:
        pass  # no Chromium on this server: the HTML report prints the same pages
    else:
        ui.download_button(
            left,
            "Board report for a meeting (PDF)",
            lambda: board_report_pdf(access.access, board, period, pool=pool),
            file_name=f"{stem}.pdf",
            mime="application/pdf",
            icon=":material/picture_as_pdf:",
        )
    ui.download_button(
        right,
        "Board report (HTML, prints the same)",
        lambda: board_report_html(access.access, board, period, pool=pool),
        file_name=f"{stem}.html",
        mime="text/html",
        icon=":material/description:",
    )


if sel.board is None:
    st.markdown(
        "Choose a **board** in the sidebar to see it beside its region and England. "
        "The funnel plot below shows every board."
    )
else:
    bench = access.benchmark(sel, pool)
    board_label = access.describe(sel)
    boards = access.boards()
    row = boards.filter(pl.col("board_code") == sel.board)
    region_label = row["region_label"][0] if row.height else None
    reviews = int(bench["board_all"].drop_nulls().first() or 0)
    reviews_text = f"{reviews} review{'s' if reviews != 1 else ''}"
    st.subheader(f"{ui.plain(board_label)} beside its region and {comparator}")
    st.caption(f"Region: {ui.plain(region_label or 'not stated')} · {reviews_text} in {when}.")

    if reviews == 0:
        ui.empty_note("reviews for this board")
    else:
        table = bench.with_columns(
            share_text("board_k", "board_n", "board_value").alias("Board"),
            interval_text("ci_low", "ci_high").alias("95% interval"),
            value_text("region_value", "region_suppressed").alias("Region"),
            interval_text("region_ci_low", "region_ci_high", "region_suppressed").alias(
                "Region 95% interval"
            ),
            value_text("england_value", "england_suppressed").alias(comparator),
            pl.col("comparison").alias(f"Compared with {comparator}"),
            # The unanswered are left out of the denominator and shown here instead.
            pl.when(pl.col("board_all").is_not_null())
            .then(
                pl.format(
                    "{} of {} {}",
                    pl.col("board_unanswered"),
                    pl.col("board_all"),
                    pl.when(pl.col("board_all") == 1)
                    .then(pl.lit("review"))
                    .otherwise(pl.lit("reviews")),
                )
            )
            .otherwise(pl.lit("–"))
            .alias("Not answered"),
        )
        ui.table(
            table.select(
                pl.col("label").alias("Indicator"),
                "Board",
                "95% interval",
                "Region",
                "Region 95% interval",
                comparator,
                f"Compared with {comparator}",
                "Not answered",
            ),
            column_config={
                "Indicator": st.column_config.TextColumn(
                    "Indicator", help="What each proportion counts: see the definitions below."
                ),
                "Board": st.column_config.TextColumn(
                    "Board", help="The board's percent, with its numerator and denominator."
                ),
                "Region": st.column_config.TextColumn(
                    f"Region ({region_label})" if region_label else "Region"
                ),
                "Not answered": st.column_config.TextColumn(
                    "Not answered",
                    help="Reviews whose item was left blank or not stated: left out of the "
                    "denominator, and counted here instead.",
                ),
            },
        )
        ui.chart(charts.benchmark_chart(bench, board_label, region_label))
        ui.disclosure_note(access, bench)
    st.caption(METHOD)
    with st.expander("What each proportion counts"):
        for ind in INDICATORS:
            if ind.kind == "share":
                st.markdown(f"**{ind.label}**: {ind.definition}")

    # Two boards side by side: only for a viewer who may see more than one board (the read
    # layer refuses a board outside the scope either way).
    others = boards.filter(pl.col("board_code") != sel.board)
    if others.height:
        st.subheader("Beside another board")
        names = dict(zip(others["board_code"], others["board_name"], strict=True))
        other = state.page_select(
            "Set beside",
            "compare",
            ["", *others["board_code"].to_list()],
            {"": "Choose a board", **{c: f"{n} ({c})" for c, n in names.items()}},
            default=state.PAGE_DEFAULTS["compare"],
            help="Another board you may see, over the same periods.",
        )
        if other:
            pair = access.benchmark_pair(sel, other, pool)
            first, second = f"{board_label} ({sel.board})", f"{names[other]} ({other})"
            ui.table(
                pair.select(
                    pl.col("label").alias("Indicator"),
                    share_text("first_k", "first_n", "first_value").alias(first),
                    pl.col("first_comparison").alias(f"{first} vs {comparator}"),
                    share_text("second_k", "second_n", "second_value").alias(second),
                    pl.col("second_comparison").alias(f"{second} vs {comparator}"),
                    value_text("england_value", "england_suppressed").alias(comparator),
                ),
                column_config={
                    first: st.column_config.TextColumn(first),
                    second: st.column_config.TextColumn(second),
                },
            )
            st.caption(
                f"Both boards over {when}. Each is compared with {comparator} as above, not "
                "with the other: with counts this small, a gap between two boards is seldom "
                "more than chance."
            )
            ui.disclosure_note(access, pair.rename({"england_suppressed": "suppressed"}))

st.subheader(f"Funnel plot: every board, {when}")
with ui.unless_refused():
    indicator = state.page_select(
        "Proportion",
        "indicator",
        list(SHARE_INDICATORS),
        {k: INDICATORS_BY_KEY[k].label for k in SHARE_INDICATORS},
        default=state.PAGE_DEFAULTS["indicator"],
        help="Which proportion to plot for every board.",
    )
    funnel = access.funnel(sel, indicator, pool)
    # Boards outside the viewer's scope come unnamed; a hidden point has no value and is not
    # plotted (it is counted in the caption, with the note).
    plotted = funnel.filter(pl.col("value").is_not_null() & pl.col("n").is_not_null())
    not_plotted = funnel.height - plotted.height
    if funnel.is_empty():
        ui.empty_note()
    elif funnel["england"][0] is None:
        st.info(
            f"{comparator}'s value for this proportion is hidden ({ui.SYMBOL}) in "
            "this selection, so the funnel cannot be drawn. Choose another period or "
            "proportion.",
            icon=":material/visibility_off:",
        )
        ui.disclosure_note(access, funnel)
    else:
        england = float(funnel["england"][0])
        limits = funnel_limits(england, int(plotted["n"].max() or 1))
        ui.chart(charts.funnel_chart(plotted, limits, INDICATORS_BY_KEY[indicator].label))
        too_few = plotted.filter(pl.col("band") == stats.BANDS[3])
        compared = plotted.filter(pl.col("band") != stats.BANDS[3])
        outside = compared.filter(pl.col("band") != stats.WITHIN_95)
        # How many would lie outside by chance alone if every compared board matched England:
        # the sum of each board's exact chance at its own n (at most 1 in 20 each).
        by_chance = float(stats.chance_outside(compared["n"].to_numpy(), england).sum())
        expected = int(round_half_up(by_chance) or 0)
        chance_text = f"about {expected}" if expected else "fewer than one"
        hidden_points = (
            f" {not_plotted} more are not plotted: their figures are hidden ({ui.SYMBOL})."
            if not_plotted
            else ""
        )
        plural = "s" if plotted.height != 1 else ""
        st.caption(
            f"{plotted.height} board{plural} with at least one case in {when}; "
            f"{comparator} {percent_text(england)}. Dashed lines: 95% limits; solid lines: "
            f"99.8% limits, from the exact binomial distribution around {comparator}'s "
            "proportion at each number of cases (a board on a line is inside it). "
            f"{too_few.height} of them have too few cases to compare (grey). Of the "
            f"{compared.height} compared, {outside.height} lie outside the 95% limits; if "
            f"every one matched {comparator}, {chance_text} would by chance alone (at "
            "these numbers of cases, each board's chance is at most 1 in 20 and often far "
            "less)." + hidden_points
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
                        pl.format("{}%", percent_of_expr(pl.col("k"), pl.col("n"))).alias("%"),
                        pl.col("band").alias(f"Against {comparator}"),
                    )
                )

if sel.board is not None:
    st.subheader("Board report for a meeting")
    st.caption(
        "Two to four pages: the board beside its region and England over the pooled periods, "
        "with exact intervals and the disclosure rules of your view (the same as `scr report "
        "--kind board`)."
    )
    _board_report_downloads(sel.board, sel.period, pool)

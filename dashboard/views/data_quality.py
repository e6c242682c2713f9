"""Data quality: completeness of key fields by period and board (with the number of reviews
each board's figures rest on), the submissions not accepted with their reasons, and the
submissions ledger."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from dashboard import charts, state, ui
from warehouse.numbers import percent_expr, percent_of_expr

# Not accepted: a pale red row (dark text on it keeps well over 4.5:1).
NOT_ACCEPTED_STYLE = "background-color: #fde2e1"

access = state.get_access()
sel = state.selection()
ui.page_header("Data quality", access, sel, "how completely the key fields are coded")


def highlighted(ledger: pl.DataFrame) -> Any:
    """The ledger as a pandas Styler whose rows not accepted are shaded (st.dataframe
    shows the shading; the data is unchanged)."""
    frame = ledger.to_pandas()
    styles = ledger.select(
        pl.when(pl.col("status") != "accepted")
        .then(pl.lit(NOT_ACCEPTED_STYLE))
        .otherwise(pl.lit(""))
        .alias(c)
        for c in ledger.columns
    ).to_pandas()
    return frame.style.apply(lambda _: styles, axis=None)


with ui.unless_refused():
    quality = access.completeness(sel)
    if quality.is_empty():
        ui.empty_note()
    else:
        st.caption(
            "Recorded = coded with a real answer: not blank, and not *not stated* / *not "
            "reported*. Child fields are shares of children, the others of reviews; Chapter 8 "
            "answers are the share of the 17 outline-format questions answered for each review. "
            "Boards are placed in their most recent stated region."
        )
        by_period = (
            quality.group_by("period", "label", "field_order")
            .agg(pl.col("recorded").sum(), pl.col("total").sum())
            .with_columns(
                (pl.col("recorded") / pl.col("total")).alias("share"),
                pl.format("{}%", percent_of_expr(pl.col("recorded"), pl.col("total"))).alias(
                    "text"
                ),
            )
        )
        fields = by_period.sort("field_order")["label"].unique(maintain_order=True).to_list()
        periods = sorted(set(by_period["period"]))
        st.subheader("Completeness by period")
        ui.chart(
            charts.heatmap(
                by_period,
                "period",
                "label",
                "share",
                "text",
                y_sort=fields,
                x_sort=periods,
                x_title="Period",
                y_title="Field",
                scheme="greens",
                domain=(0.0, 1.0),
                title="Share of each key field recorded, by period (%)",
                description=(
                    "Heatmap: rows are the key fields ("
                    + ", ".join(fields)
                    + "), columns the periods ("
                    + ", ".join(periods)
                    + "); each cell gives the percent recorded, darker green for more."
                ),
                value_title="Recorded",
            )
        )

        with ui.unless_refused():
            wide = access.completeness_by_board(sel)
            st.subheader(
                f"By board, {ui.plain(sel.period or 'all periods')} (least complete first)"
            )
            reviews = int(wide["reviews"].sum() or 0)
            st.caption(
                f"{ui.plural(wide.height, 'board')}, {ui.plural(reviews, 'review')}. Each "
                "board's completeness rests on its own reviews and children, counted beside "
                "it: with one or two reviews, one blank answer moves a field by 50 points or "
                "more."
            )
            specs: dict[str, tuple[str, str, str | None]] = {
                "reviews": ("Reviews", "int", "Reviews of this board in the selection"),
                "children": ("Children", "int", "Children in those reviews"),
            } | {f: (f, "pct", None) for f in fields if f in wide.columns}
            shown, figures = ui.figure_columns(
                wide.with_columns(pl.lit(False).alias("suppressed")), specs
            )
            # The overall bar: a whole percent (half up) drawn to scale.
            shown = shown.drop("suppressed").with_columns(
                percent_expr(pl.col("overall")).alias("overall")
            )
            ui.table(
                shown,
                column_config={
                    "board_code": "Code",
                    "board_name": "Board",
                    "overall": st.column_config.ProgressColumn(
                        "Overall",
                        format="%d%%",
                        min_value=0,
                        max_value=100,
                        help="All the key fields' items together",
                    ),
                }
                | figures,
                column_order=["board_code", "board_name", "reviews", "children", "overall"]
                + [f for f in fields if f in shown.columns],
            )

st.subheader("Submissions ledger")
with ui.unless_refused():
    ledger = access.submissions()
    if ledger.is_empty():
        st.caption("No submissions recorded in this warehouse.")
    else:
        rejected = access.rejected_submissions()
        accepted = ledger.filter(pl.col("status") == "accepted").height
        not_accepted = ledger.height - accepted
        st.caption(
            f"Every submission received, newest first: {accepted} accepted, "
            f"{not_accepted} not (shaded red). A rejected submission changes nothing; "
            "`scr submissions show ID` prints its full report."
        )
        if rejected.height:
            # A warning, not an error: the page works; these files need fixing.
            st.warning(
                f"**{ui.plural(rejected.height, 'submission')} not accepted**, with the "
                "commonest reasons (fix these in the file and submit it again):",
                icon=":material/block:",
            )
            ui.table(
                rejected,
                column_config={
                    "submission_id": "Submission",
                    "received_at": st.column_config.DatetimeColumn(
                        "Received", format="D MMM YYYY, HH:mm"
                    ),
                    "original_name": "File",
                    "submitted_by": "By",
                    "status": "Status",
                    "n_errors": st.column_config.NumberColumn("Errors", format="%d"),
                    "reasons": st.column_config.TextColumn("Reasons", width="large"),
                },
            )
        ui.table(
            highlighted(ledger) if not_accepted else ledger,
            column_config={
                "submission_id": "Submission",
                "received_at": st.column_config.DatetimeColumn(
                    "Received", format="D MMM YYYY, HH:mm"
                ),
                "original_name": "File",
                "submitted_by": "By",
                "status": "Status",
                "n_reviews": "Reviews",
                "n_children": "Children",
                "n_recommendations": "Recommendations",
                "n_reviews_new": "New",
                "n_reviews_replaced": "Replaced",
                "n_errors": "Errors",
                "n_warnings": "Warnings",
            },
        )

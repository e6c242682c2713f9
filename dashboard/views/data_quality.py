"""Data quality: completeness of key fields by period and board, and the submissions ledger."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import charts, state, ui

access = state.get_access()
sel = state.selection()
ui.page_header("Data quality", access, sel, "how completely the key fields are coded")

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
            .with_columns((pl.col("recorded") / pl.col("total")).alias("share"))
            .with_columns(
                pl.format("{}%", (pl.col("share") * 100).round(0).cast(pl.Int64)).alias("text")
            )
        )
        fields = by_period.sort("field_order")["label"].unique(maintain_order=True).to_list()
        st.subheader("Completeness by period")
        st.altair_chart(
            charts.heatmap(
                by_period,
                "period",
                "label",
                "share",
                "text",
                y_sort=fields,
                x_sort=sorted(set(by_period["period"])),
                x_title=None,
                y_title=None,
                scheme="greens",
                domain=(0.0, 1.0),
            ),
            width="stretch",
        )

        with ui.unless_refused():
            current = quality.filter(pl.col("period") == sel.period) if sel.period else quality
            per_board = (
                current.group_by("board_code", "board_name", "field", "label", "field_order")
                .agg(pl.col("recorded").sum(), pl.col("total").sum())
                .with_columns((100 * pl.col("recorded") / pl.col("total")).alias("share"))
            )
            overall = per_board.group_by("board_code").agg(
                (100 * pl.col("recorded").sum() / pl.col("total").sum()).alias("overall")
            )
            wide = (
                per_board.sort("field_order")
                .pivot(
                    on="label",
                    index=["board_code", "board_name"],
                    values="share",
                    aggregate_function="first",
                )
                .join(overall, on="board_code")
                .sort("overall", "board_name")
            )
            st.subheader(
                f"By board, {ui.plain(sel.period or 'all periods')} (least complete first)"
            )
            ui.table(
                wide,
                column_config={
                    "board_code": "Code",
                    "board_name": "Board",
                    "overall": st.column_config.ProgressColumn(
                        "Overall",
                        format="%.0f%%",
                        min_value=0,
                        max_value=100,
                        help="All the key fields together",
                    ),
                }
                | {f: st.column_config.NumberColumn(f, format="%.0f%%") for f in fields},
            )

st.subheader("Submissions ledger")
with ui.unless_refused():
    ledger = access.submissions()
    if ledger.is_empty():
        st.caption("No submissions recorded in this warehouse.")
    else:
        accepted = ledger.filter(pl.col("status") == "accepted").height
        st.caption(
            f"Every submission received, newest first: {accepted} accepted, "
            f"{ledger.height - accepted} not. A rejected submission changes nothing; "
            "`scr submissions show ID` prints its full report."
        )
        ui.table(
            ledger,
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

"""Recommendations: focus mix over time and by agency, and a search over their wording."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import charts, search, state, ui
from warehouse.access.recommendations import search_words
from warehouse.exports import recommendations_csv_bytes

access = state.get_access()
sel = state.selection()
ui.page_header("Recommendations", access, sel, "what overview reports recommend, and to whom")

focus = access.recommendation_focus(sel)
if focus.is_empty():
    ui.empty_note("recommendations")
    st.stop()

st.caption(
    "Each overview-report recommendation is coded to one focus (the study's Table 18 "
    "categories, Chapter 6) and, optionally, to the agency it is addressed to."
)
left, right = st.columns([3, 2])
with left:
    st.subheader("Focus mix by period")
    st.altair_chart(
        charts.stacked_share(
            focus.with_columns(ui.figure_text("recommendations", "int").alias("text")),
            "period",
            "focus_label",
            "focus_order",
            "share",
            "Period",
            "Focus",
        ),
        width="stretch",
    )
    ui.disclosure_note(access, focus)
with right:
    current = focus.filter(pl.col("period") == sel.period) if sel.period else focus
    # A pooled count is known only when every period's is: one hidden period hides the sum.
    table = current.group_by("focus_label", "focus_order").agg(
        pl.when(pl.col("recommendations").is_null().any())
        .then(None)
        .otherwise(pl.col("recommendations").sum())
        .alias("recommendations"),
        pl.col("suppressed").any(),
    )
    if ui.any_hidden(table):
        # The whole is the selection's count of recommendations (itself perhaps hidden).
        headline = access.headline(sel).filter(pl.col("indicator") == "recs_per_review")
        total = headline["numerator"][0] if headline.height else None
    else:
        total = table["recommendations"].sum()
    table = table.with_columns(
        (pl.col("recommendations") / total if total else pl.lit(None, pl.Float64)).alias("share")
    ).sort("recommendations", "focus_order", descending=[True, False], nulls_last=True)
    how_many = ui.plural(None if total is None else int(total), "recommendation")
    st.subheader(f"{ui.plain(sel.period or 'All periods')}: {how_many}")
    shown, figures = ui.figure_columns(
        table.select("focus_label", "recommendations", "share", "suppressed"),
        {"recommendations": ("Number", "int", None), "share": ("%", "pct", None)},
    )
    ui.table(
        shown.drop("suppressed"),
        # A fixed focus column, so the numbers stay in view in this narrow column.
        column_config={"focus_label": st.column_config.TextColumn("Focus", width=190)} | figures,
    )
    ui.disclosure_note(access, table)

st.subheader(f"By agency, {ui.plain(sel.period or 'all periods')}")
agency = access.recommendation_agency_focus(sel)
if agency.is_empty():
    ui.empty_note("recommendations")
else:
    focus_order = agency.sort("focus_order")["focus_label"].unique(maintain_order=True).to_list()
    agency_order = agency.sort("agency_order")["agency_label"].unique(maintain_order=True).to_list()
    # The read layer gives each cell's share of its agency's recommendations (null when
    # hidden): a hidden cell is left blank and labelled c.
    cells = agency.with_columns(
        pl.col("agency_share").alias("share"),
        ui.figure_text("recommendations", "int").alias("text"),
    )
    st.caption(
        "Number of recommendations addressed to each agency (columns), by focus; the "
        "shading is the share of that agency's recommendations, faint for an agency with "
        "fewer than 50 (its number is beside its name), so a small agency never looks largest."
    )
    st.altair_chart(
        charts.heatmap(
            cells,
            "agency_label",
            "focus_label",
            "share",
            "text",
            x_sort=agency_order,
            y_sort=focus_order,
            domain=(0.0, 0.4),
            # Faint where the agency has few recommendations: 1 of 1 is not the darkest.
            total="agency_total",
            x_title="Agency (its number of recommendations)",
            y_title="Focus",
            title="Recommendations by agency and focus",
            value_title="Recommendations",
        ),
        width="stretch",
    )

st.subheader("Search the recommendations")
with ui.unless_refused():
    query = state.page_text(
        "Words to find",
        "q",
        placeholder="e.g. domestic violence, pre-birth, interpreters",
        help="Finds recommendations containing every word (any case) within the selection.",
    )
    words = search_words(query)
    if words:
        hits = access.search_recommendations(sel, query)
        matches = int(hits["matches"][0]) if hits.height else 0
        shown = f"; the first {hits.height:,} are listed" if matches > hits.height else ""
        st.markdown(f"**{search.matches_sentence(matches, query)}**{shown}.")
        if hits.height:
            stem = "-".join(
                part for part in (sel.period or "all-periods", sel.region, sel.board) if part
            )
            # The file holds every match (not only those listed), read again through the
            # read layer, so it holds what this viewer may see and nothing more.
            ui.download_button(
                st,
                f"Download all {ui.plural(matches, 'match', 'matches')} (CSV)",
                lambda: recommendations_csv_bytes(
                    access.search_recommendations(sel, query, limit=None)
                ),
                file_name=f"scr-recommendations-{stem}.csv",
                mime="text/csv",
                icon=":material/download:",
                help="Every matching recommendation in full, with its board, review, focus "
                "and agency.",
            )
            # The whole wording, wrapped, with the words found highlighted: submitted text,
            # so escaped (search.highlight) before any Markdown is added.
            entries = [
                f"**{ui.plain(row['board_name'])}** · {ui.plain(row['period'])} · review "
                f"{ui.plain(row['review_id'])}, recommendation {int(row['rec_no'])} · "
                f"{ui.plain(row['focus_label'])} · {ui.plain(row['agency_label'])}  \n"
                + search.highlight(row["text"] or "", words)
                for row in hits.iter_rows(named=True)  # at most the listed 200
            ]
            with st.container(border=True, height=600 if hits.height > 6 else "content"):
                st.markdown("\n\n---\n\n".join(entries))
    else:
        st.caption("Type words above to list the recommendations that contain them.")

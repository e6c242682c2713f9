"""Study tables: Tables 2-20 of the 2001-03 study for the selection, laid out like Appendix 2,
with the published figures beside; downloads identical to `scr tables`."""

from __future__ import annotations

import streamlit as st

from dashboard import state, tables, ui
from warehouse.access import (
    comparison_2002_notes,
    published_tables,
    tables_csv_bytes,
    tables_json,
    tables_xlsx_bytes,
)
from warehouse.exports import tables_ees_files
from warehouse.study_tables import TABLES, TABLES_BY_ID

access = state.get_access()
sel = state.selection()
ui.page_header("Study tables", access, sel, "Tables 2-20 of the 2001-03 study")

result = access.study_tables(sel)
published = published_tables()
notes = comparison_2002_notes()

stem = "scr-tables-" + "-".join(
    part for part in (sel.period or "all-periods", sel.region, sel.board) if part
)
top = st.columns([3, 1, 1, 1])
with top[0]:
    choice = state.page_select(
        "Table",
        "table",
        ["all", *(t.id for t in TABLES)],
        {"all": "All tables"} | {t.id: f"Table {t.number}: {t.title}" for t in TABLES},
        default=state.PAGE_DEFAULTS["table"],
        help="Show one table, or all of them one under the other.",
    )
ui.download_button(
    top[1],
    "CSV",
    lambda: tables_csv_bytes(result),
    file_name=f"{stem}.csv",
    mime="text/csv",
    icon=":material/download:",
    help="Tidy long CSV, as `scr tables --format csv` writes it.",
    width="stretch",
)
ui.download_button(
    top[2],
    "Excel",
    lambda: tables_xlsx_bytes(result, audience=access.principal.role),
    file_name=f"{stem}.xlsx",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    icon=":material/download:",
    help="One formatted sheet per table with the published 2001-03 figures beside, as "
    "`scr tables --format xlsx` writes it.",
    width="stretch",
)
ui.download_button(
    top[3],
    "JSON",
    lambda: tables_json(result) + "\n",
    file_name=f"{stem}.json",
    mime="application/json",
    icon=":material/download:",
    help="The tables JSON, as `scr tables` prints it.",
    width="stretch",
)


def ees_file(name: str) -> bytes:
    """One file of the EES-style pair for this selection (built on click)."""
    files = tables_ees_files(
        result,
        f"{stem}-ees",
        audience=access.principal.role,
        board_name=access.describe(sel) if sel.board else None,
    )
    return files[name]


# The same tables as tidy data with metadata, in the style of the DfE's
# explore-education-statistics files: a data CSV and a metadata CSV describing its columns.
ees = st.columns([3, 1.5, 1.5], vertical_alignment="center")
ees[0].caption(
    "**With metadata**, in the style of explore-education-statistics tidy data: the "
    "selection (period, region, board, audience) and the published 2001-03 figures as "
    "columns, and a metadata file describing each column."
)
ui.download_button(
    ees[1],
    "EES data (CSV)",
    lambda: ees_file(f"{stem}-ees.csv"),
    file_name=f"{stem}-ees.csv",
    mime="text/csv",
    icon=":material/download:",
    help="One line per table, category and response, this selection's figures beside the "
    "published ones; c hidden, x not published, z no percentage.",
    width="stretch",
    key="ees-data",
)
ui.download_button(
    ees[2],
    "EES metadata (CSV)",
    lambda: ees_file(f"{stem}-ees.meta.csv"),
    file_name=f"{stem}-ees.meta.csv",
    mime="text/csv",
    icon=":material/download:",
    help="What each column of the data file is: filter or indicator, label, unit.",
    width="stretch",
    key="ees-metadata",
)

st.caption(
    "Rows follow the coding frame; percentages are of the table's n, rounded half up, as in "
    "the study. **Published 2001-03** is the study's Appendix 2 for England 2001-03 (Rose and "
    "Barnes 2008); **2002 report** is the comparison column printed there (Sinclair and "
    "Bullock 2002, percentages). Both are national reference figures, whatever the selection."
)
# Under disclosure control the read layer hid small counts as c and says why.
disclosure = result.get("disclosure") or {}
hidden_note = disclosure.get("note") if disclosure.get("hidden_cells") else None
if hidden_note:
    st.info(hidden_note, icon=":material/visibility_off:")

shown = TABLES if choice == "all" else (TABLES_BY_ID[choice],)
by_id = {t["id"]: t for t in result["tables"]}
for meta in shown:
    table = by_id[meta.id]
    st.subheader(f"Table {meta.number}: {table['title']}")
    st.caption(tables.n_text(table))
    if table["n"] == 0:
        st.info(f"No {table['unit']} in this selection.")
        continue
    if "columns" in table:
        # Long item labels wrap in a fixed column, so the counts and published figures fit.
        # A static table: the questions are long and wrap, read whole (a grid cuts them).
        st.table(tables.crosstab_frame(table), hide_index=True, border="horizontal")
        earlier = tables.published_crosstab_frame(table, published)
        if earlier.height:
            st.markdown("**Published 2001-03**, for comparison")
            st.table(earlier.fill_null(tables.DASH), hide_index=True, border="horizontal")
            st.caption(tables.crosstab_note(table, published))
    else:
        ui.table(tables.simple_frame(table, published))
    if hidden_note and tables.has_hidden(table):
        st.caption(hidden_note)
    extra = tables.unmatched_comparisons(table, published)
    note = notes.get(meta.id)
    if extra or note:
        st.caption("2002 report: " + "; ".join([*extra, *([note] if note else [])]))

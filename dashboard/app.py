"""SCR Observatory dashboard: `scr dashboard` (or `streamlit run dashboard/app.py`).

The entry script, in the order that keeps data safe:

1. page set-up; no published snapshot means nothing to show (and no path is shown);
2. the gate: the session's principal (signed in, the session cookie, or the public view),
   else the sign-in form and nothing more;
3. the selection from the sidebar or the URL, checked against the principal's scope (a
   link outside it gets "not in your scope" and no data);
4. the view is written to the audit trail, before any of its data is sent;
5. the sidebar, the synthetic-data banner and the chosen page.

Data comes only through ``warehouse.access`` (via ``dashboard.state``), from the published
snapshot, for the session's principal. An unexpected failure is logged here with its
traceback and the visitor sees a plain message: no paths, no exception names.
"""

from __future__ import annotations

import logging
from pathlib import Path

import streamlit as st

from dashboard import auth, state, ui
from warehouse import audit
from warehouse.access import OutOfScope
from warehouse.db import snapshot_path, warehouse_path
from warehouse.migrations import snapshot_problem
from warehouse.principal import Principal

log = logging.getLogger("scr.dashboard")

st.set_page_config(
    page_title="SCR Observatory",
    page_icon=":material/child_care:",
    layout="wide",
    initial_sidebar_state="expanded",
)

DEFAULT_PATH = "overview"
PAGES = [
    # The default page is served at "/" (Streamlit gives it the empty path whatever its
    # url_path; this one only keeps its script hash apart from the alias below).
    st.Page(
        "views/overview.py",
        title="National overview",
        url_path="home",
        icon=":material/insights:",
        default=True,
    ),
    # "/overview" (what the audit trail calls the page, and what people type) opens it too,
    # instead of Streamlit's "Page not found".
    st.Page(
        "views/overview.py",
        title="National overview",
        url_path=DEFAULT_PATH,
        icon=":material/insights:",
        visibility="hidden",
    ),
    st.Page(
        "views/study_tables.py",
        title="Study tables",
        url_path="study-tables",
        icon=":material/table_chart:",
    ),
    st.Page("views/region.py", title="Region", url_path="region", icon=":material/map:"),
    st.Page(
        "views/benchmark.py",
        title="Board benchmark",
        url_path="benchmark",
        icon=":material/leaderboard:",
    ),
    st.Page("views/themes.py", title="Themes", url_path="themes", icon=":material/diversity_3:"),
    st.Page(
        "views/recommendations.py",
        title="Recommendations",
        url_path="recommendations",
        icon=":material/checklist:",
    ),
    st.Page(
        "views/tracking.py",
        title="Tracking",
        url_path="tracking",
        icon=":material/timeline:",
    ),
    st.Page(
        "views/data_quality.py",
        title="Data quality",
        url_path="data-quality",
        icon=":material/fact_check:",
    ),
]
_LAST_VIEW_KEY = "_scr_last_view"

GENERIC_FAILURE = (
    "Something went wrong while preparing this page. The problem has been logged for the "
    "administrator. Try again, or choose another page or selection."
)
AUDIT_FAILURE = (
    "The audit trail cannot be written just now, so no data can be shown. Please tell the "
    "administrator of this dashboard."
)


def _refused(message: str) -> None:
    """A selection or page outside the principal's scope: say so, offer a way back, stop."""
    st.error(ui.plain(message), icon=":material/lock:")
    st.button("Open the default view", on_click=_clear_selection, icon=":material/home:")
    st.stop()


def _clear_selection() -> None:
    st.query_params.clear()
    for key in state.GLOBAL_KEYS:
        st.session_state.pop(key, None)


def _record_view(warehouse: Path, principal: Principal, page_path: str) -> None:
    """Write the view to the audit trail before its data is sent; no trail, no data.

    A rerun of the same view (a chart hovered, a download taken) is not written again.
    """
    view = {"page": page_path, **state.selection_detail(), **state.page_params(page_path)}
    if st.session_state.get(_LAST_VIEW_KEY) == view:
        return
    try:
        audit.record(warehouse, principal, "view", view)
    except Exception:
        log.exception("audit: the view %s could not be recorded", view)
        st.error(AUDIT_FAILURE, icon=":material/policy:")
        st.stop()
    st.session_state[_LAST_VIEW_KEY] = view


def main() -> None:
    warehouse = warehouse_path(None)
    if not snapshot_path(warehouse).exists():
        st.title("SCR Observatory")
        st.error(
            "There is no published warehouse snapshot yet.\n\n"
            "Run `scr build` (or `make demo`) to load the sample submissions and publish one, "
            "then reload this page.",
            icon=":material/database:",
        )
        st.stop()
    problem = snapshot_problem(snapshot_path(warehouse))
    if problem:  # an older (or newer) schema: say what to run, read nothing
        st.title("SCR Observatory")
        st.error(ui.plain(problem), icon=":material/upgrade:")
        st.stop()

    principal = auth.session_principal(warehouse)
    # Navigation first, hidden on the sign-in form, so a shared link's page (/benchmark...)
    # is still the page shown once the visitor has signed in.
    page = st.navigation(PAGES, position="sidebar" if principal else "hidden")
    if principal is None:
        auth.sign_in_form(warehouse)  # stops the run
        return
    page_path = page.url_path or DEFAULT_PATH
    auth.sidebar_account(warehouse, principal)
    access = state.get_access(fresh=True)
    # A principal's first view of a new snapshot works out what it may see (its disclosure
    # control) before the first figure: say so instead of leaving the last page greyed out.
    with st.spinner("Preparing the figures for your view...", show_time=True):
        try:
            state.resolve_selection(access)
        except OutOfScope as refusal:
            _refused(str(refusal))
        _record_view(warehouse, principal, page_path)

        st.sidebar.markdown("**SCR Observatory** · serious case reviews")
        state.sidebar_filters(access, page_path)
        ui.snapshot_caption(access)
        ui.synthetic_banner(access)
    # A shared link naming what is not in the data says so, and what is shown instead.
    for note in state.link_notes():
        st.warning(note, icon=":material/link_off:")
    try:
        page.run()
    except OutOfScope as refusal:
        st.error(ui.plain(str(refusal)), icon=":material/lock:")


try:
    main()
except Exception:
    # Streamlit's own st.stop/st.rerun are not Exceptions and pass through untouched.
    log.exception("dashboard: unexpected failure")
    st.error(GENERIC_FAILURE, icon=":material/error:")

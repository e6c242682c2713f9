"""SCR Observatory dashboard: `scr dashboard` (or `streamlit run dashboard/app.py`).

The entry script: page set-up, navigation, the sidebar filters shared by every page (kept in
the URL), and the synthetic-data banner; then the chosen page runs. Data comes only through
``warehouse.access`` (via ``dashboard.state``), from the published snapshot.
"""

from __future__ import annotations

import streamlit as st

from dashboard import state, ui

st.set_page_config(
    page_title="SCR Observatory",
    page_icon=":material/child_care:",
    layout="wide",
    initial_sidebar_state="expanded",
)

PAGES = [
    st.Page(
        "views/overview.py",
        title="National overview",
        url_path="overview",
        icon=":material/insights:",
        default=True,
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
        "views/data_quality.py",
        title="Data quality",
        url_path="data-quality",
        icon=":material/fact_check:",
    ),
]

page = st.navigation(PAGES)
access = state.get_access(fresh=True)
if not access.has_snapshot():
    st.title("SCR Observatory")
    st.error(
        f"There is no published warehouse snapshot yet (looked for `{access.access.snapshot}`).\n\n"
        "Run `scr build` (or `make demo`) to load the sample submissions and publish one, "
        "then reload this page.",
        icon=":material/database:",
    )
    st.stop()

st.sidebar.markdown("**SCR Observatory** · serious case reviews")
state.sidebar_filters(access, page.url_path)
ui.snapshot_caption(access)
ui.synthetic_banner(access)
page.run()

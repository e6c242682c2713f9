"""Every dashboard page through Streamlit's AppTest on the sample warehouse, as a national
analyst (who sees everything): it renders without an exception, shows its key content and
the synthetic-data banner, and a filter change (kept in the URL) changes what it shows.
Sign-in, the other roles and the security checks are in test_dashboard_auth.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.auth import PRINCIPAL_KEY
from tests.sample_warehouses import sample_warehouse_once
from warehouse.access import Access, Selection
from warehouse.numbers import percent_of
from warehouse.principal import Principal

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
PAGES = {
    "overview": "views/overview.py",
    "study-tables": "views/study_tables.py",
    "region": "views/region.py",
    "benchmark": "views/benchmark.py",
    "themes": "views/themes.py",
    "recommendations": "views/recommendations.py",
    "data-quality": "views/data_quality.py",
    "tracking": "views/tracking.py",
}
# These tests look at everything: a national analyst's session (signing in itself is tested
# in test_dashboard_auth.py).
NATIONAL = Principal("test-analyst", "national")


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample_warehouse_once(tmp_path_factory.getbasetemp())


@pytest.fixture
def warehouse(sample_warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("SCR_WAREHOUSE", str(sample_warehouse))
    yield sample_warehouse


@pytest.fixture(scope="session")
def access(sample_warehouse: Path) -> Access:
    return Access(sample_warehouse)


def open_page(page: str, **params: str) -> AppTest:
    """The app opened at ``page`` with the URL's query parameters by a national analyst,
    run to completion."""
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state[PRINCIPAL_KEY] = NATIONAL
    at.query_params.update(params)
    at.run()
    if page != "overview":
        # The first run opens the default page, which keeps only its own parameters in the
        # URL; a browser opening the link runs the linked page first, with all of them.
        at.query_params.update(params)
        at.switch_page(PAGES[page]).run()
    assert_healthy(at)
    return at


def assert_healthy(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert any("Synthetic sample data" in w.value for w in at.warning)


def texts(at: AppTest) -> str:
    parts = [*at.title, *at.subheader, *at.caption, *at.markdown, *at.info, *at.warning]
    return "\n".join(str(p.value) for p in parts)


def change(at: AppTest, key: str, value: str) -> AppTest:
    at.selectbox(key=key).set_value(value).run()
    assert_healthy(at)
    return at


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_renders_with_defaults(warehouse: Path, access: Access, page: str) -> None:
    at = open_page(page)
    latest = access.periods()[-1]
    assert at.selectbox(key="period").value == latest  # the latest period by default
    assert at.selectbox(key="region").value == "all"  # England
    assert at.query_params == {"period": latest}  # page defaults stay out of the URL
    assert at.title[0].value


def test_overview_headline_and_trends(warehouse: Path, access: Access) -> None:
    at = open_page("overview")
    labels = [m.label for m in at.metric]
    assert len(labels) == 13 and {"Reviews", "Children", "Under one"} <= set(labels)
    latest = access.headline(access.select(access.periods()[-1]))
    children = latest.filter(pl.col("indicator") == "children")["value"][0]
    assert dict(zip(labels, (m.value for m in at.metric), strict=True))["Children"] == (
        f"{children:,.0f}"
    )
    # a trend panel per indicator, wrapping; then the real published figures' three charts
    assert len(at.get("vega_lite_chart")) == 13 + 3
    before = {m.label: m.value for m in at.metric}
    change(at, "region", "london")
    assert at.query_params["region"] == "london"
    assert "London" in texts(at)
    assert {m.label: m.value for m in at.metric} != before
    change(at, "period", "2005-07")
    assert at.query_params == {"period": "2005-07", "region": "london"}


def test_a_shared_link_opens_the_same_view(warehouse: Path, access: Access) -> None:
    board = access.boards().filter(pl.col("region") == "london")["board_code"][0]
    at = open_page("overview", period="2003-05", region="london", board=board)
    assert at.selectbox(key="period").value == "2003-05"
    assert at.selectbox(key="region").value == "london"
    assert at.selectbox(key="board").value == board
    assert access.describe(Selection(board=board)) in texts(at)
    # Nonsense in a link falls back to the defaults instead of failing.
    at = open_page("overview", period="1999-01", region="atlantis", board="nope")
    assert at.selectbox(key="period").value == access.periods()[-1]
    assert at.selectbox(key="region").value == "all"


def test_choosing_a_region_resets_a_board_elsewhere(warehouse: Path, access: Access) -> None:
    boards = access.choosable_boards()  # boards with reviews, and those only notified
    board = boards.filter(pl.col("region") == "london")["board_code"][0]
    at = open_page("overview", region="london", board=board)
    change(at, "region", "north_west")
    assert at.selectbox(key="board").value == "all"
    assert "board" not in at.query_params
    options = at.selectbox(key="board").options
    assert len(options) == 1 + boards.filter(pl.col("region") == "north_west").height


def test_study_tables_show_the_study_layout_and_published_figures(warehouse: Path) -> None:
    at = open_page("study-tables", period="2001-03")
    headings = [s.value for s in at.subheader]
    assert headings[0] == "Table 2: Age group of children"
    assert len(headings) == 20  # Tables 2, 2b and 3-20
    first = at.dataframe[0].value
    assert list(first.columns)[:3] == ["Age group", "Number", "%"]
    assert "Published 2001-03" in first.columns
    # The replication sample reproduces the published figures.
    assert first["Number"].tolist()[:8] == first["Published 2001-03"].tolist()[:8]
    gender = at.dataframe[2].value
    assert gender["2002 report %"].tolist()[:2] == [50, 50]
    assert {b.label for b in at.get("download_button")} == {
        "CSV",
        "Excel",
        "JSON",
        "EES data (CSV)",
        "EES metadata (CSV)",
    }

    at.selectbox(key="table").set_value("t08_cp_register").run()
    assert_healthy(at)
    assert [s.value for s in at.subheader] == ["Table 8: Children on the Child Protection Register"]
    assert at.query_params["table"] == "t08_cp_register"
    n_england = [c.value for c in at.caption if c.value.startswith("n = ")]
    change(at, "region", "london")
    n_london = [c.value for c in at.caption if c.value.startswith("n = ")]
    assert n_england != n_london


def test_region_page(warehouse: Path, access: Access) -> None:
    at = open_page("region")
    assert "Choose a region" in texts(at)
    regions = at.dataframe[0].value
    period = access.select(access.periods()[-1])
    with_reviews = access.indicators(period, ("region",)).filter(
        (pl.col("indicator") == "reviews") & (pl.col("region") != "not_stated")
    )
    assert len(regions) == with_reviews.height + 1  # and England's own row, first
    assert regions["label"].iloc[0] == "England"
    # England's figures from the read layer, a share as a whole percent rounded half up.
    england = access.indicators(period).filter(pl.col("indicator") == "under_one")
    under_one = percent_of(int(england["numerator"][0]), int(england["denominator"][0]))
    assert int(regions["under_one"].iloc[0]) == under_one
    change(at, "region", "london")
    assert "London against England, by period" in [s.value for s in at.subheader]
    boards = at.dataframe[0].value
    # England's and the region's rows first, then every board of the region
    assert len(boards) == access.boards().filter(pl.col("region") == "london").height + 2
    assert list(boards["board_name"].iloc[:2]) == ["England", "London"]
    assert int(boards["under_one"].iloc[0]) == under_one
    shares = boards["under_one"].dropna()
    assert (shares == shares.round()).all()  # whole percents, never left to a format
    side = access.boards_side_by_side(Selection(period=period.period, region="london"))
    assert f"{side.height} boards whose most recent stated region is London" in texts(at)
    assert len(at.get("vega_lite_chart")) == 9  # a trend panel per indicator, wrapping


def test_board_benchmark(warehouse: Path, access: Access) -> None:
    at = open_page("benchmark", period="all")
    assert "not a measure of a board's performance" in texts(at)
    assert "Choose a **board**" in texts(at)
    assert len(at.get("vega_lite_chart")) == 1  # the funnel plot of every board
    board = access.boards().sort("reviews", descending=True)["board_code"][0]
    change(at, "board", board)
    table = at.dataframe[0].value
    assert "Compared with England" in table.columns
    comparisons = {"Similar", "Higher", "Lower", "Too few to compare"}
    assert set(table["Compared with England"]) <= comparisons
    assert "95% interval" in table.columns
    assert "Clopper-Pearson" in texts(at)
    assert len(at.get("vega_lite_chart")) == 2
    funnel_caption = [c.value for c in at.caption if "boards with at least one case" in c.value]
    at.selectbox(key="indicator").set_value("deaths").run()
    assert_healthy(at)
    assert at.query_params["indicator"] == "deaths"
    assert funnel_caption != [
        c.value for c in at.caption if "boards with at least one case" in c.value
    ]


def test_themes(warehouse: Path, access: Access) -> None:
    at = open_page("themes")
    latest = access.periods()[-1]
    themes = access.themes(Selection(period=latest)).filter(pl.col("period") == latest)
    neglect = themes.filter(pl.col("theme") == "neglect").row(0, named=True)
    # The percent from the counts, half up (the one rounding rule).
    assert at.metric[0].value == f"{percent_of(neglect['yes'], neglect['children'])}%"
    labels = [m.label for m in at.metric]
    assert labels == [
        "Neglect",
        "Domestic violence",
        "Parental substance misuse",
        "Parental mental ill health",
    ]
    assert {"How common, by period", "How often together"} <= {s.value for s in at.subheader}
    before = [m.value for m in at.metric]
    change(at, "period", "2003-05")
    assert [m.value for m in at.metric] != before


def test_recommendations_search(warehouse: Path, access: Access) -> None:
    at = open_page("recommendations", q="domestic violence")
    expected = access.search_recommendations(
        access.select(access.periods()[-1]), "domestic violence"
    )
    assert f"{expected['matches'][0]:,} recommendations match" in texts(at)
    listed = next(m.value for m in at.markdown if "orange-background" in m.value)
    # every listed recommendation with the words found highlighted
    assert listed.lower().count(":orange-background[violence]") >= expected.height
    at.text_input(key="q").set_value("interpreters").run()
    assert_healthy(at)
    assert at.query_params["q"] == "interpreters"
    before = texts(at)
    change(at, "region", "london")
    assert texts(at) != before


def test_data_quality(warehouse: Path, access: Access) -> None:
    at = open_page("data-quality")
    assert {"Completeness by period", "Submissions ledger"} <= {s.value for s in at.subheader}
    ledger = at.dataframe[-1].value
    assert len(ledger) == access.submissions().height
    by_board = at.dataframe[0].value
    assert "Chapter 8 answers" in by_board.columns
    change(at, "region", "london")
    assert len(at.dataframe[0].value) < len(by_board)


def test_no_snapshot_tells_the_user_to_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCR_WAREHOUSE", str(tmp_path / "scr.duckdb"))
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception
    assert "scr build" in at.error[0].value
    assert str(tmp_path) not in at.error[0].value  # no server paths to a visitor


def test_streamlit_magic_is_off_for_the_app_and_its_tests() -> None:
    """Magic parses each page with ast in the script thread, which CPython 3.11.7 can fail
    with "AST constructor recursion depth mismatch": off in the app's config and in AppTest."""
    import tomllib

    from streamlit import config

    app_config = tomllib.loads((APP.parent / ".streamlit" / "config.toml").read_text())
    assert app_config["runner"]["magicEnabled"] is False
    assert config.get_option("runner.magicEnabled") is False

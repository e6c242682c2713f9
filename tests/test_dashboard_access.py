"""The dashboard's data-access layer (warehouse/access/) on the sample warehouse: figures
against the core tables and `scr tables`, the statistics, scope, and snapshot handling.
(What each role sees is tested in tests/test_access_scope.py.)"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from tests.sample_warehouses import (
    copy_warehouse,
    sample_paths,
    sample_warehouse_once,
    scaled_warehouse,
)
from warehouse.access import (
    ENGLAND,
    Access,
    NoSnapshot,
    OutOfScope,
    Selection,
    clopper_pearson,
    compare_with_england,
    funnel_limits,
    published_tables,
    tables_xlsx_bytes,
)
from warehouse.db import publish_snapshot, snapshot_path
from warehouse.principal import Principal
from warehouse.study_tables import compute_study_tables


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample_warehouse_once(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session")
def access(sample_warehouse: Path) -> Access:
    return Access(sample_warehouse)


@pytest.fixture(scope="session")
def core(sample_warehouse: Path) -> dict[str, pl.DataFrame]:
    """The snapshot's core tables, read directly (the independent side of the checks)."""
    con = duckdb.connect(str(snapshot_path(sample_warehouse)), read_only=True)
    try:
        return {t: con.sql(f"SELECT * FROM {t}").pl() for t in ("reviews", "children")}
    finally:
        con.close()


# --- statistics ---------------------------------------------------------------------------


def test_exact_interval_known_values() -> None:
    low, high = clopper_pearson(5, 10)
    assert (round(low, 4), round(high, 4)) == (0.1871, 0.8129)
    low, high = clopper_pearson(0, 10)
    assert (low, round(high, 4)) == (0.0, 0.3085)
    assert clopper_pearson(0, 0) == (None, None)


@pytest.mark.parametrize(
    ("k", "n", "england", "expected"),
    [
        (4, 10, 0.4, "Similar"),
        (9, 10, 0.4, "Higher"),
        (0, 10, 0.4, "Lower"),
        (1, 1, 0.4, "Too few to compare"),  # one case earns no marker
        (2, 2, 0.134, "Too few to compare"),
        (None, None, 0.4, "Not compared"),
        (3, 10, None, "Not compared"),  # England's value hidden
    ],
)
def test_comparison_with_england(
    k: int | None, n: int | None, england: float | None, expected: str
) -> None:
    assert compare_with_england(k, n, england) == expected


def test_funnel_limits_are_where_the_exact_interval_stops_containing_england() -> None:
    p0 = 0.3
    limits = funnel_limits(p0, 40)
    by_n = {row["n"]: row for row in limits.iter_rows(named=True)}
    for n in (1, 2, 5, 9, 17, 40):
        for k in range(n + 1):
            low, high = clopper_pearson(k, n)
            excludes = low > p0 or high < p0  # type: ignore[operator]
            outside = not (by_n[n]["lower_95"] <= k / n <= by_n[n]["upper_95"])
            assert excludes == outside, (k, n)


# --- figures against the core tables and scr tables ----------------------------------------


def test_headline_matches_the_core_tables(access: Access, core: dict[str, pl.DataFrame]) -> None:
    period = access.periods()[-1]
    values = {
        r["indicator"]: r for r in access.headline(access.select(period)).iter_rows(named=True)
    }
    reviews = core["reviews"].filter(pl.col("period") == period)
    children = core["children"].join(reviews.select("review_id"), on="review_id")
    assert values["reviews"]["value"] == reviews.height
    assert values["children"]["value"] == children.height
    under_one = children.filter(pl.col("age_months") < 12).height / children.height
    assert math.isclose(values["under_one"]["value"], under_one)
    independent = reviews.filter(pl.col("author_status") == "independent").height
    assert values["independent_author"]["numerator"] == independent
    assert values["independent_author"]["denominator"] == reviews.height
    previous = access.periods()[-2]
    assert (
        values["reviews"]["previous"] == core["reviews"].filter(pl.col("period") == previous).height
    )


def test_region_counts_reviews_coded_there_and_a_board_all_its_reviews(
    access: Access, core: dict[str, pl.DataFrame]
) -> None:
    london = access.indicators(Selection(region="london"))
    coded = core["reviews"].filter(pl.col("region") == "london").height
    assert london.filter(pl.col("indicator") == "reviews")["value"][0] == coded
    board = core["reviews"]["board_code"][0]
    own = core["reviews"].filter(pl.col("board_code") == board).height
    for region in (None, "not_a_region"):  # a board's figures ignore the region filter
        sel = Selection(region=region, board=board)
        assert access.indicators(sel).filter(pl.col("indicator") == "reviews")["value"][0] == own


@pytest.mark.parametrize(
    "selection",
    [
        Selection(period="2001-03"),  # from the mart
        Selection(),  # all periods, from the mart
        Selection(period="2005-07", region="london"),  # computed
        Selection(board="SYN001"),
    ],
    ids=["2001-03", "all", "london-2005-07", "board"],
)
def test_study_tables_are_those_of_scr_tables(
    access: Access, sample_warehouse: Path, selection: Selection
) -> None:
    con = duckdb.connect(str(snapshot_path(sample_warehouse)), read_only=True)
    try:
        params = selection.params()
        expected = compute_study_tables(con, params["period"], params["region"], params["board"])
    finally:
        con.close()
    assert access.study_tables(selection) == expected


# The indicators are counted in SQL generated from their definitions (warehouse/access/
# definitions.py: one pass for every group, as the funnel plot needs); each is a cell of a
# study table, so the two definitions must never drift apart.
INDICATOR_CELLS: dict[str, list[tuple[str, str, str | None]]] = {
    # indicator: the (table, row code, column code) cells whose counts make its numerator
    "under_one": [("t02_age", "under_1", None)],
    "age_11_plus": [("t02_age", "11_and_over", None)],
    "deaths": [("t07_incident_type", "death", None)],
    "on_register": [("t08_cp_register", "on_register", None)],
    "ethnicity_not_recorded": [("t04_child_ethnicity", "not_stated", None)],
    "independent_author": [("t14_author_status", "independent", None)],
    "genogram": [("t16_chapter8_compliance", "c8_genogram", "yes")],
    "chronology": [("t16_chapter8_compliance", "c8_chronology", "yes")],
    "procedures": [
        ("t18_recommendation_focus", "existing_procedures", None),
        ("t18_recommendation_focus", "new_procedures", None),
    ],
}
INDICATOR_DENOMINATOR: dict[str, str | list[tuple[str, str, str | None]]] = {
    "under_one": "t02_age", "age_11_plus": "t02_age", "deaths": "t02_age",
    "on_register": "t02_age", "ethnicity_not_recorded": "t02_age",
    "independent_author": "t14_author_status", "procedures": "t18_recommendation_focus",
    # Of the reviews answering the item: blank and not stated are left out.
    **{
        key: [("t16_chapter8_compliance", f"c8_{key}", answer)
              for answer in ("yes", "no", "partly", "not_applicable")]
        for key in ("genogram", "chronology")
    },
}  # fmt: skip


@pytest.mark.parametrize(
    "selection",
    [
        Selection(period="2001-03"),
        Selection(period="2009-11"),
        Selection(),
        Selection(period="2005-07", region="london"),
        Selection(board="SYN001"),
    ],
    ids=["2001-03", "2009-11", "all", "london-2005-07", "board"],
)
def test_indicators_are_the_study_tables_cells(access: Access, selection: Selection) -> None:
    tables = {t["id"]: t for t in access.study_tables(selection)["tables"]}

    def cell(table: str, row: str, column: str | None) -> int:
        found = tables[table]["rows"] + tables[table].get("summaries", [])
        item = next(r for r in found if r["code"] == row)
        return item["counts"][column] if column else item["count"]

    indicators = {r["indicator"]: r for r in access.indicators(selection).iter_rows(named=True)}
    assert indicators["reviews"]["value"] == tables["t14_author_status"]["n"]
    assert indicators["children"]["value"] == tables["t02_age"]["n"]
    for key, cells in INDICATOR_CELLS.items():
        assert indicators[key]["numerator"] == sum(cell(*c) for c in cells), key
        base = INDICATOR_DENOMINATOR[key]
        expected = tables[base]["n"] if isinstance(base, str) else sum(cell(*c) for c in base)
        assert indicators[key]["denominator"] == expected, key


def test_downloads_are_the_files_scr_tables_writes(
    access: Access, sample_warehouse: Path, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    from pipelines.cli import main

    sel = Selection(period="2005-07", region="london")
    base = ["--warehouse", str(sample_warehouse), "tables", "--period", "2005-07"]
    assert (
        main([*base, "--region", "london", "--format", "csv", "--out", str(tmp_path / "t.csv")])
        == 0
    )
    assert access.tables_csv(sel) == (tmp_path / "t.csv").read_bytes()

    out = tmp_path / "t.xlsx"
    assert main([*base, "--region", "london", "--format", "xlsx", "--out", str(out)]) == 0
    mine = tmp_path / "mine.xlsx"
    mine.write_bytes(tables_xlsx_bytes(access.study_tables(sel)))
    expected, got = load_workbook(out), load_workbook(mine)
    assert expected.sheetnames == got.sheetnames
    for name in expected.sheetnames:
        rows = [tuple(c.value for c in r) for r in expected[name].iter_rows()]
        assert rows == [tuple(c.value for c in r) for r in got[name].iter_rows()], name


def test_published_figures_carry_the_2002_comparison() -> None:
    pub = published_tables()
    male = pub.filter((pl.col("table_id") == "t03_gender") & (pl.col("row_code") == "male"))
    assert male.select("published_count", "published_percent", "comparison_2002").row(0) == (
        28,
        62,
        50,
    )
    genogram = pub.filter(
        (pl.col("row_code") == "c8_genogram") & (pl.col("column_code") == "partly")
    )
    assert genogram["comparison_2002"].to_list() == [22]


def test_benchmark_and_funnel(access: Access) -> None:
    board = access.boards().sort("reviews", descending=True)["board_code"][0]
    bench = access.benchmark(Selection(board=board))
    assert set(bench["comparison"]) <= {"Similar", "Higher", "Lower", "Too few to compare"}
    assert (bench["ci_low"] <= bench["board_value"]).all()
    assert (bench["board_value"] <= bench["ci_high"]).all()
    funnel = access.funnel(Selection(board=board), "under_one")
    assert funnel["selected"].sum() == 1
    assert funnel.height == access.boards().height  # every board has children in some period
    # A board outside the 95% funnel is one whose exact 95% interval excludes England's value.
    chosen = bench.filter(pl.col("indicator") == "under_one").row(0, named=True)
    band = funnel.filter(pl.col("selected"))["band"][0]
    assert (band == "within 95% limits") == (chosen["comparison"] == "Similar")
    assert (band == "too few to compare") == (chosen["comparison"] == "Too few to compare")


def test_search_needs_every_word_and_takes_wildcards_literally(access: Access) -> None:
    sel = Selection()
    both = access.search_recommendations(sel, "domestic violence")
    assert both.height and all(
        "domestic" in t.lower() and "violence" in t.lower() for t in both["text"]
    )
    assert access.search_recommendations(sel, "%").height == 0
    assert access.search_recommendations(sel, "zzzz domestic").height == 0
    limited = access.search_recommendations(sel, "should", limit=5)
    assert limited.height == 5 and limited["matches"][0] > 5


def test_completeness_covers_the_key_fields(access: Access, core: dict[str, pl.DataFrame]) -> None:
    quality = access.completeness(Selection())
    fields = set(quality["field"])
    assert {
        "ethnicity",
        "parent_ethnicity",
        "disability",
        "author_status",
        "report_date",
        "report_pages",
        "chapter8_answers",
    } <= fields
    dated = quality.filter(pl.col("field") == "report_date")
    assert dated["recorded"].sum() == core["reviews"]["report_date"].drop_nulls().len()
    assert dated["total"].sum() == core["reviews"].height
    ledger = access.submissions()
    assert ledger.height == len(sample_paths()) and set(ledger["status"]) == {"accepted"}


# --- scope ----------------------------------------------------------------------------------


def test_a_regional_principal_reads_its_boards(sample_warehouse: Path, access: Access) -> None:
    scoped = Access(sample_warehouse, Principal("london office", "regional", "london"))
    boards = scoped.boards()
    assert set(boards["region"]) == {"london"}
    assert scoped.comparator_label == ENGLAND  # England is shown, under disclosure control
    london_boards = access.boards().filter(pl.col("region") == "london")
    assert set(boards["board_code"]) == set(london_boards["board_code"])

    named = scoped.funnel(Selection(), "deaths").filter(pl.col("board_code").is_not_null())
    assert set(named["region"]) == {"london"}
    assert set(scoped.completeness(Selection())["board_code"]) <= set(boards["board_code"])
    # The ledger shows the submissions holding reviews of boards in scope, and no other.
    with duckdb.connect(str(snapshot_path(sample_warehouse)), read_only=True) as con:
        holding = {
            row[0]
            for row in con.execute(
                "SELECT DISTINCT submission_id FROM reviews WHERE board_code IN "
                "(SELECT unnest($boards))",
                {"boards": boards["board_code"].to_list()},
            ).fetchall()
        }
    assert set(scoped.submissions()["submission_id"]) == holding
    outside = access.boards().filter(pl.col("region") != "london")["board_code"][0]
    with pytest.raises(OutOfScope, match="not in your scope"):
        scoped.select(board=outside)
    assert scoped.select(region="london") == Selection(region="london")
    # Other regions are aggregates the office may see.
    assert scoped.select(region="north_west") == Selection(region="north_west")


# --- snapshots ------------------------------------------------------------------------------


def test_no_snapshot_is_reported(tmp_path: Path) -> None:
    empty = Access(tmp_path / "scr.duckdb")
    assert not empty.has_snapshot()
    assert empty.version() == "none"
    with pytest.raises(NoSnapshot, match="scr build"):
        empty.periods()


def test_a_new_snapshot_is_read_even_while_an_old_connection_is_open(
    sample_warehouse: Path, tmp_path: Path
) -> None:
    path = copy_warehouse(sample_warehouse, tmp_path / "wh" / "scr.duckdb")
    access = Access(path)
    before, version = access.periods(), access.version()
    with Access(path).connect() as held:  # another session, mid-query
        con = duckdb.connect(str(path))
        try:
            con.execute("UPDATE reviews SET period = '2011-13' WHERE period = ?", [before[-1]])
            publish_snapshot(con, path)
        finally:
            con.close()
        assert access.version() != version
        assert access.periods()[-1] == "2011-13"
        assert held.sql("SELECT max(period) FROM reviews").fetchall()[0][0] == before[-1]


def test_scaled_warehouse_multiplies_every_review(sample_warehouse: Path, tmp_path: Path) -> None:
    scaled = Access(scaled_warehouse(sample_warehouse, tmp_path / "x2" / "scr.duckdb", factor=2))
    base = Access(sample_warehouse)
    for key in ("reviews", "children"):
        one = base.indicators(Selection()).filter(pl.col("indicator") == key)["value"][0]
        two = scaled.indicators(Selection()).filter(pl.col("indicator") == key)["value"][0]
        assert two == 2 * one
    assert scaled.boards().height == base.boards().height
    shutil.rmtree(tmp_path / "x2")


def test_the_dashboard_imports_neither_dagster_nor_great_expectations() -> None:
    import subprocess
    import sys

    code = (
        "import sys, warehouse.access, dashboard.state, dashboard.ui, dashboard.charts, "
        "dashboard.tables; heavy = [m for m in sys.modules "
        "if m.split('.')[0] in ('dagster', 'great_expectations')]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

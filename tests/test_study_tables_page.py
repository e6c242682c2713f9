"""Study tables page frames: readable question labels for Tables 16 and 20, the published
2001-03 comparison with counts and percents, Total rows at 100%, a published 0 shown as 0,
and notes in words, not codes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import duckdb
import polars as pl
import pytest
from test_study_tables import build_published_warehouse, new_warehouse

from dashboard import tables
from warehouse.access import published_tables
from warehouse.disclosure import suppress_study_tables
from warehouse.frame import frame
from warehouse.study_tables import TABLES, TABLES_BY_ID, compute_study_tables

CODE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$")  # c8_genogram, ap_single_plan, not_clear
GRIDS = ("t16_chapter8_compliance", "t20_action_plans")


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    con = new_warehouse()
    build_published_warehouse(con)
    yield con
    con.close()


@pytest.fixture(scope="module")
def result(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    return compute_study_tables(con, period="2001-03")


@pytest.fixture(scope="module")
def published() -> pl.DataFrame:
    return published_tables()


def _by_id(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["id"]: t for t in result["tables"]}


def _strings(df: pl.DataFrame) -> list[str]:
    cells = [
        v for c, t in df.schema.items() if t == pl.String for v in df[c].to_list() if v is not None
    ]
    return [*df.columns, *cells]


@pytest.mark.parametrize("table_id", GRIDS)
def test_question_grids_read_as_questions_not_codes(
    result: dict[str, Any], published: pl.DataFrame, table_id: str
) -> None:
    table = _by_id(result)[table_id]
    prefix = "c8_" if table_id.startswith("t16") else "ap_"
    questions = [
        c.label for s in frame().sheets.values() for c in s.columns if c.name.startswith(prefix)
    ]
    grid = tables.crosstab_frame(table)
    earlier = tables.published_crosstab_frame(table, published)
    header = TABLES_BY_ID[table_id].row_header
    assert grid[header].to_list() == questions
    assert earlier[header].to_list() == questions
    shown = [*_strings(grid), *_strings(earlier), tables.crosstab_note(table, published)]
    assert not [s for s in shown if CODE.match(s) or prefix in s]


def test_the_published_grid_gives_counts_and_percents(
    result: dict[str, Any], published: pl.DataFrame
) -> None:
    # Cells read "23 (58%)" (a no-break space keeps them on one line).
    t20 = tables.published_crosstab_frame(
        _by_id(result)["t20_action_plans"], published
    ).with_columns(pl.all().str.replace_all("\u00a0", " "))
    single = t20.row(1, named=True)
    # 23 of 40 is 57.5%: half up, 58%; every published column, Missing included.
    assert single == {
        "Action plans": "Single action plan for all agencies",
        "Yes": "23 (58%)",
        "No": "5 (13%)",
        "Partly": "2 (5%)",
        "Not clear from report": "4 (10%)",
        "Missing": "6 (15%)",
        "Total": "40 (100%)",
    }
    assert t20.row(5, named=True)["Yes"] == "0 (0%)"  # a published 0 is 0, not a blank
    t16 = tables.published_crosstab_frame(
        _by_id(result)["t16_chapter8_compliance"], published
    ).with_columns(pl.all().str.replace_all("\u00a0", " "))
    genogram = t16.filter(pl.col("Does the report contain the following").str.starts_with("Geno"))
    assert genogram.select(pl.col("^2002 report: .*$")).row(0) == (
        "12 (30%)",
        "6 (15%)",
        "22 (55%)",
    )
    assert t16["Total"].unique().to_list() == ["40 (100%)"]


def test_total_rows_are_100_percent(result: dict[str, Any], published: pl.DataFrame) -> None:
    for meta in TABLES:
        table = _by_id(result)[meta.id]
        if "columns" in table or not meta.percent:
            continue
        shown = tables.simple_frame(table, published)
        total = shown.filter(pl.col(meta.row_header) == "Total").row(0, named=True)
        assert total["%"] == 100, meta.id
        assert total["Published %"] == 100, meta.id


def test_a_published_zero_shows_zero(result: dict[str, Any], published: pl.DataFrame) -> None:
    age = tables.simple_frame(_by_id(result)["t02_age"], published)
    seventeen = age.filter(pl.col("Age group") == "17 years").row(0, named=True)
    assert (seventeen["Number"], seventeen["%"]) == (0, 0)
    # Printed as a dash in the study; 0 of 45 is 0%.
    assert (seventeen["Published 2001-03"], seventeen["Published %"]) == (0, 0)
    # Every published count on a percent table has its percent.
    for meta in TABLES:
        if meta.percent and "columns" not in _by_id(result)[meta.id]:
            shown = tables.simple_frame(_by_id(result)[meta.id], published)
            missing = shown.filter(
                pl.col("Published 2001-03").is_not_null() & pl.col("Published %").is_null()
            )
            assert missing.is_empty(), meta.id


def test_notes_name_bands_in_words(result: dict[str, Any], published: pl.DataFrame) -> None:
    notes = tables.unmatched_comparisons(_by_id(result)["t17_recommendations_total"], published)
    assert notes == ["41-60 and over: 10%"]
    assert tables.band_label("0_30") == "0-30"
    assert tables.band_label("not_known") == "Not known"


def test_an_empty_or_hidden_total(con: duckdb.DuckDBPyConnection, published: pl.DataFrame) -> None:
    empty = compute_study_tables(con, region="nowhere")
    shown = tables.simple_frame(_by_id(empty)["t03_gender"], published)
    total = shown.filter(pl.col("Gender") == "Total").row(0, named=True)
    assert total["Number"] == 0 and total["%"] is None  # no n: no percentage
    hidden = suppress_study_tables(compute_study_tables(con, period="2001-03"), 50)
    shown = tables.simple_frame(_by_id(hidden)["t03_gender"], published)
    total = shown.filter(pl.col("Gender") == "Total").row(0, named=True)
    assert total["%"] in ("100", 100)  # the whole is 100% even where its count is hidden


def test_the_base_is_plural_correct() -> None:
    assert tables.n_text({"n": 1, "unit": "reviews"}) == "n = 1 review"
    assert tables.n_text({"n": 45, "unit": "children"}) == "n = 45 children"
    assert tables.n_text({"n": 1, "unit": "children"}) == "n = 1 child"
    assert tables.n_text({"n": "c", "unit": "reviews"}) == "n = c reviews"

"""Exports of the study tables: JSON text, tidy long CSV and the formatted XLSX workbook."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import polars as pl
import pytest
from test_study_tables import build_published_warehouse, new_warehouse

from warehouse.exports import (
    tables_json,
    tables_long_with_filters,
    write_tables_csv,
    write_tables_xlsx,
)
from warehouse.study_tables import LONG_SCHEMA, TABLES, compute_study_tables, study_tables_long


@pytest.fixture(scope="module")
def published_con() -> Iterator[duckdb.DuckDBPyConnection]:
    con = new_warehouse()
    build_published_warehouse(con)
    yield con
    con.close()


@pytest.fixture(scope="module")
def result(published_con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    return compute_study_tables(published_con, period="2001-03")


def test_json_round_trips_with_the_spec_key_order(result: dict[str, Any]) -> None:
    text = tables_json(result)
    assert text.startswith('{\n  "coding_frame_version": 2,\n  "filters": {')
    back = json.loads(text)
    assert back == result
    assert list(back["tables"][0]) == ["id", "title", "unit", "n", "rows", "summaries"]
    t16 = next(t for t in back["tables"] if t["id"] == "t16_chapter8_compliance")
    assert list(t16) == ["id", "title", "unit", "n", "columns", "rows"]
    assert tables_json(result) == text  # stable


def test_csv_is_the_long_form_with_filters(
    tmp_path: Path, result: dict[str, Any], published_con: duckdb.DuckDBPyConnection
) -> None:
    path = write_tables_csv(result, tmp_path / "tables.csv")
    frame = pl.read_csv(path, schema_overrides={"row_code": pl.String(), "row_label": pl.String()})
    assert frame.columns == ["period", "region", "board", *LONG_SCHEMA]
    assert frame["table_id"].unique(maintain_order=True).to_list() == [t.id for t in TABLES]
    assert frame["period"].unique().to_list() == ["2001-03"]
    assert frame["region"].null_count() == frame.height
    long = study_tables_long(published_con, period="2001-03")
    got = frame.drop("period", "region", "board").cast(dict(LONG_SCHEMA))  # type: ignore[arg-type]
    assert got.equals(long)
    # One line per crosstab cell: 17 items x 5 answers for Table 16, 6 x 5 for Table 20.
    assert frame.filter(pl.col("table_id") == "t16_chapter8_compliance").height == 85
    assert frame.filter(pl.col("table_id") == "t20_action_plans").height == 30
    assert tables_long_with_filters(result).height == frame.height


def _sheet_rows(path: Path, name: str) -> list[tuple[Any, ...]]:
    book = openpyxl.load_workbook(path)
    return [tuple(r) for r in book[name].iter_rows(values_only=True)]


def test_xlsx_has_one_formatted_sheet_per_table(tmp_path: Path, result: dict[str, Any]) -> None:
    path = write_tables_xlsx(result, tmp_path / "tables.xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == [t.id for t in TABLES]

    sheet = book["t03_gender"]
    assert sheet["A1"].value == "Table 3: Gender of the children"
    assert sheet["A1"].font.bold
    assert "period: 2001-03" in sheet["A2"].value
    assert "audience: Full figures" in sheet["A2"].value
    assert [c.value for c in sheet[4]] == [
        "Gender",
        "Number (n=45)",
        "Percentage",
        "Published 2001-03 (n=45)",
        "Published percentage",
        "2002 report percentage",
    ]
    assert all(c.font.bold for c in sheet[4])
    assert [c.value for c in sheet[5]] == ["Male", 28, 62, 28, 62, 50]
    assert sheet["C5"].number_format == '0"%"'
    # Total lines are 100%, here and as published; a published 0 is 0 and 0%.
    assert [c.value for c in sheet[8]][:5] == ["Total", 45, 100, 45, 100]
    assert [c.value for c in sheet[7]][:5] == ["Not known", 0, 0, 0, 0]
    assert sheet.column_dimensions["A"].width > 10

    rows = _sheet_rows(path, "t02_age")
    assert ("11 and over", 9, 20, 9, 20, 15) in rows
    assert ("Total", 45, 100, 45, 100, None) in rows

    t07 = _sheet_rows(path, "t07_incident_type")
    # computed round half up (22), beside the printed 23
    assert ("Serious injury", 10, 22, 10, 23, 20) in t07

    t17 = _sheet_rows(path, "t17_recommendations_total")
    assert t17[-1][0] == "2002 report also printed: 41-60 and over: 10%"

    t18 = _sheet_rows(path, "t18_recommendation_focus")
    assert t18[3] == ("Focus of recommendations", "Number (n=634)", "Published 2001-03 (n=634)")
    assert t18[4] == ("Existing procedures (review, reinforce or revise)", 104, 104)


def test_xlsx_crosstab_grid(tmp_path: Path, result: dict[str, Any]) -> None:
    path = write_tables_xlsx(result, tmp_path / "tables.xlsx")
    t20 = _sheet_rows(path, "t20_action_plans")
    assert t20[0][0] == "Table 20: Action plans"
    assert t20[3] == (
        "Action plans", "Yes", "No", "Partly", "Not clear from report", "Missing", "Total",
    )  # fmt: skip
    assert t20[5] == ("Single action plan for all agencies", 23, 5, 2, 4, 6, 40)
    assert t20[10][0] == "n = 40 reviews"
    # Under the grid, the published one: count (percentage of the published n), half up.
    assert t20[12][0] == "Published 2001-03 (England, n = 40 reviews): number (percentage)"
    assert t20[13] == t20[3]
    assert t20[15] == (
        "Single action plan for all agencies",
        "23 (58%)", "5 (13%)", "2 (5%)", "4 (10%)", "6 (15%)", "40 (100%)",
    )  # fmt: skip
    t16 = _sheet_rows(path, "t16_chapter8_compliance")
    assert t16[3][1:7] == ("Yes", "No", "Partly", "Not applicable", "Not stated", "Total")
    assert len(t16) == 4 + 17 + 1 + 1 + 2 + 17
    genogram = next(r for r in t16[24:] if r[0].startswith("Genogram"))
    assert genogram[1:] == (
        "28 (70%)", "8 (20%)", "4 (10%)", "0 (0%)", "0 (0%)", "40 (100%)",
        "12 (30%)", "6 (15%)", "22 (55%)",
    )  # fmt: skip


def test_exports_of_an_empty_selection(tmp_path: Path) -> None:
    con = new_warehouse()
    empty = compute_study_tables(con, region="london")
    con.close()
    xlsx = write_tables_xlsx(empty, tmp_path / "empty.xlsx")
    assert openpyxl.load_workbook(xlsx).sheetnames == [t.id for t in TABLES]
    t03 = _sheet_rows(xlsx, "t03_gender")
    assert t03[4][:3] == ("Male", 0, "–")  # no base: no percentage
    assert [r for r in t03 if r[0] == "Total"][0][:3] == ("Total", 0, "–")
    assert "region: london" in t03[1][0]
    csv = pl.read_csv(write_tables_csv(empty, tmp_path / "empty.csv"))
    assert csv["region"].unique().to_list() == ["london"]
    assert csv["percent"].null_count() == csv.height
    assert json.loads(tables_json(empty))["filters"]["region"] == "london"

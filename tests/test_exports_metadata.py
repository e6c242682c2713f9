"""EES-style downloads of the study tables: a tidy data CSV with the published 2001-03
comparison and the selection, and a metadata CSV that describes every column of it;
disclosure control carried through unchanged."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from test_study_tables import build_published_warehouse, new_warehouse

from warehouse.disclosure import SYMBOL, suppress_study_tables
from warehouse.exports import (
    EES_META_COLUMNS,
    EES_TIME_GEOGRAPHY,
    tables_ees_files,
    tables_ees_frame,
    tables_ees_metadata,
    tables_ees_zip_bytes,
    write_tables_ees,
)
from warehouse.study_tables import TABLES, compute_study_tables, long_from_result


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    con = new_warehouse()
    build_published_warehouse(con)
    yield con
    con.close()


@pytest.fixture(scope="module")
def result(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    return compute_study_tables(con, period="2001-03")


def _read(content: bytes) -> pl.DataFrame:
    return pl.read_csv(io.BytesIO(content), infer_schema=False)


def _pair(result: dict[str, Any], **kwargs: Any) -> tuple[pl.DataFrame, pl.DataFrame]:
    files = tables_ees_files(result, "t", **kwargs)
    assert list(files) == ["t.csv", "t.meta.csv"]
    return _read(files["t.csv"]), _read(files["t.meta.csv"])


def test_the_metadata_describes_every_column_of_the_data(result: dict[str, Any]) -> None:
    data, meta = _pair(result)
    assert meta.columns == list(EES_META_COLUMNS)
    described = set(meta["col_name"])
    grouping = set(meta["filter_grouping_column"].drop_nulls())
    time_geography = [c for c in data.columns if c in EES_TIME_GEOGRAPHY]
    assert time_geography == [
        "time_period",
        "time_identifier",
        "geographic_level",
        "country_code",
        "country_name",
    ]
    # Every data column is an EES time/geography column, a described one or a grouping one.
    assert set(data.columns) == set(time_geography) | described | grouping
    assert described.isdisjoint(grouping) and grouping <= set(data.columns)
    assert set(meta["col_type"]) == {"Filter", "Indicator"}
    indicators = meta.filter(pl.col("col_type") == "Indicator")
    assert indicators["indicator_dp"].to_list() == ["0"] * indicators.height
    assert set(indicators["indicator_grouping"]) == {
        "This selection",
        "Published 2001-03 (England, Rose and Barnes 2008)",
        "2002 report (Sinclair and Bullock 2002)",
    }
    percent = indicators.filter(pl.col("col_name").str.contains("percent"))
    assert set(percent["indicator_unit"]) == {"%"}
    filters = meta.filter(pl.col("col_type") == "Filter")
    assert filters["indicator_grouping"].null_count() == filters.height
    assert filters["filter_hint"].null_count() == 0
    # EES data files have no blank cells: symbols instead.
    assert sum(data.null_count().row(0)) == 0


def test_the_data_holds_the_selection_and_the_published_comparison(
    result: dict[str, Any],
) -> None:
    data, _ = _pair(result)
    assert data["time_period"].unique().to_list() == ["2001-03"]
    assert data["geographic_level"].unique().to_list() == ["National"]
    assert data["audience"].unique().to_list() == ["Full figures"]
    assert data["table"].unique(maintain_order=True).to_list() == [
        f"Table {t.number}: {t.title}" for t in TABLES
    ]
    gender = data.filter(pl.col("table").str.starts_with("Table 3:"))
    male = gender.filter(pl.col("category") == "Male").row(0, named=True)
    assert (male["number"], male["percent"], male["base"]) == ("28", "62", "45")
    assert (male["published_number"], male["published_percent"]) == ("28", "62")
    assert male["report_2002_percent"] == "50"
    total = gender.filter(pl.col("category") == "Total").row(0, named=True)
    assert (total["number"], total["percent"], total["published_percent"]) == ("45", "100", "100")
    # Half up, as the page: 10 of 45 is 22%; the study printed 23 (an erratum), kept as printed.
    injury = data.filter(
        pl.col("table").str.starts_with("Table 7:") & (pl.col("category") == "Serious injury")
    ).row(0, named=True)
    assert (injury["percent"], injury["published_percent"]) == ("22", "23")
    # A published 0 is 0 and 0%, never blank.
    age17 = data.filter(pl.col("category") == "17 years").row(0, named=True)
    assert (age17["published_number"], age17["published_percent"]) == ("0", "0")
    # Table 18 has counts only: no percentage, marked z.
    t18 = data.filter(pl.col("table").str.starts_with("Table 18:"))
    assert set(t18["percent"]) == {"z"} and set(t18["published_percent"]) == {"z"}


def test_question_grids_in_words_with_published_percents(result: dict[str, Any]) -> None:
    data, _ = _pair(result)
    t16 = data.filter(pl.col("table").str.starts_with("Table 16:"))
    assert not t16["category"].str.contains("c8_").any()
    genogram = t16.filter(pl.col("category").str.starts_with("Genogram"))
    assert genogram["response"].to_list() == [
        "Yes",
        "No",
        "Partly",
        "Not applicable",
        "Not stated",
        "Total",
    ]
    yes = genogram.row(0, named=True)
    assert (yes["number"], yes["published_number"], yes["published_percent"]) == ("28", "28", "70")
    assert (yes["report_2002_number"], yes["report_2002_percent"]) == ("12", "30")
    assert genogram.row(5, named=True)["published_percent"] == "100"
    t20 = data.filter(pl.col("table").str.starts_with("Table 20:"))
    assert "Missing" in set(t20["response"])
    assert not t20["category"].str.contains("ap_").any()


def test_a_regional_or_board_selection_names_itself(con: duckdb.DuckDBPyConnection) -> None:
    regional = compute_study_tables(con, region="london")
    data, _ = _pair(regional, audience="regional")
    assert data.select("time_period", "geographic_level", "region_code", "region_name").row(0) == (
        "all",
        "Regional",
        "london",
        "London",
    )
    assert data["audience"][0] == "regional: full figures"
    board = compute_study_tables(con, board="B1", period="2001-03")
    data, _ = _pair(board, board_name="Board One")
    assert data.select("geographic_level", "board_code", "board_name").row(0) == (
        "Board",
        "B1",
        "Board One",
    )


def test_hidden_figures_stay_hidden(result: dict[str, Any]) -> None:
    hidden = suppress_study_tables(result, 5)
    data, meta = _pair(hidden, audience="public")
    assert data["audience"][0] == "public: under disclosure control (threshold 5)"
    assert (
        "c: a count from 1 to 5" in meta.filter(pl.col("col_name") == "audience")["filter_hint"][0]
    )
    long = long_from_result(hidden)
    hidden_counts = long.filter(pl.col("count") == SYMBOL).height
    assert hidden_counts > 0
    # Each hidden count of the result is c in the data, and nothing else is (bar the Total
    # column of a grid row holding a hidden cell, which would give it away).
    shown = data.filter(pl.col("number") == SYMBOL)
    grid_totals = shown.filter(
        (pl.col("response") == "Total") & pl.col("table").str.contains("^Table (16|20):")
    )
    hidden_n = long.filter(pl.col("column_code").is_null() & (pl.col("n") == SYMBOL))
    totals = hidden_n["table_id"].n_unique()  # a simple table's Total line is its n
    assert shown.height - grid_totals.height == hidden_counts + totals
    hidden_percents = long.filter(pl.col("percent") == SYMBOL).height
    assert data.filter(pl.col("percent") == SYMBOL).height == hidden_percents
    # No figure from 1 to 5 of this selection reaches the file.
    numbers = data.filter(pl.col("published_number").is_not_null())["number"]
    assert not set(numbers) & {"1", "2", "3", "4", "5"}


def test_zip_and_files(tmp_path: Path, result: dict[str, Any]) -> None:
    archive = zipfile.ZipFile(io.BytesIO(tables_ees_zip_bytes(result, "scr-tables-2001-03")))
    assert archive.namelist() == ["scr-tables-2001-03.csv", "scr-tables-2001-03.meta.csv"]
    written = write_tables_ees(result, tmp_path / "tables.csv")
    assert [p.name for p in written] == ["tables.csv", "tables.meta.csv"]
    data = pl.read_csv(written[0], infer_schema=False)
    assert data.equals(tables_ees_frame(result))
    assert pl.read_csv(written[1], infer_schema=False).height == (
        tables_ees_metadata(data, result).height
    )
    (zipped,) = write_tables_ees(result, tmp_path / "tables.zip")
    assert zipfile.ZipFile(zipped).namelist() == ["tables.csv", "tables.meta.csv"]


def test_scr_tables_writes_the_pair_to_a_zip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipelines.cli import main

    path = tmp_path / "wh.duckdb"
    con = new_warehouse(path)
    build_published_warehouse(con)
    con.close()
    out = tmp_path / "tables.zip"
    code = main(["--warehouse", str(path), "tables", "--period", "2001-03", "--format", "csv",
                 "--out", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    archive = zipfile.ZipFile(out)
    assert archive.namelist() == ["tables.csv", "tables.meta.csv"]
    data = _read(archive.read("tables.csv"))
    assert data["time_period"].unique().to_list() == ["2001-03"]
    totals = data.filter(pl.col("category") == "Total")
    # 100% on every Total line, bar Table 18's (a table of counts: no percentages, z).
    assert set(totals.filter(~pl.col("table").str.starts_with("Table 18:"))["percent"]) == {"100"}


def test_an_empty_selection_reads_zero_not_blank(con: duckdb.DuckDBPyConnection) -> None:
    empty = compute_study_tables(con, region="nowhere")
    data, _ = _pair(empty)
    assert sum(data.null_count().row(0)) == 0
    totals = data.filter(pl.col("category") == "Total")
    assert set(totals["number"]) == {"0"} and set(totals["percent"]) == {"z"}  # no base
    years = data.filter(pl.col("table").str.starts_with("Table 11:"))
    assert years.height > 1 and set(years["number"]) == {"0"}

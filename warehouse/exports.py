"""Exports of the study tables: JSON, tidy long CSV, and a formatted XLSX workbook.

All three take the same computed result, the tables JSON dict of
``study_tables.compute_study_tables``, so the CLI, the dashboard and Dagster export exactly
what they computed once. A result under disclosure control (``disclosure.
suppress_study_tables``) keeps its ``c`` in every format, and the CSV and every sheet of the
workbook carry the note that explains it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import polars as pl
import xlsxwriter

from warehouse.frame import frame
from warehouse.safe_output import SAFE_WORKBOOK_OPTIONS, neutralise, neutralise_frame
from warehouse.study_tables import TABLES_BY_ID, long_from_result

FILTER_KEYS = ("period", "region", "board")
MISSING_LABEL = "Missing"
DASH = "–"  # the study prints a dash where there is no percentage


def tables_json(result: dict[str, Any]) -> str:
    """The tables JSON text: indented, keys in the order the result was built (the spec's),
    without a trailing newline (callers add their own)."""
    return json.dumps(result, indent=2, ensure_ascii=False)


def tables_long_with_filters(result: dict[str, Any]) -> pl.DataFrame:
    """The long form of a result with its filters as leading columns (null = all)."""
    filters = result["filters"]
    return long_from_result(result).select(
        *(pl.lit(filters.get(k), dtype=pl.String()).alias(k) for k in FILTER_KEYS),
        pl.all(),
    )


NOTE_TABLE_ID = "note"  # the CSV's last line under disclosure control: what c means


def tables_csv_frame(result: dict[str, Any]) -> pl.DataFrame:
    """What the CSV holds: the long form with filters, and under disclosure control a last
    line (table_id ``note``) whose table_title explains ``c``."""
    long = tables_long_with_filters(result)
    disclosure = result.get("disclosure")
    if not disclosure:
        return long
    note_line = pl.DataFrame(
        {"table_id": [NOTE_TABLE_ID], "table_title": [disclosure["note"]]}
    ).select(
        pl.col(c).cast(long.schema[c])
        if c in ("table_id", "table_title")
        else pl.lit(None, dtype=long.schema[c]).alias(c)
        for c in long.columns
    )
    return pl.concat([long, note_line], how="vertical")


def tables_csv_text(result: dict[str, Any]) -> str:
    """The CSV text ``scr tables --format csv`` prints, every text cell neutralised."""
    return neutralise_frame(tables_csv_frame(result)).write_csv()


def write_tables_csv(result: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Tidy long CSV: one line per table, row and (crosstab) column; blanks are nulls."""
    out = Path(path)
    out.write_text(tables_csv_text(result), encoding="utf-8")
    return out


def _filters_line(result: dict[str, Any], unit: str) -> str:
    filters = result["filters"]
    parts = [f"{k}: {filters.get(k) or 'all'}" for k in FILTER_KEYS]
    return (
        f"Selection: {', '.join(parts)}; unit: {unit}; "
        f"coding frame v{result.get('coding_frame_version', '?')}"
    )


def _column_labels(table: dict[str, Any]) -> dict[str, str]:
    """Labels of a crosstab's response codes, from the code list of its item columns."""
    cf = frame()
    labels: dict[str, str] = {"missing": MISSING_LABEL}
    item_codes = {row["code"] for row in table["rows"]}
    for sheet in cf.sheets.values():
        for column in sheet.columns:
            if column.name in item_codes and column.codes:
                labels = cf.labels(column.codes) | labels
    return {c: labels.get(c, c.replace("_", " ").capitalize()) for c in table["columns"]}


class _Formats:
    """The workbook's cell formats, created once per workbook."""

    def __init__(self, book: xlsxwriter.Workbook) -> None:
        self.title = book.add_format({"bold": True, "font_size": 12})
        self.note = book.add_format({"italic": True, "font_color": "#555555"})
        self.header = book.add_format(
            {"bold": True, "bottom": 1, "text_wrap": True, "valign": "bottom"}
        )
        self.header_num = book.add_format(
            {"bold": True, "bottom": 1, "text_wrap": True, "valign": "bottom", "align": "right"}
        )
        self.label = book.add_format({"text_wrap": True, "valign": "top"})
        self.count = book.add_format({"num_format": "0", "valign": "top"})
        # Percentages are whole numbers already (round half up); show them with a % sign.
        self.percent = book.add_format({"num_format": '0"%"', "valign": "top"})
        self.dash = book.add_format({"align": "right", "valign": "top"})
        self.total_label = book.add_format({"bold": True, "top": 1})
        self.total_count = book.add_format({"bold": True, "top": 1, "num_format": "0"})
        self.total_blank = book.add_format({"top": 1})


def _write_text(sheet: Any, row: int, col: int, text: str, fmt: Any = None) -> None:
    # Text is always a string cell, never a formula, and neutralised (safe_output).
    sheet.write_string(row, col, neutralise(text), fmt)


def _write_number(
    sheet: Any, row: int, col: int, value: int | str | None, fmt: Any, dash: Any
) -> None:
    # A null (no base) is shown as a dash, as printed; a hidden figure as its symbol, c.
    if value is None:
        _write_text(sheet, row, col, DASH, dash)
    elif isinstance(value, str):
        _write_text(sheet, row, col, value, dash)
    else:
        sheet.write_number(row, col, value, fmt)


def _label_width(labels: list[str], header: str) -> int:
    return min(max([len(header), *(len(x) for x in labels)]) + 2, 70)


def _write_simple(
    sheet: Any, table: dict[str, Any], header: str, with_percent: bool, f: _Formats, top: int
) -> int:
    headers = [header, f"Number (n={table['n']})"] + (["Percentage"] if with_percent else [])
    _write_text(sheet, top, 0, headers[0], f.header)
    for c, text in enumerate(headers[1:], start=1):
        _write_text(sheet, top, c, text, f.header_num)
    r = top + 1
    for row in table["rows"]:
        _write_text(sheet, r, 0, row["label"], f.label)
        _write_number(sheet, r, 1, row["count"], f.count, f.dash)
        if with_percent:
            _write_number(sheet, r, 2, row.get("percent"), f.percent, f.dash)
        r += 1
    _write_text(sheet, r, 0, "Total", f.total_label)
    _write_number(sheet, r, 1, table["n"], f.total_count, f.total_count)
    if with_percent:
        sheet.write_blank(r, 2, None, f.total_blank)
    r += 1
    for row in table.get("summaries", []):  # e.g. "11 and over", printed under the total
        _write_text(sheet, r, 0, row["label"], f.label)
        _write_number(sheet, r, 1, row["count"], f.count, f.dash)
        if with_percent:
            _write_number(sheet, r, 2, row.get("percent"), f.percent, f.dash)
        r += 1
    labels = [row["label"] for row in table["rows"] + table.get("summaries", [])]
    sheet.set_column(0, 0, _label_width(labels, header))
    sheet.set_column(1, len(headers) - 1, 14)
    return r


def _write_crosstab(sheet: Any, table: dict[str, Any], header: str, f: _Formats, top: int) -> int:
    columns: list[str] = table["columns"]
    labels = _column_labels(table)
    _write_text(sheet, top, 0, header, f.header)
    for c, code in enumerate(columns, start=1):
        _write_text(sheet, top, c, labels[code], f.header_num)
    total_col = len(columns) + 1
    _write_text(sheet, top, total_col, "Total", f.header_num)
    r = top + 1
    for row in table["rows"]:
        _write_text(sheet, r, 0, row["label"], f.label)
        counts = [row["counts"].get(code) for code in columns]
        for c, value in enumerate(counts, start=1):
            _write_number(sheet, r, c, value, f.count, f.dash)
        if any(isinstance(v, str) for v in counts):
            # A row with a hidden cell: its total is n (each review answers every item),
            # never the sum of what is shown, which would point at the hidden part.
            _write_number(sheet, r, total_col, table["n"], f.total_count, f.total_count)
        else:
            known = [v for v in counts if v is not None]
            sheet.write_number(r, total_col, sum(known), f.total_count)
        r += 1
    _write_text(sheet, r, 0, f"n = {table['n']} {table['unit']}", f.total_label)
    for c in range(1, total_col + 1):
        sheet.write_blank(r, c, None, f.total_blank)
    sheet.set_column(0, 0, _label_width([row["label"] for row in table["rows"]], header))
    for c, code in enumerate(columns, start=1):
        sheet.set_column(c, c, max(len(labels[code]) + 2, 10))
    sheet.set_column(total_col, total_col, 10)
    return r + 1


def write_tables_xlsx(result: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """One formatted sheet per table, laid out like the study's Appendix 2."""
    out = Path(path)
    with xlsxwriter.Workbook(str(out), SAFE_WORKBOOK_OPTIONS) as book:
        formats = _Formats(book)
        for table in result["tables"]:
            meta = TABLES_BY_ID.get(table["id"])
            number = meta.number if meta else table["id"]
            header = meta.row_header if meta else "Category"
            with_percent = meta.percent if meta else any("percent" in r for r in table["rows"])
            sheet = book.add_worksheet(table["id"][:31])  # Excel's sheet-name limit
            _write_text(sheet, 0, 0, f"Table {number}: {table['title']}", formats.title)
            _write_text(sheet, 1, 0, _filters_line(result, table["unit"]), formats.note)
            if result.get("disclosure"):
                _write_text(sheet, 2, 0, result["disclosure"]["note"], formats.note)
            top = 3
            if "columns" in table:
                _write_crosstab(sheet, table, header, formats, top)
            else:
                _write_simple(sheet, table, header, with_percent, formats, top)
            sheet.freeze_panes(top + 1, 0)
    return out


# --- recommendations search ----------------------------------------------------------------
# The search's columns as a download names them (the read layer's order).
RECOMMENDATION_COLUMNS = {
    "period": "Period",
    "board_code": "Board code",
    "board_name": "Board",
    "review_id": "Review",
    "rec_no": "Recommendation number",
    "focus_label": "Focus",
    "agency_label": "Agency",
    "text": "Recommendation",
}


def recommendations_csv_bytes(hits: pl.DataFrame) -> bytes:
    """Recommendations found by ``Access.search_recommendations`` as a CSV download: one line
    each, the whole text, readable column names; every text cell neutralised (safe_output),
    since the wording is submitted free text. Pass the search's every match (``limit=None``)."""
    from warehouse.safe_output import csv_bytes

    return csv_bytes(
        hits.select(pl.col(name).alias(label) for name, label in RECOMMENDATION_COLUMNS.items())
    )

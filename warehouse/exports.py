"""Exports of the study tables: JSON, tidy long CSV, and a formatted XLSX workbook.

All three take the same computed result, the tables JSON dict of
``study_tables.compute_study_tables``, so the CLI, the dashboard and Dagster export exactly
what they computed once. A result under disclosure control (``disclosure.
suppress_study_tables``) keeps its ``c`` in every format, and the CSV and every sheet of the
workbook carry the note that explains it.

The EES-style download (``tables_ees_files``, ``tables_ees_zip_bytes``, ``write_tables_ees``)
follows the DfE explore-education-statistics tidy data standard: a data CSV (one line per
table, category and response; the selection as time and geography columns and the audience
as a filter; this selection's figures beside the published 2001-03 ones and the 2002
report's; no blank cells, EES symbols c / x / z instead) and a metadata CSV with EES's
columns (col_name, col_type Filter or Indicator, label, indicator_grouping, indicator_unit,
indicator_dp, filter_hint, filter_grouping_column) describing each filter and indicator.
Where it departs from EES: ``time_period`` is the review period code ("2001-03", "all"),
``time_identifier`` "Review period", and a board is its own ``geographic_level`` (Board, with
board_code and board_name), since boards are not an EES geography.
``write_tables_csv`` writes this pair when its path ends ``.zip`` (``scr tables --format csv
--out tables.zip``), and the long CSV otherwise.

Recommendations found by the search download through ``recommendations_csv_bytes``.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from pathlib import Path
from typing import Any

import polars as pl
import xlsxwriter

from warehouse.disclosure import SYMBOL
from warehouse.frame import frame
from warehouse.numbers import percent_of_expr
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
    """Tidy long CSV: one line per table, row and (crosstab) column; blanks are nulls.

    A ``path`` ending ``.zip`` gets the EES-style pair instead (``write_tables_ees``: the
    data with the published comparison and the selection, and its metadata CSV)."""
    out = Path(path)
    if out.suffix.lower() == ".zip":
        return write_tables_ees(result, out)[0]
    out.write_text(tables_csv_text(result), encoding="utf-8")
    return out


def _filters_line(result: dict[str, Any], unit: str, audience: str | None = None) -> str:
    filters = result["filters"]
    parts = [f"{k}: {filters.get(k) or 'all'}" for k in FILTER_KEYS]
    parts.append(f"audience: {_audience_text(result, audience)}")
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
        self.total_percent = book.add_format({"bold": True, "top": 1, "num_format": '0"%"'})
        self.total_dash = book.add_format({"bold": True, "top": 1, "align": "right"})


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


def _published_for(published: pl.DataFrame | None, table_id: str) -> pl.DataFrame:
    if published is None:
        return pl.DataFrame()
    return published.filter(pl.col("table_id") == table_id)


def _write_simple(
    sheet: Any,
    table: dict[str, Any],
    header: str,
    with_percent: bool,
    f: _Formats,
    top: int,
    published: pl.DataFrame | None = None,
) -> int:
    """The table's rows, its Total (100%) and summaries; beside them the published 2001-03
    number and percentage and the 2002 report's percentage, where printed."""
    pub = _published_for(published, table["id"])
    pub = pub.filter(pl.col("column_code") == "") if pub.height else pub
    by_row = {(r["section"], r["row_code"]): r for r in pub.iter_rows(named=True)}
    pub_total = by_row.get(("total", _TOTAL_CODE), {})
    with_2002 = bool(pub.height) and pub["comparison_2002"].is_not_null().any()
    headers = [header, f"Number (n={table['n']})"] + (["Percentage"] if with_percent else [])
    if pub.height:
        headers += [f"Published 2001-03 (n={pub_total.get('published_n')})"]
        headers += ["Published percentage"] if with_percent else []
        headers += ["2002 report percentage"] if with_2002 else []
    _write_text(sheet, top, 0, headers[0], f.header)
    for c, text in enumerate(headers[1:], start=1):
        _write_text(sheet, top, c, text, f.header_num)

    def published_cells(r: int, col: int, row: dict[str, Any], fmt_count: Any) -> None:
        if not pub.height:
            return
        _write_number(sheet, r, col, row.get("published_count"), fmt_count, f.dash)
        col += 1
        if with_percent:
            _write_number(sheet, r, col, row.get("published_percent"), f.percent, f.dash)
            col += 1
        if with_2002:
            _write_number(sheet, r, col, row.get("comparison_2002"), f.percent, f.dash)

    first_published = 3 if with_percent else 2
    r = top + 1
    for row in table["rows"]:
        _write_text(sheet, r, 0, row["label"], f.label)
        _write_number(sheet, r, 1, row["count"], f.count, f.dash)
        if with_percent:
            _write_number(sheet, r, 2, row.get("percent"), f.percent, f.dash)
        published_cells(r, first_published, by_row.get(("rows", row["code"]), {}), f.count)
        r += 1
    _write_text(sheet, r, 0, "Total", f.total_label)
    _write_number(sheet, r, 1, table["n"], f.total_count, f.total_count)
    if with_percent:
        # The whole is 100% of n (a hidden n too); no percentage without a base.
        whole = table["n"] == SYMBOL or (isinstance(table["n"], int) and table["n"] > 0)
        _write_number(sheet, r, 2, 100 if whole else None, f.total_percent, f.total_dash)
    if pub.height:
        row = {**pub_total, "comparison_2002": None}
        published_cells(r, first_published, row, f.total_count)
        if with_2002:
            sheet.write_blank(r, len(headers) - 1, None, f.total_blank)
    r += 1
    for row in table.get("summaries", []):  # e.g. "11 and over", printed under the total
        _write_text(sheet, r, 0, row["label"], f.label)
        _write_number(sheet, r, 1, row["count"], f.count, f.dash)
        if with_percent:
            _write_number(sheet, r, 2, row.get("percent"), f.percent, f.dash)
        published_cells(r, first_published, by_row.get(("summaries", row["code"]), {}), f.count)
        r += 1
    if with_2002:
        # 2002 bands that are no row of the study's table ("41-60 and over"), in words.
        codes = {row["code"] for row in table["rows"] + table.get("summaries", [])}
        extra = pub.filter(
            pl.col("comparison_2002").is_not_null()
            & ~pl.col("row_code").is_in([*codes, _TOTAL_CODE])
        )
        if extra.height:
            bands = "; ".join(
                f"{band_label(code)}: {value}%"
                for code, value in zip(extra["row_code"], extra["comparison_2002"], strict=True)
            )
            _write_text(sheet, r, 0, f"2002 report also printed: {bands}", f.note)
            r += 1
    labels = [row["label"] for row in table["rows"] + table.get("summaries", [])]
    sheet.set_column(0, 0, _label_width(labels, header))
    sheet.set_column(1, len(headers) - 1, 14)
    return r


def _unit_text(n: Any, unit: str) -> str:
    """ "40 reviews", "1 review", "c reviews"."""
    singular = {"children": "child", "reviews": "review", "recommendations": "recommendation"}
    return f"{n} {singular.get(unit, unit) if n == 1 else unit}"


def _write_crosstab(
    sheet: Any,
    table: dict[str, Any],
    header: str,
    f: _Formats,
    top: int,
    published: pl.DataFrame | None = None,
) -> int:
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
    _write_text(sheet, r, 0, f"n = {_unit_text(table['n'], table['unit'])}", f.total_label)
    for c in range(1, total_col + 1):
        sheet.write_blank(r, c, None, f.total_blank)
    sheet.set_column(0, 0, _label_width([row["label"] for row in table["rows"]], header))
    for c, code in enumerate(columns, start=1):
        sheet.set_column(c, c, max(len(labels[code]) + 2, 10))
    sheet.set_column(total_col, total_col, 10)
    r += 1
    pub = _published_for(published, table["id"])
    pub = pub.filter(pl.col("column_code") != "") if pub.height else pub
    if pub.height:
        r = _write_published_grid(sheet, table, header, pub, f, r + 1)
    return r


def _write_published_grid(
    sheet: Any, table: dict[str, Any], header: str, pub: pl.DataFrame, f: _Formats, top: int
) -> int:
    """The published 2001-03 grid under a crosstab, as the page shows it: "28 (70%)" (count
    and percentage of the published n, half up), a Total of 100%, and the 2002 report's
    printed counts (percentage of the item's printed total) where there are any."""
    codes = [c for c in pub["column_code"].unique(maintain_order=True) if c != _TOTAL_CODE]
    labels = _column_labels({**table, "columns": codes})
    printed_2002 = set(pub.filter(pl.col("comparison_2002").is_not_null())["column_code"])
    earlier = [c for c in codes if c in printed_2002]
    n = pub["published_n"].drop_nulls()
    title = "Published 2001-03 (England"
    title += f", n = {_unit_text(n[0], table['unit'])})" if n.len() else ")"
    _write_text(sheet, top, 0, title + ": number (percentage)", f.title)
    headers = [header, *(labels[c] for c in codes), "Total"]
    headers += [f"2002 report: {labels[c]}" for c in earlier]
    for c, text in enumerate(headers):
        _write_text(sheet, top + 1, c, text, f.header if c == 0 else f.header_num)
    cells = pub.with_columns(
        pl.format("{} ({}%)", "published_count", "published_percent").alias("published"),
        pl.format("{} ({}%)", "comparison_2002", "comparison_2002_percent").alias("earlier"),
    )
    lookup = {(row["row_code"], row["column_code"]): row for row in cells.iter_rows(named=True)}
    labels_by_item = {row["code"]: row["label"] for row in table["rows"]}
    r = top + 2
    for item in pub["row_code"].unique(maintain_order=True):
        _write_text(sheet, r, 0, labels_by_item.get(item, band_label(item)), f.label)
        for c, code in enumerate([*codes, _TOTAL_CODE], start=1):
            value = lookup.get((item, code), {}).get("published")
            _write_text(sheet, r, c, value or DASH, f.dash)
        for c, code in enumerate(earlier, start=len(codes) + 2):
            value = lookup.get((item, code), {}).get("earlier")
            _write_text(sheet, r, c, value or DASH, f.dash)
        r += 1
    return r


def write_tables_xlsx(
    result: dict[str, Any],
    path: str | os.PathLike[str],
    *,
    audience: str | None = None,
    published: bool = True,
) -> Path:
    """One formatted sheet per table, laid out like the study's Appendix 2: the selection
    (period, region, board, audience) under the title, Total lines at 100%, and beside the
    figures the published 2001-03 ones (England) and the 2002 report's (``published=False``
    leaves them out). Under disclosure control the note explaining c is on every sheet."""
    out = Path(path)
    reference = published_cells() if published else None
    with xlsxwriter.Workbook(str(out), SAFE_WORKBOOK_OPTIONS) as book:
        formats = _Formats(book)
        for table in result["tables"]:
            meta = TABLES_BY_ID.get(table["id"])
            number = meta.number if meta else table["id"]
            header = meta.row_header if meta else "Category"
            with_percent = meta.percent if meta else any("percent" in r for r in table["rows"])
            sheet = book.add_worksheet(table["id"][:31])  # Excel's sheet-name limit
            _write_text(sheet, 0, 0, f"Table {number}: {table['title']}", formats.title)
            line = _filters_line(result, table["unit"], audience)
            _write_text(sheet, 1, 0, line, formats.note)
            if result.get("disclosure"):
                _write_text(sheet, 2, 0, result["disclosure"]["note"], formats.note)
            top = 3
            if "columns" in table:
                _write_crosstab(sheet, table, header, formats, top, reference)
            else:
                _write_simple(sheet, table, header, with_percent, formats, top, reference)
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


# --- the published 2001-03 figures --------------------------------------------------------


def published_long() -> pl.DataFrame:
    """The published 2001-03 figures (Appendix 2) in long form, one row per table, section,
    row and (crosstab) column: row_label, published_n, published_count, published_percent
    (as printed), and the 2002 report's figure (``comparison_2002``: a percentage, for
    Table 16 a count) where printed. ``column_code`` is "" on simple tables."""
    from warehouse.replication import published

    pub = published()
    long = long_from_result(pub, percent_key="percent_published").select(
        "table_id",
        "section",
        "row_code",
        pl.col("column_code").fill_null(""),
        "row_label",
        pl.col("n").alias("published_n"),
        pl.col("count").alias("published_count"),
        pl.col("percent").alias("published_percent"),
    )
    rows: list[tuple[str, str, str, int]] = []
    for table_id, values in pub.get("comparison_2002", {}).items():
        if not isinstance(values, dict):
            continue
        if table_id.endswith("_counts"):  # t16: counts per item and answer
            for item, answers in values.items():
                for answer, count in answers.items():
                    rows.append((table_id.removesuffix("_counts"), item, answer, int(count)))
        else:
            for code, value in values.items():
                if isinstance(value, int | float):
                    rows.append((table_id, code, "", int(value)))
    comparison = pl.DataFrame(
        rows,
        schema={
            "table_id": pl.String(),
            "row_code": pl.String(),
            "column_code": pl.String(),
            "comparison_2002": pl.Int64(),
        },
        orient="row",
    )
    return long.join(
        comparison, on=["table_id", "row_code", "column_code"], how="full", coalesce=True
    ).with_columns(pl.col("section").fill_null("rows"))


def band_label(code: str) -> str:
    """A band code the 2002 report printed but the coding frame has no row for, read as
    words: "41_60_and_over" is "41-60 and over", "0_30" is "0-30"."""
    dashed = re.sub(r"(?<=\d)_(?=\d)", "-", code)
    text = dashed.replace("_", " ")
    return text[:1].upper() + text[1:]


# --- EES-style tidy data and metadata --------------------------------------------------------
# The symbols of the explore-education-statistics (EES) data standard: c confidential
# (disclosure control), x not available (not published), z not applicable (no percentage).
NOT_AVAILABLE = "x"
NOT_APPLICABLE = "z"
# Time and geography columns: EES describes them by name, not in the metadata file.
EES_TIME_GEOGRAPHY = (
    "time_period",
    "time_identifier",
    "geographic_level",
    "country_code",
    "country_name",
    "region_code",
    "region_name",
    "board_code",
    "board_name",
)
EES_META_COLUMNS = (
    "col_name",
    "col_type",
    "label",
    "indicator_grouping",
    "indicator_unit",
    "indicator_dp",
    "filter_hint",
    "filter_grouping_column",
)
SELECTION = "This selection"
PUBLISHED = "Published 2001-03 (England, Rose and Barnes 2008)"
REPORT_2002 = "2002 report (Sinclair and Bullock 2002)"
# (name, label, grouping, unit): the indicators, in the data file's order.
EES_INDICATORS = (
    ("number", "Number", SELECTION, ""),
    ("percent", "Percentage of the table's base", SELECTION, "%"),
    ("base", "Base of the table (n)", SELECTION, ""),
    ("published_number", "Published number", PUBLISHED, ""),
    ("published_percent", "Published percentage", PUBLISHED, "%"),
    ("published_base", "Published base (n)", PUBLISHED, ""),
    ("report_2002_percent", "2002 report percentage", REPORT_2002, "%"),
    ("report_2002_number", "2002 report number (Table 16)", REPORT_2002, ""),
)
TOTAL = "Total"
_SECTION_GROUP = {"rows": "Rows", "total": "Total", "summaries": "Summaries (sums of rows)"}


def _audience_text(result: dict[str, Any], audience: str | None) -> str:
    """Who the figures are for, and whether disclosure control hid any: "public: under
    disclosure control (threshold 5)", "Full figures"."""
    disclosure = result.get("disclosure")
    status = (
        f"under disclosure control (threshold {disclosure.get('threshold')})"
        if disclosure
        else "full figures"
    )
    return f"{audience}: {status}" if audience else status[:1].upper() + status[1:]


def _band_label_expr(code: pl.Expr) -> pl.Expr:
    """``band_label`` in polars."""
    text = code.str.replace_all(r"(\d)_(\d)", "${1}-${2}").str.replace_all("_", " ")
    return text.str.slice(0, 1).str.to_uppercase() + text.str.slice(1)


_TOTAL_CODE = "total"
_KEYS = ["table_id", "section", "row_code", "column_code"]


def _computed_cells(result: dict[str, Any]) -> pl.DataFrame:
    """The result's cells as text (``c`` where hidden) in its order, with a Total line per
    simple table (its n, 100%) and a Total column per crosstab item (the sum of its row; c
    when a cell of the row is hidden, as the page shows it)."""
    long = long_from_result(result)
    long = long.select(
        "table_id",
        "section",
        "row_code",
        pl.col("column_code").fill_null(""),
        "row_label",
        *(pl.col(c).cast(pl.String) for c in ("n", "count", "percent")),
        "row_order",
        "column_order",
    )
    # Every simple table has its Total line, even one without rows (Table 11, nothing selected).
    totals = pl.DataFrame(
        [(t["id"], str(t["n"])) for t in result["tables"] if "columns" not in t],
        schema={"table_id": pl.String(), "n": pl.String()},
        orient="row",
    )
    n_total = pl.col("n").cast(pl.Int64, strict=False)
    simple_totals = totals.select(
        "table_id",
        pl.lit("total").alias("section"),
        pl.lit(_TOTAL_CODE).alias("row_code"),
        pl.lit("").alias("column_code"),
        pl.lit(TOTAL).alias("row_label"),
        "n",
        pl.col("n").alias("count"),
        pl.when((n_total > 0) | (pl.col("n") == SYMBOL)).then(pl.lit("100")).alias("percent"),
        pl.lit(0, dtype=pl.Int64).alias("row_order"),
        pl.lit(None, dtype=pl.Int64).alias("column_order"),
    )
    cells = long.filter(pl.col("column_code") != "")
    grid_totals = cells.group_by("table_id", "row_code", maintain_order=True).agg(
        pl.lit("rows").alias("section"),
        pl.lit(_TOTAL_CODE).alias("column_code"),
        pl.col("row_label").first(),
        pl.col("n").first(),
        pl.when((pl.col("count") == SYMBOL).any())
        .then(pl.lit(SYMBOL))
        .otherwise(pl.col("count").cast(pl.Int64, strict=False).sum().cast(pl.String))
        .alias("count"),
        pl.lit(None, dtype=pl.String).alias("percent"),
        pl.col("row_order").first(),
        pl.lit(1000, dtype=pl.Int64).alias("column_order"),
    )
    return pl.concat([long, simple_totals, grid_totals.select(long.columns)], how="vertical")


def published_cells() -> pl.DataFrame:
    """The published figures (``published_long``) with a Total line per simple table and a
    Total column per crosstab item (100%), and a percentage for every published count, half
    up: as printed on simple tables (a printed dash for 0 is 0%), of the published n on
    crosstabs (printed as counts); ``comparison_2002_percent`` the 2002 report's."""
    pub = published_long()
    simple = pub.filter((pl.col("column_code") == "") & pl.col("published_n").is_not_null())
    grid = pub.filter(pl.col("column_code") != "")
    simple_totals = simple.group_by("table_id", maintain_order=True).agg(
        pl.lit("total").alias("section"),
        pl.lit(_TOTAL_CODE).alias("row_code"),
        pl.lit("").alias("column_code"),
        pl.lit(TOTAL).alias("row_label"),
        pl.col("published_n").first(),
        pl.col("published_n").first().alias("published_count"),
        pl.lit(100, dtype=pl.Int64).alias("published_percent"),
        pl.lit(None, dtype=pl.Int64).alias("comparison_2002"),
    )
    grid_totals = grid.group_by("table_id", "row_code", maintain_order=True).agg(
        pl.lit("rows").alias("section"),
        pl.lit(_TOTAL_CODE).alias("column_code"),
        pl.col("row_label").first(),
        pl.col("published_n").first(),
        pl.col("published_count").sum(),
        pl.lit(None, dtype=pl.Int64).alias("published_percent"),
        pl.when(pl.col("comparison_2002").is_not_null().any())
        .then(pl.col("comparison_2002").sum())
        .alias("comparison_2002"),
    )
    cells = pl.concat(
        [pub, simple_totals.select(pub.columns), grid_totals.select(pub.columns)],
        how="vertical_relaxed",
    )
    grid_cell = pl.col("column_code") != ""
    total = (pl.col("section") == "total") | (pl.col("column_code") == _TOTAL_CODE)
    of_n = percent_of_expr(pl.col("published_count"), pl.col("published_n"))
    printed_total = (
        pl.col("comparison_2002")
        .filter(pl.col("column_code") != _TOTAL_CODE)
        .sum()
        .over("table_id", "row_code")
    )
    return cells.with_columns(
        pl.when(pl.col("published_count").is_null())
        .then(None)
        .when(total)
        .then(pl.lit(100))
        .when(grid_cell)
        .then(of_n)
        .otherwise(pl.col("published_percent").fill_null(of_n))
        .alias("published_percent"),
        # The 2002 report: a percentage on simple tables; Table 16's printed counts, each as
        # a percentage of the item's printed total.
        pl.when(grid_cell & pl.col("comparison_2002").is_not_null())
        .then(percent_of_expr(pl.col("comparison_2002"), printed_total))
        .when(grid_cell)
        .then(None)
        .otherwise(pl.col("comparison_2002"))
        .alias("comparison_2002_percent"),
    )


def tables_ees_frame(
    result: dict[str, Any], *, audience: str | None = None, board_name: str | None = None
) -> pl.DataFrame:
    """The study tables of one selection as an EES-style tidy data file (every cell text).

    One line per table, category (row) and response (the columns of Tables 16 and 20;
    "Total" elsewhere), in the tables' order. The selection is in EES's time and geography
    columns (``time_period`` the period code, "all" when pooled; ``geographic_level``
    National, Regional or Board, with the region's and board's code and name), and the
    ``audience`` is a filter. Beside this selection's figures are the published 2001-03 ones
    (England) and the 2002 report's. Percentages are whole numbers rounded half up (this
    selection's are the result's own; the published as printed, a printed dash for 0 is 0,
    crosstab cells of their n); Total lines and columns are 100%. Symbols as in EES: ``c``
    hidden by disclosure control, copied from the result, so nothing hidden is shown;
    ``x`` not published; ``z`` no percentage (a table of counts, as the study printed it,
    or no base)."""
    filters = result["filters"]
    period, region, board = (filters.get(k) for k in FILTER_KEYS)
    tables = {t["id"]: t for t in result["tables"]}
    order = {table_id: i for i, table_id in enumerate(tables)}
    percent_tables = [t for t in tables if TABLES_BY_ID.get(t) is None or TABLES_BY_ID[t].percent]
    titles = {
        t["id"]: f"Table {TABLES_BY_ID[t['id']].number}: {t['title']}"
        if t["id"] in TABLES_BY_ID
        else t["title"]
        for t in result["tables"]
    }
    published = published_cells().filter(pl.col("table_id").is_in(list(tables)))
    # Response labels of every crosstab column, the published table's (Missing) included.
    response_labels = {
        f"{table_id}|{code}": label
        for table_id, table in tables.items()
        if "columns" in table
        for code, label in _column_labels(
            {
                **table,
                "columns": list(
                    dict.fromkeys(
                        [
                            *table["columns"],
                            *published.filter(
                                (pl.col("table_id") == table_id)
                                & ~pl.col("column_code").is_in(["", _TOTAL_CODE])
                            )["column_code"],
                        ]
                    )
                ),
            }
        ).items()
    }
    both = _computed_cells(result).join(
        published.rename({"row_label": "published_label"}), on=_KEYS, how="full", coalesce=True
    )
    grid = pl.col("column_code") != ""
    in_percent_table = pl.col("table_id").is_in(percent_tables)
    # A published row or column this selection's table has not is 0 here: a crosstab shows
    # Missing only when some answer is blank, Table 11 only the years that occur.
    count = (
        pl.when(pl.col("count").is_null() & pl.col("published_count").is_not_null())
        .then(pl.lit("0"))
        .otherwise(pl.col("count"))
    )
    table_n = {t["id"]: str(t["n"]) for t in result["tables"]}
    base = pl.col("n").fill_null(pl.col("table_id").replace_strict(table_n, default=None))

    def text(expr: pl.Expr, missing: str) -> pl.Expr:
        return expr.cast(pl.String).fill_null(missing)

    level = "Board" if board else "Regional" if region else "National"
    selection = [
        pl.lit(period or "all").alias("time_period"),
        pl.lit("Review period" if period else "All review periods").alias("time_identifier"),
        pl.lit(level).alias("geographic_level"),
        pl.lit("E92000001").alias("country_code"),
        pl.lit("England").alias("country_name"),
    ]
    if region:
        name = frame().labels("region").get(region, region)
        selection += [pl.lit(region).alias("region_code"), pl.lit(name).alias("region_name")]
    if board:
        selection += [
            pl.lit(board).alias("board_code"),
            pl.lit(board_name or board).alias("board_name"),
        ]
    ordered = both.with_columns(
        pl.col("table_id").replace_strict(order, default=len(order)).alias("_table"),
        pl.col("section").replace_strict({"rows": 0, "total": 1, "summaries": 2}).alias("_section"),
        pl.col("column_order").fill_null(pl.when(grid).then(999)).alias("_column"),
    ).sort("_table", "_section", "row_order", "_column", nulls_last=True, maintain_order=True)
    return ordered.select(
        *selection,
        pl.lit(_audience_text(result, audience)).alias("audience"),
        pl.col("table_id").replace_strict(titles).alias("table"),
        pl.col("section").replace_strict(_SECTION_GROUP).alias("category_group"),
        pl.coalesce("row_label", "published_label", _band_label_expr(pl.col("row_code"))).alias(
            "category"
        ),
        pl.when(pl.col("column_code") == _TOTAL_CODE)
        .then(pl.lit(TOTAL))
        .when(grid)
        .then(
            pl.format("{}|{}", "table_id", "column_code").replace_strict(
                response_labels, default=MISSING_LABEL
            )
        )
        .otherwise(pl.lit(TOTAL))
        .alias("response"),
        text(count, NOT_AVAILABLE).alias("number"),
        pl.when(count.is_null())
        .then(pl.lit(NOT_AVAILABLE))
        .when(in_percent_table & ~grid)
        .then(text(pl.col("percent"), NOT_APPLICABLE))
        .otherwise(pl.lit(NOT_APPLICABLE))
        .alias("percent"),
        text(base, NOT_AVAILABLE).alias("base"),
        text(pl.col("published_count"), NOT_AVAILABLE).alias("published_number"),
        pl.when(pl.col("published_count").is_null())
        .then(pl.lit(NOT_AVAILABLE))
        .when(in_percent_table | grid)
        .then(text(pl.col("published_percent"), NOT_APPLICABLE))
        .otherwise(pl.lit(NOT_APPLICABLE))
        .alias("published_percent"),
        text(pl.col("published_n"), NOT_AVAILABLE).alias("published_base"),
        text(pl.col("comparison_2002_percent"), NOT_AVAILABLE).alias("report_2002_percent"),
        pl.when(grid)
        .then(text(pl.col("comparison_2002"), NOT_AVAILABLE))
        .otherwise(pl.lit(NOT_AVAILABLE))
        .alias("report_2002_number"),
    )


def tables_ees_metadata(data: pl.DataFrame, result: dict[str, Any]) -> pl.DataFrame:
    """The EES metadata file of ``tables_ees_frame``'s data: one line per filter and
    indicator column (time and geography columns are described by their EES names, and
    ``category_group`` is the grouping column of ``category``), with EES's columns."""
    disclosure = result.get("disclosure") or {}
    note = disclosure.get("note") or "No figure is hidden."
    filters = [
        (
            "audience",
            "Audience",
            "Who the figures were prepared for. " + note,
            "",
        ),
        (
            "table",
            "Study table",
            "Tables 2-20 of the 2001-03 study of serious case reviews (Appendix 2)",
            "",
        ),
        (
            "category",
            "Category (row of the table)",
            "Total is the table's base (n); summaries are sums of rows, so do not add them "
            "to the rows",
            "category_group",
        ),
        (
            "response",
            "Response (Tables 16 and 20)",
            "The answer counted for each question of Tables 16 and 20; Total for the rest",
            "",
        ),
    ]
    rows = [
        {
            "col_name": name,
            "col_type": "Filter",
            "label": label,
            "indicator_grouping": "",
            "indicator_unit": "",
            "indicator_dp": "",
            "filter_hint": hint,
            "filter_grouping_column": grouping,
        }
        for name, label, hint, grouping in filters
    ] + [
        {
            "col_name": name,
            "col_type": "Indicator",
            "label": label,
            "indicator_grouping": grouping,
            "indicator_unit": unit,
            "indicator_dp": "0",
            "filter_hint": "",
            "filter_grouping_column": "",
        }
        for name, label, grouping, unit in EES_INDICATORS
    ]
    # Blank where a field does not apply (EES leaves those cells empty).
    meta = pl.DataFrame(rows, schema={c: pl.String() for c in EES_META_COLUMNS}).with_columns(
        pl.all().replace("", None)
    )
    return meta.filter(pl.col("col_name").is_in(data.columns))


def tables_ees_files(
    result: dict[str, Any],
    stem: str = "scr-tables",
    *,
    audience: str | None = None,
    board_name: str | None = None,
) -> dict[str, bytes]:
    """The EES-style pair for a result: ``{stem}.csv`` (the tidy data, ``tables_ees_frame``)
    and ``{stem}.meta.csv`` (its metadata, ``tables_ees_metadata``), as bytes, every text
    cell neutralised (safe_output)."""
    from warehouse.safe_output import csv_bytes

    data = tables_ees_frame(result, audience=audience, board_name=board_name)
    meta = tables_ees_metadata(data, result)
    return {f"{stem}.csv": csv_bytes(data), f"{stem}.meta.csv": csv_bytes(meta)}


def tables_ees_zip_bytes(
    result: dict[str, Any],
    stem: str = "scr-tables",
    *,
    audience: str | None = None,
    board_name: str | None = None,
) -> bytes:
    """``tables_ees_files`` in one zip: the data CSV and its metadata CSV."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in tables_ees_files(
            result, stem, audience=audience, board_name=board_name
        ).items():
            archive.writestr(name, content)
    return buffer.getvalue()


def write_tables_ees(
    result: dict[str, Any],
    path: str | os.PathLike[str],
    *,
    audience: str | None = None,
    board_name: str | None = None,
) -> list[Path]:
    """Write the EES-style data and metadata: ``path`` ending ``.zip`` is one zip holding
    both; any other ``path`` is the data CSV, and its metadata goes beside it as
    ``<stem>.meta.csv`` (EES's naming). Returns the files written."""
    out = Path(path)
    if out.suffix.lower() == ".zip":
        out.write_bytes(
            tables_ees_zip_bytes(result, out.stem, audience=audience, board_name=board_name)
        )
        return [out]
    files = tables_ees_files(result, out.stem, audience=audience, board_name=board_name)
    written = []
    for name, content in files.items():
        target = out.with_name(name)
        target.write_bytes(content)
        written.append(target)
    return written

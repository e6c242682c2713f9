"""Type the text of a submission per the coding frame.

Vectorised per column: each column's typed value is one polars expression over the cells as
read. A cell that cannot be typed (a word in an integer column, a date that is not a date)
is null in the typed frame; which typing rule it broke, and every other check, is declared
in ``warehouse.checks``, which builds on the cell expressions here. Values that type but
break a rule (an unknown code, a page count of 0, a future date) are kept as typed, so the
fast checker and the Great Expectations suites judge the same values.

Header problems (unknown, misspelt, repeated, blank or missing columns) are found here,
since they decide which text column becomes which frame column.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

import polars as pl

from warehouse.frame import CodingFrame, Column, Sheet, frame, tracking_only
from warehouse.issues import combine, empty_issues, issue
from warehouse.reader import RawSubmission, column_letter

POLARS_TYPES = {"string": pl.String, "code": pl.String, "integer": pl.Int64, "date": pl.Date}
EXCEL_EPOCH = pl.date(1899, 12, 30)
ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
EXCEL_DATETIME = r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$"
EXCEL_ERRORS = ["#N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NAME?", "#NUM!", "#NULL!"]
SLASHED_DATE = r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})$"
SERIAL = r"^\d{4,5}(\.0+)?$"
NUMBER = r"^-?\d+(\.\d+)?$"
# Integer columns are INTEGER in the warehouse: a value outside it cannot even be staged.
INT32 = (-(2**31), 2**31 - 1)


@dataclass
class TypedSubmission:
    """Typed frames (one per sheet present, every frame column, ``_row`` kept), the cells as
    read renamed to frame columns (only those found), and file, header and sheet issues."""

    sheets: dict[str, pl.DataFrame]
    issues: pl.DataFrame
    text: dict[str, pl.DataFrame] = field(default_factory=dict)


def empty_sheet_frame(sheet: Sheet) -> pl.DataFrame:
    schema = {"_row": pl.Int64} | {c.name: POLARS_TYPES[c.type] for c in sheet.columns}
    return pl.DataFrame(schema=schema)


# Cell expressions, shared by typing here and by the typing checks in warehouse.checks.


def cell_text(name: str) -> pl.Expr:
    return pl.col(name).str.strip_chars()


def present(name: str) -> pl.Expr:
    text = cell_text(name)
    return text.is_not_null() & (text != "")


def excel_error(name: str) -> pl.Expr:
    return cell_text(name).is_in(EXCEL_ERRORS)


def usable(name: str) -> pl.Expr:
    return present(name) & ~excel_error(name)


def integer_parse(name: str) -> pl.Expr:
    """The whole number a cell holds ('30' and Excel's '30.0'), else null."""
    text = cell_text(name)
    # '30.0' -> '30': trailing zeros, then the point (no regex: this runs on every cell).
    whole = text.str.contains(".", literal=True) & text.str.ends_with("0")
    digits = (
        pl.when(whole).then(text.str.strip_chars_end("0").str.strip_suffix(".")).otherwise(text)
    )
    return digits.cast(pl.Int64, strict=False)


def is_float(name: str) -> pl.Expr:
    return cell_text(name).cast(pl.Float64, strict=False).is_not_null()


def in_int32(value: pl.Expr) -> pl.Expr:
    return value.is_between(*INT32)


def date_day_text(name: str) -> pl.Expr:
    """The YYYY-MM-DD part of a cell: an Excel date cell reads as 'YYYY-MM-DD 00:00:00'."""
    text = cell_text(name)
    return pl.when(text.str.contains(EXCEL_DATETIME)).then(text.str.slice(0, 10)).otherwise(text)


def is_iso(name: str) -> pl.Expr:
    return date_day_text(name).str.contains(ISO_DATE)


def date_parse(name: str) -> pl.Expr:
    return date_day_text(name).str.strptime(pl.Date, "%Y-%m-%d", strict=False)


def is_serial(name: str) -> pl.Expr:
    return cell_text(name).str.contains(SERIAL)


def serial_date(name: str) -> pl.Expr:
    days = cell_text(name).cast(pl.Float64, strict=False).cast(pl.Int64, strict=False)
    return EXCEL_EPOCH + pl.duration(days=days)


def slashed_dates(name: str) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """For 'd/m/yyyy' text: (is slashed, the date read day-first, the date read month-first)."""
    groups = cell_text(name).str.extract_groups(SLASHED_DATE)
    year, first, second = (groups.struct.field(k) for k in ("3", "1", "2"))

    def as_date(month: pl.Expr, day: pl.Expr) -> pl.Expr:
        return pl.format("{}-{}-{}", year, month.str.zfill(2), day.str.zfill(2)).str.strptime(
            pl.Date, "%Y-%m-%d", strict=False
        )

    return year.is_not_null(), as_date(second, first), as_date(first, second)


def is_number_text(name: str) -> pl.Expr:
    return cell_text(name).str.contains(NUMBER)


def typed_value(column: Column, padded: bool = True) -> pl.Expr:
    """The typed value of a column's cells; null where the cell is blank or cannot be typed.

    ``padded=False`` says no cell of the column has leading or trailing whitespace: its text
    cells are then typed as read, with no trimmed copy of the column made on the way (a
    national submission's recommendation texts are some 200 MB a copy)."""
    name = column.name
    raw = pl.col(name)
    if padded:
        ok = usable(name)
    else:
        ok = raw.is_not_null() & (raw != "") & ~raw.is_in(EXCEL_ERRORS)
    if column.type == "code" or column.pattern:
        # Codes and ids compare exactly: 'male ' is not 'male' and ' TR-1' not 'TR-1', so the
        # cell is kept as written and its checks say what is wrong with it.
        return pl.when(ok).then(raw).alias(name)
    if column.type == "string":
        if not padded:
            return pl.when(ok).then(raw).alias(name)
        # Trimming "\t=1+1" would make a formula of free text: text that starts with a formula
        # character once trimmed keeps its leading whitespace (only the end is trimmed).
        text = cell_text(name)
        kept = (
            pl.when(raw.str.contains(r"^\s") & text.str.contains(r"^[=+\-@]"))
            .then(raw.str.strip_chars_end())
            .otherwise(text)
        )
        return pl.when(ok).then(kept).alias(name)
    if column.type == "integer":
        number = integer_parse(name)
        return pl.when(ok & in_int32(number)).then(number).alias(name)
    return pl.when(ok & is_iso(name)).then(date_parse(name)).alias(name)


def padded_columns(df: pl.DataFrame, columns: list[str]) -> set[str]:
    """The columns with a cell that has leading or trailing whitespace (one scan, no copies)."""
    if not columns or df.height == 0:
        return set()
    found = df.select(pl.col(c).str.contains(r"^\s|\s$").any() for c in columns).row(0)
    return {c for c, padded in zip(columns, found, strict=True) if padded}


def _header_issues(sheet: Sheet, found: list[str]) -> tuple[dict[str, str], pl.DataFrame]:
    """Map frame column -> header found; flag unknown, duplicate, misspelt and missing ones."""
    expected = sheet.column_names
    mapping: dict[str, str] = {}
    problems = []
    for header in found:
        if header == "_row":
            continue
        if header in expected:
            mapping[header] = header
            continue
        near = header.strip().lower().replace(" ", "_")
        if near in expected and near not in found:
            problems.append(
                issue(
                    "column_name",
                    f"column header {header!r} should be exactly {near!r}",
                    sheet=sheet.name,
                    column_name=near,
                    row_number=1,
                    value=header,
                )
            )
            continue
        position = [h for h in found if h != "_row"].index(header)
        letter = column_letter(position)
        renamed_twice = re.match(r"^(.*?)(?:_duplicated_\d+|_\d+)$", header)
        if renamed_twice and renamed_twice.group(1) in found:
            # Readers rename a repeated header (gender -> gender_duplicated_0 / gender_1).
            base = renamed_twice.group(1)
            problems.append(
                issue(
                    "duplicate_column",
                    f"column {base!r} appears more than once",
                    sheet=sheet.name,
                    column_name=base,
                    row_number=1,
                    value=base,
                    hint=f"the repeat is column {letter}; keep one",
                )
            )
            continue
        if header.strip() == "" or header.startswith("__UNNAMED__"):
            problems.append(
                issue(
                    "blank_header",
                    "a column holds data but has no header name",
                    sheet=sheet.name,
                    column_name=None,
                    row_number=1,
                    hint=f"column {letter}: give it a coding-frame name or delete it",
                )
            )
            continue
        close = difflib.get_close_matches(near, expected, n=1, cutoff=0.75)
        hint = f"did you mean {close[0]!r}?" if close else None
        problems.append(
            issue(
                "unknown_column",
                f"unknown column: not in the coding frame for sheet {sheet.name!r}",
                sheet=sheet.name,
                column_name=header,
                row_number=1,
                value=header,
                hint=hint,
            )
        )
    for column in sheet.columns:
        if column.required and column.name not in mapping:
            problems.append(
                issue(
                    "missing_column",
                    f"required column {column.name!r} is missing",
                    sheet=sheet.name,
                    column_name=column.name,
                    row_number=1,
                )
            )
    return mapping, combine(problems) if problems else empty_issues()


def coerce_submission(raw: RawSubmission, cf: CodingFrame | None = None) -> TypedSubmission:
    """Typed frames and the text they came from, per sheet found; file and header issues."""
    cf = cf or frame()
    typed: dict[str, pl.DataFrame] = {}
    text: dict[str, pl.DataFrame] = {}
    parts = [raw.issues]
    # Review sheets left empty beside tracking rows (a filled-in template of notifications or
    # action updates alone) are not missing data.
    with_rows = {name for name, df in raw.sheets.items() if df.height}
    for name, df in raw.sheets.items():
        sheet = cf.sheets[name]
        mapping, header_problems = _header_issues(sheet, df.columns)
        parts.append(header_problems)
        renamed = df.select(
            pl.col("_row").cast(pl.Int64),
            *[pl.col(h).cast(pl.String).alias(c) for c, h in mapping.items()],
        )
        text[name] = renamed
        padded = padded_columns(
            renamed, [c for c in mapping if sheet.column(c).type in ("string", "code")]
        )
        typed[name] = renamed.select(
            "_row",
            *[
                typed_value(column, padded=column.name in padded)
                if column.name in mapping
                else pl.lit(None, POLARS_TYPES[column.type]).alias(column.name)
                for column in sheet.columns
            ],
        )
        if typed[name].height == 0 and sheet.required and not tracking_only(with_rows):
            parts.append(
                issue("no_rows", f"sheet {name!r} has a header but no data rows", sheet=name)
            )
    if tracking_only(typed) and not with_rows:
        parts.append(
            issue(
                "no_rows",
                f"the submission's {' and '.join(repr(n) for n in typed)} "
                f"{'sheets have' if len(typed) > 1 else 'sheet has'} a header but no data rows",
                sheet=next(iter(typed)),
            )
        )
    return TypedSubmission(sheets=typed, issues=combine(parts), text=text)

"""Type the text of a submission per the coding frame, reporting every cell that won't go.

Vectorised per column: each rule is a polars filter that yields the offending rows. Values
that fail are set to null in the typed frame (the submission is rejected anyway); nothing is
guessed silently: a near-miss code is an error whose hint says what was probably meant.
"""

from __future__ import annotations

import datetime
import difflib
import re
from dataclasses import dataclass

import polars as pl

from warehouse.frame import CodingFrame, Column, Sheet, frame
from warehouse.issues import cell_issues, combine, issue
from warehouse.reader import RawSubmission, column_letter

POLARS_TYPES = {"string": pl.String, "code": pl.String, "integer": pl.Int64, "date": pl.Date}
EXCEL_EPOCH = pl.date(1899, 12, 30)
ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
EXCEL_DATETIME = r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$"
TEXT_MAX = 2000


@dataclass
class TypedSubmission:
    """Typed frames (one per sheet present, every frame column, ``_row`` kept) and issues."""

    sheets: dict[str, pl.DataFrame]
    issues: pl.DataFrame


def empty_sheet_frame(sheet: Sheet) -> pl.DataFrame:
    schema = {"_row": pl.Int64} | {c.name: POLARS_TYPES[c.type] for c in sheet.columns}
    return pl.DataFrame(schema=schema)


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
    return mapping, combine(problems)


def _code_hint(cf: CodingFrame, list_name: str, text: pl.Expr) -> pl.Expr:
    """What a near-miss code probably meant: case/space/label variants, said not applied."""
    codes = cf.codes(list_name)
    normal = {c.lower(): c for c in codes}
    normal |= {label.strip().lower(): code for code, label in cf.labels(list_name).items()}
    normal |= {c.replace("_", " "): c for c in codes}
    key = text.str.strip_chars().str.to_lowercase().str.replace_all(r"[\s\-]+", "_")
    guess = (
        key.replace_strict(normal, default=None, return_dtype=pl.String)
        .fill_null(
            key.str.replace_all("_", " ").replace_strict(
                normal, default=None, return_dtype=pl.String
            )
        )
        .fill_null(
            text.str.strip_chars()
            .str.to_lowercase()
            .replace_strict(normal, default=None, return_dtype=pl.String)
        )
    )
    return pl.when(guess.is_not_null()).then(pl.format("did you mean '{}'?", guess))


def _coerce_column(
    df: pl.DataFrame, column: Column, sheet: str, cf: CodingFrame, today: pl.Expr
) -> tuple[pl.Expr, list[pl.DataFrame]]:
    """The typed expression for one column and the issues its cells raise."""
    raw = pl.col(column.name)
    text = raw.str.strip_chars()
    present = text.is_not_null() & (text != "")
    problems: list[pl.DataFrame] = []

    def flag(
        condition: pl.Expr,
        rule: str,
        description: str,
        hint: pl.Expr | None = None,
        severity: str = "error",
    ) -> None:
        rows = df.filter(condition)
        problems.append(
            cell_issues(
                rows,
                sheet=sheet,
                column_name=column.name,
                rule=rule,
                description=description,
                value=raw,
                hint=hint,
                severity=severity,
            )
        )

    if column.required:
        flag(~present, "required", "required value is blank")

    excel_error = present & text.str.contains(r"^#(N/A|REF!|VALUE!|DIV/0!|NAME\?|NUM!|NULL!)$")
    flag(
        excel_error,
        "excel_error",
        "cell holds an Excel error value instead of data",
        pl.lit("fix the formula or type the value"),
    )
    usable = present & ~excel_error

    if column.type == "string":
        # Trimming "\t=1+1" would make a formula of free text: text that starts with a formula
        # character once trimmed keeps its leading whitespace (only the end is trimmed).
        # Every other value, codes and ids included, compares and is stored trimmed.
        kept = (
            pl.when(raw.str.contains(r"^\s") & text.str.contains(r"^[=+\-@]"))
            .then(raw.str.strip_chars_end())
            .otherwise(text)
        )
        typed = pl.when(usable).then(kept)
        if column.pattern:
            bad = usable & ~raw.str.contains(column.pattern)
            hint = pl.when(text.str.contains(column.pattern)).then(
                pl.lit("remove the spaces around it")
            )
            flag(bad, "pattern", f"value does not match the required form {column.pattern}", hint)
            typed = pl.when(usable & ~bad).then(kept)
        if column.name == "text":
            flag(
                usable & (text.str.len_chars() > TEXT_MAX),
                "max_length",
                f"text is longer than {TEXT_MAX} characters",
            )
        return typed.alias(column.name), problems

    if column.type == "code":
        assert column.codes is not None
        codes = cf.codes(column.codes)
        exact = raw.is_in(codes)
        numeric = text.str.contains(r"^-?\d+(\.\d+)?$")
        allowed = ", ".join(codes)
        flag(
            usable & ~exact & numeric,
            "code_is_number",
            f"a number where a code of '{column.codes}' is expected (allowed: {allowed})",
        )
        flag(
            usable & ~exact & ~numeric,
            "unknown_code",
            f"value is not a code of '{column.codes}' (allowed: {allowed})",
            _code_hint(cf, column.codes, raw),
        )
        return pl.when(usable & exact).then(raw).alias(column.name), problems

    if column.type == "integer":
        number = text.str.replace(r"\.0+$", "").cast(pl.Int64, strict=False)
        is_float = text.cast(pl.Float64, strict=False).is_not_null()
        flag(
            usable & number.is_null() & is_float, "not_whole_number", "value is not a whole number"
        )
        flag(usable & number.is_null() & ~is_float, "not_a_number", "value is not a number")
        ok = usable & number.is_not_null()
        if column.min is not None:
            flag(
                ok & (number < column.min),
                "below_minimum",
                f"value is below the minimum {column.min}",
            )
            ok = ok & (number >= column.min)
        if column.max is not None:
            flag(
                ok & (number > column.max),
                "above_maximum",
                f"value is above the maximum {column.max}",
            )
            ok = ok & (number <= column.max)
        return pl.when(ok).then(number).alias(column.name), problems

    # date: ISO text, or an Excel date cell (read as 'YYYY-MM-DD 00:00:00').
    day_part = (
        pl.when(text.str.contains(EXCEL_DATETIME)).then(text.str.slice(0, 10)).otherwise(text)
    )
    iso = day_part.str.contains(ISO_DATE)
    parsed = day_part.str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    serial = text.str.contains(r"^\d{4,5}(\.0+)?$")
    serial_date = EXCEL_EPOCH + pl.duration(days=text.cast(pl.Float64, strict=False).cast(pl.Int64))
    flag(usable & iso & parsed.is_null(), "invalid_date", "not a valid calendar date")
    flag(
        usable & serial,
        "date_serial",
        "a number where a date is expected (an Excel date serial?)",
        pl.format(
            "{} as an Excel serial is {}; format the cell as a date",
            text,
            serial_date.dt.strftime("%Y-%m-%d"),
        ),
    )
    slashed = text.str.extract_groups(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})$")
    dmy = pl.format(
        "{}-{}-{}",
        slashed.struct.field("3"),
        slashed.struct.field("2").str.zfill(2),
        slashed.struct.field("1").str.zfill(2),
    )
    flag(
        usable & ~iso & ~serial,
        "date_format",
        "date is not written as YYYY-MM-DD",
        pl.when(slashed.struct.field("3").is_not_null()).then(
            pl.format("if day/month/year, write {}", dmy)
        ),
    )
    ok = usable & iso & parsed.is_not_null()
    flag(ok & (parsed > today), "future_date", "date is in the future")
    return pl.when(ok & (parsed <= today)).then(parsed).alias(column.name), problems


def coerce_submission(
    raw: RawSubmission, cf: CodingFrame | None = None, today: pl.Expr | None = None
) -> TypedSubmission:
    cf = cf or frame()
    today = today if today is not None else pl.lit(datetime.date.today())
    typed: dict[str, pl.DataFrame] = {}
    parts = [raw.issues]
    for name, df in raw.sheets.items():
        sheet = cf.sheets[name]
        mapping, header_problems = _header_issues(sheet, df.columns)
        parts.append(header_problems)
        renamed = df.select(["_row", *[pl.col(h).alias(c) for c, h in mapping.items()]])
        exprs = []
        for column in sheet.columns:
            if column.name not in mapping:
                exprs.append(pl.lit(None, POLARS_TYPES[column.type]).alias(column.name))
                continue
            expr, problems = _coerce_column(renamed, column, name, cf, today)
            exprs.append(expr)
            parts.extend(problems)
        typed[name] = renamed.select(pl.col("_row").cast(pl.Int64), *exprs)
        if typed[name].height == 0 and sheet.required:
            parts.append(
                issue("no_rows", f"sheet {name!r} has a header but no data rows", sheet=name)
            )
    return TypedSubmission(sheets=typed, issues=combine(parts))

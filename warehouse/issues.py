"""Problems found in a submission, and the report a coder can act on.

An issue is one cell (or one sheet, or the whole file) that breaks one rule. Issues are
kept as a polars frame so that validation stays vectorised; the report groups them by
sheet, column and rule, with Excel row numbers (the header is row 1).
"""

from __future__ import annotations

import json
import re
from typing import Any

import polars as pl

ERROR = "error"
WARNING = "warning"

ISSUE_SCHEMA: dict[str, Any] = {
    "severity": pl.String,
    "sheet": pl.String,
    "row_number": pl.Int64,
    "column_name": pl.String,
    "value": pl.String,
    "rule": pl.String,
    "description": pl.String,
    "hint": pl.String,
}

# How many distinct values / row numbers a grouped line shows before summarising.
MAX_VALUES_SHOWN = 8
MAX_ROWS_SHOWN = 12
# A report stays short whatever the submission: lines of one rule in one sheet (e.g. one per
# unknown column) beyond MAX_LINES_PER_RULE, and lines beyond MAX_LINES, become a count.
MAX_LINES_PER_RULE = 5
MAX_LINES = 40
# Text kept in an issue (and so in the ledger and JSON), and shown in a report line.
KEPT_CHARS = {"value": 200, "column_name": 100, "hint": 300, "description": 600}
SHOWN_VALUE_CHARS = 60
# Control, zero-width and bidirectional-override characters are shown escaped, never sent
# to a terminal as they are.
HIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def empty_issues() -> pl.DataFrame:
    return pl.DataFrame(schema=ISSUE_SCHEMA)


def issue(
    rule: str,
    description: str,
    *,
    severity: str = ERROR,
    sheet: str | None = None,
    row_number: int | None = None,
    column_name: str | None = None,
    value: str | None = None,
    hint: str | None = None,
) -> pl.DataFrame:
    """A single issue (file-, sheet- or column-level problems)."""
    return pl.DataFrame(
        [
            {
                "severity": severity,
                "sheet": sheet,
                "row_number": row_number,
                "column_name": column_name,
                "value": value,
                "rule": rule,
                "description": description,
                "hint": hint,
            }
        ],
        schema=ISSUE_SCHEMA,
    )


def cell_issues(
    rows: pl.DataFrame,
    *,
    sheet: str,
    column_name: str | None,
    rule: str,
    description: str,
    value: pl.Expr | None = None,
    hint: pl.Expr | None = None,
    severity: str = ERROR,
) -> pl.DataFrame:
    """Issues for every row of ``rows`` (which carries the Excel ``_row`` number)."""
    if rows.height == 0:
        return empty_issues()
    value_expr = value if value is not None else pl.lit(None, pl.String)
    hint_expr = hint if hint is not None else pl.lit(None, pl.String)
    return rows.select(
        pl.lit(severity).alias("severity"),
        pl.lit(sheet).alias("sheet"),
        pl.col("_row").cast(pl.Int64).alias("row_number"),
        pl.lit(column_name, pl.String).alias("column_name"),
        value_expr.cast(pl.String).alias("value"),
        pl.lit(rule).alias("rule"),
        pl.lit(description).alias("description"),
        hint_expr.cast(pl.String).alias("hint"),
    )


def _clip(column: str, limit: int) -> pl.Expr:
    text = pl.col(column)
    return (
        pl.when(text.str.len_chars() > limit)
        .then(text.str.slice(0, limit - 1) + "…")
        .otherwise(text)
        .alias(column)
    )


def combine(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """One frame of issues; free text clipped (a 5-million-character cell is kept as its
    first 200 characters: the archived file holds the rest)."""
    parts = [p for p in parts if p.height]
    if not parts:
        return empty_issues()
    issues = pl.concat([p.select(list(ISSUE_SCHEMA)).cast(ISSUE_SCHEMA) for p in parts])
    return issues.with_columns(_clip(c, n) for c, n in KEPT_CHARS.items())


def cut(text: str, limit: int) -> str:
    """Long text cut to ``limit`` characters, ending in an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown(text: str) -> str:
    """Text as a report line shows it: hidden characters escaped (\\u202e, \\x1b ...)."""
    return HIDDEN.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def _rows_text(rows: list[int]) -> str:
    rows = sorted(r for r in rows if r is not None)
    if not rows:
        return ""
    listed = ", ".join(str(r) for r in rows[:MAX_ROWS_SHOWN])
    more = f" and {len(rows) - MAX_ROWS_SHOWN} more" if len(rows) > MAX_ROWS_SHOWN else ""
    return f"row{'s' if len(rows) > 1 else ''} {listed}{more}"


def group_issues(issues: pl.DataFrame) -> pl.DataFrame:
    """One line per (severity, sheet, column, rule), with its values and row numbers."""
    if issues.height == 0:
        return pl.DataFrame()
    by_value = issues.group_by(
        ["severity", "sheet", "column_name", "rule", "description", "value", "hint"],
        maintain_order=True,
    ).agg(pl.col("row_number").drop_nulls().sort().alias("rows"), pl.len().alias("n"))
    return (
        by_value.group_by(
            ["severity", "sheet", "column_name", "rule", "description"], maintain_order=True
        )
        .agg(
            pl.col("n").sum().alias("n"),
            pl.struct("value", "hint", "rows", "n").alias("values"),
        )
        .with_columns(pl.col("severity").replace_strict({ERROR: 0, WARNING: 1}).alias("_order"))
        .sort("_order", maintain_order=True)
        .drop("_order")
    )


def _describe_values(values: list[dict[str, Any]]) -> str:
    parts = []
    for item in values[:MAX_VALUES_SHOWN]:
        value = item["value"]
        # repr quotes the value and escapes what a terminal would act on.
        text = repr(cut(value, SHOWN_VALUE_CHARS)) if value is not None else ""
        rows = _rows_text(item["rows"])
        detail = "; ".join(x for x in (rows, item["hint"] and shown(item["hint"])) if x)
        parts.append(f"{text} ({detail})" if text and detail else text or detail)
    if len(values) > MAX_VALUES_SHOWN:
        parts.append(f"and {len(values) - MAX_VALUES_SHOWN} more values")
    return ", ".join(p for p in parts if p)


def report_lines(issues: pl.DataFrame) -> list[str]:
    """Readable lines, errors first: 'children, ethnicity: 3 rows have a value ...'.

    Bounded: at most MAX_LINES_PER_RULE lines per rule and sheet (the rest counted on one
    line with a few examples, e.g. 10,000 unknown columns) and MAX_LINES in all."""
    groups = group_issues(issues)
    if groups.height == 0:
        return []
    groups = groups.with_columns(
        pl.when(pl.col("severity") == ERROR)
        .then(pl.lit("ERROR"))
        .otherwise(pl.lit("warning"))
        .alias("tag"),
    ).with_columns(
        pl.int_range(pl.len()).over("tag", "sheet", "rule").alias("_nth"),
        pl.len().over("tag", "sheet", "rule").alias("_of"),
    )
    lines: list[str] = []
    for group in groups.iter_rows(named=True):
        if group["_nth"] >= MAX_LINES_PER_RULE:
            continue
        where = ", ".join(x for x in (group["sheet"], group["column_name"]) if x) or "file"
        n = group["n"]
        has_rows = any(v["rows"] for v in group["values"])
        count = f" ({n} row{'s' if n != 1 else ''})" if has_rows else ""
        detail = _describe_values(group["values"])
        line = shown(f"[{group['tag']}] {where}: {group['description']}{count}")
        lines.append(f"{line}: {detail}" if detail else line)
        if group["_nth"] == MAX_LINES_PER_RULE - 1 and group["_of"] > MAX_LINES_PER_RULE:
            rest = groups.filter(
                (pl.col("tag") == group["tag"])
                & pl.col("sheet").eq_missing(group["sheet"])
                & (pl.col("rule") == group["rule"])
                & (pl.col("_nth") >= MAX_LINES_PER_RULE)
            )["column_name"]
            named = rest.drop_nulls().head(3).to_list()
            what = "columns" if rest.null_count() == 0 else "problems"
            examples = ", ".join(shown(repr(cut(c, 40))) for c in named)
            more = f": {examples}{', …' if rest.len() > 3 else ''}" if named else ""
            lines.append(
                f"[{group['tag']}] {group['sheet'] or 'file'}: {rest.len():,} more {what} "
                f"with the same problem ({group['rule']}){more}"
            )
    if len(lines) > MAX_LINES:
        hidden = len(lines) - (MAX_LINES - 1)
        lines = lines[: MAX_LINES - 1] + [f"... and {hidden:,} more lines of problems"]
    return lines


def summarise(issues: pl.DataFrame) -> dict[str, int]:
    errors = issues.filter(pl.col("severity") == ERROR).height
    return {"errors": errors, "warnings": issues.height - errors}


def issues_json(issues: pl.DataFrame) -> list[dict[str, Any]]:
    return json.loads(issues.write_json()) if issues.height else []

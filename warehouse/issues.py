"""Problems found in a submission, and the report a coder can act on.

An issue is one cell (or one sheet, or the whole file) that breaks one rule. Issues are
kept as a polars frame so that validation stays vectorised; the report groups them by
sheet, column and rule, with Excel row numbers (the header is row 1).
"""

from __future__ import annotations

import json
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


def combine(parts: list[pl.DataFrame]) -> pl.DataFrame:
    parts = [p for p in parts if p.height]
    if not parts:
        return empty_issues()
    return pl.concat([p.select(list(ISSUE_SCHEMA)).cast(ISSUE_SCHEMA) for p in parts])


def _rows_text(rows: list[int]) -> str:
    rows = sorted(r for r in rows if r is not None)
    if not rows:
        return ""
    shown = ", ".join(str(r) for r in rows[:MAX_ROWS_SHOWN])
    more = f" and {len(rows) - MAX_ROWS_SHOWN} more" if len(rows) > MAX_ROWS_SHOWN else ""
    return f"row{'s' if len(rows) > 1 else ''} {shown}{more}"


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
        text = repr(item["value"]) if item["value"] is not None else ""
        rows = _rows_text(item["rows"])
        detail = "; ".join(x for x in (rows, item["hint"]) if x)
        parts.append(f"{text} ({detail})" if text and detail else text or detail)
    if len(values) > MAX_VALUES_SHOWN:
        parts.append(f"and {len(values) - MAX_VALUES_SHOWN} more values")
    return ", ".join(p for p in parts if p)


def report_lines(issues: pl.DataFrame) -> list[str]:
    """Readable lines, errors first: 'children, ethnicity: 3 rows have a value ...'."""
    lines = []
    for group in group_issues(issues).iter_rows(named=True):
        where = ", ".join(x for x in (group["sheet"], group["column_name"]) if x) or "file"
        n = group["n"]
        has_rows = any(v["rows"] for v in group["values"])
        count = f" ({n} row{'s' if n != 1 else ''})" if has_rows else ""
        detail = _describe_values(group["values"])
        tag = "ERROR" if group["severity"] == ERROR else "warning"
        line = f"[{tag}] {where}: {group['description']}{count}"
        lines.append(f"{line}: {detail}" if detail else line)
    return lines


def summarise(issues: pl.DataFrame) -> dict[str, int]:
    errors = issues.filter(pl.col("severity") == ERROR).height
    return {"errors": errors, "warnings": issues.height - errors}


def issues_json(issues: pl.DataFrame) -> list[dict[str, Any]]:
    return json.loads(issues.write_json()) if issues.height else []

"""A blank submission workbook, generated from the coding frame.

One sheet per coding-frame sheet with its header row, a dropdown for every coded column
(lists on a hidden sheet, so long lists work), date-formatted date columns, whole-number
validation for integers, and a notes sheet explaining every column and every check: the
checks listed are the registry's (``warehouse.checks``), the same that ``scr validate`` runs.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import xlsxwriter

from warehouse.checks import ERROR, checks_for
from warehouse.frame import CodingFrame, frame

TEMPLATE_ROWS = 2000  # rows that carry validation and formats


def _col(index: int) -> str:
    return xlsxwriter.utility.xl_col_to_name(index)


def write_template(path: Path, cf: CodingFrame | None = None) -> Path:
    cf = cf or frame()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path))
    header = book.add_format(
        {"bold": True, "bg_color": "#DCE6F1", "border": 1, "text_wrap": True, "valign": "top"}
    )
    required_header = book.add_format(
        {"bold": True, "bg_color": "#FCE4D6", "border": 1, "text_wrap": True, "valign": "top"}
    )
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    text_format = book.add_format({"num_format": "@"})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    bold = book.add_format({"bold": True})

    notes = book.add_worksheet("notes")
    lists = book.add_worksheet("lists")
    data_sheets = {name: book.add_worksheet(name) for name in cf.sheets}

    # Code lists on a hidden sheet, one column each, referenced by the dropdowns.
    list_ranges: dict[str, str] = {}
    for i, (list_name, codes) in enumerate(cf.code_lists.items()):
        lists.write(0, i, list_name, bold)
        for r, code in enumerate(codes, start=1):
            lists.write_string(r, i, code.code)
        list_ranges[list_name] = f"=lists!${_col(i)}$2:${_col(i)}${len(codes) + 1}"
    lists.hide()

    for name, sheet in cf.sheets.items():
        ws = data_sheets[name]
        ws.freeze_panes(1, 0)
        for c, column in enumerate(sheet.columns):
            ws.write_string(0, c, column.name, required_header if column.required else header)
            ws.write_comment(0, c, column.title + (f": {column.note}" if column.note else ""))
            ws.set_column(
                c,
                c,
                max(12, min(len(column.name) + 2, 28)),
                date_format
                if column.type == "date"
                else text_format
                if column.type in ("string", "code")
                else None,
            )
            rows = (1, c, TEMPLATE_ROWS, c)
            if column.type == "code" and column.codes:
                ws.data_validation(
                    *rows,
                    {
                        "validate": "list",
                        "source": list_ranges[column.codes],
                        "error_title": "Not a code",
                        "error_message": f"Choose a code of the '{column.codes}' list.",
                    },
                )
            elif column.type == "integer":
                ws.data_validation(
                    *rows,
                    {
                        "validate": "integer",
                        "criteria": "between",
                        "minimum": column.min if column.min is not None else -(10**9),
                        "maximum": column.max if column.max is not None else 10**9,
                        "error_message": "A whole number"
                        + (f" from {column.min}" if column.min is not None else "")
                        + (f" to {column.max}" if column.max is not None else "")
                        + ".",
                    },
                )
            elif column.type == "date":
                ws.data_validation(
                    *rows,
                    {
                        "validate": "date",
                        "criteria": ">=",
                        "value": dt.date(1990, 1, 1),
                        "error_message": "A date (YYYY-MM-DD).",
                    },
                )

    checks = checks_for(cf)
    column_checks: dict[tuple[str, str | None], list[str]] = {}
    for check in checks:
        if check.note:
            column_checks.setdefault((check.sheet, check.column), []).append(check.note)

    notes.set_column(0, 0, 18)
    notes.set_column(1, 1, 28)
    notes.set_column(2, 4, 14)
    notes.set_column(5, 6, 60, wrap)
    notes.write(
        0, 0, f"SCR Observatory submission template, coding frame version {cf.version}", bold
    )
    notes.write(
        1,
        0,
        "One workbook per submission. Header row 1 as given; one row per record. "
        "Shaded orange headers are required. Never enter names of children or "
        "family members.",
    )
    notes.write(
        2,
        0,
        "Fill in reviews and children (recommendations and actions if you have them), "
        "and/or notifications and action_updates: a workbook of notifications or action "
        "updates alone needs no reviews (leave those sheets empty).",
    )
    heads = [
        "sheet",
        "column",
        "type",
        "required",
        "code list",
        "meaning and allowed values",
        "checked: each value must be",
    ]
    for c, text in enumerate(heads):
        notes.write(3, c, text, header)
    r = 4
    for name, sheet in cf.sheets.items():
        for column in sheet.columns:
            allowed = ""
            if column.codes:
                allowed = "; ".join(f"{x.code} = {x.label}" for x in cf.code_lists[column.codes])
            elif column.type == "integer":
                allowed = "whole number"
            elif column.type == "date":
                allowed = "a date, YYYY-MM-DD"
            meaning = " — ".join(x for x in (column.title, column.note, allowed) if x)
            notes.write_row(
                r,
                0,
                [
                    name,
                    column.name,
                    column.type,
                    "yes" if column.required else "no",
                    column.codes or "",
                    meaning,
                    "; ".join(column_checks.get((name, column.name), [])),
                ],
            )
            r += 1
    # Every check that is not about one value alone: keys, links, counts, ownership, warnings.
    r += 1
    notes.write(r, 0, "Checks across rows, sheets and the warehouse", bold)
    r += 1
    for c, text in enumerate(["sheet", "column", "severity", "check", "", "what it says"]):
        notes.write(r, c, text, header)
    for check in checks:
        if check.scope == "sheet" and check.kind != "unique" and check.severity == ERROR:
            continue
        if check.phase == "text":
            continue
        r += 1
        notes.write_row(
            r,
            0,
            [
                check.sheet,
                check.column or "",
                check.severity,
                check.rule,
                "",
                check.message.replace("{share:.0%}", "half or more"),
            ],
        )
    r += 2
    notes.write(r, 0, "Rules", bold)
    for rule in cf.rules:
        r += 1
        notes.write(r, 0, "•")
        notes.write(r, 1, rule)
    book.close()
    return path

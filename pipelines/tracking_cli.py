"""``scr tracking``: where every notified incident is now, and what is late, as of a date.

``scr tracking [--period P] [--region R | --board B] [--as-of DATE] [--format text|json|csv]``
prints the stage counts, the overdue list (decisions, reviews, action plans, actions, with
days overdue and any parallel proceedings), timeliness by England, region and board with
exact 95% intervals, and action points against their due dates (``warehouse.tracking``
does the work). json: every section, the implementation curve too; csv: the overdue list.

A read-only command: it never imports dagster or great_expectations. Exit codes as the
rest of ``scr``: 0 printed; 2 a usage error (a --period, --region or --board that selects
nothing names the valid choices; an --as-of that is not a date, or is after today);
1 no warehouse, or one that cannot be read.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb

    from warehouse.tracking import TrackingFilter

FORMATS = ("text", "json", "csv")


def add_tracking_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``tracking`` on the ``scr`` command's subparsers."""
    p = subparsers.add_parser(
        "tracking",
        help="every notified incident from notification to implemented action plan, as of "
        "a date: stage counts, the overdue list, timeliness with exact intervals, action "
        "points against their due dates",
        description="Stages and the clock (Working Together 2006, 8.14-8.15): the decision "
        "is due one month after notification, the review four months after the decision (or "
        "at the agreed date), the action plan one month after the report; actions by their "
        "own due dates. Only facts dated on or before --as-of count, so any past state can "
        "be reproduced.",
    )
    p.add_argument(
        "--period", help="notifications dated in it, e.g. 2009-11 = April 2009 to March 2011"
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument("--region", help="region code, e.g. london (default: England)")
    where.add_argument("--board", help="board code (default: all boards)")
    p.add_argument("--as-of", metavar="DATE", help="YYYY-MM-DD (default: today)")
    p.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="text (default); json: every section; csv: the overdue list",
    )
    p.set_defaults(func=cmd_tracking)
    return p


def parse_as_of(text: str | None, today: date | None = None) -> date:
    """The --as-of date (today when not given); a usage error when it is not a calendar
    date or is after today (nothing is known about tomorrow)."""
    from pipelines.cli import UsageError

    today = today or date.today()
    if text is None:
        return today
    try:
        value = date.fromisoformat(text.strip())
    except ValueError:
        shaped = re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()) is not None
        raise UsageError(
            f"--as-of {text!r} is not a calendar date"
            if shaped
            else f"--as-of {text!r} is not a date like 2011-03-31 (year-month-day)"
        ) from None
    if value > today:
        raise UsageError(
            f"--as-of {text!r} is after today ({today.isoformat()}): the state can be shown "
            "up to today only"
        )
    return value


def check_choices(args: argparse.Namespace, con: duckdb.DuckDBPyConnection) -> None:
    """Exit 2 naming the valid choices for a --period, --region or --board that selects
    nothing to track (as ``scr tables``: all choices when few, else the closest)."""
    import polars as pl

    from pipelines.cli import _check_region, _wrong_choice
    from warehouse.access.catalog import WrongChoice, nearest_first
    from warehouse.tracking import board_choices, period_choices, period_range

    _check_region(args.region)
    if args.period is not None:
        periods = pl.DataFrame({"code": period_choices(con)}, schema={"code": pl.String})
        try:
            period_range(args.period)
            problem = "holds no notification or review in the warehouse"
        except ValueError:
            problem = "is not a period like 2009-11"
        if args.period not in periods["code"]:
            wrong = WrongChoice(
                "period", args.period, problem, nearest_first(args.period, periods), periods.height
            )
            raise _wrong_choice(wrong, "periods")
    if args.board is not None:
        boards = board_choices(con)
        if args.board not in boards["code"]:
            wrong = WrongChoice(
                "board",
                args.board,
                "is not a board with a notification or a review",
                nearest_first(args.board, boards),
                boards.height,
            )
            raise _wrong_choice(wrong, "boards")


def cmd_tracking(args: argparse.Namespace) -> int:
    from pipelines.cli import EXIT_OK, _open_for_reading
    from warehouse.tracking import TrackingFilter

    as_of = parse_as_of(args.as_of)
    con = _open_for_reading(args.warehouse_file)
    try:
        check_choices(args, con)
        filters = TrackingFilter(
            as_of=as_of, period=args.period, region=args.region, board=args.board
        )
        if args.format == "json":
            from warehouse.tracking import tracking_summary

            sys.stdout.write(json.dumps(tracking_summary(con, filters), indent=2) + "\n")
        elif args.format == "csv":
            from warehouse.safe_output import csv_bytes
            from warehouse.tracking import overdue

            sys.stdout.flush()
            sys.stdout.buffer.write(csv_bytes(overdue(con, filters)))
        else:
            sys.stdout.write(tracking_text(con, filters))
    finally:
        con.close()
    return EXIT_OK


# -- text ---------------------------------------------------------------------------------


def _shown(value: object) -> str:
    """A value as a terminal shows it: control and format characters as "?"."""
    import unicodedata

    text = "" if value is None else str(value)
    return "".join("?" if unicodedata.category(ch) in ("Cc", "Cf") else ch for ch in text)


def _table(headers: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        parts = [
            c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(cells)
        ]
        return "  " + "  ".join(parts).rstrip()

    return [line(headers), *(line(r) for r in rows)]


def _where(filters: TrackingFilter) -> str:
    from warehouse.frame import frame

    if filters.board is not None:
        where = f"board {_shown(filters.board)}"
    elif filters.region is not None:
        where = frame().labels("region").get(filters.region, filters.region)
    else:
        where = "England"
    period = f", notifications of {filters.period}" if filters.period else ""
    return f"{where}{period}"


def _who(row: dict[str, Any], region_labels: dict[str, str]) -> str:
    if row["level"] == "england":
        return "England"
    if row["level"] == "region":
        return region_labels.get(row["region"], _shown(row["region"]))
    return _shown(row["board_code"])


def _rate(row: dict[str, Any]) -> str:
    from warehouse.numbers import percent_text

    if not row["n"]:
        return "no cases"
    interval = f"{percent_text(row['ci_low'])} to {percent_text(row['ci_high'])}"
    return f"{percent_text(row['share'])}  (95% CI {interval})"


def tracking_text(con: duckdb.DuckDBPyConnection, filters: TrackingFilter) -> str:
    """The text report: stages, overdue list, timeliness, actions against due dates."""
    import polars as pl

    from warehouse import tracking
    from warehouse.frame import frame

    labels = frame().labels("region")
    proceedings = frame().labels("parallel_proceedings")
    out = [f"Tracking as of {filters.as_of.isoformat()}: {_where(filters)}", ""]

    stages = tracking.selection_rows(tracking.stage_counts(con, filters), filters)
    out.append("Stages (reached: counted at every stage it has passed; now at: its furthest)")
    out += _table(
        ["Stage", "Reached", "Now at", ""],
        [
            [
                r["label"],
                str(r["reached"]),
                "" if r["now_at"] is None else str(r["now_at"]),
                "" if r["now_label"] is None else r["now_label"],
            ]
            for r in stages.to_dicts()
        ],
        {1, 2},
    )

    late = tracking.overdue(con, filters)
    out += ["", f"Overdue ({late.height})"]
    if late.height:
        out += _table(
            [
                "What",
                "Board",
                "Region",
                "Notification",
                "Review",
                "Action",
                "Due",
                "Days",
                "Proceedings",
            ],
            [
                [
                    tracking.OVERDUE_LABELS[r["kind"]],
                    _shown(r["board_code"]),
                    labels.get(r["region"], _shown(r["region"])),
                    _shown(r["notification_id"]),
                    _shown(r["review_id"]),
                    "" if r["action_no"] is None else str(r["action_no"]),
                    r["due_date"].isoformat(),
                    str(r["days_overdue"]),
                    _proceedings(r, proceedings),
                ]
                for r in late.to_dicts()
            ],
            {5, 7},
        )
    else:
        out.append("  nothing overdue")

    rates = tracking.timeliness(con, filters)
    out += ["", "Timeliness (k of n, exact 95% confidence interval)"]
    for measure, label, _ in tracking.MEASURES:
        out.append(f"  {label}")
        rows = rates.filter(pl.col("measure") == measure).to_dicts()
        out += _table(
            ["", "k", "n", "Rate"],
            [[_who(r, labels), str(r["k"]), str(r["n"]), _rate(r)] for r in rows],
            {1, 2},
        )

    actions = tracking.selection_rows(tracking.actions_by_due_date(con, filters), filters)
    out += ["", "Action points against their due dates"]
    a = actions.row(0, named=True) if actions.height else dict.fromkeys(tracking.ACTION_COUNTS, 0)
    out += _table(
        ["", "Actions"],
        [
            ["Due by the date", str(a["due"])],
            ["  completed by the due date", str(a["completed_by_due"])],
            ["  completed late", str(a["completed_late"])],
            ["  dropped", str(a["dropped"])],
            ["  still open", str(a["open"])],
            ["Not yet due", str(a["not_yet_due"])],
            ["No due date", str(a["no_due_date"])],
        ],
        {1},
    )
    return "\n".join(out) + "\n"


def _proceedings(row: dict[str, Any], labels: dict[str, str]) -> str:
    code = row["parallel_proceedings"]
    if code is None or code == "none":
        return ""
    text = labels.get(code, _shown(code))
    if code == "not_known":
        return text
    return f"{text} ({'ongoing' if row['proceedings_ongoing'] else 'concluded'})"

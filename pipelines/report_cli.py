"""``scr report``: the biennial report (or the board report) for a selection and audience,
written as one self-contained HTML file or a PDF.

Exit codes as the rest of ``scr``: 0 written; 2 a usage error (a wrong --period, --region or
--board names the valid choices the audience may see); 1 a failure, said plainly (no
snapshot yet, no Chromium for a PDF, an unreadable agreement file).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from warehouse.principal import ANALYST, PUBLIC, Principal

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
AUDIENCES = ("analyst", "national", "public", "regional", "board")
KINDS = ("full", "board")
SUFFIXES = (".html", ".pdf")


class ReportUsage(Exception):
    """A usage error: said with the command's usage line, exit 2."""


def add_report_parser(subparsers: Any) -> argparse.ArgumentParser:
    """``scr report`` on the ``scr`` subparsers."""
    p = subparsers.add_parser(
        "report",
        help="the biennial report (or a board report) for a selection, as HTML or PDF",
        description="The biennial report for a selection: cover and methods (coding frame, "
        "what was included, data quality, double-coding agreement), figures, Tables 2-20 "
        "beside the published 2001-03 figures, the study's errata, the disclosure rules of "
        "the audience and the submissions it rests on. --kind board: one board beside its "
        "region and England over pooled periods (2-4 pages). A .pdf is printed by headless "
        "Chromium from the same HTML.",
    )
    p.add_argument("--period", help="e.g. 2009-11 (default: all periods)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--region", help="region code, e.g. london (default: England)")
    where.add_argument("--board", help="board code")
    p.add_argument(
        "--audience",
        choices=AUDIENCES,
        default="analyst",
        help="who the report is for (default: analyst, full figures, for those who hold the "
        "warehouse; national is the same). public: national and regional figures under "
        "disclosure control, never a board; regional: its region's boards in full "
        "(--scope, else --region or the board's region); board: its own board in full "
        "(--scope, else --board)",
    )
    p.add_argument("--scope", metavar="CODE", help="the audience's own region or board")
    p.add_argument(
        "--kind",
        choices=KINDS,
        default="full",
        help="full: the biennial report (default); board: the board report (needs --board)",
    )
    p.add_argument(
        "--pool",
        type=int,
        choices=(3, 1),
        default=3,
        help="periods pooled for a board beside its region and England: the period and the "
        "two before it (3, default) or the period alone (1)",
    )
    p.add_argument(
        "--agreement",
        nargs=2,
        metavar=("A", "B"),
        help="two codings of the same reviews: their agreement goes in the methods",
    )
    p.add_argument(
        "--threshold",
        type=int,
        metavar="N",
        help="largest count shown as c (default: $SCR_DISCLOSURE_THRESHOLD, else 5)",
    )
    p.add_argument("--out", required=True, metavar="FILE", help="FILE.html or FILE.pdf")
    p.set_defaults(func=run_report, report_parser=p)
    return p


# --- progress: on a terminal only ---------------------------------------------------------


@contextlib.contextmanager
def progress_reporter(steps: int) -> Iterator[Any]:
    """A callable taking a step's description: a rich progress bar on stderr when it is a
    terminal, nothing at all when output is piped or redirected."""
    from rich.console import Console

    console = Console(stderr=True)
    if not console.is_terminal:
        yield lambda _text: None
        return
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("scr report", total=steps + 1)  # + writing the file

        def step(text: str) -> None:
            bar.update(task, description=text, advance=1)

        yield step
        bar.update(task, completed=steps + 1)


# --- the selection and the audience ----------------------------------------------------


def _usage_choices(wrong: Any, listing: str) -> ReportUsage:
    """A wrong choice named with the valid ones (all when few, else the closest)."""
    import polars as pl

    name = next((c for c in ("name", "label") if c in wrong.choices.columns), None)
    shown = pl.col("code").cast(pl.String)
    if name is not None:
        shown = pl.format("{} ({})", shown, pl.col(name).fill_null("no name"))
    names = wrong.choices.select(shown.alias("s"))["s"].to_list()
    if not names:
        choose = "there is nothing to choose from"
    elif len(names) == wrong.total:
        choose = f"choose one of: {', '.join(names)}"
    else:
        choose = f"the closest: {', '.join(names)}; `scr codes {listing}` lists them all"
    value = wrong.value if str(wrong.value).isprintable() else repr(wrong.value)
    return ReportUsage(f"--{wrong.key} {value!r} {wrong.problem}; {choose}")


def principal_for(args: argparse.Namespace, board_region: str | None) -> Principal:
    """The principal the report is read for (see --audience)."""
    audience = args.audience or "analyst"
    if audience in ("analyst", "national"):
        if args.scope is not None:
            raise ReportUsage("--scope is for --audience regional or board")
        return ANALYST
    if audience == "public":
        if args.board is not None:
            raise ReportUsage(
                "--audience public shows no board-level figures: drop --board "
                "(national and regional reports only)"
            )
        if args.scope is not None:
            raise ReportUsage("--scope is for --audience regional or board")
        return PUBLIC
    if audience == "regional":
        region = args.scope or args.region or board_region
        if region is None:
            raise ReportUsage("--audience regional needs its region: --scope CODE or --region")
        return Principal("report", "regional", region)
    board = args.scope or args.board
    if board is None:
        raise ReportUsage("--audience board needs its board: --scope CODE or --board")
    if args.board is not None and args.board != board:
        raise ReportUsage(
            f"--board {args.board!r} is not the audience's own board {board!r}: "
            "a board audience never sees another board's figures"
        )
    return Principal("report", "board", board)


def _check_selection(args: argparse.Namespace, warehouse: Path) -> str | None:
    """Exit 2 for a period, region or board that selects nothing (naming the choices the
    audience may be told of); returns the board's catalog region when a board is chosen."""
    import polars as pl

    from warehouse.access import Access
    from warehouse.access.catalog import (
        WrongChoice,
        board_choices,
        nearest_first,
        wrong_choices,
        wrong_choices_without_data,
    )

    for wrong in wrong_choices_without_data(region=args.region):
        raise _usage_choices(wrong, "regions")
    if args.audience == "regional" and args.scope is not None:
        for wrong in wrong_choices_without_data(region=args.scope):
            raise _usage_choices(replace(wrong, key="scope"), "regions")
    analyst = Access(warehouse, ANALYST)
    with analyst.connect() as con:
        boards = board_choices(con)
        if args.audience == "board" and args.scope is not None:
            if args.scope not in boards["code"]:
                known = boards.select("code", "name")
                raise _usage_choices(
                    WrongChoice(
                        "scope",
                        args.scope,
                        "is not a board in the warehouse",
                        nearest_first(args.scope, known),
                        known.height,
                    ),
                    "boards",
                )
        shown, boards_of = boards, "in the warehouse"
        if args.audience == "public":
            shown, boards_of = boards.head(0), "the public sees"
        elif args.audience == "regional" and (args.scope or args.region):
            region = args.scope or args.region
            shown = boards.filter(pl.col("region") == region)
            boards_of = f"of region {region}"
        elif args.audience == "board" and (args.scope or args.board):
            shown = boards.filter(pl.col("code") == (args.scope or args.board))
            boards_of = "a board audience sees"
        for wrong in wrong_choices(
            con, args.period, args.region, args.board, boards=shown, boards_of=boards_of
        ):
            listing = {"period": "periods", "region": "regions", "board": "boards"}[wrong.key]
            if wrong.key == "board" and args.audience in ("regional", "board"):
                scope = args.scope or args.region or args.board
                listing += f" --audience {args.audience} --scope {scope}"
            raise _usage_choices(wrong, listing)
        if args.board is None:
            return None
        row = boards.filter(pl.col("code") == args.board)
        region = row["region"][0] if row.height else None
        return None if region in (None, "not_stated") else str(region)


def _check_arguments(args: argparse.Namespace) -> Path:
    out = Path(args.out)
    if out.suffix.lower() not in SUFFIXES:
        raise ReportUsage(f"--out {args.out!r}: the report is written as FILE.html or FILE.pdf")
    if not out.parent.exists():
        raise ReportUsage(f"--out {args.out!r}: the folder {str(out.parent)!r} does not exist")
    if (
        args.kind == "board"
        and args.board is None
        and not (args.audience == "board" and args.scope)
    ):
        raise ReportUsage("--kind board needs --board (the board the report is about)")
    if args.kind == "board" and args.audience == "public":
        raise ReportUsage("--kind board names a board: not for --audience public")
    if args.threshold is not None and args.threshold < 1:
        raise ReportUsage("--threshold must be 1 or more")
    if out.suffix.lower() == ".pdf":
        from warehouse.report.pdf import chromium_path

        chromium_path()  # no Chromium: say so before any work (PdfError, exit 1)
    if args.agreement:
        for name in args.agreement:
            if not Path(name).exists():
                raise FileNotFoundError(f"--agreement: {name} does not exist")
    return out


def run_report(args: argparse.Namespace) -> int:
    """``scr report``: write the report; 0 ok, 2 usage (said with the usage line), 1 a
    failure (a plain message)."""
    from warehouse.access import Access, NoSnapshot, OutOfScope
    from warehouse.db import WarehouseError, warehouse_path
    from warehouse.report.pdf import PdfError

    parser = getattr(args, "report_parser", None)
    try:
        out = _check_arguments(args)
        warehouse = getattr(args, "warehouse_file", None) or warehouse_path(
            getattr(args, "warehouse", None)
        )
        if args.audience != "regional":  # what needs no data is said first
            principal_for(args, None)
        board_region = _check_selection(args, warehouse)
        principal = principal_for(args, board_region)
        board = args.board or (principal.board if args.kind == "board" else None)
        access = Access(warehouse, principal, threshold=args.threshold)
        agreement = (Path(args.agreement[0]), Path(args.agreement[1])) if args.agreement else None
        steps = 5 if out.suffix.lower() == ".pdf" else 4
        with progress_reporter(steps) as step:
            html = _html(args, access, board, agreement, step)
            if out.suffix.lower() == ".pdf":
                step("printing the PDF with Chromium")
                from warehouse.report.pdf import check_pdf, html_to_pdf

                pdf = html_to_pdf(html)
                out.write_bytes(pdf)
                written = f"{out} ({check_pdf(pdf)} pages)"
            else:
                out.write_text(html, encoding="utf-8")
                written = str(out)
        print(f"wrote {written}", file=sys.stderr)
        return EXIT_OK
    except ReportUsage as exc:
        if parser is not None:
            parser.print_usage(sys.stderr)
        print(f"scr report: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OutOfScope as exc:
        if parser is not None:
            parser.print_usage(sys.stderr)
        print(f"scr report: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (
        NoSnapshot,
        WarehouseError,
        PdfError,
        FileNotFoundError,
        ImportError,
        ValueError,
    ) as exc:
        print(f"scr report: {_plain(exc)}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:
        # Two codings that cannot be compared (warehouse.agreement.AgreementError).
        if type(exc).__name__ != "AgreementError":
            raise
        print(f"scr report: --agreement: {exc}", file=sys.stderr)
        return EXIT_FAILED


def _html(
    args: argparse.Namespace,
    access: Any,
    board: str | None,
    agreement: tuple[Path, Path] | None,
    step: Any,
) -> str:
    from warehouse.report import board_report, build_report

    if args.kind == "board":
        assert board is not None
        return board_report(access, board, args.period, pool=args.pool, progress=step)
    return build_report(
        access,
        args.period,
        args.region,
        args.board,
        agreement=agreement,
        pool=args.pool,
        progress=step,
    )


def _plain(exc: BaseException) -> str:
    if isinstance(exc, ImportError) and "agreement" in str(exc):
        return "double-coding agreement is not available in this version (warehouse.agreement)"
    return str(exc)

"""`scr published add FILE` and `scr published list`: real published national figures.

``add`` takes more figures in the shape of warehouse/published/national_series.csv, checked
like a submission (warehouse/published.py: the value in its quote, known measures, periods
in the release's own format, not already loaded): any problem is reported by row, column and
rule, exit 1, and nothing is changed (the file is not archived or recorded). An accepted file
is archived by content beside the submissions, recorded in ``published_submissions`` and its
rows added, the used figure of each series, period and measure chosen again; then the
snapshot is republished so the dashboard shows them. ``pipelines/cli.py`` registers both
with :func:`add_published_parser`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_REJECTED, EXIT_STALE = 0, 1, 3


def _err(text: str) -> None:
    print(text, file=sys.stderr)


def run_published_add(
    path: Path | str, warehouse_file: Path, submitted_by: str | None = None
) -> int:
    """Check and add a file of published figures; the exit code (0, 1 rejected, 3 added
    but the snapshot could not be republished)."""
    from pipelines.defs.resources import WarehouseResource
    from pipelines.runner import RefreshFailed, _instance, refresh_marts
    from warehouse.db import connect, writer_lock
    from warehouse.migrations import upgrade
    from warehouse.published import PublishedRejected, add_figures
    from warehouse.schema import ensure_schema

    path = Path(path)
    if not path.is_file():
        _err(f"scr: {path} is not a file: give a CSV of figures (see `scr published add -h`)")
        return EXIT_REJECTED
    warehouse = WarehouseResource(database=str(warehouse_file))
    with writer_lock(warehouse.file):
        upgraded = upgrade(warehouse.file)
        if upgraded.changed and upgraded.from_version > 0:
            for line in upgraded.lines():
                _err(line)
        con = connect(warehouse.file)
        try:
            ensure_schema(con)
            result = add_figures(con, path, warehouse.archive, submitted_by)
        except PublishedRejected as rejected:
            _err(f"{path.name}: rejected; nothing was changed")
            for line in rejected.lines:
                _err(f"  {line}")
            return EXIT_REJECTED
        finally:
            con.close()
        print(
            f"{path.name}: accepted {result.rows} figure{'s' if result.rows != 1 else ''} "
            f"(ledger {result.submission_id}); {result.used} figures used, "
            f"{result.disagreements} where sources disagree (every source kept)"
        )
        try:
            refresh_marts(warehouse, _instance())
        except RefreshFailed as failed:
            _err(f"scr: {failed}; the dashboard still shows the previous snapshot")
            return EXIT_STALE
    return EXIT_OK


def run_published_list(warehouse_file: Path, every_source: bool = False, fmt: str = "text") -> int:
    """Print the figures used (``every_source``: every row) from the published snapshot."""
    from warehouse.access import Access, NoSnapshot

    try:
        figures = Access(warehouse_file).published_series(every_source=every_source)
    except NoSnapshot as missing:
        _err(f"scr: {missing}")
        return EXIT_REJECTED
    if figures.is_empty():
        _err("no published figures in the snapshot yet: run `scr build` first")
        return EXIT_REJECTED
    shown = figures.select(
        "series",
        "period",
        "measure",
        "value_text",
        "used",
        "source_kind",
        "source_title",
        "source_url",
        "note",
    )
    if fmt == "csv":
        sys.stdout.write(shown.write_csv())
    elif fmt == "json":
        sys.stdout.write(figures.write_json() + "\n")
    else:
        print("Real published national figures (not the synthetic sample)")
        for row in shown.iter_rows(named=True):
            mark = "" if row["used"] else "  (not used)"
            print(
                f"{row['series']:<13} {row['period']:<22} {row['measure']:<38} "
                f"{row['value_text']:>6}  {row['source_kind']:<9} {row['source_title']}{mark}"
            )
    return EXIT_OK


def _cmd_add(args: argparse.Namespace) -> int:
    return run_published_add(args.path, args.warehouse_file, args.submitted_by)


def _cmd_list(args: argparse.Namespace) -> int:
    return run_published_list(args.warehouse_file, args.all, args.format)


def add_published_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register `scr published add FILE` and `scr published list` on the `scr` subparsers."""
    p = sub.add_parser(
        "published",
        help="real published national figures (each with its source and quote): add, list",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = actions.add_parser(
        "add",
        help="add figures from a CSV shaped like warehouse/published/national_series.csv "
        "(series, period, measure, value, unit, source_title, source_url, quote); every "
        "value must appear in its quote; exit 1 with the row, column and rule of each "
        "problem, nothing changed",
    )
    q.add_argument("path", metavar="FILE")
    q.add_argument("--submitted-by", default=None, help="who sent it (default: the OS user)")
    q.set_defaults(func=_cmd_add, writes=True)
    q = actions.add_parser(
        "list", help="the figures the product uses (--all: every source, disagreements too)"
    )
    q.add_argument("--all", action="store_true", help="every source's row")
    q.add_argument("--format", choices=["text", "csv", "json"], default="text")
    q.set_defaults(func=_cmd_list)

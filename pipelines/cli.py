"""`scr`: the SCR Observatory command line.

Commands that only read (tables, replicate, submissions, template, validate) never import
dagster or great_expectations; ingest and build run the Dagster assets in process.
Exit codes: 0 success, 1 a submission rejected (or nothing to read), 2 usage error,
3 the submissions were decided and accepted ones loaded, but refreshing the marts or the
snapshot failed (the dashboard is stale: `scr build --refresh`), 141 the output was cut
short by a reader that stopped reading (`scr ... | head`), as for other tools.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from pipelines.samples import SAMPLE_SUBMISSIONS, sample_paths
from warehouse.db import (
    WarehouseBusy,
    WarehouseError,
    archive_dir,
    connect,
    lock_files,
    query_frame,
    snapshot_path,
    warehouse_path,
)
from warehouse.migrations import require_current

if TYPE_CHECKING:
    import polars as pl

    from warehouse.access.catalog import WrongChoice

EXIT_OK, EXIT_REJECTED, EXIT_USAGE, EXIT_STALE = 0, 1, 2, 3
EXIT_PIPE = 128 + 13  # SIGPIPE: what a shell reports for `yes | head`

# Nouns whose plural is not "<noun>s" (the sheets' names are plurals already).
_PLURALS = {"child": "children", "children": "children"}
_SINGULARS = {
    "reviews": "review",
    "recommendations": "recommendation",
    "actions": "action",
    "notifications": "notification",
    "action_updates": "action update",
}


class UsageError(Exception):
    pass


def plural(n: int | None, noun: str) -> str:
    """ "1 board", "2 boards", "0 children"; ``noun`` singular or a sheet's (plural) name."""
    count = int(n or 0)
    one = "child" if noun == "children" else _SINGULARS.get(noun, noun)
    return f"{count} {one if count == 1 else _PLURALS.get(one, one + 's')}"


def _say(text: str = "") -> None:
    print(text, flush=True)


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _open_for_reading(path: Path) -> duckdb.DuckDBPyConnection:
    """The live warehouse read-only; while a writer holds it, the published snapshot."""
    if not path.exists():
        raise FileNotFoundError(f"no warehouse at {path}: run `scr build` or `scr ingest` first")
    try:
        con = connect(path, read_only=True, wait_seconds=2)
    except WarehouseBusy:
        snap = snapshot_path(path)
        if not snap.exists():
            raise
        con = connect(snap, read_only=True)
    try:  # another schema version: say `scr upgrade` (or which release), change nothing
        require_current(con)
    except BaseException:
        con.close()
        raise
    return con


def _tracking_counts(led: dict) -> str:
    """The notifications and action updates an accepted submission held (coding frame
    version 2), as a continuation of its counts; nothing for a submission of reviews alone."""
    parts = [
        f", {plural(led.get(f'n_{name}') or 0, label)} ({led.get(f'n_{name}_new')} new, "
        f"{led.get(f'n_{name}_replaced')} replaced, {led.get(f'n_{name}_unchanged')} unchanged)"
        for name, label in (("notifications", "notification"), ("action_updates", "action update"))
        if led.get(f"n_{name}")
    ]
    return "".join(parts)


def _print_outcomes(outcomes: list, fmt: str) -> int:  # list[IngestOutcome]
    from warehouse.schema import TRACKING_COUNTS

    rejected = 0
    records = []
    for outcome in outcomes:
        led = outcome.ledger
        rejected += outcome.status != "accepted"
        if fmt == "json":
            records.append(
                {
                    "path": str(outcome.path),
                    "submission_id": outcome.submission_id,
                    "status": outcome.status,
                    **{
                        k: led.get(k)
                        for k in (
                            "sha256",
                            "n_reviews",
                            "n_children",
                            "n_recommendations",
                            "n_actions",
                            "n_reviews_new",
                            "n_reviews_replaced",
                            "n_reviews_unchanged",
                            "n_errors",
                            "n_warnings",
                            *TRACKING_COUNTS,
                        )
                    },
                    "report": outcome.lines,
                }
            )
            continue
        if outcome.status == "accepted":
            _say(
                f"accepted {outcome.path.name} as {outcome.submission_id}: "
                f"{plural(led['n_reviews'], 'review')} ({led['n_reviews_new']} new, "
                f"{led['n_reviews_replaced']} replaced, {led['n_reviews_unchanged']} unchanged), "
                f"{plural(led['n_children'], 'child')}, "
                f"{plural(led['n_recommendations'], 'recommendation')}, "
                f"{plural(led['n_actions'], 'action')}{_tracking_counts(led)}; "
                f"{plural(led['n_warnings'], 'warning')}"
            )
            for line in outcome.lines:
                _say(f"  {line}")
        else:
            ident = f" ({outcome.submission_id})" if outcome.submission_id else ""
            _say(f"REJECTED {outcome.path.name}{ident}: nothing was loaded from it")
            for line in outcome.lines:
                _say(f"  {line}")
    if fmt == "json":
        _say(json.dumps(records, indent=2, default=str))
    return EXIT_REJECTED if rejected else EXIT_OK


def _protected_files(warehouse: Path) -> list[Path]:
    """Files an --out must never replace: the warehouse and everything kept beside it."""
    from warehouse.accounts import security_path, session_key_path

    snapshot, store = snapshot_path(warehouse), security_path(warehouse)
    return [
        warehouse,
        snapshot,
        *lock_files(warehouse),
        *lock_files(snapshot),
        store,
        *(store.with_name(f"{store.name}{end}") for end in ("-wal", "-shm", "-journal")),
        session_key_path(warehouse),
    ]


def _check_out(out: str, warehouse: Path) -> None:
    """Refuse an --out that would overwrite the warehouse, its snapshot, its archive (or a
    file in it), its lock file, the security store or the session key."""
    target = Path(out).expanduser().resolve()
    archive = archive_dir(warehouse)
    for kept in [archive, *_protected_files(warehouse)]:
        same = target == kept or (
            target.exists() and kept.exists() and os.path.samefile(target, kept)
        )
        if same or (kept == archive and target.is_relative_to(archive)):
            raise UsageError(
                f"--out {out} would overwrite {kept.name}"
                + (" (the submissions archive)" if kept == archive else "")
                + ", which belongs to the warehouse; write the output somewhere else"
            )


def _stale(failed: Exception) -> int:
    """Say exactly what a refresh failing after the ingest means (RefreshFailed)."""
    outcomes = getattr(failed, "outcomes", [])
    reason = getattr(failed, "reason", str(failed))
    accepted = [o.path.name for o in outcomes if o.status == "accepted"]
    if accepted:
        done = (
            f"{', '.join(accepted)} {'is' if len(accepted) == 1 else 'are'} accepted and "
            "loaded into the warehouse, but"
        )
    else:
        done = "no submission was loaded, but"
    _err(
        f"scr: {done} refreshing the marts and the dashboard snapshot failed ({reason}): "
        "the dashboard is stale. Run `scr build --refresh` to republish them "
        "(the next ingest also does)."
    )
    return EXIT_STALE


# Set by the `scr` console script: this process runs one command and ends.
_ONE_COMMAND = False


def _gx_process(wanted: bool = True) -> contextlib.AbstractContextManager[None]:
    """A GX process beside this one for an ingest, when this process runs one command and
    ends (GX is imported there meanwhile, on another core); a long-lived process that calls
    ``main`` (tests, a notebook) imports GX once and keeps it."""
    if not (wanted and _ONE_COMMAND):
        return contextlib.nullcontext()
    from warehouse.expectations import gx_process

    return gx_process()


def cmd_ingest(args: argparse.Namespace) -> int:
    with _gx_process():
        return _ingest(args)


def _ingest(args: argparse.Namespace) -> int:
    from pipelines.runner import RefreshFailed, ingest

    try:
        outcomes = ingest([Path(p) for p in args.paths], args.warehouse_file, args.submitted_by)
    except RefreshFailed as failed:
        _print_outcomes(failed.outcomes, args.format)
        return _stale(failed)
    return _print_outcomes(outcomes, args.format)


def cmd_build(args: argparse.Namespace) -> int:
    with _gx_process(wanted=not args.refresh):  # a refresh validates nothing
        return _build(args)


def _build(args: argparse.Namespace) -> int:
    from pipelines.runner import RefreshFailed, ingest, refresh

    if args.refresh:
        try:
            refresh(args.warehouse_file)
        except RefreshFailed as failed:
            _err(f"scr: {failed}; the dashboard still shows the previous snapshot")
            return EXIT_STALE
        _say(
            f"republished the marts and the snapshot of {args.warehouse_file}\n"
            f"snapshot:  {snapshot_path(args.warehouse_file)}"
        )
        return EXIT_OK
    source = Path(args.source)
    if not source.is_dir():
        raise UsageError(f"--source {source} is not a folder")
    paths = sample_paths(source)
    if not paths:
        raise UsageError(f"no submissions (workbooks or CSV folders) in {source}")
    _say(f"building {args.warehouse_file} from {plural(len(paths), 'submission')} in {source}")
    try:
        outcomes = ingest(paths, args.warehouse_file, args.submitted_by or "scr build")
    except RefreshFailed as failed:
        _print_outcomes(failed.outcomes, "text")
        return _stale(failed)
    code = _print_outcomes(outcomes, "text")
    _say(f"warehouse: {args.warehouse_file}\nsnapshot:  {snapshot_path(args.warehouse_file)}")
    return code


def cmd_upgrade(args: argparse.Namespace) -> int:
    from pipelines.runner import RefreshFailed, upgrade_warehouse

    try:
        result = upgrade_warehouse(args.warehouse_file, dry_run=args.dry_run)
    except RefreshFailed as failed:
        _err(f"scr: the schema was upgraded, but {failed}; run `scr build --refresh`")
        return EXIT_STALE
    for line in result.lines():
        _say(line)
    if result.changed:
        _say(f"republished the marts and the snapshot: {snapshot_path(args.warehouse_file)}")
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from warehouse.issues import issues_json, report_lines, summarise
    from warehouse.load import check_submission
    from warehouse.schema import CORE_SHEETS

    path = Path(args.path)
    con = None
    if args.warehouse_file.exists():
        try:
            con = _open_for_reading(args.warehouse_file)
        except WarehouseBusy:
            con = None
    try:
        sheets, issues = check_submission(con, path)
    finally:
        if con is not None:
            con.close()
    summary = summarise(issues)
    verdict = "rejected" if summary["errors"] else "accepted"
    if args.format == "json":
        _say(
            json.dumps(
                {
                    "path": str(path),
                    "verdict": verdict,
                    "summary": summary,
                    "rows": {
                        k: v.height for k, v in sheets.items() if k in CORE_SHEETS or v.height
                    },
                    "lines": report_lines(issues),
                    "issues": issues_json(issues),
                },
                indent=2,
                default=str,
            )
        )
    else:
        rows = ", ".join(
            plural(v.height, k)
            for k, v in sheets.items()
            if k in CORE_SHEETS or v.height  # a tracking sheet when it has rows
        )
        _say(
            f"{path.name}: would be {verdict.upper()} ({plural(summary['errors'], 'error')}, "
            f"{plural(summary['warnings'], 'warning')}; {rows})"
        )
        for line in report_lines(issues):
            _say(f"  {line}")
    return EXIT_REJECTED if summary["errors"] else EXIT_OK


def _printable(column: str) -> pl.Expr:
    """A column as a terminal shows it: a control or format character (a terminal escape in
    a board name from a submission) as "?"."""
    import polars as pl

    return pl.col(column).cast(pl.String).str.replace_all(r"[\p{Cc}\p{Cf}]", "?")


def _choice_names(choices: pl.DataFrame) -> list[str]:
    """Choices as a message names them: "code (name)" or "code (label)", else the code."""
    import polars as pl

    name = next((c for c in ("name", "label") if c in choices.columns), None)
    shown = _printable("code")
    if name is not None:
        shown = pl.format("{} ({})", shown, _printable(name).fill_null("no name"))
    return choices.select(shown.alias("shown"))["shown"].to_list()


def _wrong_choice(wrong: WrongChoice, listing: str) -> UsageError:
    """A usage error naming the wrong value and the valid choices: all of them when few,
    else the closest few and how to list them all."""
    option = f"--{wrong.key}"
    names = _choice_names(wrong.choices)
    if not names:
        choose = "there is nothing to choose from"
    elif len(names) == wrong.total:
        choose = f"choose one of: {', '.join(names)}"
    else:
        choose = (
            f"the closest of the {plural(wrong.total, wrong.key)}: {', '.join(names)}; "
            f"`scr codes {listing}` lists them all"
        )
    # repr quotes the value and escapes anything a terminal would act on.
    return UsageError(f"{option} {wrong.value!r} {wrong.problem}; {choose}")


def _check_region(region: str | None, option: str = "region") -> None:
    """A region (or a regional audience's --scope) not in the coding frame (needs no
    warehouse)."""
    from dataclasses import replace

    from warehouse.access.catalog import wrong_choices_without_data

    for wrong in wrong_choices_without_data(region=region):
        raise _wrong_choice(replace(wrong, key=option), "regions")


def _audience_boards(args: argparse.Namespace, boards: pl.DataFrame) -> tuple[pl.DataFrame, str]:
    """The boards an audience may be told of (all of them for the analyst), and how a
    message says so: a listing never names more than the audience may see."""
    import polars as pl

    audience, scope = getattr(args, "audience", None), getattr(args, "scope", None)
    if audience == "board" and scope is not None and scope not in boards["code"]:
        # Whose board it is is unknown, so no board is named: the analyst can list them.
        raise UsageError(
            f"--scope {scope!r} is not a board in the warehouse; `scr codes boards` lists them"
        )
    if audience == "public":
        return boards.head(0), "the public sees"
    if audience == "regional" and (scope or args.region):
        region = scope or args.region
        return boards.filter(pl.col("regions").list.contains(region)), f"of region {region}"
    if audience == "board":
        board = scope or getattr(args, "board", None)
        return boards.filter(
            pl.col("code") == board
        ), "that a board audience sees (only its own board)"
    return boards, "in the warehouse"


def _check_choices(args: argparse.Namespace, con: duckdb.DuckDBPyConnection) -> None:
    """Exit 2 (naming the valid choices) for a --period, --region or --board that selects
    nothing, instead of tables of zeros."""
    from warehouse.access.catalog import board_choices, wrong_choices

    boards, boards_of = _audience_boards(args, board_choices(con))
    for wrong in wrong_choices(
        con, args.period, args.region, args.board, boards=boards, boards_of=boards_of
    ):
        listing = {"period": "periods", "region": "regions", "board": "boards"}[wrong.key]
        if wrong.key == "board" and args.region is not None and wrong.total:
            listing += f" --region {args.region}"
        raise _wrong_choice(wrong, listing)


def _board_region(con: duckdb.DuckDBPyConnection, board: str) -> str | None:
    rows = con.execute(
        "SELECT DISTINCT region FROM reviews WHERE board_code = ? AND region IS NOT NULL",
        [board],
    ).fetchall()
    return rows[0][0] if len(rows) == 1 else None


def _tables_audience(
    args: argparse.Namespace, con: duckdb.DuckDBPyConnection
) -> tuple[bool, dict[str, str | None] | None]:
    """Whether the selection is outside the audience's own scope (so it is suppressed), and
    the selection of the audience's own part of it when known (for the remainder rule)."""
    audience, scope = args.audience, args.scope
    if audience is None:
        return False, None
    if audience == "public":
        return True, None
    if audience == "regional":
        if scope is not None and scope not in _region_codes():
            raise UsageError(f"--scope {scope!r} is not a region code")
        board_region = _board_region(con, args.board) if args.board else None
        region = scope or args.region or board_region
        if args.board is not None:
            if region is not None and board_region not in (None, region):
                raise UsageError(
                    f"board {args.board!r} is not in region {region!r}: "
                    "a regional audience sees only its own region's boards"
                )
            return False, None
        if args.region is not None:
            return args.region != region, None
        own = {"period": args.period, "region": region, "board": None}
        return True, own if region else None
    # board
    board = scope or args.board
    if args.board is not None:
        if board != args.board:
            raise UsageError(
                f"--board {args.board!r} is not the audience's own board {board!r}: "
                "a board audience never sees another board's figures"
            )
        return False, None
    contains_own = board is not None and (
        args.region is None or _board_region(con, board) == args.region
    )
    own = {"period": args.period, "region": None, "board": board}
    return True, own if contains_own else None


def _check_audience(args: argparse.Namespace) -> None:
    """The usage errors that need no data."""
    if args.audience is None and (args.scope is not None or args.threshold is not None):
        raise UsageError("--scope and --threshold need --audience")
    if args.audience == "public" and args.board is not None:
        raise UsageError(
            "--audience public shows no board-level figures: drop --board "
            "(national and regional tables only)"
        )
    if args.audience == "public" and args.scope is not None:
        raise UsageError("--scope is for --audience regional or board")
    if args.threshold is not None and args.threshold < 1:
        raise UsageError("--threshold must be 1 or more")


def _region_codes() -> list[str]:
    from warehouse.frame import frame

    return frame().codes("region")


def cmd_tables(args: argparse.Namespace) -> int:
    from warehouse.exports import (
        tables_csv_text,
        tables_json,
        write_tables_csv,
        write_tables_ees,
        write_tables_xlsx,
    )
    from warehouse.study_tables import compute_study_tables

    _check_region(args.region)
    if args.audience == "regional":
        _check_region(args.scope, "scope")
    if args.format in ("xlsx", "ees") and not args.out:
        raise UsageError(f"--format {args.format} needs --out FILE")
    _check_audience(args)
    con = _open_for_reading(args.warehouse_file)
    try:
        _check_choices(args, con)
        suppress, own = _tables_audience(args, con)
        result = compute_study_tables(con, args.period, args.region, args.board)
        known = compute_study_tables(con, **own) if own else None
    finally:
        con.close()
    if suppress:
        from warehouse.disclosure import suppress_study_tables, threshold_from_env

        try:
            threshold = args.threshold or threshold_from_env()
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        result = suppress_study_tables(result, threshold, known=known)
    if args.format == "json":
        text = tables_json(result)
        if args.out:
            Path(args.out).write_text(text + "\n", encoding="utf-8")
        else:
            sys.stdout.write(text + "\n")
    elif args.format == "csv":
        if args.out:
            write_tables_csv(result, args.out)
        else:
            sys.stdout.write(tables_csv_text(result))
    elif args.format == "ees":
        written = write_tables_ees(result, args.out, audience=args.audience)
        _err("wrote " + ", ".join(str(w) for w in written))
        return EXIT_OK
    else:
        write_tables_xlsx(result, args.out, audience=args.audience)
    if args.out:
        _err(f"wrote {args.out}")
    return EXIT_OK


def cmd_codes(args: argparse.Namespace) -> int:
    """The valid choices for --period, --region and --board."""
    import polars as pl

    from warehouse.access.catalog import board_choices, period_choices, region_choices

    _check_region(args.region)
    if args.what != "boards" and (args.region or args.audience or args.scope):
        raise UsageError("--region, --audience and --scope are for `scr codes boards`")
    if args.audience is None and args.scope is not None:
        raise UsageError("--scope needs --audience")
    if args.audience == "public" and args.scope is not None:
        raise UsageError("--scope is for --audience regional or board")
    if args.audience == "regional":
        _check_region(args.scope, "scope")
    if args.what == "regions":
        listing = region_choices()
    else:
        con = _open_for_reading(args.warehouse_file)
        try:
            if args.what == "periods":
                listing = pl.DataFrame({"code": period_choices(con)}, schema={"code": pl.String})
            else:
                boards, _ = _audience_boards(args, board_choices(con))
                listing = boards.filter(
                    pl.lit(args.region is None) | pl.col("regions").list.contains(args.region)
                ).select("code", "name", "region", "region_label")
        finally:
            con.close()
    if args.format == "json":
        _say(json.dumps(listing.to_dicts(), indent=2))
        return EXIT_OK
    if args.format == "csv":
        from warehouse.safe_output import csv_bytes

        sys.stdout.buffer.write(csv_bytes(listing))
        sys.stdout.flush()
        return EXIT_OK
    # Text: aligned columns, one choice a line (for grep and head); the count on stderr.
    shown = listing.select(_printable(c) for c in listing.columns).fill_null("-")
    widths = {c: shown[c].str.len_chars().max() or 0 for c in shown.columns}
    line = pl.concat_str(
        [pl.col(c).str.pad_end(widths[c]) for c in shown.columns[:-1]]
        + [pl.col(shown.columns[-1])],
        separator="  ",
    )
    for text in shown.select(line.str.strip_chars_end().alias("line"))["line"]:
        _say(text)
    noun = {"boards": "board", "regions": "region", "periods": "period"}[args.what]
    where = f" with reviews coded to {args.region}" if args.region else ""
    if args.audience == "public":
        where = " (the public sees no board-level figures)"
    _err(f"{plural(listing.height, noun)}{where}")
    return EXIT_OK


def cmd_replicate(args: argparse.Namespace) -> int:
    from warehouse.replication import replication_report

    con = _open_for_reading(args.warehouse_file)
    try:
        _say(replication_report(con))
    finally:
        con.close()
    return EXIT_OK


def cmd_template(args: argparse.Namespace) -> int:
    from warehouse.template import write_template

    _say(f"wrote {write_template(Path(args.out))}")
    return EXIT_OK


def cmd_submissions(args: argparse.Namespace) -> int:
    con = _open_for_reading(args.warehouse_file)
    try:
        if args.action == "show":
            if not args.id:
                raise UsageError("scr submissions show needs a submission ID")
            rows = query_frame(
                con,
                "SELECT * FROM submissions WHERE submission_id = ? "
                "OR sha256 LIKE ? || '%' ORDER BY received_at",
                [args.id, args.id],
            )
            if rows.height == 0:
                _err(f"no submission {args.id!r}; `scr submissions` lists them")
                return EXIT_REJECTED
            for row in rows.iter_rows(named=True):
                report = json.loads(row.pop("report") or "{}")
                for key, value in row.items():
                    _say(f"{key:>20}: {value}")
                _say("              report:")
                for line in report.get("lines", []) or ["(no problems found)"]:
                    _say(f"    {line}")
                _say()
            return EXIT_OK
        rows = query_frame(
            con,
            "SELECT submission_id, received_at, original_name, submitted_by, status, "
            "n_reviews, n_children, n_recommendations, n_errors, n_warnings, "
            "n_notifications, n_action_updates FROM submissions ORDER BY received_at",
        )
    finally:
        con.close()
    if args.format == "json":
        _say(rows.write_json())
        return EXIT_OK
    if rows.height == 0:
        _say("no submissions yet")
        return EXIT_OK
    for row in rows.iter_rows(named=True):
        _say(
            f"{row['submission_id']}  {row['received_at']:%Y-%m-%d %H:%M:%S}  "
            f"{row['status']:<9} {row['original_name']:<36} by {row['submitted_by']}: "
            f"{plural(row['n_reviews'], 'review')}, "
            + "".join(  # a submission's tracking rows, when it had any
                f"{plural(row[f'n_{name}'], name)}, "
                for name in ("notifications", "action_updates")
                if row[f"n_{name}"]
            )
            + f"{plural(row['n_errors'], 'error')}, {plural(row['n_warnings'], 'warning')}"
        )
    return EXIT_OK


def _when(value: object) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S}" if value is not None else "(time not recorded)"


def cmd_history(args: argparse.Namespace) -> int:
    """Every version of a review and what changed in each, field by field."""
    import polars as pl

    from warehouse.history import ROW_NOUNS, notification_history, review_history

    con = _open_for_reading(args.warehouse_file)
    try:  # a review's versions, else a notification's (sent again, coding frame version 2)
        what, history = "review", review_history(con, args.review_id)
        if history is None:
            what, history = "notification", notification_history(con, args.review_id)
    finally:
        con.close()
    if history is None:
        raise UsageError(
            f"no review {args.review_id!r} has been loaded (nor a notification); "
            "`scr submissions show ID` lists a submission's problems"
        )
    versions, changes = history.versions, history.changes
    if args.format == "json":
        record = {
            f"{what}_id": history.review_id,
            "versions": versions.to_dicts(),
            "changes": changes.to_dicts(),
        }
        _say(json.dumps(record, indent=2, default=str))
        return EXIT_OK
    n_changed = changes.select(pl.struct("version", "sheet", "row_key").n_unique()).item()
    shown = versions.with_columns(_printable("original_name"), _printable("submitted_by"))
    _say(
        f"{what} {args.review_id}: {plural(versions.height, 'version')}; "
        + (f"{plural(n_changed, 'row')} changed" if versions.height > 1 else "never replaced")
    )
    # One line per change: a field changed "child TC-1: age_months 11 -> 40"; a row added or
    # removed with the fields it had "child TC-9 added: age_months=2, gender=male".
    text = {c: _printable(c) for c in ("row_key", "field", "old", "new")}
    lines = (
        changes.with_columns(
            pl.format(
                "{} {}", pl.col("sheet").replace_strict(ROW_NOUNS, default="row"), text["row_key"]
            ).alias("row"),
            pl.format(
                "{} {}: {} {} -> {}",
                pl.col("sheet").replace_strict(ROW_NOUNS, default="row"),
                text["row_key"],
                text["field"],
                text["old"].fill_null("(blank)"),
                text["new"].fill_null("(blank)"),
            ).alias("edit"),
            pl.format("{}={}", text["field"], pl.coalesce(text["old"], text["new"])).alias("pair"),
        )
        .group_by("version", "row", "change", maintain_order=True)
        .agg("edit", pl.col("pair").str.join(", "))
        .with_columns(
            pl.when(pl.col("change") == "changed")
            .then(pl.col("edit"))
            .otherwise(pl.concat_list(pl.format("{} {}: {}", "row", "change", "pair")))
            .alias("line")
        )
        .explode("line")
        .select("version", "line")
    )
    for v in shown.iter_rows(named=True):
        state = (
            "current"
            if v["current"]
            else f"replaced {_when(v['replaced_at'])} by {v['replaced_by']}"
        )
        _say(
            f"version {v['version']}: {v['submission_id']} ({v['original_name']}, "
            f"sent by {v['submitted_by'] or 'unknown'}), loaded {_when(v['loaded_at'])}; {state}"
        )
        if v["version"] > 1:
            changed = lines.filter(pl.col("version") == v["version"])["line"].to_list()
            _say(f"  changes from version {v['version'] - 1}:" if changed else "  no change")
            for line in changed:
                _say(f"    {line}")
    return EXIT_OK


def _read_new_password() -> str:
    """The new account's password: the first line of standard input when it is not a
    terminal (scripts, `make`), else typed twice at a hidden prompt. Never an argument:
    arguments are visible to every user in `ps` and kept in shell history."""
    import getpass

    from warehouse.accounts import MIN_PASSWORD_LENGTH

    if sys.stdin is None:
        raise UsageError("no standard input to read the password from")
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != password:
            raise UsageError("the two passwords differ; nothing was changed")
    else:
        password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UsageError(
            f"the password must have at least {MIN_PASSWORD_LENGTH} characters "
            "(read from standard input, or typed at the prompt)"
        )
    return password


def _scope_warnings(caught: list) -> None:
    for warning in caught:
        _err(f"scr: warning: {warning.message}")


def cmd_users(args: argparse.Namespace) -> int:
    import warnings

    from warehouse import accounts

    warehouse = args.warehouse_file
    if args.action == "add":
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", accounts.ScopeWarning)
                # Check name, role and scope before asking for a password to type.
                accounts.check_account(warehouse, args.name, args.role, args.scope)
                principal = accounts.add_user(
                    warehouse, args.name, args.role, args.scope, _read_new_password()
                )
        except accounts.UserExists as exc:
            _err(f"scr: {exc}")
            return EXIT_REJECTED
        except accounts.AccountError as exc:
            raise UsageError(str(exc)) from None
        scope_warnings = [w for w in caught if issubclass(w.category, accounts.ScopeWarning)]
        _scope_warnings(scope_warnings[:1])  # checked twice: say it once
        _say(f"added {principal.name} ({principal.describe()})")
        return EXIT_OK
    if args.action == "remove":
        if not accounts.remove_user(warehouse, args.name):
            _err(f"scr: no user {args.name!r}; `scr users list` lists them")
            return EXIT_REJECTED
        _say(f"removed {args.name}; their sessions end at once")
        return EXIT_OK
    if args.action == "demo":
        created = accounts.create_demo_accounts(warehouse)
        _say("Demo accounts (synthetic data only; new passwords each time):")
        rows = [("name", "role", "scope", "password")] + [
            (p.name, p.role, p.scope_code or "-", password) for p, password in created
        ]
        rows.append(("(none)", "public", "-", '"Continue without signing in"'))
        name_w, role_w, scope_w = (max(len(row[i]) for row in rows) for i in range(3))
        for name, role, scope, password in rows:
            _say(f"  {name:<{name_w}}  {role:<{role_w}}  {scope:<{scope_w}}  {password}")
        return EXIT_OK
    users = accounts.list_users(warehouse)
    if args.format == "json":
        _say(json.dumps(users, indent=2))
    elif not users:
        _say("no accounts yet; `scr users add NAME --role ROLE [--scope CODE]` adds one")
    else:
        for user in users:
            _say(
                f"{user['name']:<24} {user['role']:<9} {user['scope_code'] or '-':<18} "
                f"created {user['created_at'][:19].replace('T', ' ')} UTC"
            )
    return EXIT_OK


def _since(text: str | None):  # -> datetime | None
    from datetime import datetime

    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"--since {text!r} is not a date like 2026-01-31 (or 2026-01-31T09:00)"
        ) from None


def cmd_audit(args: argparse.Namespace) -> int:
    import polars as pl

    from warehouse import audit

    trail = audit.read(args.warehouse_file, _since(args.since)).with_columns(
        pl.col("at").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
    )
    if args.format == "json":
        _say(json.dumps(trail.to_dicts(), indent=2))
    elif args.format == "csv":
        from warehouse.safe_output import csv_bytes

        sys.stdout.buffer.write(csv_bytes(trail))
        sys.stdout.flush()
    elif trail.height == 0:
        _say("nothing recorded" + (f" since {args.since}" if args.since else ""))
    else:
        # "name (role scope)"; a typed username can hold terminal escapes: shown as "?".
        who = pl.concat_str(
            pl.col("name").fill_null("-"),
            pl.when(pl.col("role").is_not_null())
            .then(
                pl.format(" ({})", pl.concat_str("role", "scope", separator=" ", ignore_nulls=True))
            )
            .otherwise(pl.lit("")),
        )
        printable = trail.select("at", "action", who.alias("who"), "detail").with_columns(
            pl.col("action", "who", "detail").str.replace_all(r"[\p{Cc}\p{Cf}]", "?")
        )
        for row in printable.iter_rows(named=True):
            _say(f"{row['at']}  {row['action']:<14} {row['who']:<36} {row['detail']}")
    return EXIT_OK


def cmd_dashboard(args: argparse.Namespace) -> int:
    import dashboard

    app = Path(dashboard.__file__).with_name("app.py")
    env = {**os.environ, "SCR_WAREHOUSE": str(args.warehouse_file)}
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        "--server.port",
        str(args.port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
    # This machine only unless --address says otherwise (e.g. 0.0.0.0 behind a proxy).
    command += ["--server.address", args.address]
    host = f"[{args.address}]" if ":" in args.address else args.address
    everywhere = "  (every network interface)" if args.address in ("0.0.0.0", "::") else ""
    _say(f"SCR Observatory dashboard on http://{host}:{args.port}{everywhere}  (Ctrl+C to stop)")
    os.execvpe(command[0], command, env)
    return EXIT_OK  # pragma: no cover - exec does not return


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scr",
        description="SCR Observatory: load coded serious case review data, check it, and "
        "compute the 2001-03 study's tables for any period, region and board. "
        "Exit codes: 0 success, 1 a submission rejected, 2 usage error, 3 loaded but the "
        "marts or snapshot could not be refreshed (run `scr build --refresh`).",
    )
    parser.add_argument(
        "--warehouse",
        metavar="PATH",
        help="the DuckDB warehouse (default: $SCR_WAREHOUSE, else warehouse/scr.duckdb)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "build", help="ingest every sample submission (data_samples/) and materialise every asset"
    )
    p.add_argument(
        "--source",
        default=str(SAMPLE_SUBMISSIONS),
        help="folder of submissions (default: data_samples/submissions)",
    )
    p.add_argument("--submitted-by", default=None)
    p.add_argument(
        "--refresh",
        action="store_true",
        help="only republish the marts and the dashboard snapshot from the warehouse as it "
        "is (after exit code 3: loaded, but the refresh failed); ingests nothing",
    )
    p.set_defaults(func=cmd_build, writes=True)

    p = sub.add_parser(
        "ingest",
        help="load submissions (.xlsx workbooks or CSV folders) "
        "through the Dagster assets; exit 1 if any is rejected",
    )
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--submitted-by", default=None, help="who sent it (default: the OS user)")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=cmd_ingest, writes=True)

    p = sub.add_parser(
        "validate", help="check a submission without loading it; exit 1 if it would be rejected"
    )
    p.add_argument("path", metavar="PATH")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser(
        "upgrade",
        help="bring an older warehouse to this release's schema version: a backup copy "
        "first, then the pending migrations in one transaction",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="only list the pending migrations; change nothing"
    )
    p.set_defaults(func=cmd_upgrade, writes=True)

    from pipelines.agreement_cli import add_agreement_parser
    from pipelines.published_cli import add_published_parser

    add_agreement_parser(sub)
    add_published_parser(sub)
    from pipelines.report_cli import add_report_parser

    add_report_parser(sub)  # scr report: the biennial or a board report, .html or .pdf
    from pipelines.tracking_cli import add_tracking_parser

    add_tracking_parser(sub)  # scr tracking: stages, the clock and what is overdue

    p = sub.add_parser("tables", help="the study's Tables 2-20 for a selection")
    p.add_argument("--period", help="e.g. 2001-03 (default: all periods)")
    p.add_argument("--region", help="region code, e.g. london (default: England)")
    p.add_argument("--board", help="board code (default: all boards)")
    p.add_argument(
        "--format",
        choices=["json", "csv", "xlsx", "ees"],
        default="json",
        help="ees: an explore-education-statistics style data CSV with the published "
        "comparison and the selection, plus its metadata CSV (--out X.csv, or X.zip for both)",
    )
    p.add_argument(
        "--out", metavar="PATH", help="write to a file (default: stdout; required for xlsx, ees)"
    )
    p.add_argument(
        "--audience",
        choices=["public", "regional", "board"],
        help="who the tables are for (default: none, unsuppressed, for analysts who hold the "
        "warehouse). A selection outside the audience's own scope comes under disclosure "
        "control: counts of 1 to the threshold, and any other figure that would let one "
        "be worked out, are shown as c (with a note). public: national and --region tables, never "
        "--board; regional: its own --region (or --scope) and that region's boards in "
        "full; board: its own --board in full",
    )
    p.add_argument(
        "--scope",
        metavar="CODE",
        help="the audience's own region (regional) or board (board); default: the --region "
        "or --board selected. A selection containing it also hides counts the audience "
        "could recover by taking its own figures away",
    )
    p.add_argument(
        "--threshold",
        type=int,
        metavar="N",
        help="largest count shown as c (default: $SCR_DISCLOSURE_THRESHOLD, else 5)",
    )
    p.set_defaults(func=cmd_tables)

    p = sub.add_parser(
        "codes",
        help="what --period, --region and --board may be: boards (code, name, region), "
        "regions (the coding frame), periods (those with reviews in the warehouse)",
    )
    p.add_argument("what", choices=["boards", "regions", "periods"])
    p.add_argument("--region", help="boards: only those with reviews coded to this region")
    p.add_argument(
        "--audience",
        choices=["public", "regional", "board"],
        help="boards: only those the audience may see, as `scr tables --audience` (public: "
        "none; regional: its --scope region's; board: its own)",
    )
    p.add_argument("--scope", metavar="CODE", help="the audience's own region or board")
    p.add_argument("--format", choices=["text", "json", "csv"], default="text")
    p.set_defaults(func=cmd_codes)

    p = sub.add_parser("replicate", help="published 2001-03 figures beside the computed ones")
    p.set_defaults(func=cmd_replicate)

    p = sub.add_parser("template", help="write a blank submission workbook")
    p.add_argument("--out", required=True, metavar="FILE.xlsx")
    p.set_defaults(func=cmd_template)

    p = sub.add_parser("submissions", help="the submission ledger; `show ID` for one report")
    p.add_argument("action", nargs="?", choices=["list", "show"], default="list")
    p.add_argument("id", nargs="?")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=cmd_submissions)

    p = sub.add_parser(
        "history",
        help="every version of a review (or a notification): earlier ones replaced by "
        "corrected resubmissions, and the current one",
    )
    p.add_argument("review_id", metavar="REVIEW_ID", help="a review_id or a notification_id")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=cmd_history)

    p = sub.add_parser(
        "users",
        help="dashboard accounts: add, list, remove; demo creates one per role on the sample",
    )
    users = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = users.add_parser(
        "add",
        help="add an account; the password is read from standard input (first line) when it "
        "is not a terminal, else prompted twice; never an argument",
    )
    q.add_argument("name", metavar="NAME", help="2-64 characters of a-z 0-9 . _ -")
    q.add_argument(
        "--role",
        required=True,
        choices=["national", "regional", "board"],
        help="the public view needs no account",
    )
    q.add_argument("--scope", metavar="CODE", help="region code (regional) or board code (board)")
    q = users.add_parser("list", help="every account (never a password)")
    q.add_argument("--format", choices=["text", "json"], default="text")
    q = users.add_parser("remove", help="remove an account (its sessions end); exit 1 if absent")
    q.add_argument("name", metavar="NAME")
    users.add_parser(
        "demo",
        help="(re)create demo-national, demo-regional and demo-board with new passwords "
        "and print them",
    )
    p.set_defaults(func=cmd_users, format="text")

    p = sub.add_parser("audit", help="the audit trail: sign-ins, page views, downloads")
    p.add_argument("--since", metavar="DATE", help="e.g. 2026-01-31 (UTC; default: everything)")
    p.add_argument("--format", choices=["text", "json", "csv"], default="text")
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("dashboard", help="start the Streamlit dashboard")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument(
        "--address",
        default="127.0.0.1",
        help="the interface to listen on (default: 127.0.0.1, this machine only)",
    )
    p.set_defaults(func=cmd_dashboard)
    return parser


def _reader_gone() -> int:
    """The reader of our output stopped reading (`scr ... | head`): stop quietly, as other
    tools do. Python's recipe: point stdout at devnull, so the flush at exit cannot raise
    BrokenPipeError again and print a traceback."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_PIPE


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.warehouse_file = warehouse_path(args.warehouse)
    try:
        if getattr(args, "out", None):
            _check_out(args.out, args.warehouse_file)
        code = args.func(args)
        sys.stdout.flush()  # a reader gone away is found here, not at exit
        return code
    except BrokenPipeError:
        return _reader_gone()
    except UsageError as exc:
        parser.print_usage(sys.stderr)
        _err(f"scr: error: {exc}")
        return EXIT_USAGE
    except (FileNotFoundError, WarehouseError) as exc:
        _err(f"scr: {exc}")
        return EXIT_REJECTED
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # never a traceback for a user; SCR_DEBUG=1 shows it
        if os.environ.get("SCR_DEBUG"):
            raise
        # After an ingest's commit "nothing was changed" would be false: point to the ledger.
        changed = (
            "`scr submissions` shows what was loaded"
            if getattr(args, "writes", False)
            else "nothing was changed by the failed step"
        )
        _err(
            f"scr: internal error ({type(exc).__name__}): {exc}\n"
            f"{changed}; set SCR_DEBUG=1 for details"
        )
        return EXIT_REJECTED


def run() -> None:
    """The `scr` console script: the command, then a quick exit (pipelines.process)."""
    from pipelines.process import exit_now

    global _ONE_COMMAND
    _ONE_COMMAND = True
    exit_now(main())


if __name__ == "__main__":
    run()

"""Write-audit-publish for one submission, and the submission ledger.

1. receive: archive the file content-addressed and record it in the ledger;
2. stage: read, type and check it, writing typed rows to ``stg_*`` and problems to
   ``stg_issues`` (the core tables are not touched);
3. audit: the staged submission passes when it has no error;
4. publish: in ONE transaction, move earlier versions of resubmitted reviews to history,
   replace them, insert new reviews; likewise notifications sent again (by notification_id)
   and action updates sent again (by review_id, action_no, update_date), while new ones
   accumulate; and mark the ledger accepted; or reject: record the report and drop the
   staged rows. A failure anywhere leaves the core tables as they were.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from warehouse import checks
from warehouse.db import fault_point, query_frame
from warehouse.frame import frame
from warehouse.issues import (
    ERROR,
    WARNING,
    combine,
    issue,
    issues_json,
    report_lines,
    summarise,
)
from warehouse.schema import CORE_SHEETS, SUBMISSION_SHEETS, TRACKING_SHEETS, ensure_schema

ISSUE_FIELDS = "severity, sheet, row_number, column_name, value, rule, description, hint"


class SubmissionRejected(Exception):
    def __init__(self, submission_id: str, lines: list[str]):
        super().__init__("\n".join(lines))
        self.submission_id = submission_id
        self.lines = lines


class SubmissionChanged(RuntimeError):
    """The submitted file changed while it was being received."""


@dataclass(frozen=True)
class Receipt:
    submission_id: str
    sha256: str
    original_name: str
    source_kind: str
    archive_path: Path
    set_aside: Path | None = None  # an archived copy found altered, moved out of the way


HASH_CHUNK = 1024 * 1024


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file())


def _hash_into(digest: hashlib._Hash, path: Path, copy_to: Path | None = None) -> None:
    """Feed a file to the digest in chunks (never whole in memory), copying it if asked."""
    with open(path, "rb") as source:
        out = open(copy_to, "wb") if copy_to is not None else None
        try:
            while chunk := source.read(HASH_CHUNK):
                digest.update(chunk)
                if out is not None:
                    out.write(chunk)
        finally:
            if out is not None:
                out.close()


def _sha256(path: Path, copy_to: Path | None = None) -> str:
    """sha256 of a workbook, or of a CSV folder's file names and contents in name order;
    with ``copy_to``, the bytes hashed are the bytes copied (so the copy is what was hashed)."""
    digest = hashlib.sha256()
    if path.is_dir():
        if copy_to is not None:
            copy_to.mkdir()
        for item in _files(path):
            digest.update(item.name.encode() + b"\0")
            _hash_into(digest, item, copy_to / item.name if copy_to is not None else None)
            digest.update(b"\0")
    elif path.is_file():
        _hash_into(digest, path, copy_to)
    return digest.hexdigest()


def content_sha256(path: Path) -> str:
    """sha256 of a workbook, or of a CSV folder's file names and contents in name order."""
    return _sha256(path)


def partition_of(sha: str) -> str:
    """The Dagster partition of a submission's content (its sha256): the same content is
    the same partition."""
    return sha[:16]


def partition_key(path: Path) -> str:
    return partition_of(content_sha256(path))


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def archive(path: Path, archive_root: Path, sha: str) -> tuple[Path, Path | None]:
    """Keep the raw file forever, content-addressed; a good copy is never overwritten.

    An archived copy is trusted only if it still hashes to ``sha``: one edited since (the
    ledger would record one content and load another) is moved aside, kept for whoever
    edited it, and the file received now is archived in its place. Returns the archived
    copy and where an altered one was set aside, if any.
    """
    archive_root.mkdir(parents=True, exist_ok=True)
    suffix = "" if path.is_dir() else (path.suffix.lower() or ".bin")
    target = archive_root / f"{sha}{suffix}"
    set_aside = None
    if target.exists() and content_sha256(target) != sha:
        set_aside = target.with_name(f"{target.name}.altered-{dt.datetime.now():%Y%m%dT%H%M%S%f}")
        target.rename(set_aside)
    if not target.exists():
        tmp = archive_root / f".{sha}{suffix}.tmp"
        _remove(tmp)
        try:
            copied = _sha256(path, copy_to=tmp)
            if copied != sha:
                raise SubmissionChanged(
                    f"{path.name} changed while it was being received; send it again "
                    "once nothing is writing to it"
                )
            tmp.rename(target)
        finally:
            _remove(tmp)
    return target, set_aside


def receive(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    archive_root: Path,
    submitted_by: str | None = None,
    run_id: str | None = None,
    sha: str | None = None,
) -> Receipt:
    """Archive and record a submission. ``sha``: its content's sha256 when the caller has
    just computed it (a national submission is some 350 MB a pass); the archived copy is
    checked against it either way."""
    ensure_schema(con)
    path = Path(path)
    sha = sha or content_sha256(path)
    kind = "csv" if path.is_dir() else (path.suffix.lower().lstrip(".") or "unknown")
    stored, set_aside = (
        archive(path, archive_root, sha) if path.exists() else (archive_root / sha, None)
    )
    now = dt.datetime.now()
    submission_id = f"S{now:%Y%m%d%H%M%S%f}-{sha[:8]}"
    con.execute(
        "INSERT INTO submissions (submission_id, sha256, original_name, source_kind, "
        "archive_path, received_at, submitted_by, run_id, status) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'received')",
        [
            submission_id,
            sha,
            path.name,
            kind,
            str(stored),
            now,
            submitted_by or getpass.getuser(),
            run_id,
        ],
    )
    fault_point("received")
    return Receipt(submission_id, sha, path.name, kind, stored, set_aside)


def merge_issues(found: pl.DataFrame, extra: pl.DataFrame) -> pl.DataFrame:
    """Add issues, skipping any at a cell that already has an error (the first is clearer)."""
    key = ["sheet", "row_number", "column_name"]
    reported = found.filter(pl.col("severity") == ERROR).select(key).unique()
    return combine([found, extra.join(reported, on=key, how="anti", nulls_equal=True)])


def check_submission(
    con: duckdb.DuckDBPyConnection | None, path: Path
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """Read, type and check a submission with the check registry's fast checker: typed
    frames and every issue found (the GX suites run in the pipeline's blocking check)."""
    return checks.check_submission(con, path)


# Rows of a sheet staged, or read back from staging, at a time (see stage, staged_sheets).
STAGED_SLICE = 250_000


def stage(con: duckdb.DuckDBPyConnection, receipt: Receipt) -> dict[str, int]:
    """Read and check the archived copy into stg_* and stg_issues, in one transaction."""
    sheets, found = check_submission(con, receipt.archive_path)
    if receipt.set_aside is not None:
        found = combine(
            [
                found,
                issue(
                    "archive_altered",
                    f"the archived copy of this content had been altered since it was "
                    f"archived; it was set aside as {receipt.set_aside.name} and the file "
                    "received now was archived and checked in its place",
                    severity=WARNING,
                ),
            ]
        )
    cf = frame()
    counts = {name: sheets[name].height for name in SUBMISSION_SHEETS}
    con.begin()
    try:
        for name in SUBMISSION_SHEETS:
            con.execute(f"DELETE FROM stg_{name} WHERE submission_id = ?", [receipt.submission_id])
            columns = cf.sheets[name].column_names
            # Each sheet is let go once staged, and handed to DuckDB a slice at a time, so
            # a national submission's frames and DuckDB's copy of them peak together less.
            typed = sheets.pop(name)
            for start in range(0, max(typed.height, 1), STAGED_SLICE):
                rows = typed.slice(start, STAGED_SLICE).select(
                    *columns,
                    pl.lit(receipt.submission_id).alias("submission_id"),
                    pl.col("_row").alias("row_number"),
                )
                # As Arrow string views, which DuckDB scans as they are: a polars frame
                # registered directly is first copied to large strings (2M recommendations:
                # 370 MB more, and slower).
                con.register("staged_rows", rows.to_arrow(compat_level=pl.CompatLevel.newest()))
                con.execute(f"INSERT INTO stg_{name} BY NAME SELECT * FROM staged_rows")
                con.unregister("staged_rows")
                del rows
            del typed
        con.execute("DELETE FROM stg_issues WHERE submission_id = ?", [receipt.submission_id])
        issues = found.with_columns(pl.lit(receipt.submission_id).alias("submission_id"))
        con.register("staged_issues", issues)
        con.execute(
            f"INSERT INTO stg_issues (submission_id, {ISSUE_FIELDS}) "
            f"SELECT submission_id, {ISSUE_FIELDS} FROM staged_issues"
        )
        con.unregister("staged_issues")
        con.execute(
            "UPDATE submissions SET status = 'staged' WHERE submission_id = ?",
            [receipt.submission_id],
        )
        fault_point("stage")
        con.commit()
    except Exception:
        con.rollback()
        raise
    return _shown_counts(counts) | summarise(found)


def _shown_counts(counts: dict[str, int]) -> dict[str, int]:
    """Row counts as reported: the review sheets always, the tracking sheets when the
    submission holds any of their rows (a version 1 submission reports as it always did)."""
    tracking = any(counts.get(name) for name in TRACKING_SHEETS)
    return {k: v for k, v in counts.items() if k in CORE_SHEETS or tracking}


def _quoted(columns: list[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def staged_sheets(
    con: duckdb.DuckDBPyConnection, submission_id: str, names: tuple[str, ...] = SUBMISSION_SHEETS
) -> dict[str, pl.DataFrame]:
    """The typed rows of a staged submission, with ``_row`` as when they were read.

    Read a slice of row numbers at a time: DuckDB's result and its Arrow copy then only
    ever hold one slice beside the frame being built, rather than a second copy of a
    national submission's two million recommendations (which set the ingest's peak)."""
    cf = frame()

    def read(name: str) -> pl.DataFrame:
        columns = _quoted(cf.sheets[name].column_names)
        last = con.execute(
            f"SELECT coalesce(max(row_number), 0) FROM stg_{name} WHERE submission_id = ?",
            [submission_id],
        ).fetchall()[0][0]
        return pl.concat(
            [
                query_frame(
                    con,
                    f"SELECT row_number AS _row, {columns} FROM stg_{name} "
                    "WHERE submission_id = ? AND row_number >= ? AND row_number < ? "
                    "ORDER BY row_number",
                    [submission_id, start, start + STAGED_SLICE],
                )
                for start in range(0, last + 1, STAGED_SLICE)
            ]
        )

    return {name: read(name) for name in names}


def audit_expectations(con: duckdb.DuckDBPyConnection, submission_id: str) -> pl.DataFrame:
    """Run the GX suites on the staged rows; record new problems in stg_issues."""
    from warehouse.expectations import expectation_issues

    # Read when GX needs them (again only if it finds a problem): see expectation_issues.
    found = expectation_issues(lambda: staged_sheets(con, submission_id), con)
    existing = staged_issues(con, submission_id)
    new = merge_issues(existing, found).slice(existing.height)
    if new.height:
        con.register("gx_issues", new.with_columns(pl.lit(submission_id).alias("submission_id")))
        con.execute(
            f"INSERT INTO stg_issues (submission_id, {ISSUE_FIELDS}) "
            f"SELECT submission_id, {ISSUE_FIELDS} FROM gx_issues"
        )
        con.unregister("gx_issues")
    return found


def staged_issues(con: duckdb.DuckDBPyConnection, submission_id: str) -> pl.DataFrame:
    return query_frame(
        con,
        f"SELECT {ISSUE_FIELDS} FROM stg_issues WHERE submission_id = ? "
        "ORDER BY severity, sheet, column_name, row_number",
        [submission_id],
    )


def recorded_issues(con: duckdb.DuckDBPyConnection, submission_id: str) -> pl.DataFrame:
    return query_frame(
        con,
        f"SELECT {ISSUE_FIELDS} FROM submission_issues WHERE submission_id = ? "
        "ORDER BY severity, sheet, column_name, row_number",
        [submission_id],
    )


def _report(status: str, counts: dict[str, int], issues: pl.DataFrame) -> str:
    return json.dumps(
        {
            "status": status,
            "counts": counts,
            "summary": summarise(issues),
            "lines": report_lines(issues),
            "issues": issues_json(issues),
        }
    )


def _staged_counts(
    con: duckdb.DuckDBPyConnection,
    submission_id: str,
    names: tuple[str, ...] = SUBMISSION_SHEETS,
) -> dict[str, int]:
    return {
        name: con.execute(
            f"SELECT count(*) FROM stg_{name} WHERE submission_id = ?", [submission_id]
        ).fetchall()[0][0]
        for name in names
    }


def _clear_staging(con: duckdb.DuckDBPyConnection, submission_id: str) -> None:
    for name in (*[f"stg_{s}" for s in SUBMISSION_SHEETS], "stg_issues"):
        con.execute(f"DELETE FROM {name} WHERE submission_id = ?", [submission_id])


def _record(
    con: duckdb.DuckDBPyConnection,
    submission_id: str,
    status: str,
    counts: dict[str, int],
    issues: pl.DataFrame,
    review_counts: dict[str, int],
    tracking_counts: dict[str, dict[str, int]] | None = None,
) -> None:
    summary = summarise(issues)
    tracking_counts = tracking_counts or {}
    tracking = [
        value
        for name in TRACKING_SHEETS
        for value in (
            counts[name],
            *(tracking_counts.get(name, {}).get(k) for k in ("new", "replaced", "unchanged")),
        )
    ]
    con.execute(
        "UPDATE submissions SET status = ?, decided_at = ?, n_reviews = ?, n_children = ?, "
        "n_recommendations = ?, n_actions = ?, n_reviews_new = ?, n_reviews_replaced = ?, "
        "n_reviews_unchanged = ?, n_errors = ?, n_warnings = ?, report = ?, "
        "n_notifications = ?, n_notifications_new = ?, n_notifications_replaced = ?, "
        "n_notifications_unchanged = ?, n_action_updates = ?, n_action_updates_new = ?, "
        "n_action_updates_replaced = ?, n_action_updates_unchanged = ? "
        "WHERE submission_id = ?",
        [
            status,
            dt.datetime.now(),
            counts["reviews"],
            counts["children"],
            counts["recommendations"],
            counts["actions"],
            review_counts.get("new"),
            review_counts.get("replaced"),
            review_counts.get("unchanged"),
            summary["errors"],
            summary["warnings"],
            _report(status, _shown_counts(counts), issues),
            *tracking,
            submission_id,
        ],
    )
    con.execute("DELETE FROM submission_issues WHERE submission_id = ?", [submission_id])
    con.execute(
        f"INSERT INTO submission_issues (submission_id, {ISSUE_FIELDS}) "
        f"SELECT submission_id, {ISSUE_FIELDS} FROM stg_issues WHERE submission_id = ?",
        [submission_id],
    )


def reject(
    con: duckdb.DuckDBPyConnection, submission_id: str, extra: pl.DataFrame | None = None
) -> list[str]:
    """Record the rejection and its report; drop the staged rows. Core tables untouched."""
    con.begin()
    try:
        if extra is not None and extra.height:
            con.register(
                "extra_issues", extra.with_columns(pl.lit(submission_id).alias("submission_id"))
            )
            con.execute(
                f"INSERT INTO stg_issues (submission_id, {ISSUE_FIELDS}) "
                f"SELECT submission_id, {ISSUE_FIELDS} FROM extra_issues"
            )
            con.unregister("extra_issues")
        issues = staged_issues(con, submission_id)
        _record(con, submission_id, "rejected", _staged_counts(con, submission_id), issues, {})
        _clear_staging(con, submission_id)
        con.commit()
    except Exception:
        con.rollback()
        raise
    return report_lines(issues)


def _review_fingerprints(con: duckdb.DuckDBPyConnection, prefix: str, where: str) -> str:
    """SQL giving one content hash per review over all four sheets (ids, not load metadata)."""
    cf = frame()
    parts = []
    for name in CORE_SHEETS:
        columns = ", ".join(f'"{c}"' for c in cf.sheets[name].column_names)
        key = ", ".join(cf.sheets[name].key)
        parts.append(
            f"SELECT review_id, '{name}' AS sheet, "
            f"string_agg(to_json(struct_pack({columns}))::VARCHAR, '|' ORDER BY {key}) AS body "
            f"FROM {prefix}{name} WHERE {where} GROUP BY review_id"
        )
    return (
        f"SELECT review_id, md5(string_agg(sheet || ':' || body, '#' ORDER BY sheet)) AS fp "
        f"FROM ({' UNION ALL '.join(parts)}) GROUP BY review_id"
    )


def _keyed_changes(con: duckdb.DuckDBPyConnection, name: str, submission_id: str) -> None:
    """Temp table ``{name}_changes``: each staged row's key and whether it is new, replaces
    a loaded row of the same key, or is the same as the loaded one (a resend)."""
    sheet = frame().sheets[name]
    columns = ", ".join(f'"{c}"' for c in sheet.column_names)
    key = ", ".join(f'"{k}"' for k in sheet.key)
    body = f"md5(to_json(struct_pack({columns}))::VARCHAR)"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {name}_changes AS "
        f"WITH s AS (SELECT {key}, {body} AS fp FROM stg_{name} WHERE submission_id = $sid), "
        f"l AS (SELECT {key}, {body} AS fp FROM {name} WHERE ({key}) IN (SELECT ({key}) FROM s)) "
        f"SELECT {', '.join(f's.{k}' for k in sheet.key)}, CASE WHEN l.fp IS NULL THEN 'new' "
        "WHEN l.fp = s.fp THEN 'unchanged' ELSE 'replaced' END AS change "
        f"FROM s LEFT JOIN l USING ({key})",
        {"sid": submission_id},
    )


def _promote(
    con: duckdb.DuckDBPyConnection,
    name: str,
    submission_id: str,
    now: dt.datetime,
    key: str,
    changes: str,
) -> None:
    """Move the loaded rows of ``name`` whose ``key`` the ``changes`` table marks replaced to
    ``{name}_history``, then insert the staged rows marked new or replaced."""
    columns = ", ".join(f'"{c}"' for c in frame().sheets[name].column_names)
    replaced = f"({key}) IN (SELECT ({key}) FROM {changes} WHERE change = 'replaced')"
    con.execute(
        f"INSERT INTO {name}_history ({columns}, submission_id, replaced_at, replaced_by) "
        f"SELECT {columns}, submission_id, ?, ? FROM {name} WHERE {replaced}",
        [now, submission_id],
    )
    con.execute(f"DELETE FROM {name} WHERE {replaced}")
    con.execute(
        f"INSERT INTO {name} ({columns}, submission_id) "
        f"SELECT {columns}, submission_id FROM stg_{name} WHERE submission_id = ? "
        f"AND ({key}) IN (SELECT ({key}) FROM {changes} WHERE change <> 'unchanged') "
        "ORDER BY row_number",
        [submission_id],
    )


def _publish_keyed(
    con: duckdb.DuckDBPyConnection, name: str, submission_id: str, now: dt.datetime
) -> dict[str, int]:
    """Publish a tracking sheet: rows accumulate; a row whose key is already loaded replaces
    it (the earlier row to history) unless it is the same (then nothing changes)."""
    _keyed_changes(con, name, submission_id)
    key = ", ".join(f'"{k}"' for k in frame().sheets[name].key)
    _promote(con, name, submission_id, now, key, f"{name}_changes")
    found = dict(
        con.execute(f"SELECT change, count(*) FROM {name}_changes GROUP BY change").fetchall()
    )
    con.execute(f"DROP TABLE {name}_changes")
    return {k: int(found.get(k, 0)) for k in ("new", "replaced", "unchanged")}


def publish(con: duckdb.DuckDBPyConnection, submission_id: str) -> dict[str, int]:
    """Promote a staged, audited submission into the core tables in one transaction."""
    con.begin()
    try:
        status = con.execute(
            "SELECT status FROM submissions WHERE submission_id = ?", [submission_id]
        ).fetchall()
        if status != [("staged",)]:
            # e.g. closed as interrupted by another process: its staged rows are gone.
            found = status[0][0] if status else "not in the ledger"
            raise SubmissionRejected(
                submission_id,
                [f"[ERROR] file: the submission is {found}, not staged; ingest it again"],
            )
        errors = con.execute(
            "SELECT count(*) FROM stg_issues WHERE submission_id = ? AND severity = ?",
            [submission_id, ERROR],
        ).fetchall()[0][0]
        if errors:
            raise SubmissionRejected(submission_id, report_lines(staged_issues(con, submission_id)))
        # Re-run the registry's ownership checks inside the transaction: another submission
        # may have landed since this one was checked.
        tracking = sum(_staged_counts(con, submission_id, TRACKING_SHEETS).values())
        # The tracking sheets' checks also read the staged actions; without tracking rows,
        # reviews and children are all the ownership checks read.
        clash = checks.warehouse_issues(
            con,
            staged_sheets(
                con, submission_id, SUBMISSION_SHEETS if tracking else ("reviews", "children")
            ),
        )
        if clash.height:
            raise SubmissionRejected(submission_id, report_lines(clash))
        # The submission id is a bound parameter ($sid), like every value in this module.
        # Only reviews already loaded need a fingerprint (the rest are new): a national
        # first submission hashes nothing.
        loaded_fp = _review_fingerprints(
            con,
            "",
            "review_id IN (SELECT review_id FROM stg_reviews WHERE submission_id = $sid)",
        )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE loaded_fp AS {loaded_fp}", {"sid": submission_id}
        )
        staged_fp = _review_fingerprints(
            con, "stg_", "submission_id = $sid AND review_id IN (SELECT review_id FROM loaded_fp)"
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE review_changes AS "
            f"SELECT s.review_id, CASE WHEN l.review_id IS NULL THEN 'new' "
            f"WHEN l.fp = f.fp THEN 'unchanged' ELSE 'replaced' END AS change "
            "FROM (SELECT DISTINCT review_id FROM stg_reviews WHERE submission_id = $sid) s "
            f"LEFT JOIN loaded_fp l USING (review_id) LEFT JOIN ({staged_fp}) f USING (review_id)",
            {"sid": submission_id},
        )
        con.execute("DROP TABLE loaded_fp")
        now = dt.datetime.now()
        for name in CORE_SHEETS:  # a review's rows in every sheet follow the review
            _promote(con, name, submission_id, now, "review_id", "review_changes")
        tracking_counts = {
            name: _publish_keyed(con, name, submission_id, now) for name in TRACKING_SHEETS
        }
        fault_point("publish")
        review_counts = dict(
            con.execute("SELECT change, count(*) FROM review_changes GROUP BY change").fetchall()
        )
        review_counts = {k: int(review_counts.get(k, 0)) for k in ("new", "replaced", "unchanged")}
        con.execute("DROP TABLE review_changes")
        counts = _staged_counts(con, submission_id)
        _record(
            con,
            submission_id,
            "accepted",
            counts,
            staged_issues(con, submission_id),
            review_counts,
            tracking_counts,
        )
        _clear_staging(con, submission_id)
        con.commit()
    except Exception:
        con.rollback()
        raise
    fault_point("published")
    shown = _shown_counts(counts)
    return (
        shown
        | review_counts
        | {
            f"{name}_{change}": n
            for name, changes in tracking_counts.items()
            if name in shown
            for change, n in changes.items()
        }
    )


def recover_interrupted(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Close ledger entries of ingests that died before a decision (e.g. a killed process).

    Their staged rows are dropped; the core tables were never touched, since publishing is
    one transaction. Call only while holding the writer lock.
    """
    stale = [
        row[0]
        for row in con.execute(
            "SELECT submission_id FROM submissions WHERE status IN ('received', 'staged')"
        ).fetchall()
    ]
    for submission_id in stale:
        con.begin()
        try:
            _clear_staging(con, submission_id)
            con.execute(
                "UPDATE submissions SET status = 'interrupted', decided_at = ?, report = ? "
                "WHERE submission_id = ?",
                [
                    dt.datetime.now(),
                    json.dumps(
                        {
                            "status": "interrupted",
                            "lines": [
                                "the ingest stopped before a decision; nothing was loaded from it"
                            ],
                        }
                    ),
                    submission_id,
                ],
            )
            con.commit()
        except Exception:
            con.rollback()
            raise
    return stale


def submission_for_run(con: duckdb.DuckDBPyConnection, run_id: str) -> str | None:
    rows = con.execute(
        "SELECT submission_id FROM submissions WHERE run_id = ? ORDER BY received_at DESC LIMIT 1",
        [run_id],
    ).fetchall()
    return rows[0][0] if rows else None


def ledger_row(con: duckdb.DuckDBPyConnection, submission_id: str) -> dict[str, object]:
    rows = query_frame(con, "SELECT * FROM submissions WHERE submission_id = ?", [submission_id])
    return rows.row(0, named=True) if rows.height else {}


def review_versions(con: duckdb.DuckDBPyConnection, review_id: str) -> pl.DataFrame:
    """Every version of a review: earlier ones from the history tables, then the current one.

    Each row says which submission loaded that version and when, for earlier versions when
    and by which submission it was replaced, and how many rows it had in each sheet.
    """

    def row_counts(suffix: str) -> str:
        return ", ".join(
            f"(SELECT count(*) FROM {sheet}{suffix} x WHERE x.review_id = r.review_id "
            f"AND x.submission_id = r.submission_id) AS n_{sheet}"
            for sheet in ("children", "recommendations", "actions")
        )

    return query_frame(
        con,
        f"""
        SELECT 'earlier' AS version, r.submission_id AS loaded_by, s.decided_at AS loaded_at,
               r.replaced_by, r.replaced_at, r.board_code, r.period, r.incident_date,
               r.report_date, r.recommendations_total, {row_counts("_history")}
        FROM reviews_history r LEFT JOIN submissions s USING (submission_id)
        WHERE r.review_id = $review_id
        UNION ALL
        SELECT 'current', r.submission_id, s.decided_at, NULL, NULL, r.board_code, r.period,
               r.incident_date, r.report_date, r.recommendations_total, {row_counts("")}
        FROM reviews r LEFT JOIN submissions s USING (submission_id)
        WHERE r.review_id = $review_id
        ORDER BY loaded_at NULLS FIRST
        """,
        {"review_id": review_id},
    )

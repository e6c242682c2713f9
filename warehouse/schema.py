"""Warehouse DDL, derived from the coding frame.

Layers (jaffle_shop style):
- ``ref_*``: the coding frame itself (code lists and column metadata), so SQL can join labels
  and list every code, zero counts included.
- ``stg_*``: one staged submission at a time (write-audit-publish: stage, check, promote).
- core tables ``reviews``, ``children``, ``recommendations``, ``actions``: what is published.
- tracking tables ``notifications``, ``action_updates`` (coding frame version 2): notified
  incidents and progress reports on action points.
- ``*_history``: earlier versions of reviews replaced by a corrected resubmission, of
  notifications sent again, and of action updates sent again under the same key.
- ``submissions`` / ``submission_issues``: the ledger of every submission received.
- ``schema_migrations``: the schema version, one row per migration applied.
- ``published_national_series`` / ``published_submissions``: real published national figures
  (not synthetic), each with its source and quote, and the files they came from.

This is the live DDL: what the code expects. Warehouses are created and upgraded by the
numbered migrations in ``warehouse/migrations/``; a test fails when the two differ, so a
change here (or in the coding frame's columns) needs a new migration.
"""

from __future__ import annotations

import hashlib

import duckdb
import polars as pl

from warehouse.frame import REVIEW_SHEETS, TRACKING_SHEETS, CodingFrame, frame

# The four review-keyed sheets (version 1), the tracking sheets (version 2), and every sheet
# a submission may hold, each staged and published the same way.
CORE_SHEETS = REVIEW_SHEETS
SUBMISSION_SHEETS = (*CORE_SHEETS, *TRACKING_SHEETS)
# Ledger counts added by migration 4, after the version 1 columns.
TRACKING_COUNTS = (
    "n_notifications",
    "n_notifications_new",
    "n_notifications_replaced",
    "n_notifications_unchanged",
    "n_action_updates",
    "n_action_updates_new",
    "n_action_updates_replaced",
    "n_action_updates_unchanged",
)
ISSUE_COLUMNS = (
    "submission_id VARCHAR NOT NULL, severity VARCHAR NOT NULL, sheet VARCHAR, "
    "row_number INTEGER, column_name VARCHAR, value VARCHAR, rule VARCHAR NOT NULL, "
    "description VARCHAR NOT NULL, hint VARCHAR"
)


def frame_columns_ddl(cf: CodingFrame, sheet: str, *, added: bool = False) -> str:
    """A sheet's columns as DDL: for a version 1 sheet, those it had at version 1 (or, with
    ``added``, those later versions added, which a migration appended to its tables after
    the load columns). A sheet new in a later version has all its columns at once."""
    first = 1 if sheet in CORE_SHEETS else max(c.since for c in cf.sheets[sheet].columns)
    columns = [c for c in cf.sheets[sheet].columns if (c.since > first) == added]
    return ", ".join(f'"{c.name}" {c.sql_type}' for c in columns)


def sheet_table_ddl(cf: CodingFrame, sheet: str) -> list[str]:
    """The published table, its staging table and its history table for one sheet."""
    cols = frame_columns_ddl(cf, sheet)
    later = frame_columns_ddl(cf, sheet, added=True)
    tail = f", {later}" if later else ""
    return [
        f"CREATE TABLE IF NOT EXISTS {sheet} ({cols}, submission_id VARCHAR NOT NULL{tail})",
        f"CREATE TABLE IF NOT EXISTS stg_{sheet} ({cols}, submission_id VARCHAR NOT NULL, "
        f"row_number INTEGER{tail})",
        f"CREATE TABLE IF NOT EXISTS {sheet}_history ({cols}, submission_id VARCHAR NOT NULL, "
        f"replaced_at TIMESTAMP NOT NULL, replaced_by VARCHAR NOT NULL{tail})",
    ]


def ddl_statements(cf: CodingFrame | None = None) -> list[str]:
    cf = cf or frame()
    statements = [
        "CREATE TABLE IF NOT EXISTS ref_codes (list_name VARCHAR, ordinal INTEGER, "
        "code VARCHAR, label VARCHAR)",
        "CREATE TABLE IF NOT EXISTS ref_columns (sheet VARCHAR, ordinal INTEGER, "
        "name VARCHAR, type VARCHAR, code_list VARCHAR, required BOOLEAN, label VARCHAR, "
        "note VARCHAR)",
        "CREATE TABLE IF NOT EXISTS warehouse_meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
        "CREATE TABLE IF NOT EXISTS submissions ("
        "submission_id VARCHAR PRIMARY KEY, sha256 VARCHAR NOT NULL, "
        "original_name VARCHAR NOT NULL, source_kind VARCHAR NOT NULL, "
        "archive_path VARCHAR, received_at TIMESTAMP NOT NULL, submitted_by VARCHAR, "
        "run_id VARCHAR, "
        "status VARCHAR NOT NULL, decided_at TIMESTAMP, n_reviews INTEGER, "
        "n_children INTEGER, n_recommendations INTEGER, n_actions INTEGER, "
        "n_reviews_new INTEGER, n_reviews_replaced INTEGER, n_reviews_unchanged INTEGER, "
        "n_errors INTEGER, n_warnings INTEGER, report VARCHAR, "
        + ", ".join(f"{c} INTEGER" for c in TRACKING_COUNTS)
        + ")",
        f"CREATE TABLE IF NOT EXISTS submission_issues ({ISSUE_COLUMNS})",
        f"CREATE TABLE IF NOT EXISTS stg_issues ({ISSUE_COLUMNS})",
    ]
    statements.append(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
        "name VARCHAR NOT NULL, checksum VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL, "
        "release VARCHAR NOT NULL, note VARCHAR)"
    )
    for sheet in SUBMISSION_SHEETS:
        statements += sheet_table_ddl(cf, sheet)
    # Migration 3: real published national figures, apart from the coded data, and their
    # own ledger (warehouse/published.py).
    statements += [
        "CREATE TABLE IF NOT EXISTS published_national_series (series VARCHAR NOT NULL, "
        "period VARCHAR NOT NULL, measure VARCHAR NOT NULL, value DOUBLE NOT NULL, "
        "unit VARCHAR NOT NULL, source_title VARCHAR NOT NULL, source_url VARCHAR NOT NULL, "
        "quote VARCHAR NOT NULL, source_kind VARCHAR NOT NULL, quote_match VARCHAR NOT NULL, "
        "used BOOLEAN NOT NULL, used_reason VARCHAR NOT NULL, origin VARCHAR NOT NULL, "
        "submission_id VARCHAR NOT NULL, row_number INTEGER NOT NULL, "
        "loaded_at TIMESTAMP NOT NULL)",
        "CREATE TABLE IF NOT EXISTS published_submissions (submission_id VARCHAR PRIMARY KEY, "
        "sha256 VARCHAR NOT NULL, original_name VARCHAR NOT NULL, origin VARCHAR NOT NULL, "
        "archive_path VARCHAR, received_at TIMESTAMP NOT NULL, submitted_by VARCHAR, "
        "n_rows INTEGER NOT NULL, report VARCHAR)",
    ]
    return statements


def _frame_fingerprint(cf: CodingFrame) -> str:
    return hashlib.sha256(repr(cf).encode()).hexdigest()


def ensure_schema(con: duckdb.DuckDBPyConnection, cf: CodingFrame | None = None) -> None:
    """Bring the connection's database to the latest schema version (pending migrations in
    one transaction, no backup: files are upgraded by ``migrations.upgrade``, which keeps
    one) and refresh the ref_* tables from the coding frame.

    Cheap when nothing changed: the frame's fingerprint is kept in warehouse_meta, so every
    writing connection can call this.
    """
    from warehouse.migrations import apply_pending

    cf = cf or frame()
    apply_pending(con)
    fingerprint = _frame_fingerprint(cf)
    done = con.execute(
        "SELECT value FROM warehouse_meta WHERE key = 'frame_fingerprint'"
    ).fetchall()
    if done and done[0][0] == fingerprint:
        return
    con.begin()
    try:
        codes = pl.DataFrame(
            [
                (list_name, i, c.code, c.label)
                for list_name, items in cf.code_lists.items()
                for i, c in enumerate(items, start=1)
            ],
            schema=["list_name", "ordinal", "code", "label"],
            orient="row",
        )
        columns = pl.DataFrame(
            [
                (sheet.name, i, c.name, c.type, c.codes, c.required, c.title, c.note)
                for sheet in cf.sheets.values()
                for i, c in enumerate(sheet.columns, start=1)
            ],
            schema=["sheet", "ordinal", "name", "type", "code_list", "required", "label", "note"],
            orient="row",
        )
        con.execute("DELETE FROM ref_codes")
        con.register("frame_codes", codes)
        con.execute("INSERT INTO ref_codes BY NAME SELECT * FROM frame_codes")
        con.unregister("frame_codes")
        con.execute("DELETE FROM ref_columns")
        con.register("frame_columns", columns)
        con.execute("INSERT INTO ref_columns BY NAME SELECT * FROM frame_columns")
        con.unregister("frame_columns")
        con.execute(
            "INSERT OR REPLACE INTO warehouse_meta VALUES ('coding_frame_version', ?)",
            [str(cf.version)],
        )
        con.execute(
            "INSERT OR REPLACE INTO warehouse_meta VALUES ('frame_fingerprint', ?)",
            [fingerprint],
        )
        con.commit()
    except Exception:
        con.rollback()
        raise

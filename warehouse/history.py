"""What changed between the versions of a review (or of a notification), field by field
(``scr history``).

A corrected resubmission replaces a review whole: the rows it had in every sheet move to
``<sheet>_history`` (with the submission that replaced them) and the new rows take their
place. The versions of a review are therefore its history rows grouped by the submission
that loaded them, then its current rows; consecutive versions are compared row by row (by the
sheet's key in the coding frame) and field by field, all in polars: every version's rows are
unpivoted to (version, row key, field, value) and each version is joined to the one before.
A notification sent again (coding frame version 2) is replaced the same way, one row in
``notifications_history`` per earlier version, and compared the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from warehouse.db import query_frame
from warehouse.frame import frame
from warehouse.schema import CORE_SHEETS

# Columns compared in no sheet: the review (or notification) a row belongs to, the same in
# every version, and the submission that loaded it (a new one in every version, shown with
# the version).
NOT_COMPARED = ("review_id", "submission_id")
# Each kind of record with versions: (table of its current rows, its id column).
RECORDS = {"review": ("reviews", "review_id"), "notification": ("notifications", "notification_id")}
CHANGE_ORDER = {"changed": 0, "added": 1, "removed": 2}
# What one row of each sheet is called.
ROW_NOUNS = {
    "reviews": "review",
    "children": "child",
    "recommendations": "recommendation",
    "actions": "action",
    "notifications": "notification",
}

CHANGE_SCHEMA = {
    "version": pl.Int64,
    "sheet": pl.String,
    "row_key": pl.String,
    "change": pl.String,
    "field": pl.String,
    "old": pl.String,
    "new": pl.String,
}


@dataclass(frozen=True)
class ReviewHistory:
    """Every version of one review, and what changed in each from the one before.

    ``versions``: version (1 = first loaded), submission_id, original_name, submitted_by,
    loaded_at, replaced_at, replaced_by, current.
    ``changes``: version (the version that made the change), sheet, row_key (the row's key
    within the review: the child_id, rec_no or action_no; the review's own row has the
    review_id), change (changed, added, removed),
    field, old, new (as text; null for a blank). An added or removed row lists each field
    it had a value in.
    """

    review_id: str
    versions: pl.DataFrame
    changes: pl.DataFrame


def _versions(
    con: duckdb.DuckDBPyConnection, review_id: str, record: str = "review"
) -> pl.DataFrame:
    """One row per version, in the order they were loaded."""
    table, id_column = RECORDS[record]
    return query_frame(
        con,
        f"""
        WITH loaded AS (
            SELECT submission_id, replaced_at, replaced_by, false AS current
            FROM {table}_history WHERE {id_column} = $review_id
            UNION ALL
            SELECT submission_id, NULL, NULL, true FROM {table} WHERE {id_column} = $review_id
        )
        SELECT row_number() OVER (
                ORDER BY current, coalesce(s.decided_at, s.received_at), l.replaced_at
            ) AS version,
            l.submission_id, s.original_name, s.submitted_by,
            coalesce(s.decided_at, s.received_at) AS loaded_at,
            l.replaced_at, l.replaced_by, l.current
        FROM loaded l LEFT JOIN submissions s USING (submission_id)
        ORDER BY version
        """,
        {"review_id": review_id},
    )


def _sheet_rows(
    con: duckdb.DuckDBPyConnection,
    sheet: str,
    review_id: str,
    versions: pl.DataFrame,
    id_column: str = "review_id",
) -> pl.DataFrame:
    """Every version's rows of one sheet, long: version, sheet, row_key, field, value,
    field_order."""
    spec = frame().sheets[sheet]
    columns = spec.column_names
    quoted = ", ".join(f'"{c}"' for c in columns)
    rows = query_frame(
        con,
        f"SELECT {quoted}, submission_id FROM {sheet}_history WHERE {id_column} = $review_id "
        f"UNION ALL SELECT {quoted}, submission_id FROM {sheet} WHERE {id_column} = $review_id",
        {"review_id": review_id},
    )
    # The record's own id is the same in every version (a notification's review_id is not
    # its id: it is compared).
    skipped = ("submission_id", id_column)
    key = [c for c in spec.key if c not in skipped]
    fields = [c for c in columns if c not in skipped and c not in key]
    row_key = (
        pl.concat_str([pl.col(c).cast(pl.String).fill_null("?") for c in key], separator=" ")
        if key
        else pl.lit(review_id)
    )
    order = {c: i for i, c in enumerate(fields)}
    return (
        rows.join(versions.select("submission_id", "version"), on="submission_id")
        .with_columns(row_key.alias("row_key"), pl.col(fields).cast(pl.String))
        .unpivot(index=["version", "row_key"], on=fields, variable_name="field")
        .with_columns(
            pl.lit(sheet).alias("sheet"),
            pl.col("field").replace_strict(order, return_dtype=pl.Int64).alias("field_order"),
        )
    )


def _compare(long: pl.DataFrame) -> pl.DataFrame:
    """Each version beside the one before it: rows by key, fields by name."""
    if long.height == 0:
        return pl.DataFrame(schema=CHANGE_SCHEMA)
    keys = ["version", "sheet", "row_key", "field"]
    first = long["version"].min()
    last = long["version"].max()
    new = long.filter(pl.col("version") > first).rename({"value": "new"})
    old = (
        long.filter(pl.col("version") < last)
        .with_columns(pl.col("version") + 1)
        .rename({"value": "old"})
    )
    paired = new.join(old, on=keys, how="full", coalesce=True, suffix="_old")
    # Which rows each version has (a row with every field blank still exists).
    has_new = long.select("version", "sheet", "row_key").unique().with_columns(in_new=True)
    has_old = has_new.with_columns(pl.col("version") + 1).rename({"in_new": "in_old"})
    row = ["version", "sheet", "row_key"]
    return (
        paired.with_columns(pl.coalesce("field_order", "field_order_old").alias("field_order"))
        .join(has_new, on=row, how="left")
        .join(has_old, on=row, how="left")
        .with_columns(
            pl.when(pl.col("in_old").is_null())
            .then(pl.lit("added"))
            .when(pl.col("in_new").is_null())
            .then(pl.lit("removed"))
            .otherwise(pl.lit("changed"))
            .alias("change")
        )
        .filter(
            pl.when(pl.col("change") == "changed")
            .then(pl.col("old").ne_missing(pl.col("new")))
            # An added or removed row: the fields it had a value in.
            .otherwise(pl.coalesce("old", "new").is_not_null())
        )
    )


def review_history(con: duckdb.DuckDBPyConnection, review_id: str) -> ReviewHistory | None:
    """The versions of ``review_id`` and the changes between them; None if it was never
    loaded."""
    versions = _versions(con, review_id)
    if versions.height == 0:
        return None
    long = pl.concat(
        [_sheet_rows(con, sheet, review_id, versions) for sheet in CORE_SHEETS],
        how="vertical_relaxed",
    )
    sheet_order = {s: i for i, s in enumerate(CORE_SHEETS)}
    changes = (
        _compare(long)
        .with_columns(
            pl.col("sheet").replace_strict(sheet_order, return_dtype=pl.Int64).alias("_sheet"),
            pl.col("change").replace_strict(CHANGE_ORDER, return_dtype=pl.Int64).alias("_change"),
        )
        .sort("version", "_sheet", "_change", "row_key", "field_order")
        .select(list(CHANGE_SCHEMA))
        .cast(CHANGE_SCHEMA)  # type: ignore[arg-type]
    )
    return ReviewHistory(review_id, versions, changes)


def notification_history(
    con: duckdb.DuckDBPyConnection, notification_id: str
) -> ReviewHistory | None:
    """The versions of a notification (each one sent again replaced the one before) and the
    changes between them, in the shape of a review's; None if it was never loaded."""
    versions = _versions(con, notification_id, "notification")
    if versions.height == 0:
        return None
    long = _sheet_rows(con, "notifications", notification_id, versions, "notification_id")
    changes = (
        _compare(long)
        .with_columns(
            pl.col("change").replace_strict(CHANGE_ORDER, return_dtype=pl.Int64).alias("_change")
        )
        .sort("version", "_change", "field_order")
        .select(list(CHANGE_SCHEMA))
        .cast(CHANGE_SCHEMA)  # type: ignore[arg-type]
    )
    return ReviewHistory(notification_id, versions, changes)

"""The coding frame's cross-field and cross-sheet rules, and completeness warnings.

Within-submission rules run on the typed polars frames; rules against what is already loaded
(a review taken over by another board, a child moved between reviews) query the warehouse.
"""

from __future__ import annotations

import duckdb
import polars as pl

from warehouse.db import query_frame
from warehouse.frame import CodingFrame, frame
from warehouse.issues import WARNING, cell_issues, combine, issue

# Share of children with ethnicity not stated above which a submission gets a warning.
ETHNICITY_NOT_STATED_WARN = 0.5


def _duplicates(df: pl.DataFrame, sheet: str, key: list[str]) -> pl.DataFrame:
    keyed = df.filter(pl.all_horizontal([pl.col(k).is_not_null() for k in key]))
    dup = keyed.filter(pl.struct(key).is_duplicated())
    label = " + ".join(key)
    value = pl.concat_str([pl.col(k).cast(pl.String) for k in key], separator=" / ")
    return cell_issues(
        dup,
        sheet=sheet,
        column_name=key[-1],
        rule="duplicate_key",
        description=f"{label} appears more than once in the sheet",
        value=value,
    )


def _orphans(df: pl.DataFrame, sheet: str, review_ids: pl.Series) -> pl.DataFrame:
    rows = df.filter(
        pl.col("review_id").is_not_null() & ~pl.col("review_id").is_in(review_ids.implode())
    )
    return cell_issues(
        rows,
        sheet=sheet,
        column_name="review_id",
        rule="unknown_review",
        description="review_id is not a review of this submission's reviews sheet",
        value=pl.col("review_id"),
    )


def _dates_before_incident(df: pl.DataFrame, sheet: str, columns: tuple[str, ...]) -> pl.DataFrame:
    """Rows of ``df`` (which carries its review's incident_date) dated before the incident."""
    return combine(
        [
            cell_issues(
                df.filter(pl.col(column) < pl.col("incident_date")),
                sheet=sheet,
                column_name=column,
                rule="date_before_incident",
                description="date is before the review's incident_date",
                value=pl.col(column).cast(pl.String),
                hint=pl.format("incident_date is {}", pl.col("incident_date")),
            )
            for column in columns
        ]
    )


def submission_rules(
    sheets: dict[str, pl.DataFrame], cf: CodingFrame | None = None
) -> pl.DataFrame:
    """Keys, links between sheets, date order and recommendation counts."""
    cf = cf or frame()
    parts = []
    for name, df in sheets.items():
        parts.append(_duplicates(df, name, list(cf.sheets[name].key)))
    reviews = sheets.get("reviews")
    if reviews is None:
        return combine(parts)
    review_ids = reviews["review_id"].drop_nulls()
    for name in ("children", "recommendations", "actions"):
        if name in sheets:
            parts.append(_orphans(sheets[name], name, review_ids))

    parts.append(_dates_before_incident(reviews, "reviews", ("decision_date", "report_date")))

    recs = sheets.get("recommendations")
    if recs is not None and recs.height:
        counts = recs.group_by("review_id").agg(pl.len().alias("rows_given"))
        mismatch = reviews.join(counts, on="review_id", how="inner").filter(
            pl.col("recommendations_total").is_null()
            | (pl.col("recommendations_total") != pl.col("rows_given"))
        )
        parts.append(
            cell_issues(
                mismatch,
                sheet="reviews",
                column_name="recommendations_total",
                rule="recommendation_count",
                description="recommendations_total differs from the number of rows in "
                "the recommendations sheet for this review",
                value=pl.col("recommendations_total").cast(pl.String),
                hint=pl.format(
                    "review {}: {} recommendation rows", pl.col("review_id"), pl.col("rows_given")
                ),
            )
        )

    actions = sheets.get("actions")
    if actions is not None and actions.height:
        known = (
            recs
            if recs is not None
            else pl.DataFrame(schema={"review_id": pl.String, "rec_no": pl.Int64})
        ).select("review_id", "rec_no")
        linked = actions.filter(pl.col("rec_no").is_not_null() & pl.col("review_id").is_not_null())
        unmatched = linked.join(known, on=["review_id", "rec_no"], how="anti")
        parts.append(
            cell_issues(
                unmatched,
                sheet="actions",
                column_name="rec_no",
                rule="unknown_recommendation",
                description="rec_no does not name a recommendation of the same review",
                value=pl.col("rec_no").cast(pl.String),
                hint=pl.format("review {}", pl.col("review_id")),
            )
        )
        dated = actions.join(
            reviews.select("review_id", "incident_date"), on="review_id", how="inner"
        )
        parts.append(_dates_before_incident(dated, "actions", ("due_date", "status_date")))
    return combine(parts)


def loaded_owners(
    con: duckdb.DuckDBPyConnection | None, sheets: dict[str, pl.DataFrame]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Who already owns the submission's ids in the warehouse: (review_id, loaded_board_code)
    for its reviews and (child_id, loaded_review_id) for its children; empty without one."""
    boards = pl.DataFrame(schema={"review_id": pl.String, "loaded_board_code": pl.String})
    owners = pl.DataFrame(schema={"child_id": pl.String, "loaded_review_id": pl.String})
    if con is None:
        return boards, owners
    con.register("incoming_reviews", sheets["reviews"].select("review_id").drop_nulls())
    con.register("incoming_children", sheets["children"].select("child_id").drop_nulls())
    try:
        boards = query_frame(
            con,
            "SELECT review_id, board_code AS loaded_board_code FROM reviews "
            "WHERE review_id IN (SELECT review_id FROM incoming_reviews)",
        )
        owners = query_frame(
            con,
            "SELECT child_id, review_id AS loaded_review_id FROM children "
            "WHERE child_id IN (SELECT child_id FROM incoming_children)",
        )
    finally:
        con.unregister("incoming_reviews")
        con.unregister("incoming_children")
    return boards, owners


def warehouse_rules(
    con: duckdb.DuckDBPyConnection, sheets: dict[str, pl.DataFrame]
) -> pl.DataFrame:
    """Rules against what is loaded: a review_id of another board, a child of another review."""
    boards, owners = loaded_owners(con, sheets)
    clash = (
        sheets["reviews"]
        .join(boards, on="review_id")
        .filter(pl.col("loaded_board_code") != pl.col("board_code"))
    )
    moved = (
        sheets["children"]
        .join(owners, on="child_id")
        .filter(pl.col("loaded_review_id") != pl.col("review_id"))
    )
    return combine(
        [
            cell_issues(
                clash,
                sheet="reviews",
                column_name="review_id",
                rule="review_of_other_board",
                description="review_id is already loaded for another board; only that board "
                "can resubmit it",
                value=pl.col("review_id"),
                hint=pl.format(
                    "loaded for board {}, this row says {}",
                    pl.col("loaded_board_code"),
                    pl.col("board_code"),
                ),
            ),
            cell_issues(
                moved,
                sheet="children",
                column_name="child_id",
                rule="child_of_other_review",
                description="child_id is already loaded under another review",
                value=pl.col("child_id"),
                hint=pl.format("loaded under review {}", pl.col("loaded_review_id")),
            ),
        ]
    )


def completeness_warnings(sheets: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Gaps the study cared about; reported with the submission but never blocking."""
    parts = []
    reviews = sheets.get("reviews")
    children = sheets.get("children")
    if reviews is None:
        return combine(parts)
    checks = [
        ("author_status", pl.col("author_status") == "not_reported", "author status not reported"),
        ("report_date", pl.col("report_date").is_null(), "report not dated"),
        (
            "parent_ethnicity",
            pl.col("parent_ethnicity") == "not_stated",
            "parents' ethnicity not stated",
        ),
    ]
    for column, condition, text in checks:
        rows = reviews.filter(condition)
        parts.append(
            cell_issues(
                rows,
                sheet="reviews",
                column_name=column,
                rule="completeness",
                description=text,
                value=pl.col("review_id"),
                severity=WARNING,
            )
        )
    if children is not None:
        childless = reviews.filter(
            ~pl.col("review_id").is_in(children["review_id"].drop_nulls().implode())
        )
        parts.append(
            cell_issues(
                childless,
                sheet="reviews",
                column_name="review_id",
                rule="review_without_children",
                description="review has no rows in the children sheet",
                value=pl.col("review_id"),
                severity=WARNING,
            )
        )
        if children.height:
            share = children.filter(pl.col("ethnicity") == "not_stated").height / children.height
            if share >= ETHNICITY_NOT_STATED_WARN:
                parts.append(
                    issue(
                        "completeness",
                        f"ethnicity not stated for {share:.0%} of children",
                        severity=WARNING,
                        sheet="children",
                        column_name="ethnicity",
                    )
                )
    return combine(parts)

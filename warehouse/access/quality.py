"""Data quality: completeness of the key fields by period and board, and the ledger."""

from __future__ import annotations

import polars as pl

from warehouse.access.catalog import CatalogReads
from warehouse.access.connection import reads
from warehouse.access.selection import Selection

# Completeness fields of the data-quality mart (warehouse/sql/marts/data_quality.sql), labelled.
QUALITY_FIELDS: dict[str, str] = {
    "ethnicity": "Child's ethnicity",
    "disability": "Disability",
    "parent_ethnicity": "Parents' ethnicity",
    "author_status": "Author status",
    "report_date": "Report date",
    "report_pages": "Report length",
    "chapter8_answers": "Chapter 8 answers",
}
NOT_BY_BOARD_FOR_THE_PUBLIC = "data quality board by board is not shown without signing in"
NO_LEDGER_FOR_THE_PUBLIC = "the submissions ledger is not shown without signing in"
LEDGER_COLUMNS = (
    "submission_id",
    "received_at",
    "original_name",
    "submitted_by",
    "status",
    "n_reviews",
    "n_children",
    "n_recommendations",
    "n_reviews_new",
    "n_reviews_replaced",
    "n_errors",
    "n_warnings",
)


class QualityReads(CatalogReads):
    """Completeness by board and period, and the submissions ledger."""

    @reads
    def completeness(self, sel: Selection) -> pl.DataFrame:
        """Completeness of key fields by period and board in scope (all periods; the boards of
        the selection's region, or the one board): period, board_code, board_name, field,
        label, items (what is counted), recorded, not_stated, missing, total, share
        (recorded). OutOfScope for the public (it is board by board).

        National: read from ``mart_data_quality`` when the snapshot has it. Otherwise (an
        older warehouse, or a scoped principal, whose copy has no marts) the mart's own SQL
        runs on the rows in scope, so both ways give the same figures.
        """
        from warehouse.marts import DATA_QUALITY_TABLE, data_quality_sql

        self.refuse_public(NOT_BY_BOARD_FOR_THE_PUBLIC)
        with self.connect() as con:
            source = (
                DATA_QUALITY_TABLE
                if self.principal.sees_everything and self.has_table(con, DATA_QUALITY_TABLE)
                else f"({data_quality_sql().strip().rstrip(';')})"
            )
            # The mart splits a board by the region each review states; join them up again.
            long = con.sql(
                "SELECT period, board_code, field, any_value(items) AS items, "
                "sum(recorded)::BIGINT AS recorded, sum(not_stated)::BIGINT AS not_stated, "
                f"sum(missing)::BIGINT AS missing, sum(n)::BIGINT AS total FROM {source} "
                "GROUP BY period, board_code, field"
            ).pl()
            boards = self.boards()
        if sel.board is not None:
            long = long.filter(pl.col("board_code") == sel.board)
        elif sel.region is not None:
            keep = boards.filter(pl.col("region") == sel.region)["board_code"]
            long = long.filter(pl.col("board_code").is_in(keep.implode()))
        order = {k: i for i, k in enumerate(QUALITY_FIELDS)}
        return (
            long.filter(pl.col("field").is_in(list(QUALITY_FIELDS)))
            .with_columns(
                pl.col("field").replace_strict(QUALITY_FIELDS).alias("label"),
                pl.col("field").replace_strict(order).cast(pl.Int64).alias("field_order"),
            )
            .join(boards.select("board_code", "board_name"), on="board_code", how="left")
            .with_columns(
                pl.when(pl.col("total") > 0)
                .then(pl.col("recorded") / pl.col("total"))
                .alias("share")
            )
            .select(
                "period",
                "board_code",
                "board_name",
                "field",
                "label",
                "field_order",
                "items",
                "recorded",
                "not_stated",
                "missing",
                "total",
                "share",
            )
            .sort("period", "board_name", "field_order")
        )

    @reads
    def submissions(self) -> pl.DataFrame:
        """The submission ledger, newest first (empty when the warehouse has none).

        Regional and board principals: the submissions holding reviews of boards in scope;
        one that also holds other boards' reviews shows only its id, time, status and the
        counts of the reviews in scope (the other columns null). OutOfScope for the public.
        """
        self.refuse_public(NO_LEDGER_FOR_THE_PUBLIC)
        with self.connect() as con:
            if not self.has_table(con, "submissions"):
                return pl.DataFrame()
            return con.sql(
                f"SELECT {', '.join(LEDGER_COLUMNS)} FROM submissions ORDER BY received_at DESC"
            ).pl()

    @reads
    def completeness_by_board(self, sel: Selection) -> pl.DataFrame:
        """Per board in scope, for the selection's period (all periods when None): board_code,
        board_name, reviews and children (how many the completeness rests on), then the
        share recorded of each key field (columns named by label, in field order) and
        ``overall`` (all the fields' items together); least complete first. The counts
        come from the completeness rows themselves: a review-level field is expected once
        per review, a child-level one once per child. OutOfScope for the public."""
        long = self.completeness(sel)
        if sel.period is not None:
            long = long.filter(pl.col("period") == sel.period)
        per_field = long.group_by("board_code", "board_name", "label", "field_order").agg(
            pl.col("recorded").sum(), pl.col("total").sum()
        )
        counts = long.group_by("board_code").agg(
            pl.col("total").filter(pl.col("field") == "report_date").sum().alias("reviews"),
            pl.col("total").filter(pl.col("field") == "ethnicity").sum().alias("children"),
            (pl.col("recorded").sum() / pl.col("total").sum()).alias("overall"),
        )
        if per_field.is_empty():
            return pl.DataFrame(
                schema={
                    "board_code": pl.String(),
                    "board_name": pl.String(),
                    "reviews": pl.Int64(),
                    "children": pl.Int64(),
                    **{label: pl.Float64() for label in QUALITY_FIELDS.values()},
                    "overall": pl.Float64(),
                }
            )
        wide = (
            per_field.sort("field_order")
            .with_columns(
                pl.when(pl.col("total") > 0)
                .then(pl.col("recorded") / pl.col("total"))
                .alias("share")
            )
            .pivot(
                on="label",
                index=["board_code", "board_name"],
                values="share",
                aggregate_function="first",
            )
        )
        fields = [label for label in QUALITY_FIELDS.values() if label in wide.columns]
        return (
            wide.join(counts, on="board_code", how="left")
            .with_columns(pl.col("reviews", "children").cast(pl.Int64))
            .select("board_code", "board_name", "reviews", "children", *fields, "overall")
            .sort("overall", "board_name", nulls_last=True)
        )

    @reads
    def rejected_submissions(self) -> pl.DataFrame:
        """The submissions not accepted (rejected, or interrupted while loading) that this
        principal may see, newest first: submission_id, received_at, original_name,
        submitted_by, status, n_errors and ``reasons`` (the commonest errors in words,
        "sheet.column: what is wrong (n rows)", at most three, and how many more).

        A scoped principal's copy of the ledger holds no rejected submission (it published
        no review in its scope), so it gets none. OutOfScope for the public."""
        self.refuse_public(NO_LEDGER_FOR_THE_PUBLIC)
        schema = {
            "submission_id": pl.String(),
            "received_at": pl.Datetime(),
            "original_name": pl.String(),
            "submitted_by": pl.String(),
            "status": pl.String(),
            "n_errors": pl.Int64(),
            "reasons": pl.String(),
        }
        with self.connect() as con:
            if not (
                self.has_table(con, "submissions") and self.has_table(con, "submission_issues")
            ):
                return pl.DataFrame(schema=schema)
            out = con.sql(REJECTED_SQL).pl()
        return out.cast(schema) if out.height else pl.DataFrame(schema=schema)  # type: ignore[arg-type]


# Each not-accepted submission with its errors grouped by what is wrong, commonest first.
REJECTED_SQL = """
WITH errors AS (
    SELECT submission_id, sheet, column_name, description, count(*) AS n
    FROM submission_issues WHERE severity = 'error'
    GROUP BY ALL
), ranked AS (
    SELECT *, row_number() OVER (
        PARTITION BY submission_id ORDER BY n DESC, sheet, column_name, description) AS rank,
        count(*) OVER (PARTITION BY submission_id) AS kinds
    FROM errors
)
SELECT s.submission_id, s.received_at, s.original_name, s.submitted_by, s.status,
    coalesce(s.n_errors, 0)::BIGINT AS n_errors,
    CASE WHEN s.status = 'interrupted' AND max(r.kinds) IS NULL
        THEN 'the load was interrupted before it finished; nothing was changed'
    ELSE
        string_agg(
            concat_ws(': ', nullif(concat_ws('.', r.sheet, r.column_name), ''), r.description)
            || CASE WHEN r.n > 1 THEN ' (' || r.n || ' rows)' ELSE '' END,
            '; ' ORDER BY r.rank) FILTER (WHERE r.rank <= 3)
        || CASE WHEN max(r.kinds) > 3
            THEN '; and ' || (max(r.kinds) - 3) || ' more kinds of error' ELSE '' END
    END AS reasons
FROM submissions s LEFT JOIN ranked r USING (submission_id)
WHERE s.status IN ('rejected', 'interrupted')
GROUP BY s.submission_id, s.received_at, s.original_name, s.submitted_by, s.status, s.n_errors
ORDER BY s.received_at DESC
"""

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

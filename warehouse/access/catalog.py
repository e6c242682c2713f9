"""What there is to choose from: periods, boards, regions, and what a selection is called."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import polars as pl

from warehouse.access.connection import reads
from warehouse.access.cube import CubeReads
from warehouse.access.definitions import ALL_PERIODS
from warehouse.access.disclosure import is_hidden
from warehouse.access.selection import BOARDS_SQL, ENGLAND, Selection
from warehouse.frame import frame

SYNTHETIC_BOARD_PREFIXES = ("SYN",)


def with_code_labels(df: pl.DataFrame, column: str, code_list: str) -> pl.DataFrame:
    """Add ``<column>_label`` and ``<column>_order`` from the coding frame's code list."""
    codes = frame().codes(code_list)
    labels = frame().labels(code_list)
    return df.with_columns(
        pl.col(column).replace_strict(labels, default=pl.col(column)).alias(f"{column}_label"),
        pl.col(column)
        .replace_strict({c: i for i, c in enumerate(codes)}, default=len(codes))
        .cast(pl.Int64)
        .alias(f"{column}_order"),
    )


def region_label(region: str) -> str:
    return frame().labels("region").get(region, region)


class CatalogReads(CubeReads):
    """Periods, boards and regions of the snapshot, and names for selections."""

    @reads
    def periods(self) -> list[str]:
        """Every period with a review. Which periods hold reviews is shown to everyone."""
        rows = self.controlled(
            lambda: self.frame("SELECT DISTINCT period FROM reviews ORDER BY period"),
            lambda full, known: full,
        )
        return [p for p in rows["period"].to_list() if p]

    def boards(self) -> pl.DataFrame:
        """The boards in scope (none for the public): board_code, board_name, region (most
        recent stated), region_label, reviews, first_period, last_period; sorted by name."""
        labels = frame().labels("region")
        return self.memo(
            "boards",
            lambda: (
                self.frame(BOARDS_SQL)
                .with_columns(
                    pl.col("board_name").fill_null(pl.col("board_code")),
                    pl.col("region")
                    .replace_strict(labels, default=pl.col("region"))
                    .alias("region_label"),
                )
                .sort("board_name", "board_code")
            ),
        )

    @reads
    def regions(self) -> pl.DataFrame:
        """Regions with at least one review (coded), in coding-frame order: region, label,
        reviews (all periods; null when hidden), boards (whose most recent stated region it
        is), suppressed."""

        def counts() -> pl.DataFrame:
            return self.frame(
                f"WITH board_catalog AS ({BOARDS_SQL}) "
                "SELECT r.region, count(*) AS reviews, "
                "(SELECT count(*) FROM board_catalog b WHERE b.region = r.region) AS boards "
                "FROM reviews r WHERE r.region <> 'not_stated' GROUP BY r.region"
            )

        def mask(df: pl.DataFrame) -> pl.DataFrame:
            hidden = is_hidden(
                pl.lit("reviews"), pl.col("region"), pl.lit(ALL_PERIODS), self.hidden_cells()
            )
            return df.with_columns(
                pl.when(hidden).then(None).otherwise(pl.col("reviews")).alias("reviews"),
                hidden.alias("suppressed"),
            )

        order = frame().codes("region")
        labels = frame().labels("region")
        return (
            self.controlled(counts, lambda full, known: mask(full), shown_whole=mask)
            .with_columns(
                pl.col("region").replace_strict(labels, default=None).alias("label"),
                pl.col("region")
                .replace_strict({c: i for i, c in enumerate(order)}, default=len(order))
                .alias("_order"),
            )
            .sort("_order")
            .select("region", "label", "reviews", "boards", "suppressed")
        )

    @reads
    def provenance(self) -> dict[str, Any]:
        """How many reviews there are in England, how many come from the synthetic sample
        boards, and when the snapshot was published (a count is None when hidden)."""
        prefixes = " OR ".join(f"board_code LIKE '{p}%'" for p in SYNTHETIC_BOARD_PREFIXES)

        def counts() -> dict[str, int]:
            row = self.frame(
                "SELECT count(*) AS reviews, count(*) FILTER (WHERE "
                f"{prefixes} OR board_name ILIKE 'synthetic%') AS synthetic FROM reviews"
            ).row(0, named=True)
            return {"reviews": int(row["reviews"]), "synthetic": int(row["synthetic"])}

        def control(full: dict[str, int], known: dict[str, int]) -> dict[str, int | None]:
            if ("reviews", ENGLAND, ALL_PERIODS) in self.hidden_cells():
                return {"reviews": None, "synthetic": None}
            # The synthetic count, or the real reviews beside it, could be a small count.
            real = full["reviews"] - full["synthetic"]
            small = any(1 <= n <= self.threshold for n in (full["synthetic"], real))
            return {"reviews": full["reviews"], "synthetic": None if small else full["synthetic"]}

        published = datetime.fromtimestamp(self.snapshot.stat().st_mtime, UTC)
        return {**self.controlled(counts, control), "published": published}  # type: ignore[dict-item]

    @reads
    def describe(self, sel: Selection) -> str:
        """A human name for what is selected: a board, a region, or England."""
        if sel.board is not None:
            boards = self.boards().filter(pl.col("board_code") == sel.board)
            return boards["board_name"][0] if boards.height else sel.board
        if sel.region is not None:
            return region_label(sel.region)
        return self.comparator_label

    def board_region(self, board: str) -> str | None:
        """The catalog region of a board in scope (None when it never stated one)."""
        row = self.boards().filter(pl.col("board_code") == board)
        if row.height == 0 or row["region"][0] == "not_stated":
            return None
        return str(row["region"][0])

"""Recommendations: focus mix over time and by agency, and a search over their wording.

England and regional counts come under disclosure control: by focus and period they are
cells of the cube; by agency and focus (one selection) they are protected as one table whose
agency and focus totals are shown too. The wording is free text: the public never sees it,
others see that of the boards in scope only.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from warehouse.access.catalog import CatalogReads, with_code_labels
from warehouse.access.connection import reads
from warehouse.access.cube import OTHER_FOCUS, focus_codes, focus_column
from warehouse.access.definitions import ALL_PERIODS
from warehouse.access.disclosure import is_hidden, protect_table
from warehouse.access.selection import ENGLAND, Selection, selection_ctes
from warehouse.disclosure import Constraint

NO_TEXT_FOR_THE_PUBLIC = "recommendation text is not shown without signing in"
MAX_SEARCH_WORDS = 8  # more words than this are ignored (each is one ILIKE condition)


def search_words(text: str) -> list[str]:
    """The words a search looks for: ``text`` split on white space, at most
    MAX_SEARCH_WORDS. The page highlights exactly these, so what is shown is what matched."""
    return text.split()[:MAX_SEARCH_WORDS]


def _focus_cell(focus: pl.Expr) -> pl.Expr:
    """The cube measure counting a focus (unknown or missing focus: the 'other' measure)."""
    return (
        pl.when(focus.is_in(focus_codes()))
        .then(pl.concat_str(pl.lit(focus_column("")), focus))
        .otherwise(pl.lit(OTHER_FOCUS))
    )


class RecommendationReads(CatalogReads):
    """Recommendation counts by focus and agency, and the text search."""

    def _focus_counts(self, sel: Selection) -> pl.DataFrame:
        counts = self.frame(
            f"{selection_ctes()} SELECT r.period, x.focus, count(*) AS recommendations "
            "FROM recommendations x JOIN sel_reviews r USING (review_id) GROUP BY ALL",
            sel.params(with_period=False),
        )
        return with_code_labels(counts, "focus", "recommendation_focus").with_columns(
            (pl.col("recommendations") / pl.col("recommendations").sum().over("period")).alias(
                "share"
            )
        )

    @reads
    def recommendation_focus(self, sel: Selection) -> pl.DataFrame:
        """By period (all periods): recommendations per focus, with focus labels in the
        study's order, the share of the period's recommendations, and ``suppressed``
        (England and regions: hidden counts and their shares null)."""
        region = pl.lit(sel.region or ENGLAND)

        def mask(df: pl.DataFrame) -> pl.DataFrame:
            cube = self.hidden_cells()
            count = is_hidden(_focus_cell(pl.col("focus")), region, pl.col("period"), cube)
            total = is_hidden(pl.lit("recommendations"), region, pl.col("period"), cube)
            return df.with_columns(
                pl.when(count)
                .then(None)
                .otherwise(pl.col("recommendations"))
                .alias("recommendations"),
                pl.when(count | total).then(None).otherwise(pl.col("share")).alias("share"),
                (count | total).alias("suppressed"),
            )

        if sel.board is not None or self.principal.sees_everything:
            counts = self._focus_counts(sel).with_columns(pl.lit(False).alias("suppressed"))
        else:
            counts = self.controlled(
                lambda: self._focus_counts(sel), lambda full, known: mask(full), shown_whole=mask
            )
        return counts.sort("period", "focus_order")

    def _agency_focus_counts(self, sel: Selection) -> pl.DataFrame:
        return self.frame(
            f"{selection_ctes()} SELECT coalesce(x.agency, 'not_stated') AS agency, x.focus, "
            "count(*) AS recommendations "
            "FROM recommendations x JOIN sel_reviews r USING (review_id) GROUP BY ALL",
            sel.params(),
        )

    @reads
    def recommendation_agency_focus(self, sel: Selection) -> pl.DataFrame:
        """For the selection's period: recommendations by agency and focus, the agency's
        total (``agency_total``) and the cell's share of it (``agency_share``), suppressed
        (England and regions: hidden counts null)."""

        def in_full(counts: pl.DataFrame) -> pl.DataFrame:
            return counts.with_columns(
                pl.col("recommendations").sum().over("agency").alias("agency_total"),
                pl.lit(False).alias("suppressed"),
            )

        compute = lambda: self._agency_focus_counts(sel)  # noqa: E731
        if sel.board is not None or self.principal.sees_everything:
            counts = in_full(compute())
        else:
            counts = self.controlled(
                compute,
                lambda full, known: self._protect_agency_focus(sel, full, known),
                shown_whole=in_full,
            )
        labelled = with_code_labels(counts, "focus", "recommendation_focus")
        return (
            with_code_labels(labelled, "agency", "agency")
            .with_columns(
                (pl.col("recommendations") / pl.col("agency_total")).alias("agency_share")
            )
            .sort("agency_order", "focus_order")
        )

    def _protect_agency_focus(
        self, sel: Selection, full_counts: pl.DataFrame, known_counts: pl.DataFrame
    ) -> pl.DataFrame:
        """Agency x focus for England or a region as one protected table: the cells, each
        agency's total, each focus's total and all recommendations (the last two are cube
        cells, hidden where the cube hides them)."""
        region, period = sel.region or ENGLAND, sel.period or ALL_PERIODS

        def focus_key(focus: str | None) -> str:
            return focus_column(focus) if focus in focus_codes() else OTHER_FOCUS

        def figures(df: pl.DataFrame) -> dict[str, int]:
            out: dict[str, int] = {}
            for row in df.iter_rows(named=True):
                agency, n = row["agency"], int(row["recommendations"])
                for name in (
                    f"cell:{agency}:{row['focus']}",
                    f"agency:{agency}",
                    focus_key(row["focus"]),
                    "total",
                ):
                    out[name] = out.get(name, 0) + n
            return out

        full, known = figures(full_counts), figures(known_counts)
        parts: dict[str, list[str]] = {}
        for row in full_counts.iter_rows(named=True):
            cell = f"cell:{row['agency']}:{row['focus']}"
            parts.setdefault(f"agency:{row['agency']}", []).append(cell)
            parts.setdefault(focus_key(row["focus"]), []).append(cell)
        parts["total"] = [name for name in full if name.startswith("agency:")]
        constraints = [Constraint(total, tuple(cells)) for total, cells in parts.items()]
        shared = {"total": ("recommendations", region, period)} | {
            name: (name, region, period) for name in full if name.startswith("focus__")
        }
        shown = protect_table(full, known, constraints, shared, self.hidden_cells(), self.threshold)
        return full_counts.with_columns(
            pl.format("cell:{}:{}", "agency", "focus")
            .replace_strict(shown, default=None, return_dtype=pl.Int64)
            .alias("recommendations"),
            pl.format("agency:{}", "agency")
            .replace_strict(shown, default=None, return_dtype=pl.Int64)
            .alias("agency_total"),
        ).with_columns(
            (pl.col("recommendations").is_null() | pl.col("agency_total").is_null()).alias(
                "suppressed"
            )
        )

    @reads
    def search_recommendations(
        self, sel: Selection, text: str, limit: int | None = 200
    ) -> pl.DataFrame:
        """Recommendations of the selection whose wording contains every word of ``text``
        (``search_words``, case-insensitive): period, board, review, number, focus, agency,
        text, and ``matches`` (how many matched in all, the frame holding at most ``limit``;
        ``limit=None``: every match, for a download).

        The boards in scope only (a region or England for a board principal: its own
        recommendations there). OutOfScope for the public."""
        self.refuse_public(NO_TEXT_FOR_THE_PUBLIC)
        words = search_words(text)
        conditions = (
            " AND ".join(f"x.text ILIKE $w{i} ESCAPE '\\'" for i in range(len(words))) or "true"
        )
        params: dict[str, Any] = sel.params()
        for i, word in enumerate(words):
            escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params[f"w{i}"] = f"%{escaped}%"
        bounded = limit is not None
        if bounded:
            params["limit"] = int(limit)
        rows = self.frame(
            f"{selection_ctes()} SELECT r.period, r.board_code, "
            "coalesce(r.catalog_board_name, r.board_code) AS board_name, x.review_id, x.rec_no, "
            "x.focus, coalesce(x.agency, 'not_stated') AS agency, x.text, "
            "count(*) OVER () AS matches "
            f"FROM recommendations x JOIN sel_reviews r USING (review_id) WHERE {conditions} "
            "ORDER BY r.period DESC, r.board_code, x.review_id, x.rec_no"
            + (" LIMIT $limit" if bounded else ""),
            params,
        )
        labelled = with_code_labels(
            with_code_labels(rows, "focus", "recommendation_focus"), "agency", "agency"
        )
        return labelled.select(
            "period",
            "board_code",
            "board_name",
            "review_id",
            "rec_no",
            "focus_label",
            "agency_label",
            "text",
            pl.col("matches").cast(pl.Int64),
        )

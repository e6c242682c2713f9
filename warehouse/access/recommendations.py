"""Recommendations: focus mix over time and by agency, and a search over their wording."""

from __future__ import annotations

from typing import Any

import polars as pl

from warehouse.access.catalog import with_code_labels
from warehouse.access.connection import AccessCore, Selection, selection_ctes


class RecommendationReads(AccessCore):
    """Recommendation counts by focus and agency, and the text search."""

    def recommendation_focus(self, sel: Selection) -> pl.DataFrame:
        """By period (all periods): recommendations per focus, with focus labels in the
        study's order, and the share of the period's recommendations."""
        counts = self.frame(
            f"{selection_ctes()} SELECT r.period, x.focus, count(*) AS recommendations "
            "FROM recommendations x JOIN sel_reviews r USING (review_id) GROUP BY ALL",
            sel.params(with_period=False),
        )
        return (
            with_code_labels(counts, "focus", "recommendation_focus")
            .with_columns(
                (pl.col("recommendations") / pl.col("recommendations").sum().over("period")).alias(
                    "share"
                )
            )
            .sort("period", "focus_order")
        )

    def recommendation_agency_focus(self, sel: Selection) -> pl.DataFrame:
        """For the selection's period: recommendations by agency and focus."""
        counts = self.frame(
            f"{selection_ctes()} SELECT coalesce(x.agency, 'not_stated') AS agency, x.focus, "
            "count(*) AS recommendations "
            "FROM recommendations x JOIN sel_reviews r USING (review_id) GROUP BY ALL",
            sel.params(),
        )
        labelled = with_code_labels(counts, "focus", "recommendation_focus")
        return with_code_labels(labelled, "agency", "agency").sort("agency_order", "focus_order")

    def search_recommendations(self, sel: Selection, text: str, limit: int = 200) -> pl.DataFrame:
        """Recommendations of the selection whose wording contains every word of ``text``
        (case-insensitive): period, board, review, number, focus, agency, text, and
        ``matches`` (how many matched in all, the frame holding at most ``limit``)."""
        words = [w for w in text.split() if w][:8]
        conditions = (
            " AND ".join(f"x.text ILIKE $w{i} ESCAPE '\\'" for i in range(len(words))) or "true"
        )
        params: dict[str, Any] = sel.params()
        for i, word in enumerate(words):
            escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params[f"w{i}"] = f"%{escaped}%"
        params["limit"] = int(limit)
        rows = self.frame(
            f"{selection_ctes()} SELECT r.period, r.board_code, "
            "coalesce(r.catalog_board_name, r.board_code) AS board_name, x.review_id, x.rec_no, "
            "x.focus, coalesce(x.agency, 'not_stated') AS agency, x.text, "
            "count(*) OVER () AS matches "
            f"FROM recommendations x JOIN sel_reviews r USING (review_id) WHERE {conditions} "
            "ORDER BY r.period DESC, r.board_code, x.review_id, x.rec_no LIMIT $limit",
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

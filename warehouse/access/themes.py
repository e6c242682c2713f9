"""Family circumstances (neglect, domestic violence, parental substance misuse and mental
ill health): how common, how often together."""

from __future__ import annotations

import polars as pl

from warehouse.access.connection import AccessCore, Selection, one_connection, selection_ctes

THEMES: tuple[tuple[str, str], ...] = (
    ("neglect", "Neglect"),
    ("domestic_violence", "Domestic violence"),
    ("parental_substance_misuse", "Parental substance misuse"),
    ("parental_mental_ill_health", "Parental mental ill health"),
)
# Short names for charts and combinations (substance misuse and mental ill health: parental).
THEME_SHORT = {
    "neglect": "Neglect",
    "domestic_violence": "Domestic violence",
    "parental_substance_misuse": "Substance misuse",
    "parental_mental_ill_health": "Mental ill health",
}
ANSWERS = ("yes", "no", "not_stated", "blank")
THEMES_SCHEMA: dict[str, pl.DataType] = {
    "period": pl.String(),
    "theme": pl.String(),
    "label": pl.String(),
    "children": pl.Int64(),
    **{answer: pl.Int64() for answer in ANSWERS},
}


class ThemeReads(AccessCore):
    """Themes by period, pairs of themes, and combinations."""

    def themes(self, sel: Selection) -> pl.DataFrame:
        """By period (all periods), each family circumstance's counts of children coded yes,
        no, not stated and blank, and the share coded yes of all children."""
        cases = ", ".join(
            f"count(*) FILTER (WHERE c.{t} = 'yes') AS {t}__yes, "
            f"count(*) FILTER (WHERE c.{t} = 'no') AS {t}__no, "
            f"count(*) FILTER (WHERE c.{t} = 'not_stated') AS {t}__not_stated, "
            f"count(*) FILTER (WHERE c.{t} IS NULL) AS {t}__blank"
            for t, _ in THEMES
        )
        wide = self.frame(
            f"{selection_ctes()} SELECT r.period, count(*) AS children, {cases} "
            "FROM children c JOIN sel_reviews r USING (review_id) GROUP BY r.period",
            sel.params(with_period=False),
        )
        if wide.is_empty():
            return pl.DataFrame(schema={**THEMES_SCHEMA, "share": pl.Float64()})
        parts = [
            wide.select(
                "period",
                pl.lit(key).alias("theme"),
                pl.lit(label).alias("label"),
                "children",
                *(pl.col(f"{key}__{a}").alias(a) for a in ANSWERS),
            )
            for key, label in THEMES
        ]
        return (
            pl.concat(parts)
            .cast(THEMES_SCHEMA)  # type: ignore[arg-type]
            .with_columns((pl.col("yes") / pl.col("children")).alias("share"))
            .sort("period", "theme")
        )

    def _child_themes(self, sel: Selection) -> pl.DataFrame:
        cols = ", ".join(f"coalesce(c.{t} = 'yes', false) AS {t}" for t, _ in THEMES)
        return self.frame(
            f"{selection_ctes()} SELECT r.period, {cols} "
            "FROM children c JOIN sel_reviews r USING (review_id)",
            sel.params(),
        )

    @one_connection
    def theme_pairs(self, sel: Selection) -> pl.DataFrame:
        """For the selection's period: every pair of circumstances (a pair with itself is the
        circumstance alone), children with both, and that as a share of all children."""
        kids = self._child_themes(sel)
        total = kids.height
        rows = []
        for a, label_a in THEMES:
            for b, label_b in THEMES:
                both = kids.filter(pl.col(a) & pl.col(b)).height if total else 0
                rows.append((a, label_a, THEME_SHORT[a], b, label_b, THEME_SHORT[b], both, total))
        out = pl.DataFrame(
            rows,
            schema=[
                "theme_a",
                "label_a",
                "short_a",
                "theme_b",
                "label_b",
                "short_b",
                "both",
                "children",
            ],
            orient="row",
        )
        return out.with_columns(
            pl.when(pl.col("children") > 0).then(pl.col("both") / pl.col("children")).alias("share")
        )

    @one_connection
    def theme_combinations(self, sel: Selection) -> pl.DataFrame:
        """For the selection's period: how many circumstances each child has coded yes
        (0-4), and the commonest exact combinations: combination, circumstances, children,
        share."""
        kids = self._child_themes(sel)
        keys = [k for k, _ in THEMES]
        if kids.is_empty():
            return pl.DataFrame(
                schema={
                    "combination": pl.String(),
                    "circumstances": pl.Int64(),
                    "children": pl.Int64(),
                    "share": pl.Float64(),
                }
            )
        labelled = kids.with_columns(
            pl.sum_horizontal(*(pl.col(k).cast(pl.Int64) for k in keys)).alias("circumstances"),
            pl.concat_str(
                [pl.when(pl.col(k)).then(pl.lit(THEME_SHORT[k])) for k in keys],
                separator=" + ",
                ignore_nulls=True,
            ).alias("combination"),
        ).with_columns(
            pl.when(pl.col("circumstances") == 0)
            .then(pl.lit("None of these"))
            .otherwise(pl.col("combination"))
            .alias("combination")
        )
        return (
            labelled.group_by("combination", "circumstances")
            .agg(pl.len().cast(pl.Int64).alias("children"))
            .with_columns((pl.col("children") / kids.height).alias("share"))
            .sort("children", "combination", descending=[True, False])
        )

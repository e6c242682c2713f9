"""Family circumstances (neglect, domestic violence, parental substance misuse and mental
ill health): how common, how often together.

England and regional figures come under disclosure control: the counts by period are cells
of the cube; the pairs and combinations of one selection are protected as one table, in
which every pair, every circumstance and every "how many at once" is a sum of the exact
combinations (so none can be worked out from the others).
"""

from __future__ import annotations

from itertools import combinations

import polars as pl

from warehouse.access.catalog import CatalogReads
from warehouse.access.connection import reads
from warehouse.access.cube import theme_column
from warehouse.access.definitions import ALL_PERIODS, THEME_ANSWERS, THEME_SHORT, THEMES
from warehouse.access.disclosure import is_hidden, protect_table
from warehouse.access.selection import ENGLAND, Selection, selection_ctes
from warehouse.disclosure import Constraint

__all__ = ["THEMES", "THEME_SHORT"]
KEYS = tuple(key for key, _ in THEMES)
LABELS = dict(THEMES)
THEMES_SCHEMA: dict[str, pl.DataType] = {
    "period": pl.String(),
    "theme": pl.String(),
    "label": pl.String(),
    "children": pl.Int64(),
    **{answer: pl.Int64() for answer in THEME_ANSWERS},
}
# The 16 exact combinations, as tuples of yes/no in the order of THEMES.
COMBINATIONS = [tuple(bool(mask >> i & 1) for i in range(len(KEYS))) for mask in range(16)]


def _combo_name(flags: tuple[bool, ...]) -> str:
    return "combo:" + "".join("1" if f else "0" for f in flags)


def _combination_label(flags: tuple[bool, ...]) -> str:
    names = [THEME_SHORT[k] for k, f in zip(KEYS, flags, strict=True) if f]
    return " + ".join(names) if names else "None of these"


def _circumstance_sums() -> dict[str, list[str]]:
    """Every figure shown for one selection that is a sum of exact combinations."""
    sums: dict[str, list[str]] = {"children": [_combo_name(c) for c in COMBINATIONS]}
    for i, key in enumerate(KEYS):
        sums[f"yes:{key}"] = [_combo_name(c) for c in COMBINATIONS if c[i]]
    for i, j in combinations(range(len(KEYS)), 2):
        sums[f"both:{KEYS[i]}:{KEYS[j]}"] = [_combo_name(c) for c in COMBINATIONS if c[i] and c[j]]
    for number in range(len(KEYS) + 1):
        sums[f"number:{number}"] = [_combo_name(c) for c in COMBINATIONS if sum(c) == number]
    sums["two_or_more"] = [_combo_name(c) for c in COMBINATIONS if sum(c) >= 2]
    return sums


class ThemeReads(CatalogReads):
    """Themes by period, pairs of themes, and combinations."""

    def _theme_counts(self, sel: Selection) -> pl.DataFrame:
        cases = ", ".join(
            f"count(*) FILTER (WHERE c.{t} = 'yes') AS {t}__yes, "
            f"count(*) FILTER (WHERE c.{t} = 'no') AS {t}__no, "
            f"count(*) FILTER (WHERE c.{t} = 'not_stated') AS {t}__not_stated, "
            f"count(*) FILTER (WHERE c.{t} IS NULL) AS {t}__blank"
            for t in KEYS
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
                *(pl.col(f"{key}__{a}").alias(a) for a in THEME_ANSWERS),
            )
            for key, label in THEMES
        ]
        return (
            pl.concat(parts)
            .cast(THEMES_SCHEMA)  # type: ignore[arg-type]
            .with_columns((pl.col("yes") / pl.col("children")).alias("share"))
            .sort("period", "theme")
        )

    @reads
    def themes(self, sel: Selection) -> pl.DataFrame:
        """By period (all periods), each family circumstance's counts of children coded yes,
        no, not stated and blank, the share coded yes of all children, and ``suppressed``
        (England and regions: hidden counts and the shares from them are null)."""
        if sel.board is not None or self.principal.sees_everything:
            return self._theme_counts(sel).with_columns(pl.lit(False).alias("suppressed"))
        region = pl.lit(sel.region or ENGLAND)

        def mask(df: pl.DataFrame) -> pl.DataFrame:
            cube = self.hidden_cells()
            children = is_hidden(pl.lit("children"), region, pl.col("period"), cube)
            answers = {
                a: is_hidden(
                    pl.concat_str(pl.col("theme"), pl.lit(theme_column("", a))),
                    region,
                    pl.col("period"),
                    cube,
                )
                for a in THEME_ANSWERS
            }
            any_hidden = pl.any_horizontal(children, *answers.values())
            return df.with_columns(
                *(pl.when(h).then(None).otherwise(pl.col(a)).alias(a) for a, h in answers.items()),
                pl.when(children).then(None).otherwise(pl.col("children")).alias("children"),
                pl.when(children | answers["yes"])
                .then(None)
                .otherwise(pl.col("share"))
                .alias("share"),
                any_hidden.alias("suppressed"),
            )

        return self.controlled(
            lambda: self._theme_counts(sel), lambda full, known: mask(full), shown_whole=mask
        )

    def _combination_counts(self, sel: Selection) -> dict[str, int]:
        """Children by exact combination for the selection's period, zeros included."""
        cols = ", ".join(f"coalesce(c.{t} = 'yes', false) AS {t}" for t in KEYS)
        rows = self.frame(
            f"{selection_ctes()} SELECT {cols}, count(*) AS children "
            "FROM children c JOIN sel_reviews r USING (review_id) GROUP BY ALL",
            sel.params(),
        )
        counts = dict.fromkeys((_combo_name(c) for c in COMBINATIONS), 0)
        for row in rows.iter_rows(named=True):
            counts[_combo_name(tuple(bool(row[k]) for k in KEYS))] = int(row["children"])
        return counts

    def _circumstances(self, sel: Selection) -> dict[str, int | None]:
        """Every figure the pairs and combinations show for the selection (None: hidden)."""
        sums = _circumstance_sums()

        def figures(combos: dict[str, int]) -> dict[str, int]:
            return combos | {name: sum(combos[c] for c in parts) for name, parts in sums.items()}

        def control(full: dict[str, int], known: dict[str, int]) -> dict[str, int | None]:
            period = sel.period or ALL_PERIODS
            region = sel.region or ENGLAND
            shared = {"children": ("children", region, period)} | {
                f"yes:{k}": (theme_column(k, "yes"), region, period) for k in KEYS
            }
            constraints = [Constraint(name, tuple(parts)) for name, parts in sums.items()]
            hidden_cube = self.hidden_cells()
            return protect_table(full, known, constraints, shared, hidden_cube, self.threshold)

        compute = lambda: figures(self._combination_counts(sel))  # noqa: E731
        if sel.board is not None:  # a board in scope: its own figures
            return compute()  # type: ignore[return-value]
        return self.controlled(compute, control)  # type: ignore[arg-type]

    @reads
    def theme_pairs(self, sel: Selection) -> pl.DataFrame:
        """For the selection's period: every pair of circumstances (a pair with itself is the
        circumstance alone), children with both, that as a share of all children, and
        ``suppressed`` (hidden counts and shares are null)."""
        figures = self._circumstances(sel)
        total = figures["children"]
        rows = []
        for a in KEYS:
            for b in KEYS:
                if a == b:
                    both = figures[f"yes:{a}"]
                else:
                    first, second = sorted((a, b), key=KEYS.index)
                    both = figures[f"both:{first}:{second}"]
                hidden = both is None or total is None
                rows.append(
                    (
                        a,
                        LABELS[a],
                        THEME_SHORT[a],
                        b,
                        LABELS[b],
                        THEME_SHORT[b],
                        both,
                        total,
                        hidden,
                    )
                )
        out = pl.DataFrame(
            rows,
            schema={
                "theme_a": pl.String(),
                "label_a": pl.String(),
                "short_a": pl.String(),
                "theme_b": pl.String(),
                "label_b": pl.String(),
                "short_b": pl.String(),
                "both": pl.Int64(),
                "children": pl.Int64(),
                "suppressed": pl.Boolean(),
            },
            orient="row",
        )
        return out.with_columns(
            pl.when(pl.col("children") > 0).then(pl.col("both") / pl.col("children")).alias("share")
        ).select(*(c for c in out.columns if c != "suppressed"), "share", "suppressed")

    @reads
    def theme_combinations(self, sel: Selection) -> pl.DataFrame:
        """For the selection's period, the exact combinations that occur: combination,
        circumstances (how many, 0-4), children, share, suppressed; commonest first (hidden
        counts, null, last). Sums over these rows are not the whole when any is hidden:
        :meth:`theme_numbers` gives how many children have 0-4 circumstances."""
        figures = self._circumstances(sel)
        total = figures["children"]
        present = [c for c in COMBINATIONS if figures[_combo_name(c)] != 0]
        out = pl.DataFrame(
            {
                "combination": [_combination_label(c) for c in present],
                "circumstances": [sum(c) for c in present],
                "children": [figures[_combo_name(c)] for c in present],
            },
            schema={
                "combination": pl.String(),
                "circumstances": pl.Int64(),
                "children": pl.Int64(),
            },
        )
        return out.with_columns(
            (pl.col("children") / total if total else pl.lit(None, dtype=pl.Float64)).alias(
                "share"
            ),
            pl.col("children").is_null().alias("suppressed"),
        ).sort("children", "combination", descending=[True, False], nulls_last=True)

    @reads
    def theme_numbers(self, sel: Selection) -> pl.DataFrame:
        """For the selection's period: children by how many circumstances are coded yes
        (number 0-4, and "2+" for two or more), children, share, suppressed."""
        figures = self._circumstances(sel)
        total = figures["children"]
        names = [(str(n), f"number:{n}") for n in range(len(KEYS) + 1)] + [("2+", "two_or_more")]
        out = pl.DataFrame(
            {"number": [n for n, _ in names], "children": [figures[c] for _, c in names]},
            schema={"number": pl.String(), "children": pl.Int64()},
        )
        return out.with_columns(
            (pl.col("children") / total if total else pl.lit(None, dtype=pl.Float64)).alias(
                "share"
            ),
            pl.col("children").is_null().alias("suppressed"),
        )

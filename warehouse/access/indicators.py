"""The headline indicators: each defined once, and every aggregate query generated from them.

An :class:`Indicator` names its numerator (an SQL aggregate over the rows of its source:
reviews, children or recommendations) and its denominator (one of :data:`DENOMINATORS`, shared
by the indicators of the same unit). :func:`aggregate_sql` turns the definitions into one pass
over each source for every group of a selection, which is what the funnel plot and the
side-by-side tables need; ``tests/test_dashboard_access.py`` checks each indicator against the
study table cells that define it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import polars as pl

from warehouse.access.catalog import CatalogReads, region_label
from warehouse.access.connection import Selection, one_connection, selection_ctes

Source = Literal["reviews", "children", "recommendations"]
Polarity = Literal["higher", "lower", "none"]
RegionBy = Literal["review", "board"]

# How each source's rows join the selected reviews (``r``); numerator SQL reads their columns.
SOURCE_ROWS: dict[Source, str] = {
    "reviews": "sel_reviews r",
    "children": "children c JOIN sel_reviews r USING (review_id)",
    "recommendations": "recommendations x JOIN sel_reviews r USING (review_id)",
}


@dataclass(frozen=True)
class Denominator:
    """What a share is of: an SQL aggregate over one source's rows of the selection."""

    key: str
    source: Source
    sql: str


DENOMINATORS: dict[str, Denominator] = {
    d.key: d
    for d in (
        Denominator("reviews", "reviews", "count(*)"),
        Denominator("children", "children", "count(*)"),
        Denominator("recommendations", "recommendations", "count(*)"),
        Denominator("dated_reports", "reviews", "count(report_date)"),
        Denominator("reviews_with_total", "reviews", "count(recommendations_total)"),
    )
}


@dataclass(frozen=True)
class Indicator:
    key: str
    label: str
    kind: Literal["count", "share", "median", "mean"]
    unit: str  # what the denominator counts, in words
    definition: str
    numerator: str  # SQL aggregate over the rows of the denominator's source
    denominator: str  # a key of DENOMINATORS
    polarity: Polarity = "none"  # which direction is better

    @property
    def source(self) -> Source:
        return DENOMINATORS[self.denominator].source


# Completed calendar months from incident to report (a day earlier in the month than the
# incident's does not complete the month).
MONTHS_TO_REPORT = (
    "(12 * (year(report_date) - year(incident_date)) + month(report_date) "
    "- month(incident_date) - CASE WHEN day(report_date) < day(incident_date) THEN 1 ELSE 0 END)"
)


def _share(
    key: str, label: str, unit: str, definition: str, where: str, polarity: Polarity = "none"
) -> Indicator:
    """A share: the rows of ``unit`` (a denominator) meeting ``where``, of all of them."""
    numerator = f"count(*) FILTER (WHERE {where})"
    return Indicator(key, label, "share", unit, definition, numerator, unit, polarity)


INDICATORS: tuple[Indicator, ...] = (
    Indicator(
        "reviews", "Reviews", "count", "reviews", "Serious case reviews in the selection.",
        "count(*)", "reviews",
    ),
    Indicator(
        "children", "Children", "count", "children",
        "Children who are the subject of a review.", "count(*)", "children",
    ),
    _share(
        "under_one", "Under one", "children",
        "Children aged under one (age_months 0-11) as a share of all children (study Table 2).",
        "age_months BETWEEN 0 AND 11",
    ),
    _share(
        "age_11_plus", "Aged 11 or over", "children",
        "Children aged 11 or over (age_months 132-215) as a share of all children.",
        "age_months BETWEEN 132 AND 215",
    ),
    _share(
        "deaths", "Deaths", "children",
        "Children whose incident was a death (suicides are counted apart) (Table 7).",
        "incident_type = 'death'",
    ),
    _share(
        "on_register", "On a register or plan", "children",
        "Children on a child protection register (later: plan) at the incident (Table 8).",
        "cp_register = 'on_register'",
    ),
    _share(
        "ethnicity_not_recorded", "Ethnicity not recorded", "children",
        "Children whose ethnicity is coded not known/stated (Table 4).",
        "ethnicity = 'not_stated'", polarity="lower",
    ),
    _share(
        "independent_author", "Independent author", "reviews",
        "Reviews whose overview report had an independent author (Table 14).",
        "author_status = 'independent'", polarity="higher",
    ),
    Indicator(
        "median_months", "Median months to report", "median", "dated reports",
        "Median of completed calendar months from incident to report date, of dated "
        "reports (Table 13 bands the same interval).",
        f"median({MONTHS_TO_REPORT}) FILTER (WHERE report_date IS NOT NULL)", "dated_reports",
    ),
    _share(
        "genogram", "Report has a genogram", "reviews",
        "Reviews whose report contains a genogram (Chapter 8 item answered 'yes', Table 16).",
        "c8_genogram = 'yes'", polarity="higher",
    ),
    _share(
        "chronology", "Integrated chronology", "reviews",
        "Reviews whose report contains an integrated chronology of agency involvement "
        "(answered 'yes', Table 16).",
        "c8_chronology = 'yes'", polarity="higher",
    ),
    Indicator(
        "recs_per_review", "Recommendations per review", "mean", "reviews with a known total",
        "Mean number of overview-report recommendations, of reviews with a known total "
        "(Table 17).",
        "coalesce(sum(recommendations_total), 0)", "reviews_with_total",
    ),
    _share(
        "procedures", "Recommendations about procedures", "recommendations",
        "Recommendations whose focus is existing procedures or the need for new procedures "
        "(Table 18).",
        "focus IN ('existing_procedures', 'new_procedures')",
    ),
)  # fmt: skip
INDICATORS_BY_KEY = {i.key: i for i in INDICATORS}
SHARE_INDICATORS = tuple(i.key for i in INDICATORS if i.kind == "share")
# The indicators shown for each board when boards are set side by side.
SIDE_BY_SIDE = (
    "under_one",
    "on_register",
    "independent_author",
    "genogram",
    "chronology",
    "recs_per_review",
)


def numerator_column(indicator: Indicator) -> str:
    return f"{indicator.key}__k"


def aggregate_sql(keys: tuple[str, ...], region_by: RegionBy = "review") -> str:
    """One row per group of ``keys`` (period, board_code, region...) of the selection, with
    every denominator (named by its key) and every numerator (``<indicator>__k``)."""
    group = f"GROUP BY {', '.join(f'r.{k}' for k in keys)}" if keys else ""
    select_keys = "".join(f"r.{k}, " for k in keys)
    parts = []
    for source, rows in SOURCE_ROWS.items():
        terms = [f"{d.sql} AS {d.key}" for d in DENOMINATORS.values() if d.source == source]
        terms += [
            f"{i.numerator} AS {numerator_column(i)}" for i in INDICATORS if i.source == source
        ]
        parts.append(
            f"src_{source} AS (SELECT {select_keys}{', '.join(terms)} FROM {rows} {group})"
        )
    join = f"USING ({', '.join(keys)})" if keys else "ON true"
    return (
        f"{selection_ctes(region_by)},\n" + ",\n".join(parts) + "\nSELECT * FROM src_reviews "
        f"LEFT JOIN src_children {join} LEFT JOIN src_recommendations {join}"
    )


def long_schema(keys: tuple[str, ...]) -> dict[str, pl.DataType]:
    return {
        **{k: pl.String() for k in keys},
        "indicator": pl.String(),
        "label": pl.String(),
        "kind": pl.String(),
        "numerator": pl.Float64(),
        "denominator": pl.Int64(),
        "value": pl.Float64(),
    }


def to_long(wide: pl.DataFrame, keys: tuple[str, ...]) -> pl.DataFrame:
    """The aggregate's columns as one row per group and indicator: numerator, denominator,
    value (a proportion for shares)."""
    schema = long_schema(keys)
    if wide.is_empty():
        return pl.DataFrame(schema=schema)
    parts = []
    for ind in INDICATORS:
        numerator = pl.col(numerator_column(ind)).cast(pl.Float64)
        if ind.kind != "median":  # no median of nothing; a count of nothing is 0
            numerator = numerator.fill_null(0)
        denominator = pl.col(ind.denominator).cast(pl.Int64).fill_null(0)
        if ind.kind == "count":
            value = numerator
        elif ind.kind == "median":
            value = pl.when(denominator > 0).then(numerator)
        else:
            value = pl.when(denominator > 0).then(numerator / denominator)
        parts.append(
            wide.select(
                *keys,
                pl.lit(ind.key).alias("indicator"),
                pl.lit(ind.label).alias("label"),
                pl.lit(ind.kind).alias("kind"),
                numerator.alias("numerator"),
                denominator.alias("denominator"),
                value.cast(pl.Float64).alias("value"),
            )
        )
    return pl.concat(parts).cast(schema)  # type: ignore[arg-type]


class IndicatorReads(CatalogReads):
    """Indicators for a selection, by period (trends), by board, and for the headline."""

    def indicators(
        self,
        sel: Selection,
        by: tuple[str, ...] = (),
        *,
        all_periods: bool = False,
        region_by: RegionBy = "review",
    ) -> pl.DataFrame:
        """Every indicator for the selection, one row per group of ``by`` (e.g. ("period",)
        or ("board_code",)) and indicator: numerator, denominator, value (a proportion for
        shares). ``all_periods`` ignores the selection's period (for trends)."""
        wide = self.frame(aggregate_sql(by, region_by), sel.params(with_period=not all_periods))
        long = to_long(wide, by)
        return long.sort("period") if "period" in by else long

    @one_connection
    def trends(self, sel: Selection) -> pl.DataFrame:
        """Indicators by period for the selection and its comparators (its region when a
        board is chosen, and England), with a ``series`` column naming each."""
        frames = [self._series(sel, self.describe(sel), 0)]
        if sel.board is not None:
            region = self.board_region(sel.board)
            if region:
                frames.append(self._series(Selection(region=region), region_label(region), 1))
        if sel.board is not None or sel.region is not None:
            frames.append(self._series(Selection(), self.comparator_label, 2))
        return pl.concat(frames)

    def _series(self, sel: Selection, name: str, order: int) -> pl.DataFrame:
        long = self.indicators(sel, ("period",), all_periods=True)
        return long.with_columns(
            pl.lit(name).alias("series"), pl.lit(order, dtype=pl.Int64).alias("series_order")
        )

    @one_connection
    def headline(self, sel: Selection) -> pl.DataFrame:
        """The selection's indicators for its period (all periods pooled when None), with the
        previous period's value beside (``previous``, null when none)."""
        current = self.indicators(sel)
        periods = self.periods()
        if sel.period is None or sel.period not in periods or periods.index(sel.period) == 0:
            return current.with_columns(pl.lit(None, dtype=pl.Float64).alias("previous"))
        previous_period = periods[periods.index(sel.period) - 1]
        prev = self.indicators(replace(sel, period=previous_period)).select(
            "indicator", pl.col("value").alias("previous")
        )
        return current.join(prev, on="indicator", how="left")

    @one_connection
    def board_indicators(self, sel: Selection) -> pl.DataFrame:
        """Indicators for every board of the selection's region (all boards for England), for
        its period: board_code, board_name, region, indicator, numerator, denominator, value.
        Boards are placed in their most recent stated region."""
        long = self.indicators(
            Selection(period=sel.period, region=sel.region), ("board_code",), region_by="board"
        )
        boards = self.boards().select("board_code", "board_name", "region", "region_label")
        return long.join(boards, on="board_code", how="left").sort("board_name", "indicator")

    @one_connection
    def boards_side_by_side(self, sel: Selection) -> pl.DataFrame:
        """One row per board in the selection's region (every board ever seen there, with zero
        reviews in the period when none): board, reviews, children, and the key shares in %."""
        wide_keys = ("reviews", "children", *SIDE_BY_SIDE)
        long = self.board_indicators(sel).filter(pl.col("indicator").is_in(wide_keys))
        shares = long.with_columns(
            pl.when(pl.col("kind") == "share")
            .then(pl.col("value") * 100)
            .otherwise(pl.col("value"))
            .alias("value")
        )
        wide = shares.pivot(
            on="indicator", index=["board_code"], values="value", aggregate_function="first"
        )
        boards = self.boards()
        if sel.region is not None:
            boards = boards.filter(pl.col("region") == sel.region)
        out = boards.select("board_code", "board_name", "region_label").join(
            wide, on="board_code", how="left"
        )
        for key in wide_keys:
            if key not in out.columns:
                out = out.with_columns(pl.lit(None, dtype=pl.Float64).alias(key))
        return (
            out.with_columns(
                pl.col("reviews").fill_null(0).cast(pl.Int64),
                pl.col("children").fill_null(0).cast(pl.Int64),
            )
            .select("board_code", "board_name", "region_label", *wide_keys)
            .sort("reviews", "board_name", descending=[True, False])
        )

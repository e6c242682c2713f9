"""A board against its region and England, and the funnel plot of every board, with the exact
statistics of :mod:`warehouse.stats` (exact binomial intervals and funnel limits; Higher,
Similar, Lower or too few to compare).

A board has one or two reviews in a period, so board views pool the latest three periods by
default (``pool=3``: the selected period and the two before it); ``pool=1`` is the selected
period alone. Counts pool by adding up; a region's or England's pooled figure is hidden when
any of its periods' figures is (disclosure control works period by period).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import polars as pl

from warehouse import stats
from warehouse.access.connection import reads
from warehouse.access.cube import rest_column
from warehouse.access.definitions import ALL_PERIODS, INDICATORS, INDICATORS_BY_KEY
from warehouse.access.disclosure import NUMERATOR_CELL, protect_points
from warehouse.access.indicators import NO_BOARDS_FOR_THE_PUBLIC, IndicatorReads
from warehouse.access.selection import ENGLAND, Selection
from warehouse.stats import clopper_pearson, funnel_limits

__all__ = [
    "POOL_CHOICES",
    "BenchmarkReads",
    "clopper_pearson",
    "compare_with_england",
    "funnel_limits",
]

# Board views: the latest three periods pooled (the default), or the selected period alone.
POOL_CHOICES = (3, 1)
DEFAULT_POOL = 3


def compare_with_england(k: int | None, n: int | None, england: float | None) -> str:
    """A board's k of n against England's proportion: Higher, Similar, Lower, "Too few to
    compare" or "Not compared" (:func:`warehouse.stats.compare`)."""
    return stats.compare(k, n, england)


def pool_sum(column: str) -> pl.Expr:
    """A count pooled over periods: the sum, or null when any period's count is hidden."""
    return pl.when(pl.col(column).null_count() > 0).then(None).otherwise(pl.col(column).sum())


def pooled(long: pl.DataFrame, keys: Sequence[str]) -> pl.DataFrame:
    """Indicator rows of several periods added up per ``keys`` (indicator and any group):
    numerator, denominator and suppressed (any); value recomputed (a median cannot be pooled
    from the periods' medians and is null)."""
    kind = pl.col("kind")
    return (
        long.group_by(*keys, maintain_order=True)
        .agg(
            pl.col("label").first(),
            kind.first(),
            pool_sum("numerator").cast(pl.Float64).alias("numerator"),
            pool_sum("denominator").cast(pl.Int64).alias("denominator"),
            pl.col("suppressed").any().alias("suppressed"),
        )
        .with_columns(
            pl.when(kind == "count")
            .then(pl.col("numerator"))
            .when(kind.is_in(["share", "mean"]) & (pl.col("denominator") > 0))
            .then(pl.col("numerator") / pl.col("denominator"))
            .cast(pl.Float64)
            .alias("value")
        )
    )


def _terms(long: pl.DataFrame, side: str) -> pl.DataFrame:
    return long.select(
        "indicator",
        pl.col("numerator").alias(f"{side}_k"),
        pl.col("denominator").alias(f"{side}_n"),
        pl.col("value").alias(f"{side}_value"),
        pl.col("suppressed").alias(f"{side}_suppressed"),
    )


def _interval(
    k: pl.Series, n: pl.Series, names: tuple[str, str] = ("ci_low", "ci_high")
) -> tuple[pl.Series, pl.Series]:
    """Exact 95% intervals of k of n (null where there is no case, or a count is hidden)."""
    low, high = stats.clopper_pearson_arrays(
        k.cast(pl.Float64).fill_null(np.nan).to_numpy(),
        n.cast(pl.Float64).fill_null(np.nan).to_numpy(),
    )
    return (
        pl.Series(names[0], low, dtype=pl.Float64).fill_nan(None),
        pl.Series(names[1], high, dtype=pl.Float64).fill_nan(None),
    )


class BenchmarkReads(IndicatorReads):
    """The board benchmark table, two boards side by side, and the funnel plot."""

    def pooled_periods(self, period: str | None, pool: int = DEFAULT_POOL) -> tuple[str, ...]:
        """The periods a board view pools: ``period`` and the ``pool - 1`` before it (fewer at
        the start of the series); every period when ``period`` is None (all periods)."""
        if pool not in POOL_CHOICES:
            raise ValueError(f"pool is one of {POOL_CHOICES}, not {pool}")
        periods = self.periods()
        if period is None:
            return tuple(periods)
        if period not in periods:
            return (period,)
        end = periods.index(period) + 1
        return tuple(periods[max(0, end - pool) : end])

    def _pooled_indicators(self, sel: Selection, pool: int) -> pl.DataFrame:
        """Every indicator for the selection over its pooled periods (see the module)."""
        periods = self.pooled_periods(sel.period, pool)
        if sel.period is None or len(periods) == 1:
            return self.indicators(sel)
        by_period = self.indicators(replace(sel, period=None), ("period",), all_periods=True)
        chosen = by_period.filter(pl.col("period").is_in(list(periods)))
        return pooled(chosen, ["indicator"])

    @reads
    def benchmark(self, sel: Selection, pool: int = DEFAULT_POOL) -> pl.DataFrame:
        """A board in scope against its region and England on every share indicator, over the
        pooled periods (:meth:`pooled_periods`).

        Columns: indicator, label, definition, numerator_text, denominator_text, board_k,
        board_n, board_value, ci_low, ci_high (exact Clopper-Pearson 95%), board_all (the count
        the denominator is part of, when it leaves unanswered items out, else null),
        board_unanswered (board_all - board_n), region_k, region_n, region_value,
        region_ci_low, region_ci_high (exact 95%, null where hidden), england_k,
        england_n, england_value, comparison (Higher, Similar, Lower, "Too few to compare",
        or "Not compared" when England's value is hidden), region_suppressed,
        england_suppressed and suppressed (either). The board's own figures are never
        suppressed; the region's and England's are under disclosure control (null when
        hidden). England includes the board itself.
        """
        if sel.board is None:
            raise ValueError("benchmark needs a board in the selection")
        region = self.board_region(sel.board)
        board_long = self._pooled_indicators(Selection(period=sel.period, board=sel.board), pool)
        board = _terms(board_long, "board")
        england = _terms(self._pooled_indicators(Selection(period=sel.period), pool), "england")
        if region is not None:
            reg = _terms(
                self._pooled_indicators(Selection(period=sel.period, region=region), pool),
                "region",
            )
        else:
            reg = england.select(
                "indicator",
                *(pl.lit(None, dtype=pl.Float64).alias(f"region_{s}") for s in ("k", "value")),
                pl.lit(None, dtype=pl.Int64).alias("region_n"),
                pl.lit(False).alias("region_suppressed"),
            )
        shares = [i for i in INDICATORS if i.kind == "share"]
        counts = dict(
            zip(
                board_long["indicator"].to_list(),
                board_long["numerator"].to_list(),
                strict=True,
            )
        )
        meta = pl.DataFrame(
            {
                "indicator": [i.key for i in shares],
                "label": [i.label for i in shares],
                "definition": [i.definition for i in shares],
                "numerator_text": [i.numerator_text for i in shares],
                "denominator_text": [i.denominator_text for i in shares],
                # Where the denominator leaves unanswered items out: all the board's reviews.
                "board_all": [
                    None if i.completeness_of is None else counts.get(i.completeness_of)
                    for i in shares
                ],
            },
            schema_overrides={"board_all": pl.Float64},
        )
        out = (
            meta.join(board.drop("board_suppressed"), on="indicator", how="left")
            .join(reg, on="indicator", how="left")
            .join(england, on="indicator", how="left")
        )
        low, high = _interval(out["board_k"], out["board_n"])
        region_low, region_high = _interval(
            out["region_k"], out["region_n"], ("region_ci_low", "region_ci_high")
        )
        comparisons = [
            stats.compare(k, n, p0)
            for k, n, p0 in zip(out["board_k"], out["board_n"], out["england_value"], strict=True)
        ]  # one per indicator
        return out.with_columns(
            low,
            high,
            region_low,
            region_high,
            pl.col("board_all").cast(pl.Int64),
            (pl.col("board_all") - pl.col("board_n")).cast(pl.Int64).alias("board_unanswered"),
            (pl.col("region_suppressed") | pl.col("england_suppressed")).alias("suppressed"),
            pl.Series("comparison", comparisons, dtype=pl.String),
        )

    @reads
    def benchmark_pair(self, sel: Selection, other: str, pool: int = DEFAULT_POOL) -> pl.DataFrame:
        """Two boards in scope side by side on every share indicator, over the same pooled
        periods: the board of ``sel`` and ``other`` (OutOfScope when either is not the
        viewer's). One row per indicator: indicator, label, then for each board (``first_``
        and ``second_``): k, n, value, ci_low, ci_high, comparison; and England's value
        (england_value, england_suppressed)."""
        if sel.board is None:
            raise ValueError("benchmark_pair needs a board in the selection")
        second = Selection(period=sel.period, board=other)
        self.check(second)  # a board outside the scope is refused, never read
        columns = ("board_k", "board_n", "board_value", "ci_low", "ci_high", "comparison")

        def side(frame: pl.DataFrame, name: str) -> pl.DataFrame:
            return frame.select(
                "indicator",
                *(pl.col(c).alias(f"{name}_{c.removeprefix('board_')}") for c in columns),
            )

        first = self.benchmark(sel, pool)
        return (
            first.select("indicator", "label", "england_value", "england_suppressed")
            .join(side(first, "first"), on="indicator", how="left")
            .join(side(self.benchmark(second, pool), "second"), on="indicator", how="left")
        )

    @reads
    def funnel(self, sel: Selection, indicator: str, pool: int = DEFAULT_POOL) -> pl.DataFrame:
        """Every board's k, n and proportion on one share indicator over the pooled periods,
        with England's proportion and where each board falls against England's exact funnel
        limits: ``band`` is within 95%, between 95% and 99.8%, outside 99.8%, or too few to
        compare (:func:`warehouse.stats.band_arrays`).

        Boards in scope are named and shown in full. For a regional or board principal every
        other board is an unnamed point (board_code and board_name null; region kept only
        when it is the principal's own region) under disclosure control: k, n, value and
        band null where hidden, ``suppressed`` True. England's value is null (and every band
        too) when the cube hides it. OutOfScope for the public.
        """
        self.refuse_public(NO_BOARDS_FOR_THE_PUBLIC)
        ind = INDICATORS_BY_KEY[indicator]
        if ind.kind != "share":
            raise ValueError(f"{indicator} is not a proportion")
        periods = self.pooled_periods(sel.period, pool)
        all_periods = sel.period is None
        national = self._pooled_indicators(Selection(period=sel.period), pool).filter(
            pl.col("indicator") == indicator
        )
        # England's proportion: None when hidden (no limits can be drawn), else 0 if no cases.
        p0: float | None = 0.0
        if national.height and national["suppressed"][0]:
            p0 = None
        elif national.height and national["value"][0] is not None:
            p0 = float(national["value"][0])

        def points() -> pl.DataFrame:
            if all_periods:
                every = self.indicator_frame(Selection(), ("board_code",), False, "board")
            else:
                by_period = self.indicator_frame(
                    Selection(), ("period", "board_code"), True, "board"
                ).filter(pl.col("period").is_in(list(periods)))
                every = pooled(
                    by_period.with_columns(pl.lit(False).alias("suppressed")),
                    ["board_code", "indicator"],
                )
            every = every.filter((pl.col("indicator") == indicator) & (pl.col("denominator") > 0))
            boards = self.boards().select("board_code", "board_name", "region", "region_label")
            return (
                every.join(boards, on="board_code", how="left")
                .select(
                    "board_code",
                    "board_name",
                    "region",
                    "region_label",
                    pl.col("numerator").cast(pl.Int64).alias("k"),
                    pl.col("denominator").cast(pl.Int64).alias("n"),
                    "value",
                )
                .sort("board_name", "board_code")
            )

        def anonymise(full: pl.DataFrame, known: pl.DataFrame) -> pl.DataFrame:
            mine = full.filter(pl.col("board_code").is_in(known["board_code"].implode()))
            others = full.filter(~pl.col("board_code").is_in(known["board_code"].implode()))
            cube = self.hidden_cells()
            cells = {"k": NUMERATOR_CELL[indicator], "rest": rest_column(indicator)}
            cells["n"] = ind.denominator
            # England's count for one period (or all) is hidden where the cube hides it. A
            # pooled count of several periods is no cell of the cube, and may follow from
            # cells that are shown (all periods minus the others): it is taken as known, so
            # the points are protected as if it were shown (more hiding, never less).
            if all_periods or len(periods) == 1:
                period = ALL_PERIODS if all_periods else periods[0]
                england_hidden = {
                    part: (cell, ENGLAND, period) in cube for part, cell in cells.items()
                }
            else:
                england_hidden = dict.fromkeys(cells, False)
            home = self.home_region()
            unnamed = (
                protect_points(others, england_hidden, self.threshold)
                .with_columns(
                    pl.lit(None, dtype=pl.String).alias("board_code"),
                    pl.lit(None, dtype=pl.String).alias("board_name"),
                    pl.when(pl.col("region") == home).then(pl.col("region")).alias("region"),
                    pl.when(pl.col("region") == home)
                    .then(pl.col("region_label"))
                    .alias("region_label"),
                )
                .sort("n", "k", nulls_last=True)  # never in the order of the boards' names
            )
            return pl.concat(
                [mine.with_columns(pl.lit(False).alias("suppressed")), unnamed], how="vertical"
            )

        shown = self.controlled(
            points,
            anonymise,
            shown_whole=lambda df: df.with_columns(pl.lit(False).alias("suppressed")),
        )
        # Where each point falls (null where its count is hidden, or England's value is).
        band = pl.lit(None, dtype=pl.String)
        if p0 is not None:
            bands = stats.band_arrays(
                shown["k"].fill_null(0).to_numpy(), shown["n"].fill_null(1).to_numpy(), p0
            )
            band = pl.when(pl.col("k").is_not_null() & pl.col("n").is_not_null()).then(
                pl.Series(bands.tolist(), dtype=pl.String)
            )
        return shown.with_columns(
            band.alias("band"),
            pl.lit(p0, dtype=pl.Float64).alias("england"),
            (pl.col("board_code") == (sel.board or "")).fill_null(False).alias("selected"),
            (pl.col("region") == (sel.region or "")).fill_null(False).alias("in_region"),
        ).select(
            "board_code",
            "board_name",
            "region",
            "region_label",
            "k",
            "n",
            "value",
            "england",
            "band",
            "selected",
            "in_region",
            "suppressed",
        )

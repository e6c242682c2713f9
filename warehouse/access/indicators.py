"""Indicators for a selection: the headline, trends by period, and board by board.

England and regional aggregates beyond the principal's full view are read through
:meth:`AccessCore.controlled` and come back under disclosure control: a hidden figure is
null and the bool column ``suppressed`` marks its row. Board-level rows are only ever those
of boards in scope (the funnel plot's unnamed points are the one exception, in
``benchmark.py``).
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from warehouse.access.catalog import CatalogReads, region_label
from warehouse.access.connection import reads
from warehouse.access.definitions import (
    ALL_PERIODS,
    INDICATORS,
    INDICATORS_BY_KEY,
    SHARE_INDICATORS,
    SIDE_BY_SIDE,
    RegionBy,
    aggregate_sql,
    to_long,
)
from warehouse.access.disclosure import mask_indicators
from warehouse.access.selection import ENGLAND, Selection

__all__ = ["INDICATORS", "INDICATORS_BY_KEY", "SHARE_INDICATORS", "SIDE_BY_SIDE"]
NO_BOARDS_FOR_THE_PUBLIC = "figures for single boards are not shown without signing in"


class IndicatorReads(CatalogReads):
    """Every indicator for a selection, by period, region or board."""

    def indicator_frame(
        self, sel: Selection, by: tuple[str, ...], all_periods: bool, region_by: RegionBy
    ) -> pl.DataFrame:
        """The indicators as counted on the current connection (no control: callers control)."""
        wide = self.frame(aggregate_sql(by, region_by), sel.params(with_period=not all_periods))
        long = to_long(wide, by)
        return long.sort("period") if "period" in by else long

    @reads
    def indicators(
        self,
        sel: Selection,
        by: tuple[str, ...] = (),
        *,
        all_periods: bool = False,
        region_by: RegionBy = "review",
    ) -> pl.DataFrame:
        """Every indicator for the selection, one row per group of ``by`` (e.g. ("period",),
        ("region",) or ("board_code",)) and indicator: numerator, denominator, value (a
        proportion for shares), suppressed. ``all_periods`` ignores the selection's period.

        Grouped by board: the boards in scope only (OutOfScope for the public). A board
        selection (in scope): its own figures, in full. England and regions: under disclosure
        control, hidden figures null.
        """
        if "board_code" in by:
            self.refuse_public(NO_BOARDS_FOR_THE_PUBLIC)
        if "board_code" in by or sel.board is not None or self.principal.sees_everything:
            frame = self.indicator_frame(sel, by, all_periods, region_by)
            return frame.with_columns(pl.lit(False).alias("suppressed"))
        if not set(by) <= {"period", "region"} or region_by != "review":
            raise ValueError("England and regional indicators are grouped by period or region")
        region = pl.col("region") if "region" in by else pl.lit(sel.region or ENGLAND)
        pooled = all_periods or sel.period is None
        period = (
            pl.col("period") if "period" in by else pl.lit(ALL_PERIODS if pooled else sel.period)
        )

        def mask(long: pl.DataFrame) -> pl.DataFrame:
            return mask_indicators(long, region, period, self.hidden_cells())

        return self.controlled(
            lambda: self.indicator_frame(sel, by, all_periods, region_by),
            lambda full, known: mask(full),
            shown_whole=mask,
        )

    @reads
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

    @reads
    def headline(self, sel: Selection) -> pl.DataFrame:
        """The selection's indicators for its period (all periods pooled when None), with the
        previous period's beside: ``previous`` (its value), ``previous_numerator``,
        ``previous_denominator`` (null when there is none or it is hidden) and
        ``previous_period`` (null when there is no previous period), so a change can be shown
        with the counts it rests on."""
        current = self.indicators(sel)
        periods = self.periods()
        if sel.period is None or sel.period not in periods or periods.index(sel.period) == 0:
            return current.with_columns(
                pl.lit(None, dtype=pl.Float64).alias("previous"),
                pl.lit(None, dtype=pl.Float64).alias("previous_numerator"),
                pl.lit(None, dtype=pl.Int64).alias("previous_denominator"),
                pl.lit(None, dtype=pl.String).alias("previous_period"),
            )
        previous_period = periods[periods.index(sel.period) - 1]
        prev = self.indicators(replace(sel, period=previous_period)).select(
            "indicator",
            pl.col("value").alias("previous"),
            pl.col("numerator").alias("previous_numerator"),
            pl.col("denominator").alias("previous_denominator"),
            pl.lit(previous_period).alias("previous_period"),
        )
        return current.join(prev, on="indicator", how="left")

    @reads
    def board_indicators(self, sel: Selection) -> pl.DataFrame:
        """Indicators for every board in scope of the selection's region (all boards in scope
        for England), for its period: board_code, board_name, region, indicator, numerator,
        denominator, value, suppressed (False: the boards in scope are shown in full).
        Boards are placed in their most recent stated region. OutOfScope for the public."""
        long = self.indicators(
            Selection(period=sel.period, region=sel.region), ("board_code",), region_by="board"
        )
        boards = self.boards().select("board_code", "board_name", "region", "region_label")
        return long.join(boards, on="board_code", how="left").sort("board_name", "indicator")

    @reads
    def boards_side_by_side(self, sel: Selection) -> pl.DataFrame:
        """One row per board in scope in the selection's region (every board ever seen there,
        with zero reviews in the period when none): board, reviews, children, and the key
        shares in %. OutOfScope for the public."""
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

"""A board against its region and England: Wilson intervals, the single-overlap comparison
and the funnel plot of every board."""

from __future__ import annotations

import math

import polars as pl

from warehouse.access.connection import reads
from warehouse.access.cube import rest_column
from warehouse.access.definitions import ALL_PERIODS, INDICATORS, INDICATORS_BY_KEY
from warehouse.access.disclosure import NUMERATOR_CELL, protect_points
from warehouse.access.indicators import NO_BOARDS_FOR_THE_PUBLIC, IndicatorReads
from warehouse.access.selection import ENGLAND, Selection

Z95 = 1.959963984540054  # two-sided 95%
Z998 = 3.090232306167813  # two-sided 99.8%


def wilson_interval(k: float, n: int, z: float = Z95) -> tuple[float | None, float | None]:
    """Wilson score interval for k successes of n (as proportions); (None, None) when n = 0."""
    if n <= 0:
        return None, None
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def wilson_exprs(k: pl.Expr, n: pl.Expr, z: float, names: tuple[str, str]) -> list[pl.Expr]:
    """Vectorised Wilson bounds; null where n = 0 (or k or n is null)."""
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)).sqrt()) / denom
    return [
        pl.when(n > 0).then((centre - half).clip(0.0, 1.0)).alias(names[0]),
        pl.when(n > 0).then((centre + half).clip(0.0, 1.0)).alias(names[1]),
    ]


def compare_with_england(
    low: float | None, high: float | None, england: float | None, polarity: str
) -> str:
    """PHE single-overlap convention: the board's 95% CI against England's *value*.

    Similar when the interval contains England's value; otherwise Better/Worse where a
    direction is better, else Higher/Lower.
    """
    if low is None or high is None or england is None:
        return "Not compared"
    if low <= england <= high:
        return "Similar"
    higher = low > england
    if polarity == "none":
        return "Higher" if higher else "Lower"
    return "Better" if higher == (polarity == "higher") else "Worse"


def funnel_limits(p0: float, n_max: int, points: int = 120) -> pl.DataFrame:
    """95% and 99.8% control limits around England's proportion p0, for n = 1 .. n_max.

    The limits are p0 +/- z * sqrt(p0 (1 - p0) / n): exactly the board values whose Wilson
    score interval (at that z) just reaches p0. So a board lies outside the 95% funnel exactly
    when its 95% Wilson interval excludes England's value, the single-overlap rule of the
    benchmark table, and the picture and the markers always agree.
    """
    n_max = max(int(n_max), 2)
    # Denser at small n, where the funnel bends.
    grid = sorted({max(1, round(1 + (n_max - 1) * (i / points) ** 2)) for i in range(points + 1)})
    n = pl.col("n").cast(pl.Float64)
    spread = (p0 * (1 - p0) / n).sqrt()
    out = []
    for z, label in ((Z95, "95"), (Z998, "998")):
        out += [
            (p0 - z * spread).clip(0.0, 1.0).alias(f"lower_{label}"),
            (p0 + z * spread).clip(0.0, 1.0).alias(f"upper_{label}"),
        ]
    return pl.DataFrame({"n": grid}).with_columns(*out, pl.lit(p0).alias("england"))


def funnel_band(k: pl.Expr, n: pl.Expr, p0: float) -> pl.Expr:
    """Where a point falls against the funnel: a board whose Wilson interval excludes p0 is
    beyond that limit."""
    lo95, hi95 = wilson_exprs(k, n, Z95, ("_lo95", "_hi95"))
    lo998, hi998 = wilson_exprs(k, n, Z998, ("_lo998", "_hi998"))
    return (
        pl.when((lo998 > p0) | (hi998 < p0))
        .then(pl.lit("outside 99.8% limits"))
        .when((lo95 > p0) | (hi95 < p0))
        .then(pl.lit("between 95% and 99.8% limits"))
        .otherwise(pl.lit("within 95% limits"))
    )


def _terms(long: pl.DataFrame, side: str) -> pl.DataFrame:
    return long.select(
        "indicator",
        pl.col("numerator").alias(f"{side}_k"),
        pl.col("denominator").alias(f"{side}_n"),
        pl.col("value").alias(f"{side}_value"),
        pl.col("suppressed").alias(f"{side}_suppressed"),
    )


class BenchmarkReads(IndicatorReads):
    """The board benchmark table and the funnel plot."""

    @reads
    def benchmark(self, sel: Selection) -> pl.DataFrame:
        """A board in scope against its region and England on every share indicator, for its
        period.

        Columns: indicator, label, definition, polarity, board_k, board_n, board_value,
        ci_low, ci_high (Wilson 95%), region_k, region_n, region_value, england_k, england_n,
        england_value, comparison (single-overlap: Better/Similar/Worse or Higher/Lower; "Not
        compared" when England's value is hidden), region_suppressed, england_suppressed and
        suppressed (either). The board's own figures are never suppressed; the region's and
        England's are under disclosure control (null when hidden).
        """
        if sel.board is None:
            raise ValueError("benchmark needs a board in the selection")
        region = self.board_region(sel.board)
        board = _terms(self.indicators(Selection(period=sel.period, board=sel.board)), "board")
        england = _terms(self.indicators(Selection(period=sel.period)), "england")
        if region is not None:
            reg = _terms(self.indicators(Selection(period=sel.period, region=region)), "region")
        else:
            reg = england.select(
                "indicator",
                *(pl.lit(None, dtype=pl.Float64).alias(f"region_{s}") for s in ("k", "value")),
                pl.lit(None, dtype=pl.Int64).alias("region_n"),
                pl.lit(False).alias("region_suppressed"),
            )
        shares = [i for i in INDICATORS if i.kind == "share"]
        meta = pl.DataFrame(
            {
                "indicator": [i.key for i in shares],
                "label": [i.label for i in shares],
                "definition": [i.definition for i in shares],
                "polarity": [i.polarity for i in shares],
            }
        )
        out = (
            meta.join(board.drop("board_suppressed"), on="indicator", how="left")
            .join(reg, on="indicator", how="left")
            .join(england, on="indicator", how="left")
            .with_columns(
                *wilson_exprs(pl.col("board_k"), pl.col("board_n"), Z95, ("ci_low", "ci_high")),
                (pl.col("region_suppressed") | pl.col("england_suppressed")).alias("suppressed"),
            )
        )
        comparisons = [
            compare_with_england(lo, hi, eng, pol)
            for lo, hi, eng, pol in zip(
                out["ci_low"], out["ci_high"], out["england_value"], out["polarity"], strict=True
            )
        ]
        return out.with_columns(pl.Series("comparison", comparisons, dtype=pl.String))

    @reads
    def funnel(self, sel: Selection, indicator: str) -> pl.DataFrame:
        """Every board's k, n and proportion on one share indicator for the period, with
        England's proportion and where each board falls against the funnel limits: ``band``
        is within 95%, between 95% and 99.8%, or outside 99.8%.

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
        national = self.indicators(Selection(period=sel.period)).filter(
            pl.col("indicator") == indicator
        )
        # England's proportion: None when hidden (no limits can be drawn), else 0 if no cases.
        p0: float | None = 0.0
        if national.height and national["suppressed"][0]:
            p0 = None
        elif national.height and national["value"][0] is not None:
            p0 = float(national["value"][0])

        def points() -> pl.DataFrame:
            every = self.indicator_frame(
                Selection(period=sel.period), ("board_code",), False, "board"
            ).filter((pl.col("indicator") == indicator) & (pl.col("denominator") > 0))
            boards = self.boards().select("board_code", "board_name", "region", "region_label")
            return (
                every.join(boards, on="board_code", how="left")
                .select(
                    "board_code",
                    "board_name",
                    "region",
                    "region_label",
                    pl.col("numerator").cast(pl.Int64).alias("k"),
                    pl.col("denominator").alias("n"),
                    "value",
                )
                .sort("board_name", "board_code")
            )

        def anonymise(full: pl.DataFrame, known: pl.DataFrame) -> pl.DataFrame:
            mine = full.filter(pl.col("board_code").is_in(known["board_code"].implode()))
            others = full.filter(~pl.col("board_code").is_in(known["board_code"].implode()))
            period = sel.period or ALL_PERIODS
            cube = self.hidden_cells()
            england_hidden = {
                "k": (NUMERATOR_CELL[indicator], ENGLAND, period) in cube,
                "rest": (rest_column(indicator), ENGLAND, period) in cube,
                "n": (ind.denominator, ENGLAND, period) in cube,
            }
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
        k, n = pl.col("k"), pl.col("n").cast(pl.Float64)
        return shown.with_columns(
            pl.when(k.is_null() | n.is_null() | (p0 is None))
            .then(None)
            .otherwise(funnel_band(k, n, p0 or 0.0))
            .alias("band"),
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

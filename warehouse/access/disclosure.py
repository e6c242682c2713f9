"""Disclosure control applied to the frames the read layer returns: which rows of a frame
are cells of the cube (``cube.py``) and what to null where they are hidden; the funnel
plot's unnamed points and the tables of one selection (pairs and combinations of themes,
agency x focus) protected on their own with the cube's cells held fixed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import polars as pl

from warehouse.access.cube import Cell
from warehouse.access.definitions import INDICATORS, numerator_column
from warehouse.disclosure import Constraint, protect


def is_hidden(
    measure: pl.Expr, region: pl.Expr, period: pl.Expr, hidden: Iterable[Cell]
) -> pl.Expr:
    """Whether each row's cell (measure, region, period) is hidden (False where no cell)."""
    keys = ["\x1f".join(cell) for cell in hidden]
    key = pl.concat_str([measure, region, period], separator="\x1f")
    return key.is_in(pl.Series(keys, dtype=pl.String).implode()).fill_null(False)


# The cube cells behind each indicator's numerator and denominator (a median has no count).
NUMERATOR_CELL = {
    i.key: (i.denominator if i.kind == "count" else numerator_column(i))
    for i in INDICATORS
    if i.kind != "median"
}
DENOMINATOR_CELL = {i.key: i.denominator for i in INDICATORS}


def mask_indicators(
    long: pl.DataFrame, region: pl.Expr, period: pl.Expr, hidden: frozenset[Cell]
) -> pl.DataFrame:
    """Indicator rows (indicator, kind, numerator, denominator, value) of the cube cells
    ``region`` x ``period``, with hidden figures null and ``suppressed`` set.

    A median or mean is hidden with its denominator (a median of a handful of reports gives
    them away); a share's value with either of its counts.
    """
    den_hidden = is_hidden(
        pl.col("indicator").replace_strict(DENOMINATOR_CELL, default=None), region, period, hidden
    )
    num_hidden = is_hidden(
        pl.col("indicator").replace_strict(NUMERATOR_CELL, default=None), region, period, hidden
    ) | (pl.col("kind").is_in(["median", "mean"]) & den_hidden)
    return (
        long.with_columns(num_hidden.alias("_num_hidden"), den_hidden.alias("_den_hidden"))
        .with_columns(
            pl.when(pl.col("_num_hidden"))
            .then(None)
            .otherwise(pl.col("numerator"))
            .alias("numerator"),
            pl.when(pl.col("_den_hidden"))
            .then(None)
            .otherwise(pl.col("denominator"))
            .alias("denominator"),
            pl.when(pl.col("_num_hidden") | pl.col("_den_hidden"))
            .then(None)
            .otherwise(pl.col("value"))
            .alias("value"),
            (pl.col("_num_hidden") | pl.col("_den_hidden")).alias("suppressed"),
        )
        .drop("_num_hidden", "_den_hidden")
    )


def protect_points(
    points: pl.DataFrame, england_hidden: Mapping[str, bool], threshold: int
) -> pl.DataFrame:
    """Shares k of n of boards outside the scope (the funnel plot's unnamed points) under
    disclosure control: k, n and value null where hidden, and ``suppressed``.

    The points add up, with the boards in scope, to England's k and n, which are shown
    elsewhere unless the cube hides them (``england_hidden`` by "k", "rest", "n"); so the
    points are protected together with that sum (counts of the boards in scope are known and
    taken out). If England would have to be hidden where the cube shows it, no point is shown.
    """
    ks = [int(v) for v in points["k"].to_list()]
    ns = [int(v) for v in points["n"].to_list()]
    values: dict[tuple[str, int], int] = {}
    constraints = []
    for i, (k, n) in enumerate(zip(ks, ns, strict=True)):
        values |= {("k", i): k, ("rest", i): n - k, ("n", i): n}
        constraints.append(Constraint(("n", i), (("k", i), ("rest", i))))
    england = -1
    for part in ("k", "rest", "n"):
        values[(part, england)] = sum(v for (p, _), v in values.items() if p == part)
        constraints.append(Constraint((part, england), tuple((part, i) for i in range(len(ks)))))
    constraints.append(Constraint(("n", england), (("k", england), ("rest", england))))
    also = [(part, england) for part, hide in england_hidden.items() if hide]
    hidden = protect(values, constraints, threshold, also_hide=also)
    overflow = any(
        (part, england) in hidden and not england_hidden.get(part) for part in ("k", "rest", "n")
    )
    hide_k = [overflow or ("k", i) in hidden for i in range(len(ks))]
    hide_n = [overflow or ("n", i) in hidden for i in range(len(ks))]
    return (
        points.with_columns(
            pl.Series("_hide_k", hide_k, dtype=pl.Boolean),
            pl.Series("_hide_n", hide_n, dtype=pl.Boolean),
        )
        .with_columns(
            pl.when(pl.col("_hide_k")).then(None).otherwise(pl.col("k")).alias("k"),
            pl.when(pl.col("_hide_n")).then(None).otherwise(pl.col("n")).alias("n"),
            pl.when(pl.col("_hide_k") | pl.col("_hide_n"))
            .then(None)
            .otherwise(pl.col("value"))
            .alias("value"),
            (pl.col("_hide_k") | pl.col("_hide_n")).alias("suppressed"),
        )
        .drop("_hide_k", "_hide_n")
    )


def protect_table(
    full: Mapping[str, int],
    known: Mapping[str, int],
    constraints: Sequence[Constraint],
    cube_cells: Mapping[str, Cell],
    hidden_cube: frozenset[Cell],
    threshold: int,
) -> dict[str, int | None]:
    """One selection's table (cells named by string) under disclosure control: its values,
    None where hidden. Cells that are also cells of the cube (``cube_cells``, e.g. the
    selection's children) are hidden where the cube hides them and must stay shown where it
    shows them; if protecting the table would hide one, every other cell is hidden, and if
    even that is not enough, the whole table."""
    remainder = {name: value - known.get(name, 0) for name, value in full.items()}
    forced = [name for name, cell in cube_cells.items() if cell in hidden_cube]
    own = [name for name in full if name not in cube_cells]
    for also in (forced, forced + own):
        hidden = protect(remainder, constraints, threshold, also_hide=also)
        if not any(name in hidden and cell not in hidden_cube for name, cell in cube_cells.items()):
            return {name: None if name in hidden else value for name, value in full.items()}
    return dict.fromkeys(full)

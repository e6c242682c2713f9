"""Disclosure control applied to what the read layer returns (``warehouse.disclosure`` decides
which counts to hide; this module says which counts there are and how they add up).

England and regional aggregates are protected together, in a *cube*: every measure (each
indicator's numerator, the rest of its denominator, each denominator; each family
circumstance's answers; each recommendation focus) for every region (``not_stated`` included)
and England, for every period and all periods pooled. A reader knows that the regions add up
to England and the periods to all periods, and that a denominator is its numerator plus the
rest; :func:`hidden_cells` hides counts from 1 to the threshold and enough others that no
hidden count follows from those sums, so one region's count cannot be worked out from England
minus the others, nor one period's from the pooled figure. Tables that share a measure (the
children of every child indicator and of the themes) are protected until they agree on it.

For a regional or board principal the counts protected are what is left after taking out
their own part (the remainder rule): a region's figure is hidden when it minus the board's
own is 1 to the threshold, and a figure that is all their own is never hidden.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from warehouse.access.connection import ENGLAND, AccessCore
from warehouse.access.definitions import (
    ALL_PERIODS,
    DENOMINATORS,
    INDICATORS,
    THEME_ANSWERS,
    THEMES,
    aggregate_sql,
    numerator_column,
)
from warehouse.disclosure import Constraint, protect
from warehouse.frame import frame

Cell = tuple[str, str, str]  # measure, region (or England), period (or all)
OTHER_FOCUS = "focus__uncoded"  # recommendations with no focus, or one the frame lacks


@dataclass(frozen=True)
class CubeTable:
    """Measures protected together: each ``total = sum(parts)`` holds in every group."""

    measures: tuple[str, ...]
    identities: tuple[tuple[str, tuple[str, ...]], ...] = ()


def rest_column(indicator_key: str) -> str:
    return f"{indicator_key}__rest"


def theme_column(theme: str, answer: str) -> str:
    return f"{theme}__{answer}"


def focus_column(focus: str) -> str:
    return f"focus__{focus}"


def focus_codes() -> list[str]:
    return list(frame().codes("recommendation_focus"))


def cube_tables() -> tuple[CubeTable, ...]:
    """Every table of the cube (see the module docstring)."""
    tables = []
    for ind in INDICATORS:
        if ind.kind == "share":
            k, rest = numerator_column(ind), rest_column(ind.key)
            tables.append(CubeTable((ind.denominator, k, rest), ((ind.denominator, (k, rest)),)))
        elif ind.kind == "mean":  # a total (of recommendations): adds up like a count
            tables.append(CubeTable((numerator_column(ind),)))
    covered = {m for t in tables for m in t.measures}
    tables += [CubeTable((d,)) for d in DENOMINATORS if d not in covered]
    for theme, _ in THEMES:
        answers = tuple(theme_column(theme, a) for a in THEME_ANSWERS)
        tables.append(CubeTable(("children", *answers), (("children", answers),)))
    focuses = (*(focus_column(f) for f in focus_codes()), OTHER_FOCUS)
    tables.append(CubeTable(("recommendations", *focuses), (("recommendations", focuses),)))
    return tuple(tables)


def cube_sql() -> str:
    """Every measure of the cube by region and period with all margins ($period, $region and
    $board are NULL: the whole of what the connection holds)."""
    themes = [
        f"count(*) FILTER (WHERE c.{t} {'IS NULL' if a == 'blank' else f'= {a!r}'}) "
        f"AS {theme_column(t, a)}"
        for t, _ in THEMES
        for a in THEME_ANSWERS
    ]
    codes = focus_codes()
    focuses = [f"count(*) FILTER (WHERE x.focus = '{f}') AS {focus_column(f)}" for f in codes]
    known = ", ".join(f"'{f}'" for f in codes)
    focuses.append(
        f"count(*) FILTER (WHERE x.focus IS NULL OR x.focus NOT IN ({known})) AS {OTHER_FOCUS}"
    )
    return aggregate_sql(
        ("region", "period"), margins=True, extra={"children": themes, "recommendations": focuses}
    )


def cube_values(wide: pl.DataFrame, regions: Sequence[str], periods: Sequence[str]) -> dict:
    """The cube's counts by cell, zeros included, from :func:`cube_sql`'s result."""
    measures = sorted({m for t in cube_tables() for m in t.measures})
    shares = [i for i in INDICATORS if i.kind == "share"]
    wide = wide.with_columns(
        *(
            (pl.col(i.denominator).fill_null(0) - pl.col(numerator_column(i)).fill_null(0)).alias(
                rest_column(i.key)
            )
            for i in shares
        )
    )
    values: dict[Cell, int] = {
        (m, r, p): 0 for m in measures for r in (*regions, ENGLAND) for p in (*periods, ALL_PERIODS)
    }
    for row in wide.select("region", "period", *measures).iter_rows(named=True):
        for m in measures:
            values[(m, row["region"], row["period"])] = int(row[m] or 0)
    return values


def cube_constraints(
    table: CubeTable, regions: Sequence[str], periods: Sequence[str]
) -> list[Constraint]:
    """The sums a reader knows for one table: regions to England, periods to all periods,
    and the table's own identities in every group."""
    out = []
    for m in table.measures:
        for p in (*periods, ALL_PERIODS):
            out.append(Constraint((m, ENGLAND, p), tuple((m, r, p) for r in regions)))
        for r in (*regions, ENGLAND):
            out.append(Constraint((m, r, ALL_PERIODS), tuple((m, r, p) for p in periods)))
    for total, parts in table.identities:
        for r in (*regions, ENGLAND):
            for p in (*periods, ALL_PERIODS):
                out.append(Constraint((total, r, p), tuple((part, r, p) for part in parts)))
    return out


def hidden_cells(
    full: Mapping[Cell, int],
    known: Mapping[Cell, int],
    regions: Sequence[str],
    periods: Sequence[str],
    threshold: int,
) -> frozenset[Cell]:
    """The cube's cells to hide, given the principal's own part of each (``known``).

    Each table is protected on its own; a measure two tables share (children, reviews,
    recommendations) hidden by either is hidden in both, and the tables are protected again
    until they agree.
    """
    remainder = {cell: value - known.get(cell, 0) for cell, value in full.items()}
    tables = cube_tables()
    uses: dict[str, int] = {}
    for t in tables:
        for m in t.measures:
            uses[m] = uses.get(m, 0) + 1
    shared = {m for m, n in uses.items() if n > 1}
    problems = [
        (
            {c: v for c, v in remainder.items() if c[0] in t.measures},
            cube_constraints(t, regions, periods),
            set(t.measures) & shared,
        )
        for t in tables
    ]
    # Protect every table, then again each table that must now hide more of what it shares.
    forced: set[Cell] = set()
    hidden_by: list[frozenset[Cell]] = [frozenset()] * len(problems)
    stale = set(range(len(problems)))

    def run(i: int) -> frozenset[Cell]:
        values, constraints, shares = problems[i]
        also = [c for c in forced if c[0] in shares]
        return protect(values, constraints, threshold, also_hide=also)

    # The solver releases the GIL: tables are protected side by side.
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        while stale:
            order = sorted(stale)
            for i, found in zip(order, pool.map(run, order), strict=True):
                hidden_by[i] = found
            newly = {c for h in hidden_by for c in h if c[0] in shared} - forced
            forced |= newly
            stale = {
                i
                for i, (_, _, shares) in enumerate(problems)
                if any(c[0] in shares and c not in hidden_by[i] for c in newly)
            }
    return frozenset().union(*hidden_by)


def is_hidden(
    measure: pl.Expr, region: pl.Expr, period: pl.Expr, hidden: Iterable[Cell]
) -> pl.Expr:
    """Whether each row's cell (measure, region, period) is hidden (False where no cell)."""
    keys = ["\x1f".join(cell) for cell in hidden]
    key = pl.concat_str([measure, region, period], separator="\x1f")
    return key.is_in(pl.Series(keys, dtype=pl.String).implode()).fill_null(False)


# The cube of each principal and snapshot version, computed once (a few seconds).
_CUBES: OrderedDict[tuple, frozenset[Cell]] = OrderedDict()
_CUBES_LOCK = threading.Lock()
_CUBES_KEPT = 64


class DisclosureReads(AccessCore):
    """The principal's cube of hidden aggregate cells."""

    def hidden_cells(self) -> frozenset[Cell]:
        """The England and regional cells hidden from this principal (none for national)."""
        if self.principal.sees_everything:
            return frozenset()
        with self.connect():
            key = (
                str(self.snapshot),
                self._local.version,
                self.principal.role,
                self.principal.scope_code,
                self.threshold,
            )
            with _CUBES_LOCK:
                if key in _CUBES:
                    _CUBES.move_to_end(key)
                    return _CUBES[key]
            hidden = self.controlled(
                self._cube, self._protect_cube, shown_whole=lambda _: frozenset()
            )
        with _CUBES_LOCK:
            _CUBES[key] = hidden
            while len(_CUBES) > _CUBES_KEPT:
                _CUBES.popitem(last=False)
        return hidden

    def _cube(self) -> pl.DataFrame:
        return self.frame(cube_sql(), {"period": None, "region": None, "board": None})

    def _protect_cube(self, full: pl.DataFrame, known: pl.DataFrame) -> frozenset[Cell]:
        regions = sorted(set(full["region"]) - {ENGLAND})
        periods = sorted(set(full["period"]) - {ALL_PERIODS})
        return hidden_cells(
            cube_values(full, regions, periods),
            cube_values(known, regions, periods),
            regions,
            periods,
            self.threshold,
        )


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

"""The disclosure cube: every England and regional count a principal may see outside its
full view, and which of them to hide (``warehouse.disclosure.protect`` decides; this module
says which counts there are and how they add up).

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
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import polars as pl

from warehouse.access.connection import AccessCore
from warehouse.access.definitions import (
    ALL_PERIODS,
    DENOMINATORS,
    INDICATORS,
    THEME_ANSWERS,
    THEMES,
    aggregate_sql,
    numerator_column,
)
from warehouse.access.selection import ENGLAND
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


def unanswered_column(denominator: str) -> str:
    """The rows a denominator leaves out of the count it is part of (unanswered, not known)."""
    return f"{denominator}__unanswered"


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
    # A denominator leaving out unanswered rows is part of a count that is shown too (all
    # reviews): the difference, the unanswered count, is protected with them.
    for d in DENOMINATORS.values():
        if d.of is not None:
            gap = unanswered_column(d.key)
            tables.append(CubeTable((d.of, d.key, gap), ((d.of, (d.key, gap)),)))
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
        ),
        *(
            (pl.col(d.of).fill_null(0) - pl.col(d.key).fill_null(0)).alias(unanswered_column(d.key))
            for d in DENOMINATORS.values()
            if d.of is not None
        ),
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


# The cube of each principal and snapshot version, computed once (a few seconds).
_CUBES: OrderedDict[tuple, frozenset[Cell]] = OrderedDict()
_CUBES_LOCK = threading.Lock()
_CUBES_KEPT = 64


class CubeReads(AccessCore):
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

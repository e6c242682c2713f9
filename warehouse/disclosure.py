"""Statistical disclosure control, following the DfE serious incident notification statistics.

A count from 1 to the threshold (5 unless ``SCR_DISCLOSURE_THRESHOLD`` or the caller says
otherwise) is shown as ``c``; true zeros stay 0. Secondary suppression then hides further
cells until no hidden cell can be worked out from what is shown: the totals and summary rows
it adds up to (the *constraints*), the other shown cells, and the fact that a hidden cell is
at least 1 (zeros are shown, so two hidden cells known to add up to 2 are both 1).
Percentages, shares and intervals computed from a hidden count are hidden too.

``protect`` decides which cells to hide for any set of cells and additive constraints;
``suppress_shares`` hides shares row by row (indicators: k of n); ``suppress_study_tables``
applies ``protect`` to the study tables JSON.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import polars as pl

SYMBOL: str = "c"
DEFAULT_THRESHOLD = 5
THRESHOLD_ENV = "SCR_DISCLOSURE_THRESHOLD"

K = TypeVar("K", bound=Hashable)


def threshold_from_env() -> int:
    """``SCR_DISCLOSURE_THRESHOLD`` when set to a whole number >= 1, else 5."""
    raw = os.environ.get(THRESHOLD_ENV, "").strip()
    if not raw:
        return DEFAULT_THRESHOLD
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{THRESHOLD_ENV}={raw!r} is not a whole number") from None
    if value < 1:
        raise ValueError(f"{THRESHOLD_ENV}={raw!r} must be 1 or more")
    return value


def note(threshold: int) -> str:
    """The explanation printed wherever ``c`` appears."""
    return (
        f"{SYMBOL}: a count from 1 to {threshold}, or a figure hidden so that such a count "
        "cannot be worked out from the totals or the other figures shown (secondary "
        "suppression). Percentages and intervals computed from a hidden count are hidden "
        "too. 0 is a true zero."
    )


@dataclass(frozen=True)
class Constraint:
    """An identity the reader knows: ``total == sum(parts)`` (a table's n and its rows, a
    summary row and the rows it adds up, or one cell equal to another: one part)."""

    total: Hashable
    parts: tuple[Hashable, ...]


def protect(
    values: Mapping[K, int],
    constraints: Iterable[Constraint],
    threshold: int,
    *,
    also_hide: Iterable[K] = (),
) -> frozenset[K]:
    """The cells to hide: primary ones (1..threshold, and ``also_hide``) and enough others
    that no hidden cell's value is determined by the shown values, the constraints and the
    knowledge that every hidden cell is at least 1.

    Zeros are never hidden (``also_hide`` zeros are ignored): a true zero is shown. Every
    constraint must hold for ``values``. A table's total is hidden as a secondary cell only
    when no part can be hidden instead (a total such as n appears in several tables).
    """
    return _Protector(values, list(constraints), threshold, floors={}).run(also_hide)


def protect_with_floors(
    values: Mapping[K, int],
    constraints: Iterable[Constraint],
    threshold: int,
    *,
    floors: Mapping[K, int],
    also_hide: Iterable[K] = (),
) -> frozenset[K]:
    """``protect`` for a reader who knows a lower bound above 1 for some cells (their own
    part of an aggregate): no hidden cell may be determined given ``value >= floor``."""
    bounded = {k: min(int(f), int(values[k])) for k, f in floors.items() if k in values}
    return _Protector(values, list(constraints), threshold, floors=bounded).run(also_hide)


class _Protector:
    """Secondary suppression over cells indexed 0..m-1.

    A constraint is stored as ``{cell: coefficient}`` with parts +1 and the total -1, so each
    reads ``sum(coef * value) == 0``. ``floor[i]`` is the least value a reader knows a hidden
    cell has: 1, or more when they know their own part of it (the remainder rule).
    """

    def __init__(
        self,
        values: Mapping[Any, int],
        constraints: list[Constraint],
        threshold: int,
        floors: Mapping[Any, int],
    ) -> None:
        self.keys = list(values)
        self.index = {key: i for i, key in enumerate(self.keys)}
        self.value = [int(values[key]) for key in self.keys]
        self.threshold = threshold
        self.floor = [max(1, int(floors.get(key, 1))) for key in self.keys]
        self.rows: list[dict[int, int]] = []
        self.is_total = [False] * len(self.keys)
        for constraint in constraints:
            row: dict[int, int] = {}
            for key, coef in [(constraint.total, -1), *((p, 1) for p in constraint.parts)]:
                if key not in self.index:
                    raise KeyError(f"constraint names {key!r}, which has no value")
                i = self.index[key]
                row[i] = row.get(i, 0) + coef
            row = {i: c for i, c in row.items() if c != 0}
            if not row:
                continue
            if sum(c * self.value[i] for i, c in row.items()) != 0:
                raise ValueError(f"constraint does not hold for the values: {constraint}")
            self.rows.append(row)
            self.is_total[self.index[constraint.total]] = True
        self.rows_of: list[list[int]] = [[] for _ in self.keys]
        for r, row in enumerate(self.rows):
            for i in row:
                self.rows_of[i].append(r)
        self.hidden: set[int] = set()

    # -- choosing what to hide -------------------------------------------------------------

    def _candidate(self, cells: Iterable[int]) -> int | None:
        """The best shown non-zero cell to hide among ``cells``: parts before totals (a
        total is usually n, shown in several places), then the smallest, then the first."""
        shown = [i for i in cells if i not in self.hidden and self.value[i] != 0]
        if not shown:
            return None
        return min(shown, key=lambda i: (self.is_total[i], self.value[i], i))

    def _apply_single_constraint_rules(self) -> None:
        """Hide until no constraint on its own pins a hidden cell: a constraint with exactly
        one hidden cell, or whose hidden parts (total shown) add up to their floors."""
        changed = True
        while changed:
            changed = False
            for row in self.rows:
                hidden = [i for i in row if i in self.hidden]
                if not hidden:
                    continue
                if len(hidden) == 1 or self._parts_at_floor(row, hidden):
                    choice = self._candidate(row)
                    if choice is not None:
                        self.hidden.add(choice)
                        changed = True

    def _parts_at_floor(self, row: dict[int, int], hidden: list[int]) -> bool:
        # Only a shown total bounds its hidden parts from above.
        if any(row[i] < 0 for i in hidden):
            return False
        return sum(self.value[i] for i in hidden) == sum(self.floor[i] for i in hidden)

    # -- the exact check -------------------------------------------------------------------

    def _components(self) -> list[tuple[list[int], list[int]]]:
        """Groups of hidden cells linked through constraints (shown cells are constants),
        each with the constraints that touch it."""
        parent = {i: i for i in self.hidden}

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for row in self.rows:
            hidden = [i for i in row if i in self.hidden]
            for i in hidden[1:]:
                parent[find(i)] = find(hidden[0])
        groups: dict[int, list[int]] = {}
        for i in sorted(self.hidden):
            groups.setdefault(find(i), []).append(i)
        out = []
        for cells in groups.values():
            rows = sorted({r for i in cells for r in self.rows_of[i]})
            if rows:
                out.append((cells, rows))
        return out

    def _pinned(self, cells: list[int], rows: list[int]) -> list[int]:
        """The hidden cells of one component whose value is the only one possible."""
        if len(rows) == 1 and all(abs(c) == 1 for c in self.rows[rows[0]].values()):
            # One constraint: exact by hand. Two or more hidden cells with a shown total are
            # free unless they sit at their floors; with a hidden total nothing is bounded.
            # (A cell named twice in a constraint goes to the integer program.)
            row = self.rows[rows[0]]
            if len(cells) == 1 or self._parts_at_floor(row, cells):
                return cells
            return []
        return self._pinned_by_milp(cells, rows)

    def _pinned_by_milp(self, cells: list[int], rows: list[int]) -> list[int]:
        import numpy as np
        from scipy.optimize import Bounds, LinearConstraint, linprog, milp

        position = {i: p for p, i in enumerate(cells)}
        matrix = np.zeros((len(rows), len(cells)))
        rhs = np.zeros(len(rows))
        for r, row_id in enumerate(rows):
            for i, coef in self.rows[row_id].items():
                if i in position:
                    matrix[r, position[i]] = coef
                else:
                    rhs[r] -= coef * self.value[i]
        floor = np.array([self.floor[i] for i in cells], dtype=float)
        truth = np.array([self.value[i] for i in cells], dtype=float)
        free = np.zeros(len(cells), dtype=bool)

        def integer_solution(low: np.ndarray, high: np.ndarray) -> np.ndarray | None:
            """A whole-number solution within [low, high], or None when there is none.
            A feasibility question (no objective), so "unbounded" never arises. The LP
            relaxation first, being faster: infeasible means no solution at all, and a
            whole-number vertex (the rule for sums like these) is an answer; only a
            fractional one needs the integer program."""
            lp = linprog(
                np.zeros(len(cells)),
                A_eq=matrix,
                b_eq=rhs,
                bounds=np.column_stack([low, np.where(np.isinf(high), None, high)]),
                method="highs",
            )
            if lp.status == 2:
                return None
            if lp.status == 0 and np.all(np.abs(lp.x - np.round(lp.x)) < 1e-7):
                return np.round(lp.x)
            result = milp(
                np.zeros(len(cells)),
                constraints=LinearConstraint(matrix, rhs, rhs),
                bounds=Bounds(low, high),
                integrality=np.ones(len(cells)),
            )
            return result.x if result.status == 0 and result.x is not None else None

        def other_solution(p: int, lower: float, upper: float) -> bool:
            # Is there a solution with cell p in [lower, upper]?
            low, high = floor.copy(), np.full(len(cells), np.inf)
            low[p], high[p] = max(lower, floor[p]), upper
            if low[p] > high[p]:
                return False
            found = integer_solution(low, high)
            if found is None:
                return False
            # Any solution that differs from the truth frees every cell it moves.
            free[np.abs(found - truth) > 0.5] = True
            return True

        for p in range(len(cells)):
            if not free[p] and not other_solution(p, truth[p] + 1, np.inf):
                other_solution(p, -np.inf, truth[p] - 1)
        return [i for p, i in enumerate(cells) if not free[p]]

    def _hide_for(self, pinned: int, rows: list[int]) -> int | None:
        """A cell to hide so that ``pinned`` is no longer pinned: from its own constraint
        with the fewest hidden cells (the one that gives it away), else the component's."""
        own = sorted(
            self.rows_of[pinned], key=lambda r: sum(i in self.hidden for i in self.rows[r])
        )
        for r in own:
            choice = self._candidate(self.rows[r])
            if choice is not None:
                return choice
        return self._candidate(i for r in rows for i in self.rows[r])

    def run(self, also_hide: Iterable[Any]) -> frozenset[Any]:
        extra = {self.index[k] for k in also_hide if k in self.index}
        self.hidden = {
            i
            for i, v in enumerate(self.value)
            if (1 <= v <= self.threshold) or (i in extra and v != 0)
        }
        while True:
            self._apply_single_constraint_rules()
            pinned_any, touched = False, set()
            for cells, rows in self._components():
                # A cell for each pinned cell of the round, not one a round: the exact check
                # is the cost, and this needs far fewer rounds of it. A pinned cell whose
                # constraint already gained a hidden cell this round may be free now: it
                # waits for the next round's check rather than hide more than needed.
                for cell in self._pinned(cells, rows):
                    pinned_any = True
                    if touched.intersection(self.rows_of[cell]):
                        continue
                    choice = self._hide_for(cell, rows)
                    if choice is not None:
                        self.hidden.add(choice)
                        touched.update(self.rows_of[choice])
            if not pinned_any:
                return frozenset(self.keys[i] for i in self.hidden)
            if not touched:  # cannot happen: with no shown non-zero cell nothing is pinned
                raise RuntimeError("a hidden cell is pinned but nothing is left to hide")


def suppress_shares(
    df: pl.DataFrame,
    *,
    numerator: str = "numerator",
    denominator: str = "denominator",
    threshold: int,
    known_numerator: str | None = None,
    known_denominator: str | None = None,
    value_columns: Sequence[str] = ("value",),
) -> pl.DataFrame:
    """Hide shares (k of n) row by row.

    A row is suppressed when k, n - k or n is 1..threshold (either side of the share would
    give a small count away); with ``known_*`` columns (the viewer's own part of k and n) also
    when what is left after taking the viewer's part out is. A suppressed row gets a null
    numerator and null ``value_columns``; its denominator is nulled too when n itself (or its
    remainder) is small. Adds the bool column ``suppressed``.
    """

    def small(expr: pl.Expr) -> pl.Expr:
        return expr.is_between(1, threshold).fill_null(False)

    k, n = pl.col(numerator), pl.col(denominator)
    small_n = small(n)
    hide = small(k) | small(n - k) | small_n
    if known_numerator is not None or known_denominator is not None:
        own_k = pl.col(known_numerator).fill_null(0) if known_numerator else pl.lit(0)
        own_n = pl.col(known_denominator).fill_null(0) if known_denominator else pl.lit(0)
        rest_k, rest_n = k - own_k, n - own_n
        small_n = small_n | small(rest_n)
        hide = hide | small(rest_k) | small(rest_n - rest_k) | small(rest_n)
    columns = [c for c in value_columns if c in df.columns]
    return (
        df.with_columns(hide.alias("suppressed"), small_n.alias("__small_n"))
        .with_columns(
            *(
                pl.when(pl.col("suppressed")).then(None).otherwise(pl.col(c)).alias(c)
                for c in [numerator, *columns]
            ),
            pl.when(pl.col("__small_n")).then(None).otherwise(n).alias(denominator),
        )
        .drop("__small_n")
    )


# -- the study tables ---------------------------------------------------------------------

# A cell of the tables JSON: (table_id, "n"), (table_id, row_code) for a simple table's row
# or summary, (table_id, row_code, column_code) for a crosstab cell.
Cell = tuple[str, ...]


def study_cells(result: Mapping[str, Any]) -> dict[Cell, int]:
    """Every count of a tables JSON by cell (hidden ones, already ``c``, left out)."""
    cells: dict[Cell, int] = {}
    for table in result["tables"]:
        tid = table["id"]
        if isinstance(table["n"], int):
            cells[(tid, "n")] = table["n"]
        for section in ("rows", "summaries"):
            for row in table.get(section, []):
                if "counts" in row:
                    for column, count in row["counts"].items():
                        if isinstance(count, int):
                            cells[(tid, row["code"], column)] = count
                elif isinstance(row.get("count"), int):
                    cells[(tid, row["code"])] = row["count"]
    return cells


def study_constraints(result: Mapping[str, Any], cells: Mapping[Cell, int]) -> list[Constraint]:
    """What a reader can add up in a tables JSON, each kept only where it holds for these
    figures (a reader may assume any identity that holds, so this is the cautious side):

    - a simple table's rows add up to its n; each crosstab row's cells add up to n;
    - the ``-- identity:`` lines of the table's SQL (summary rows, cells equal to another
      table's);
    - tables of the same unit with the same n: one n, shown in several places.
    """
    from warehouse.study_tables import TABLES_BY_ID

    constraints: list[Constraint] = []

    def add(total: Cell, parts: list[Cell]) -> None:
        if total in cells and all(p in cells for p in parts):
            if cells[total] == sum(cells[p] for p in parts):
                constraints.append(Constraint(total, tuple(parts)))

    n_by_unit: dict[tuple[str, int], list[Cell]] = {}
    for table in result["tables"]:
        tid = table["id"]
        n_cell = (tid, "n")
        if n_cell in cells:
            n_by_unit.setdefault((table["unit"], cells[n_cell]), []).append(n_cell)
        if "columns" in table:
            for row in table["rows"]:
                add(n_cell, [(tid, row["code"], c) for c in row["counts"]])
        else:
            add(n_cell, [(tid, row["code"]) for row in table["rows"]])
        meta = TABLES_BY_ID.get(tid)
        for identity in meta.identities if meta else ():

            def cell(term: str, table_id: str = tid) -> Cell:
                other, dot, code = term.rpartition(".")
                return (other if dot else table_id, code)

            add(cell(identity.total), [cell(p) for p in identity.parts])
    for same_n in n_by_unit.values():
        for first, second in zip(same_n, same_n[1:], strict=False):
            constraints.append(Constraint(second, (first,)))
    return constraints


def suppress_study_tables(
    result: dict[str, Any], threshold: int, *, known: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The tables JSON with hidden counts, percentages and n shown as ``c`` (a new dict).

    ``known`` is the viewer's own part of the same tables (their board inside the region
    they are looking at): a count is then also hidden when what is left after taking their
    part out is 1..threshold, and a hidden cell is known to be at least their part.
    Adds ``result["disclosure"] = {threshold, symbol, note, hidden_cells}``.
    """
    if "disclosure" in result:
        raise ValueError("these tables are already under disclosure control")
    cells = study_cells(result)
    constraints = study_constraints(result, cells)
    floors: dict[Cell, int] = {}
    remainder_small: set[Cell] = set()
    if known is not None:
        own = study_cells(known)
        for key, value in cells.items():
            part = own.get(key, 0)
            if 1 <= value - part <= threshold:
                remainder_small.add(key)
            if part > 1:
                floors[key] = part
    hidden = protect_with_floors(
        cells, constraints, threshold, floors=floors, also_hide=remainder_small
    )
    out = copy.deepcopy(result)
    for table in out["tables"]:
        _hide_in_table(table, hidden)
    out["disclosure"] = {
        "threshold": threshold,
        "symbol": SYMBOL,
        "note": note(threshold),
        "hidden_cells": len(hidden),
    }
    return out


def _hide_in_table(table: dict[str, Any], hidden: frozenset[Cell]) -> None:
    from warehouse.study_tables import TABLES_BY_ID

    tid = table["id"]
    n_hidden = (tid, "n") in hidden
    for section in ("rows", "summaries"):
        for row in table.get(section, []):
            if "counts" in row:
                row["counts"] = {
                    column: SYMBOL if (tid, row["code"], column) in hidden else count
                    for column, count in row["counts"].items()
                }
                continue
            count_hidden = (tid, row["code"]) in hidden
            if count_hidden:
                row["count"] = SYMBOL
            # A percentage of a hidden count, or of a hidden n, would give either away.
            if row.get("percent") is not None and (count_hidden or n_hidden):
                row["percent"] = SYMBOL
    if n_hidden:
        table["n"] = SYMBOL
    meta = TABLES_BY_ID.get(tid)
    if meta is not None and meta.ordered_by_count:
        # Rows sorted by count would place a hidden count between its neighbours (between
        # two 9s it is 9): shown rows keep their order, hidden ones follow by label, and a
        # missing row stays last.
        table["rows"].sort(
            key=lambda row: (
                row["code"] == "missing",
                row.get("count") == SYMBOL,
                row["label"] if row.get("count") == SYMBOL else "",
            )
        )

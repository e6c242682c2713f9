"""Disclosure control: no hidden cell can be worked out from what is shown.

The property tests check ``protect`` against an independent oracle: an exhaustive search
over every assignment of the hidden cells (whole numbers from 1, or the reader's known
part, up to a cap far above any total) that satisfies the constraints. The study tables
are checked on the sample warehouse with a second independent reader: an integer program
built from the published JSON alone and the identities any reader of the tables knows.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import openpyxl
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from pipelines.cli import main
from tests.sample_warehouses import sample_warehouse_once
from warehouse.disclosure import (
    SYMBOL,
    Constraint,
    note,
    protect,
    protect_with_floors,
    suppress_shares,
    suppress_study_tables,
    threshold_from_env,
)
from warehouse.study_tables import compute_study_tables

# -- the exhaustive oracle -----------------------------------------------------------------


def solutions_exist(
    values: Mapping[Hashable, int],
    constraints: Sequence[Constraint],
    domains: dict[Hashable, tuple[int, int]],
) -> dict[Hashable, int] | None:
    """One assignment of the hidden cells (the keys of ``domains``, each within its range)
    that satisfies every constraint, or None when there is none: an exhaustive search,
    narrowing the ranges by each constraint (a sum's range is the sum of its parts') before
    trying every value of the cell with the fewest left."""
    rows = [(c.total, c.parts) for c in constraints]

    def narrow(dom: dict[Hashable, tuple[int, int]]) -> dict[Hashable, tuple[int, int]] | None:
        dom = dict(dom)

        def rng(k: Hashable) -> tuple[int, int]:
            return dom[k] if k in dom else (values[k], values[k])

        changed = True
        while changed:
            changed = False
            for total, parts in rows:
                lows = [rng(p)[0] for p in parts]
                highs = [rng(p)[1] for p in parts]
                t_lo, t_hi = rng(total)
                bounds = {total: (max(t_lo, sum(lows)), min(t_hi, sum(highs)))}
                for i, p in enumerate(parts):
                    others_lo, others_hi = sum(lows) - lows[i], sum(highs) - highs[i]
                    lo, hi = bounds.get(p, rng(p))
                    bounds[p] = (max(lo, t_lo - others_hi), min(hi, t_hi - others_lo))
                for k, (lo, hi) in bounds.items():
                    if lo > hi:
                        return None
                    if k in dom and (lo, hi) != dom[k]:
                        dom[k] = (lo, hi)
                        changed = True
                    elif k not in dom and (lo, hi) != (values[k], values[k]):
                        return None  # a shown cell would have to change
        return dom

    def search(dom: dict[Hashable, tuple[int, int]]) -> dict[Hashable, int] | None:
        narrowed = narrow(dom)
        if narrowed is None:
            return None
        open_cells = [k for k, (lo, hi) in narrowed.items() if lo < hi]
        if not open_cells:
            found = {k: lo for k, (lo, _) in narrowed.items()}
            full = {**values, **found}
            ok = all(full[t] == sum(full[p] for p in parts) for t, parts in rows)
            return found if ok else None
        cell = min(open_cells, key=lambda k: (narrowed[k][1] - narrowed[k][0], repr(k)))
        lo, hi = narrowed[cell]
        for x in range(lo, hi + 1):
            found = search(narrowed | {cell: (x, x)})
            if found is not None:
                return found
        return None

    return search(domains)


def recoverable_by_search(
    values: Mapping[Hashable, int],
    constraints: Sequence[Constraint],
    hidden: frozenset[Hashable],
    floors: Mapping[Hashable, int],
) -> list[Hashable]:
    """The hidden cells that take a single value over every assignment of the hidden cells
    (whole numbers from their floor up to a cap far above any total) consistent with the
    constraints and the shown cells."""
    cap = 2 * sum(values.values()) + 4
    base = {k: (floors[k], cap) for k in hidden}
    free: set[Hashable] = set()
    pinned = []
    for cell in sorted(hidden, key=repr):
        if cell in free:
            continue
        truth = values[cell]
        for low, high in ((truth + 1, cap), (floors[cell], truth - 1)):
            if low > high:
                continue
            found = solutions_exist(values, constraints, base | {cell: (low, high)})
            if found is not None:
                # Every cell this other solution moves is free too.
                free |= {k for k, v in found.items() if v != values[k]}
                break
        else:
            pinned.append(cell)
    return pinned


def assert_protected(
    values: Mapping[Hashable, int],
    constraints: Sequence[Constraint],
    hidden: frozenset[Hashable],
    threshold: int,
    floors: Mapping[Hashable, int] | None = None,
) -> None:
    floors = {k: max(1, (floors or {}).get(k, 1)) for k in values}
    for key, value in values.items():
        if 1 <= value <= threshold:
            assert key in hidden, f"primary cell {key}={value} shown"
        if value == 0:
            assert key not in hidden, f"zero {key} hidden"
    pinned = recoverable_by_search(values, constraints, hidden, floors)
    assert pinned == [], f"{pinned} determined; hidden {sorted(hidden, key=repr)}"


# -- random tables -------------------------------------------------------------------------

COUNTS = st.sampled_from([0, 0, 1, 2, 3, 4, 5, 6, 7, 9, 12])


@st.composite
def split(draw: st.DrawFn, total: int, parts: int) -> list[int]:
    """``total`` as ``parts`` non-negative whole numbers."""
    out, left = [], total
    for _ in range(parts - 1):
        x = draw(st.integers(0, left))
        out.append(x)
        left -= x
    return [*out, left]


@st.composite
def tables_with_constraints(draw: st.DrawFn) -> tuple[dict, list[Constraint], int]:
    """A simple table (rows add up to n) with summary rows over some of its rows,
    crosstab rows that each add up to the same n, and a second table sharing that n."""
    k = draw(st.integers(1, 5))
    rows = draw(st.lists(COUNTS, min_size=k, max_size=k))
    values: dict[Hashable, int] = {("row", i): v for i, v in enumerate(rows)}
    values["n"] = n = sum(rows)
    constraints = [Constraint("n", tuple(("row", i) for i in range(k)))]
    if k >= 2:
        for s in range(draw(st.integers(0, 2))):
            members = draw(st.lists(st.integers(0, k - 1), min_size=2, max_size=k, unique=True))
            values[("summary", s)] = sum(rows[i] for i in members)
            constraints.append(Constraint(("summary", s), tuple(("row", i) for i in members)))
    for r in range(draw(st.integers(0, 2))):
        cells = draw(split(n, draw(st.integers(2, 3))))
        for c, v in enumerate(cells):
            values[("cross", r, c)] = v
        constraints.append(Constraint("n", tuple(("cross", r, c) for c in range(len(cells)))))
    if draw(st.booleans()):
        # Another table of the same unit: its n is the same count, shown in its own place.
        values["n2"] = n
        constraints.append(Constraint("n2", ("n",)))
        cells = draw(split(n, draw(st.integers(1, 3))))
        for c, v in enumerate(cells):
            values[("other", c)] = v
        constraints.append(Constraint("n2", tuple(("other", c) for c in range(len(cells)))))
    return values, constraints, draw(st.integers(1, 5))


SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(tables_with_constraints())
def test_protect_leaves_no_hidden_cell_recoverable(case: tuple) -> None:
    values, constraints, threshold = case
    hidden = protect(values, constraints, threshold)
    assert_protected(values, constraints, hidden, threshold)


@SETTINGS
@given(tables_with_constraints(), st.data())
def test_protect_with_also_hide(case: tuple, data: st.DataObject) -> None:
    values, constraints, threshold = case
    extra = data.draw(st.lists(st.sampled_from(sorted(values, key=repr)), max_size=3))
    hidden = protect(values, constraints, threshold, also_hide=extra)
    assert {k for k in extra if values[k] != 0} <= hidden
    assert_protected(values, constraints, hidden, threshold)


@st.composite
def aggregate_and_own_part(draw: st.DrawFn) -> tuple[dict, dict, list[Constraint], int]:
    """A simple table with summary rows for an aggregate (a region) and the viewer's own
    part of it (their board): each own count at most the aggregate's."""
    k = draw(st.integers(1, 4))
    rows = draw(st.lists(COUNTS, min_size=k, max_size=k))
    own_rows = [draw(st.integers(0, v)) for v in rows]
    values: dict[Hashable, int] = {("row", i): v for i, v in enumerate(rows)}
    own: dict[Hashable, int] = {("row", i): v for i, v in enumerate(own_rows)}
    values["n"], own["n"] = sum(rows), sum(own_rows)
    constraints = [Constraint("n", tuple(("row", i) for i in range(k)))]
    if k >= 3 and draw(st.booleans()):
        values["s"], own["s"] = rows[0] + rows[1], own_rows[0] + own_rows[1]
        constraints.append(Constraint("s", (("row", 0), ("row", 1))))
    return values, own, constraints, draw(st.integers(1, 4))


@SETTINGS
@given(aggregate_and_own_part())
def test_remainder_rule_protects_against_a_reader_who_knows_their_part(case: tuple) -> None:
    values, own, constraints, threshold = case
    remainder_small = [k for k, v in values.items() if 1 <= v - own[k] <= threshold]
    hidden = protect_with_floors(
        values, constraints, threshold, floors=own, also_hide=remainder_small
    )
    assert set(remainder_small) <= hidden
    assert_protected(values, constraints, hidden, threshold, floors=own)


# -- protect: the cases that matter, by hand -----------------------------------------------


def simple(rows: list[int]) -> tuple[dict, list[Constraint]]:
    values: dict[Hashable, int] = {f"r{i}": v for i, v in enumerate(rows)}
    values["n"] = sum(rows)
    return values, [Constraint("n", tuple(f"r{i}" for i in range(len(rows))))]


def test_a_lone_small_count_takes_the_smallest_other_part_not_n() -> None:
    values, constraints = simple([3, 40, 12, 0])
    assert protect(values, constraints, 5) == {"r0", "r2"}  # n is shown; the zero too


def test_two_hidden_cells_known_to_add_up_to_their_count_are_not_left_alone() -> None:
    # 1 + 1 = 2 with both at least 1: both recoverable. A third part must go.
    values, constraints = simple([1, 1, 30, 9])
    assert protect(values, constraints, 5) == {"r0", "r1", "r3"}


def test_n_is_hidden_only_when_it_is_itself_small() -> None:
    values, constraints = simple([2, 2])
    assert protect(values, constraints, 5) == {"r0", "r1", "n"}
    values, constraints = simple([7, 8])
    assert protect(values, constraints, 5) == frozenset()


def test_a_summary_row_does_not_give_a_hidden_band_away() -> None:
    values, constraints = simple([3, 20, 30, 40])
    values["s"] = 23
    constraints.append(Constraint("s", ("r0", "r1")))
    hidden = protect(values, constraints, 5)
    assert "r0" in hidden and "n" not in hidden
    assert_protected(values, constraints, hidden, 5)


def test_protect_refuses_constraints_that_do_not_hold() -> None:
    values, constraints = simple([3, 4])
    with pytest.raises(ValueError, match="does not hold"):
        protect(values, [Constraint("n", ("r0",))], 5)
    with pytest.raises(KeyError):
        protect(values, [Constraint("n", ("r0", "nowhere"))], 5)


def test_threshold_and_note(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCR_DISCLOSURE_THRESHOLD", raising=False)
    assert threshold_from_env() == 5
    monkeypatch.setenv("SCR_DISCLOSURE_THRESHOLD", "3")
    assert threshold_from_env() == 3
    for bad in ("0", "three"):
        monkeypatch.setenv("SCR_DISCLOSURE_THRESHOLD", bad)
        with pytest.raises(ValueError):
            threshold_from_env()
    text = note(3)
    assert text.startswith(f"{SYMBOL}:") and "1 to 3" in text and "0 is a true zero" in text


# -- suppress_shares -----------------------------------------------------------------------


def test_suppress_shares_hides_small_numerators_remainders_and_bases() -> None:
    df = pl.DataFrame(
        {
            "label": ["small k", "small n-k", "small n", "fine", "zero", "none"],
            "numerator": [3, 47, 2, 20, 0, None],
            "denominator": [50, 50, 4, 50, 50, None],
            "value": [0.06, 0.94, 0.5, 0.4, 0.0, None],
            "lower": [0.02, 0.8, 0.1, 0.3, 0.0, None],
        }
    )
    out = suppress_shares(df, threshold=5, value_columns=("value", "lower"))
    assert out["suppressed"].to_list() == [True, True, True, False, False, False]
    assert out["numerator"].to_list() == [None, None, None, 20, 0, None]
    assert out["value"].to_list() == [None, None, None, 0.4, 0.0, None]
    assert out["lower"].to_list() == [None, None, None, 0.3, 0.0, None]
    assert out["denominator"].to_list() == [50, 50, None, 50, 50, None]
    assert out["label"].to_list() == df["label"].to_list()


def test_suppress_shares_with_the_viewers_own_part() -> None:
    df = pl.DataFrame(
        {
            "numerator": [12, 30, 30],
            "denominator": [100, 100, 100],
            "own_k": [9, 10, 10],
            "own_n": [20, 20, 97],
            "value": [0.12, 0.3, 0.3],
        }
    )
    out = suppress_shares(df, threshold=5, known_numerator="own_k", known_denominator="own_n")
    # 12 - 9 = 3 others; 30 - 10 = 20 (fine); 100 - 97 = 3 others in the base.
    assert out["suppressed"].to_list() == [True, False, True]
    assert out["denominator"].to_list() == [100, 100, None]


# -- the study tables on the sample warehouse ----------------------------------------------

# What any reader of the tables knows, written out here independently of the SQL headers.
SUMMARIES = {
    ("t02_age", "2_and_under"): ["under_1", "1_2"],
    ("t02_age", "11_and_over"): ["11_14", "15", "16", "17"],
}
EQUAL_CELLS = [
    (("t02b_age_under_1", "n"), ("t02_age", "under_1")),
    (("t13_time_to_completion", "not_dated"), ("t12_report_year", "no_date")),
]


def recoverable_cells(
    published: dict[str, Any], floors: Mapping[tuple, int] | None = None
) -> list[tuple]:
    """The hidden cells of a published tables JSON that a reader could work out: an integer
    program over the ``c`` cells (each at least 1, or at least the reader's own part) with
    every identity of the tables; a cell is recoverable when it has a single feasible value."""
    variables: dict[tuple, int] = {}
    equations: list[tuple[dict[tuple, int], int]] = []  # sum(coef * var) == constant

    def term(key: tuple, value: Any, coef: int, eq: dict[tuple, int]) -> int:
        if value == SYMBOL:
            variables.setdefault(key, len(variables))
            eq[key] = eq.get(key, 0) + coef
            return 0
        return coef * int(value)

    def add(total: tuple[tuple, Any], parts: list[tuple[tuple, Any]]) -> None:
        eq: dict[tuple, int] = {}
        constant = -term(*total, -1, eq) - sum(term(*p, 1, eq) for p in parts)
        equations.append((eq, constant))

    cell_value: dict[tuple, Any] = {}
    n_by_unit: dict[str, list[tuple]] = {}
    for table in published["tables"]:
        tid = table["id"]
        cell_value[(tid, "n")] = table["n"]
        if tid != "t02b_age_under_1":
            n_by_unit.setdefault(table["unit"], []).append((tid, "n"))
        for section in ("rows", "summaries"):
            for row in table.get(section, []):
                if "counts" in row:
                    cells = [((tid, row["code"], c), v) for c, v in row["counts"].items()]
                    add(((tid, "n"), table["n"]), cells)
                else:
                    cell_value[(tid, row["code"])] = row["count"]
        if "columns" not in table:
            add(((tid, "n"), table["n"]), [((tid, r["code"]), r["count"]) for r in table["rows"]])
    for (tid, code), parts in SUMMARIES.items():
        if (tid, code) in cell_value:
            add(
                ((tid, code), cell_value[(tid, code)]),
                [((tid, p), cell_value[(tid, p)]) for p in parts],
            )
    for left, right in EQUAL_CELLS:
        if left in cell_value and right in cell_value:
            add((left, cell_value[left]), [(right, cell_value[right])])
    for same in n_by_unit.values():
        for a, b in zip(same, same[1:], strict=False):
            add((a, cell_value[a]), [(b, cell_value[b])])
    if not variables:
        return []
    matrix = np.zeros((len(equations), len(variables)))
    rhs = np.zeros(len(equations))
    for r, (eq, constant) in enumerate(equations):
        for key, coef in eq.items():
            matrix[r, variables[key]] += coef
        rhs[r] = constant
    lows = np.array([max(1, (floors or {}).get(k, 1)) for k in variables], dtype=float)
    equalities = LinearConstraint(matrix, rhs, rhs)

    def solve(j: int | None = None, low: float = -np.inf, high: float = np.inf):
        lo, hi = lows.copy(), np.full(len(variables), np.inf)
        if j is not None:
            lo[j], hi[j] = max(low, lows[j]), high
        result = milp(
            np.zeros(len(variables)),
            constraints=equalities,
            bounds=Bounds(lo, hi),
            integrality=np.ones(len(variables)),
        )
        return np.round(result.x) if result.status == 0 else None

    base = solve()
    assert base is not None, "the published tables contradict their own identities"
    free = np.zeros(len(variables), dtype=bool)
    for j in range(len(variables)):
        if free[j]:
            continue
        for low, high in ((base[j] + 1, np.inf), (-np.inf, base[j] - 1)):
            other = solve(j, low, high)
            if other is not None:
                free |= other != base  # two solutions: every cell they differ in is free
                break
    return [key for key, j in variables.items() if not free[j]]


def small_counts(published: dict[str, Any], threshold: int = 5) -> list[tuple]:
    found = []
    for table in published["tables"]:
        if isinstance(table["n"], int) and 1 <= table["n"] <= threshold:
            found.append((table["id"], "n"))
        for section in ("rows", "summaries"):
            for row in table.get(section, []):
                counts = row["counts"].values() if "counts" in row else [row["count"]]
                found += [
                    (table["id"], row["code"])
                    for c in counts
                    if isinstance(c, int) and 1 <= c <= threshold
                ]
    return found


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample_warehouse_once(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def selections(sample: Path) -> list[dict[str, str | None]]:
    con = duckdb.connect(str(sample), read_only=True)
    try:
        regions = [
            r[0] for r in con.execute("SELECT DISTINCT region FROM reviews ORDER BY 1").fetchall()
        ]
        boards = [
            r[0]
            for r in con.execute(
                "SELECT DISTINCT board_code FROM reviews ORDER BY 1 LIMIT 4"
            ).fetchall()
        ]
    finally:
        con.close()
    return (
        [{}, {"period": "2001-03"}, {"period": "2009-11"}]
        + [{"region": r} for r in regions]
        + [{"board": b} for b in boards]
        + [{"region": regions[0], "period": "2005-07"}]
    )


@pytest.fixture(scope="module")
def computed(sample: Path, selections: list[dict]) -> list[tuple[dict, dict[str, Any]]]:
    """Each selection with its tables, computed once for the module."""
    return [(selection, compute(sample, **selection)) for selection in selections]


def compute(sample: Path, **selection: str | None) -> dict[str, Any]:
    con = duckdb.connect(str(sample), read_only=True)
    try:
        return compute_study_tables(con, **selection)
    finally:
        con.close()


def test_study_tables_hide_small_counts_and_leave_nothing_recoverable(
    computed: list[tuple[dict, dict[str, Any]]],
) -> None:
    for selection, full in computed:
        published = suppress_study_tables(full, 5)
        assert small_counts(published) == [], selection
        assert recoverable_cells(published) == [], selection
        assert published["disclosure"]["symbol"] == SYMBOL
        assert published["disclosure"]["note"] == note(5)
        assert published["disclosure"]["hidden_cells"] == count_symbols(published)
        assert_same_shape_shown_values_unchanged(full, published)


def count_symbols(published: dict[str, Any]) -> int:
    """How many counts (n included) the tables show as c."""
    total = 0
    for table in published["tables"]:
        total += table["n"] == SYMBOL
        for row in table["rows"] + table.get("summaries", []):
            counts = row["counts"].values() if "counts" in row else [row["count"]]
            total += sum(c == SYMBOL for c in counts)
    return total


def assert_same_shape_shown_values_unchanged(full: dict, published: dict) -> None:
    assert [t["id"] for t in full["tables"]] == [t["id"] for t in published["tables"]]
    for before, after in zip(full["tables"], published["tables"], strict=True):
        n_hidden = after["n"] == SYMBOL
        assert n_hidden or after["n"] == before["n"]
        rows_before = {r["code"]: r for r in before["rows"] + before.get("summaries", [])}
        rows_after = {r["code"]: r for r in after["rows"] + after.get("summaries", [])}
        assert rows_before.keys() == rows_after.keys()
        for code, row in rows_after.items():
            original = rows_before[code]
            if "counts" in row:
                for column, value in row["counts"].items():
                    assert value in (SYMBOL, original["counts"][column])
                    assert value != SYMBOL or original["counts"][column] > 0
                continue
            assert row["count"] in (SYMBOL, original["count"])
            assert row["count"] != SYMBOL or original["count"] > 0  # zeros stay 0
            if "percent" in row and original["percent"] is not None:
                hide = row["count"] == SYMBOL or n_hidden
                assert row["percent"] == (SYMBOL if hide else original["percent"])


def test_t18_hidden_rows_do_not_keep_their_place_in_the_count_order(
    computed: list[tuple[dict, dict[str, Any]]],
) -> None:
    checked = 0
    for selection, full in computed:
        published = suppress_study_tables(full, 5)
        t18 = next(t for t in published["tables"] if t["id"] == "t18_recommendation_focus")
        hidden = [r["count"] == SYMBOL for r in t18["rows"] if r["code"] != "missing"]
        if not any(hidden) or all(hidden):
            continue
        checked += 1
        assert hidden == sorted(hidden), selection  # every shown row first, then the hidden
        shown = [r["count"] for r in t18["rows"] if r["count"] != SYMBOL and r["code"] != "missing"]
        assert shown == sorted(shown, reverse=True)
    assert checked > 0


def test_region_seen_by_one_of_its_boards(sample: Path) -> None:
    """A board that looks at its region can take its own figures away: what is left must be
    protected as well, knowing each hidden region count is at least the board's own."""
    con = duckdb.connect(str(sample), read_only=True)
    try:
        region, board = con.execute(
            "SELECT region, board_code FROM reviews GROUP BY ALL ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()
    finally:
        con.close()
    full = compute(sample, region=region)
    own = compute(sample, board=board)
    published = suppress_study_tables(full, 5, known=own)
    plain = suppress_study_tables(full, 5)
    assert published["disclosure"]["hidden_cells"] >= plain["disclosure"]["hidden_cells"]
    from warehouse.disclosure import study_cells

    region_cells, own_cells = study_cells(full), study_cells(own)
    shown_cells = study_cells(published)
    for key, value in region_cells.items():
        if 1 <= value - own_cells.get(key, 0) <= 5:
            assert key not in shown_cells, (
                f"{key}: {value} of which the board's own {own_cells.get(key, 0)}"
            )
    floors = {k: v for k, v in own_cells.items() if k not in shown_cells}
    assert recoverable_cells(published, floors) == []


def test_already_controlled_tables_are_refused(sample: Path) -> None:
    published = suppress_study_tables(compute(sample, region="london"), 5)
    with pytest.raises(ValueError, match="already"):
        suppress_study_tables(published, 5)


# -- scr tables --audience ------------------------------------------------------------------


def scr_tables(
    sample: Path, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    code = main(["--warehouse", str(sample), "tables", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_public_tables_have_no_small_count_and_no_recoverable_cell(
    sample: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for selection in ([], ["--region", "london"], ["--period", "2003-05"]):
        code, out, _ = scr_tables(sample, capsys, "--audience", "public", *selection)
        assert code == 0
        published = json.loads(out)
        assert published["disclosure"]["threshold"] == 5
        assert small_counts(published) == []
        assert recoverable_cells(published) == []

        code, out, _ = scr_tables(
            sample, capsys, "--audience", "public", "--format", "csv", *selection
        )
        assert code == 0
        rows = list(csv.DictReader(io.StringIO(out)))
        data = [r for r in rows if r["table_id"] != "note"]
        assert [r["table_title"] for r in rows if r["table_id"] == "note"] == [note(5)]
        for row in data:
            for column in ("n", "count"):
                assert row[column] not in {"1", "2", "3", "4", "5"}, row
        assert any(row["count"] == SYMBOL for row in data)

        xlsx = tmp_path / "public.xlsx"
        code, _, _ = scr_tables(
            sample,
            capsys,
            "--audience",
            "public",
            "--format",
            "xlsx",
            "--out",
            str(xlsx),
            *selection,
        )
        assert code == 0
        assert small_counts_in_workbook(xlsx) == []


def small_counts_in_workbook(path: Path) -> list[str]:
    """Count cells (not percentages) holding 1..5; every sheet must carry the note."""
    book = openpyxl.load_workbook(path)
    found = []
    for ws in book:
        assert ws.cell(row=3, column=1).value == note(5), ws.title
        header = [c.value for c in ws[4]]
        for row in ws.iter_rows(min_row=5):
            for cell, title in zip(row, header, strict=False):
                if title == "Percentage" or not isinstance(cell.value, int | float):
                    continue
                if str(title).startswith(("Published", "2002 report")):
                    continue  # the study's printed England 2001-03 figures, whatever the selection
                if 1 <= cell.value <= 5:
                    found.append(f"{ws.title}!{cell.coordinate}")
        # Totals and n lines hold n, which is itself never 1..5 when shown.
    return found


def test_public_with_a_board_is_a_usage_error(
    sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = scr_tables(sample, capsys, "--audience", "public", "--board", "SYN023")
    assert code == 2 and out == ""
    assert "--audience public" in err and "--board" in err


def test_each_audience_sees_its_own_scope_in_full(
    sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    con = duckdb.connect(str(sample), read_only=True)
    try:
        board, region = con.execute(
            "SELECT board_code, region FROM reviews GROUP BY ALL ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()
        elsewhere = con.execute(
            "SELECT board_code FROM reviews WHERE region <> ? LIMIT 1", [region]
        ).fetchone()[0]
    finally:
        con.close()

    def tables(*args: str) -> dict:
        code, out, err = scr_tables(sample, capsys, *args)
        assert code == 0, err
        return json.loads(out)

    analyst = tables("--region", region)
    assert "disclosure" not in analyst
    assert tables("--audience", "regional", "--region", region) == analyst
    assert "disclosure" not in tables(
        "--audience", "regional", "--region", region, "--board", board
    )
    assert "disclosure" in tables("--audience", "regional", "--scope", region)  # England
    assert "disclosure" in tables(
        "--audience",
        "regional",
        "--scope",
        region,
        "--region",
        "london" if region != "london" else "north_east",
    )
    assert "disclosure" not in tables("--audience", "board", "--board", board)
    assert "disclosure" in tables("--audience", "board", "--scope", board, "--region", region)
    assert "disclosure" in tables("--audience", "board", "--scope", board)
    assert "disclosure" in tables("--audience", "public", "--region", region)
    # Another region's board, or another board, is refused, not shown.
    code, _, err = scr_tables(
        sample, capsys, "--audience", "regional", "--scope", region, "--board", elsewhere
    )
    assert code == 2 and "is not a board of region" in err
    code, _, err = scr_tables(
        sample, capsys, "--audience", "board", "--scope", board, "--board", elsewhere
    )
    assert code == 2 and "own board" in err
    code, _, _ = scr_tables(sample, capsys, "--threshold", "3")
    assert code == 2


def test_threshold_option_and_environment(
    sample: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = scr_tables(
        sample, capsys, "--audience", "public", "--threshold", "2", "--region", "london"
    )
    assert code == 0
    published = json.loads(out)
    assert published["disclosure"]["threshold"] == 2
    assert small_counts(published, 2) == []
    assert recoverable_cells(published) == []
    monkeypatch.setenv("SCR_DISCLOSURE_THRESHOLD", "7")
    code, out, _ = scr_tables(sample, capsys, "--audience", "public", "--region", "london")
    assert json.loads(out)["disclosure"]["threshold"] == 7
    assert small_counts(json.loads(out), 7) == []

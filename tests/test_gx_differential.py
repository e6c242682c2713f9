"""GX (the pipeline's suite of record) and the registry's fast checker reach the same verdict,
check by check, on the same typed rows: for every bad-input case of test_validation and for
generated submissions.

The verdict compared is the set of failing checks among those in the GX suites (each
expectation's meta names its check). Typing checks (a word in a number column, 31/02/2010)
are not in the suites: the staged rows are typed, so GX cannot see the text; for those cases
the test says so explicitly.

GX is slow per validation, so one context serves the module (warehouse.expectations keeps
it) and a sheet whose frame and parameters are the same as in an earlier run reuses that
run's GX verdict: most cases change one sheet.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import csv_folder, small_submission
from tests.test_validation import CASES, Sheets, mutate
from warehouse.checks import Params, check_frames, registry, verdicts
from warehouse.coerce import coerce_submission
from warehouse.expectations import (
    _gx_verdict,
    _pandas_batch,
    load_suites,
    run_gx,
    sheet_verdict,
    suite_columns,
)
from warehouse.frame import frame
from warehouse.reader import RawSubmission, read_submission

SUITES = load_suites()
_GX_VERDICTS: dict[tuple[str, str], set[str]] = {}


def _digest(df: pl.DataFrame, params: Params) -> str:
    h = hashlib.sha256()
    h.update(repr(df.schema).encode())
    h.update(df.hash_rows(seed=1).to_numpy().tobytes())
    h.update(str(params.today).encode())
    return h.hexdigest()


def gx_failures(frames: dict[str, pl.DataFrame], params: Params) -> set[str]:
    """The checks GX fails, suite by suite, reusing the verdict of an identical sheet."""
    failed: set[str] = set()
    for name, suite in SUITES.items():
        key = (name, _digest(frames[name].select(suite_columns(suite)), params))
        if key not in _GX_VERDICTS:
            _GX_VERDICTS[key] = set(run_gx({name: frames[name]}, {name: suite}, params)[name])
        failed |= _GX_VERDICTS[key]
    return failed


def agree(frames: dict[str, pl.DataFrame], params: Params) -> set[str]:
    fast = verdicts(frames, params)
    gx = gx_failures(frames, params)
    assert fast == gx, {"fast only": fast - gx, "gx only": gx - fast}
    return fast


def typed_frames(
    path: Path, con: duckdb.DuckDBPyConnection | None = None
) -> tuple[dict[str, pl.DataFrame], Params]:
    typed = coerce_submission(read_submission(path))
    return check_frames(typed.sheets, con)


def test_every_suite_expectation_names_a_registry_check() -> None:
    names = {c.name for c in registry() if c.in_suite}
    in_suites = [e["meta"]["check"] for s in SUITES.values() for e in s["expectations"]]
    assert sorted(in_suites) == sorted(names)


def test_a_clean_submission_passes_both(tmp_path: Path) -> None:
    frames, params = typed_frames(csv_folder(tmp_path, "ok", small_submission()))
    assert agree(frames, params) == set()


@pytest.mark.parametrize(
    ("change", "sheet", "row", "column", "rule"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_same_verdict_on_every_bad_input_case(
    tmp_path: Path, change: Callable[[Sheets], None], sheet: str, row: int, column: str, rule: str
) -> None:
    frames, params = typed_frames(csv_folder(tmp_path, "bad", mutate(change)))
    failed = agree(frames, params)
    check = next(c for c in registry() if (c.sheet, c.column, c.rule) == (sheet, column, rule))
    if check.in_suite:
        assert check.name in failed
    else:
        # Typing rules see the text as read, which staged rows no longer hold; a forbidden
        # character in a code or id is also outside its code list or pattern, which GX checks.
        assert check.phase == "text" or (not check.gx and failed), check.name


def test_same_verdict_against_the_warehouse(tmp_path: Path) -> None:
    from warehouse.schema import ensure_schema

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_schema(con)
    con.execute(
        "INSERT INTO reviews (review_id, board_code, period, region, incident_date, "
        "author_status, parent_ethnicity, submission_id) VALUES "
        "('TR-2', 'ELSEWHERE', '2005-07', 'london', DATE '2005-01-01', 'internal', "
        "'not_stated', 's0')"
    )
    con.execute(
        "INSERT INTO children (child_id, review_id, gender, ethnicity, disability, "
        "incident_type, cp_register, legal_status, submission_id) VALUES "
        "('TC-1', 'TR-OLD', 'male', 'mixed', 'no', 'death', 'not_recorded', 'none', 's0')"
    )
    frames, params = typed_frames(csv_folder(tmp_path, "s", small_submission()), con)
    con.close()
    assert agree(frames, params) == {
        "reviews.review_id.review_of_other_board",
        "children.child_id.child_of_other_review",
    }


# Generated submissions: the small submission as text, with a few cells replaced by values
# chosen to sit on either side of a rule, and sometimes a row repeated or dropped.

TRICKY = [
    "",
    "  ",
    "#N/A",
    "0",
    "1",
    "2",
    "-3",
    "11.5",
    "216",
    "5000",
    "99999999999",
    "2005-06-30",
    "2004-01-01",
    "2999-01-01",
    "2005-02-30",
    "31/02/2010",
    "38533",
    "TR-1",
    "TR-2",
    "TR-404",
    " TR-1",
    "TR 2",
    "TR-1\n",
    "TC-1",
    "London",
    "male ",
    "Wite",
    "x" * 2001,
    "ok\u200b",
    "a\x00b",
    "\u202eabc",
    "\ufeffno",
]


def _as_text(sheets: Sheets) -> dict[str, list[dict[str, str | None]]]:
    return {
        name: [{k: None if v is None else str(v) for k, v in row.items()} for row in rows]
        for name, rows in sheets.items()
    }


@st.composite
def submissions(draw: st.DrawFn) -> dict[str, pl.DataFrame]:
    cf = frame()
    sheets = _as_text(small_submission())
    for _ in range(draw(st.integers(1, 6))):
        name = draw(st.sampled_from(sorted(sheets)))
        rows = sheets[name]
        if not rows:
            continue
        index = draw(st.integers(0, len(rows) - 1))
        action = draw(st.sampled_from(["cell", "cell", "cell", "repeat", "drop"]))
        if action == "repeat":
            rows.append(dict(rows[index]))
            continue
        if action == "drop":
            rows.pop(index)
            continue
        column = draw(st.sampled_from(cf.sheets[name].columns))
        codes = cf.codes(column.codes) if column.codes else ["x"]
        rows[index][column.name] = draw(
            st.one_of(
                st.sampled_from(TRICKY),
                st.sampled_from(codes),
                st.text(alphabet="aT -_1\u200b", max_size=6),
                st.none(),
            )
        )
    columns = {n: cf.sheets[n].column_names for n in sheets}
    return {
        name: pl.DataFrame(
            [[row.get(c) for c in columns[name]] for row in rows],
            schema={c: pl.String for c in columns[name]},
            orient="row",
        ).with_row_index("_row", offset=2)
        for name, rows in sheets.items()
    }


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(submissions())
def test_same_verdict_on_generated_submissions(sheets: dict[str, pl.DataFrame]) -> None:
    raw = RawSubmission(source=Path("generated"), kind="csv", sheets=sheets)
    typed = coerce_submission(raw)
    frames, params = check_frames(typed.sheets, None, today=dt.date.today())
    agree(frames, params)


def test_no_rows_verdict_is_the_one_gx_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    """run_gx skips GX on a sheet with no rows when every expectation is one GX passes on no
    rows; run by GX itself, every suite on empty sheets indeed passes."""
    import warehouse.expectations as gx_run
    from warehouse.coerce import empty_sheet_frame

    cf = frame()
    frames, params = check_frames({n: empty_sheet_frame(cf.sheets[n]) for n in cf.sheets}, None)
    assert all(gx_run.passes_with_no_rows(frames[n], s) for n, s in SUITES.items())
    skipped = run_gx(frames, SUITES, params)
    monkeypatch.setattr(gx_run, "VACUOUS_ON_NO_ROWS", frozenset())
    assert not any(gx_run.passes_with_no_rows(frames[n], s) for n, s in SUITES.items())
    validated = run_gx(frames, SUITES, params)
    assert skipped == validated == {n: [] for n in SUITES if SUITES[n]["expectations"]}
    # A suite with any other kind of expectation is validated, rows or not.
    other = {"expectations": [{"type": "expect_table_row_count_to_be_between"}]}
    assert not gx_run.passes_with_no_rows(frames["reviews"], other)


def _judged_in_slices_as_whole(
    frames: dict[str, pl.DataFrame], params: Params, slice_rows: int
) -> set[str]:
    """Each sheet judged by its whole suite in one batch, and as the pipeline judges a large
    sheet (row expectations a slice at a time, key expectations on the whole key columns):
    the same failed checks, in the same order."""
    parameters = params.for_gx()
    failed: set[str] = set()
    for name, suite in SUITES.items():
        if not suite["expectations"] or frames[name].height == 0:
            continue
        sheet = frames[name].select(suite_columns(suite))
        whole = _gx_verdict(suite, _pandas_batch(sheet), parameters)
        assert sheet_verdict(suite, sheet, parameters, slice_rows=slice_rows) == whole, name
        failed |= set(whole)
    return failed


def test_a_sheet_judged_a_row_at_a_time_gets_the_whole_sheets_verdict(tmp_path: Path) -> None:
    def change(sheets: Sheets) -> None:
        recommendations = sheets["recommendations"]
        recommendations.append(dict(recommendations[0]))  # the same key, slices apart
        recommendations[-1]["focus"] = "not_a_focus"

    frames, params = typed_frames(csv_folder(tmp_path, "bad", mutate(change)))
    failed = _judged_in_slices_as_whole(frames, params, slice_rows=1)
    assert {"recommendations.duplicate_key", "recommendations.focus.unknown_code"} <= failed


@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(submissions(), st.integers(1, 3))
def test_slices_reach_the_whole_sheets_verdict_on_generated_submissions(
    sheets: dict[str, pl.DataFrame], slice_rows: int
) -> None:
    raw = RawSubmission(source=Path("generated"), kind="csv", sheets=sheets)
    frames, params = check_frames(coerce_submission(raw).sheets, None, today=dt.date.today())
    _judged_in_slices_as_whole(frames, params, slice_rows)

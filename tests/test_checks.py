"""The check registry: derived from the coding frame, the one place a rule is declared, and
what the fast checker, publishing and the pipeline's blocking check all run."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import csv_folder, small_submission
from warehouse import checks, load
from warehouse.checks import (
    ERROR,
    KINDS,
    WARNING,
    build_registry,
    evaluate,
    first_error_per_cell,
    near_miss_codes,
    registry,
)
from warehouse.coerce import typed_value
from warehouse.frame import Column, frame
from warehouse.issues import issue, report_lines


def by_name() -> dict[str, checks.Check]:
    return {c.name: c for c in registry()}


def test_registry_is_derived_from_the_coding_frame() -> None:
    cf = frame()
    found = by_name()
    assert len(found) == len(registry())
    for sheet_name, sheet in cf.sheets.items():
        assert found[f"{sheet_name}.duplicate_key"].args["key"] == sheet.key
        for c in sheet.columns:
            at = f"{sheet_name}.{c.name}"
            assert (f"{at}.required" in found) == c.required, at
            assert (f"{at}.unknown_code" in found) == bool(c.codes), at
            if c.codes:
                assert found[f"{at}.unknown_code"].args["values"] == cf.codes(c.codes)
            assert (f"{at}.pattern" in found) == bool(c.pattern), at
            assert (f"{at}.below_minimum" in found) == (c.min is not None), at
            assert (f"{at}.above_maximum" in found) == (c.max is not None), at
            assert (f"{at}.future_date" in found) == (c.type == "date" and not c.future_allowed), at
            assert (f"{at}.max_length" in found) == (c.max_length is not None), at
            assert (f"{at}.forbidden_character" in found) == (c.type in ("code", "string")), at
    # The frame's limit on free text is the check's limit.
    assert found["recommendations.text.max_length"].args["max"] == 2000
    for check in registry():
        assert check.kind in KINDS and check.severity in (ERROR, WARNING)
        assert check.sheet in cf.sheets and check.message
        assert check.column is None or check.column in cf.sheets[check.sheet].column_names
        assert check.name.startswith(f"{check.sheet}.")


def test_a_new_column_in_the_frame_brings_its_checks() -> None:
    """Declaring a limit in the frame is all it takes: the registry (and so the fast checker,
    the GX suite and the template notes) follow."""
    cf = frame()
    sheet = cf.sheets["children"]
    extra = Column("school_year", "integer", required=True, min=0, max=13)
    changed = type(cf)(
        cf.version,
        cf.code_lists,
        cf.sheets | {"children": type(sheet)(sheet.name, sheet.key, (*sheet.columns, extra), True)},
        cf.rules,
    )
    names = {c.name for c in build_registry(changed)}
    assert {
        "children.school_year.required",
        "children.school_year.below_minimum",
        "children.school_year.above_maximum",
        "children.school_year.not_a_number",
    } <= names


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("Londn", "did you mean 'london'?"),
        ("london ", "did you mean 'london'?"),
        ("North-West", "did you mean 'north_west'?"),
        ("Yorkshire and Humberside", "did you mean 'yorkshire_humber'?"),
        ("East", "did you mean 'east_midlands' or 'east_of_england'?"),
        ("Lndon", "did you mean 'london'?"),
        ("zz", None),
        ("Scotland", None),
    ],
)
def test_near_miss_codes_by_edit_distance(typed: str, meant: str | None) -> None:
    assert near_miss_codes(pl.Series([typed]), frame().labels("region")).to_list() == [meant]


def test_near_miss_codes_are_computed_once_per_distinct_value() -> None:
    values = pl.Series(["Traning", None, "Traning", "purple", "Training"])
    hints = near_miss_codes(values, frame().labels("recommendation_focus")).to_list()
    assert hints == [
        "did you mean 'training'?",
        None,
        "did you mean 'training'?",
        None,
        "did you mean 'training'?",
    ]


TYPING = {c.name: c for c in registry() if c.phase == "text"}


@settings(max_examples=300, deadline=None, database=None)
@given(
    st.lists(
        st.one_of(
            st.text(alphabet="0123456789-/. :T#NAeE", max_size=12),
            st.from_regex(r"\A\d{1,2}/\d{1,2}/\d{4}\Z"),
            st.from_regex(r"\A\d{4}-\d{2}-\d{2}( 00:00:00)?\Z"),
            st.sampled_from(["#N/A", "#REF!", " 12 ", "12.0", "1e3", "99999999999", "-2147483649"]),
            st.none(),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_a_cell_is_typed_exactly_when_no_typing_check_fails(cells: list[str | None]) -> None:
    """The typed value is null for a non-blank cell iff one of its typing checks fails: the
    typing step and the typing checks cannot drift apart."""
    df = pl.DataFrame(
        {"n": cells, "d": cells, "_row": range(2, len(cells) + 2)},
        schema={"n": pl.String, "d": pl.String, "_row": pl.Int64},
    )
    typed = df.select(
        typed_value(Column("n", "integer", required=False)),
        typed_value(Column("d", "date", required=False)),
    )
    text = df.select(pl.col("n").str.strip_chars().fill_null(""))["n"]
    for column, sheet_column in (("n", "report_pages"), ("d", "report_date")):
        relevant = [c for c in TYPING.values() if c.column == sheet_column]
        renamed = df.select("_row", pl.col(column).alias(sheet_column))
        failing = evaluate({"reviews": renamed}, relevant)
        bad_rows = set()
        for rows in failing.values():
            bad_rows |= set(rows["_row"].to_list())
        for i, cell in enumerate(cells):
            untyped = typed[column][i] is None and text[i] != ""
            assert untyped == (i + 2 in bad_rows), (column, cell, failing.keys())


def test_first_error_per_cell_and_header_errors_cover_their_cells() -> None:
    found = pl.concat(
        [
            issue(
                "note",
                "w",
                sheet="children",
                column_name="age_months",
                row_number=4,
                severity=WARNING,
            ),
            issue("not_a_number", "x", sheet="children", column_name="age_months", row_number=4),
            issue("missing_column", "m", sheet="children", column_name="gender", row_number=1),
            issue("required", "r", sheet="children", column_name="gender", row_number=2),
            issue("code_is_number", "c", sheet="children", column_name="disability", row_number=2),
            issue("unknown_code", "u", sheet="children", column_name="disability", row_number=2),
            issue(
                "completeness",
                "w",
                sheet="reviews",
                column_name="report_date",
                row_number=2,
                severity=WARNING,
            ),
            issue("no_rows", "n", sheet="children"),
        ]
    )
    kept = first_error_per_cell(found)
    assert kept["rule"].to_list() == [
        "note",
        "not_a_number",
        "missing_column",
        "code_is_number",
        "completeness",
        "no_rows",
    ]


def stage(con: duckdb.DuckDBPyConnection, path: Path, archive: Path) -> str:
    receipt = load.receive(con, path, archive, "pytest")
    load.stage(con, receipt)
    return receipt.submission_id


def test_publish_reruns_the_registry_ownership_checks(tmp_path: Path) -> None:
    """A review loaded for another board after this submission was checked still stops it:
    publishing re-runs the registry's warehouse checks inside its transaction."""
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    submission_id = stage(con, csv_folder(tmp_path, "s", small_submission()), tmp_path / "a")
    assert load.staged_issues(con, submission_id).filter(pl.col("severity") == ERROR).height == 0
    con.execute(
        "INSERT INTO reviews (review_id, board_code, period, region, incident_date, "
        "author_status, parent_ethnicity, submission_id) VALUES "
        "('TR-2', 'ELSEWHERE', '2005-07', 'london', DATE '2005-01-01', 'internal', "
        "'not_stated', 'landed-meanwhile')"
    )
    with pytest.raises(load.SubmissionRejected) as rejected:
        load.publish(con, submission_id)
    assert rejected.value.lines == [
        "[ERROR] reviews, review_id: review_id is already loaded for another board; only that "
        "board can resubmit it (1 row): 'TR-2' (row 3; loaded for board ELSEWHERE, this row "
        "says TST1)"
    ]
    assert con.execute("SELECT count(*) FROM reviews").fetchall() == [(1,)]
    con.close()


def test_gx_on_staged_rows_is_the_suite_of_record(tmp_path: Path) -> None:
    """Rows that reach staging wrong (here: altered after the fast checker ran) are caught by
    the GX suites on the staged rows and reported with sheet, row, column and words."""
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    submission_id = stage(con, csv_folder(tmp_path, "s", small_submission()), tmp_path / "a")
    con.execute(
        "UPDATE stg_children SET gender = 'purple' WHERE row_number = 3 AND submission_id = ?",
        [submission_id],
    )
    con.execute(
        "UPDATE stg_actions SET due_date = DATE '2004-01-01' WHERE submission_id = ?",
        [submission_id],
    )
    found = load.audit_expectations(con, submission_id)
    cells = set(found.select("sheet", "row_number", "column_name", "rule").rows())
    assert cells == {
        ("children", 3, "gender", "unknown_code"),
        ("actions", 2, "due_date", "date_before_incident"),
    }
    recorded = load.staged_issues(con, submission_id)
    assert set(recorded["rule"].to_list()) == {"unknown_code", "date_before_incident"}
    con.close()


def test_blocking_check_names_the_failed_checks(
    make_submission: Callable[..., Path], tmp_path: Path
) -> None:
    import dagster as dg

    from pipelines.defs.assets.ingest import (
        published_submission,
        staged_submission,
        staged_submission_checks,
    )
    from pipelines.defs.partitions import submissions
    from pipelines.defs.resources import WarehouseResource

    sheets = small_submission()
    sheets["recommendations"][0]["focus"] = "Traning"
    path = make_submission("typo", sheets)
    key = load.partition_key(path)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(submissions.name, [key])
    result = dg.materialize(
        [staged_submission, staged_submission_checks, published_submission],
        partition_key=key,
        run_config={"ops": {"staged_submission": {"config": {"path": str(path)}}}},
        resources={"warehouse": WarehouseResource(path=str(tmp_path / "w.duckdb"))},
        instance=instance,
        raise_on_error=False,
    )
    evaluations = {c.check_name: c for c in result.get_asset_check_evaluations()}
    gx = evaluations["meets_expectations"]
    assert not gx.passed
    assert gx.metadata["failed_expectations"].value == ["recommendations.focus.unknown_code"]
    report = evaluations["passes_rules"].metadata["report"].value
    assert "'Traning' (row 2; did you mean 'training'?)" in report


def test_report_lines_keep_their_shape(tmp_path: Path) -> None:
    sheets = small_submission()
    sheets["children"][0]["ethnicity"] = "White British"
    sheets["children"][1]["ethnicity"] = "Wite"
    sheets["reviews"][0]["report_date"] = "2005-01-01"
    _, issues = load.check_submission(None, csv_folder(tmp_path, "s", sheets))
    lines = report_lines(issues.filter(pl.col("severity") == ERROR))
    assert (
        "[ERROR] children, ethnicity: value is not a code of 'ethnicity' (allowed: "
        "white_british, white_other, mixed, black_black_british, asian_asian_british, "
        "chinese_other, not_stated) (2 rows): 'White British' (row 2; did you mean "
        "'white_british'?), 'Wite' (row 3; did you mean 'white_british' or 'white_other'?)"
    ) in lines
    assert (
        "[ERROR] reviews, report_date: date is before the review's incident_date (1 row): "
        "'2005-01-01' (row 2; incident_date is 2005-06-30)"
    ) in lines


_KEY_PART = st.one_of(st.none(), st.sampled_from(["x", "y", "z"]))


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(
        st.tuples(_KEY_PART, st.one_of(st.none(), st.integers(1, 3)), _KEY_PART), max_size=40
    ),
    key=st.sampled_from([["a"], ["a", "b"], ["c", "a"], ["a", "b", "c"]]),
)
def test_a_compound_key_repeated_flags_the_rows_a_struct_comparison_does(
    rows: list[tuple[str | None, int | None, str | None]], key: list[str]
) -> None:
    """The unique check finds a compound key's repeats by the last column within the others
    (a sixth of the memory): exactly the rows whose whole key is complete and repeated."""
    df = pl.DataFrame(rows, schema={"a": pl.String, "b": pl.Int64, "c": pl.String}, orient="row")
    check = next(c for c in checks.registry() if c.kind == "unique" and len(c.args["key"]) > 1)
    check = dataclasses.replace(check, args={**check.args, "key": key})
    complete = pl.all_horizontal([pl.col(k).is_not_null() for k in key])
    expected = complete & pl.struct(key).is_duplicated()
    flagged = df.select(checks._unique_fails(check, None).fill_null(False)).to_series()
    assert flagged.to_list() == df.select(expected.fill_null(False)).to_series().to_list()


_CELL = st.one_of(
    st.none(),
    st.sampled_from(["", " ", "#N/A", "=1+1", "\t=1+1", " male", "male ", "male", "TR-1"]),
    st.text(alphabet=" \t\u00a0\u2003ab=-@#/A1", max_size=6),
)


@settings(max_examples=200, deadline=None)
@given(cells=st.lists(_CELL, max_size=30))
def test_text_typed_as_read_when_no_cell_is_padded_equals_trimming_every_cell(
    cells: list[str | None],
) -> None:
    """Typing skips the trimmed copy of a column whose cells have no leading or trailing
    whitespace: for any column, the shortcut gives the same typed values as trimming."""
    from warehouse.coerce import padded_columns, typed_value

    df = pl.DataFrame({"c": cells}, schema={"c": pl.String})
    padded = "c" in padded_columns(df, ["c"])
    for kind in ("string", "code"):
        column = Column(
            name="c", type=kind, required=False, codes="gender" if kind == "code" else None
        )
        shortcut = df.select(typed_value(column, padded=padded)).to_series()
        trimmed = df.select(typed_value(column, padded=True)).to_series()
        assert shortcut.to_list() == trimmed.to_list()

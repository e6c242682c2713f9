"""Every rule of the coding frame, each with a small bad submission made here.

Each case must be rejected with an issue naming the sheet, the Excel row, the column and the
rule; good variants (numbers stored as text, Excel date cells) must pass.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.cli import main
from tests.conftest import csv_folder, small_submission, write_workbook
from warehouse.expectations import build_suites, expectation_issues, load_suites
from warehouse.issues import report_lines
from warehouse.load import check_submission
from warehouse.reader import read_submission

Sheets = dict[str, list[dict[str, object]]]


def mutate(change: Callable[[Sheets], None]) -> Sheets:
    sheets = copy.deepcopy(small_submission())
    change(sheets)
    return sheets


def errors_of(path: Path, con: duckdb.DuckDBPyConnection | None = None) -> pl.DataFrame:
    _, issues = check_submission(con, path)
    return issues.filter(pl.col("severity") == "error")


def set_cell(sheet: str, index: int, column: str, value: object) -> Callable[[Sheets], None]:
    def change(s: Sheets) -> None:
        s[sheet][index][column] = value

    return change


# (case id, change, sheet, Excel row, column, rule)
CASES = [
    (
        "unknown_code",
        set_cell("children", 1, "ethnicity", "White"),
        "children",
        3,
        "ethnicity",
        "unknown_code",
    ),
    (
        "code_case",
        set_cell("reviews", 0, "region", "London"),
        "reviews",
        2,
        "region",
        "unknown_code",
    ),
    (
        "code_trailing_space",
        set_cell("children", 0, "gender", "male "),
        "children",
        2,
        "gender",
        "unknown_code",
    ),
    (
        "number_for_code",
        set_cell("children", 0, "disability", "1"),
        "children",
        2,
        "disability",
        "code_is_number",
    ),
    (
        "required_blank",
        set_cell("children", 0, "incident_type", None),
        "children",
        2,
        "incident_type",
        "required",
    ),
    (
        "bad_id_pattern",
        set_cell("reviews", 1, "review_id", "TR 2"),
        "reviews",
        3,
        "review_id",
        "pattern",
    ),
    ("bad_period", set_cell("reviews", 0, "period", "2005/07"), "reviews", 2, "period", "pattern"),
    (
        "not_a_number",
        set_cell("reviews", 0, "report_pages", "thirty"),
        "reviews",
        2,
        "report_pages",
        "not_a_number",
    ),
    (
        "not_whole",
        set_cell("children", 0, "age_months", "11.5"),
        "children",
        2,
        "age_months",
        "not_whole_number",
    ),
    (
        "below_min",
        set_cell("reviews", 0, "report_pages", 0),
        "reviews",
        2,
        "report_pages",
        "below_minimum",
    ),
    (
        "above_max",
        set_cell("children", 0, "age_months", 216),
        "children",
        2,
        "age_months",
        "above_maximum",
    ),
    (
        "impossible_date",
        set_cell("reviews", 0, "report_date", "2005-02-30"),
        "reviews",
        2,
        "report_date",
        "invalid_date",
    ),
    (
        "text_date",
        set_cell("reviews", 0, "incident_date", "30/06/2005"),
        "reviews",
        2,
        "incident_date",
        "date_format",
    ),
    (
        "serial_date",
        set_cell("reviews", 0, "incident_date", "38533"),
        "reviews",
        2,
        "incident_date",
        "date_serial",
    ),
    (
        "future_date",
        set_cell("reviews", 0, "report_date", "2999-01-01"),
        "reviews",
        2,
        "report_date",
        "future_date",
    ),
    (
        "report_before_incident",
        set_cell("reviews", 0, "report_date", "2005-01-01"),
        "reviews",
        2,
        "report_date",
        "date_before_incident",
    ),
    (
        "decision_before_incident",
        set_cell("reviews", 0, "decision_date", "2005-06-29"),
        "reviews",
        2,
        "decision_date",
        "date_before_incident",
    ),
    (
        "duplicate_review",
        set_cell("reviews", 1, "review_id", "TR-1"),
        "reviews",
        3,
        "review_id",
        "duplicate_key",
    ),
    (
        "duplicate_child",
        set_cell("children", 1, "child_id", "TC-1"),
        "children",
        3,
        "child_id",
        "duplicate_key",
    ),
    (
        "duplicate_rec_no",
        set_cell("recommendations", 1, "rec_no", 1),
        "recommendations",
        3,
        "rec_no",
        "duplicate_key",
    ),
    (
        "orphan_child",
        set_cell("children", 1, "review_id", "TR-404"),
        "children",
        3,
        "review_id",
        "unknown_review",
    ),
    (
        "orphan_recommendation",
        set_cell("recommendations", 2, "review_id", "TR-404"),
        "recommendations",
        4,
        "review_id",
        "unknown_review",
    ),
    (
        "count_mismatch",
        set_cell("reviews", 0, "recommendations_total", 5),
        "reviews",
        2,
        "recommendations_total",
        "recommendation_count",
    ),
    (
        "rows_without_total",
        set_cell("reviews", 1, "recommendations_total", None),
        "reviews",
        3,
        "recommendations_total",
        "recommendation_count",
    ),
    (
        "action_unknown_rec",
        set_cell("actions", 0, "rec_no", 7),
        "actions",
        2,
        "rec_no",
        "unknown_recommendation",
    ),
    (
        "bad_row_in_last_sheet",
        set_cell("actions", 0, "status", "done"),
        "actions",
        2,
        "status",
        "unknown_code",
    ),
    (
        "excel_error_text",
        set_cell("children", 0, "age_months", "#N/A"),
        "children",
        2,
        "age_months",
        "excel_error",
    ),
    (
        "not_a_calendar_date_dmy",
        set_cell("reviews", 1, "report_date", "31/02/2010"),
        "reviews",
        3,
        "report_date",
        "invalid_date",
    ),
    (
        "integer_too_large",
        set_cell("actions", 0, "rec_no", "99999999999"),
        "actions",
        2,
        "rec_no",
        "integer_too_large",
    ),
    (
        "orphan_action",
        set_cell("actions", 0, "review_id", "TR-404"),
        "actions",
        2,
        "review_id",
        "unknown_review",
    ),
    (
        "action_before_incident",
        set_cell("actions", 0, "due_date", "2005-01-01"),
        "actions",
        2,
        "due_date",
        "date_before_incident",
    ),
    (
        "duplicate_action_no",
        lambda s: s["actions"].append(dict(s["actions"][0])),
        "actions",
        3,
        "action_no",
        "duplicate_key",
    ),
    (
        "bidi_override_in_name",
        set_cell("reviews", 0, "board_name", "Test \u202eboard"),
        "reviews",
        2,
        "board_name",
        "forbidden_character",
    ),
    (
        "zero_width_in_review_link",
        set_cell("children", 1, "review_id", "TR-2\u200b"),
        "children",
        3,
        "review_id",
        "forbidden_character",
    ),
    (
        "nul_in_code",
        set_cell("children", 0, "gender", "male\x00"),
        "children",
        2,
        "gender",
        "forbidden_character",
    ),
    (
        "bom_in_code",
        set_cell("recommendations", 1, "focus", "\ufefftraining"),
        "recommendations",
        3,
        "focus",
        "forbidden_character",
    ),
    (
        "nul_in_free_text",
        set_cell("recommendations", 0, "text", "Review the\x00 procedure"),
        "recommendations",
        2,
        "text",
        "forbidden_character",
    ),
    (
        "free_text_over_limit",
        set_cell("recommendations", 2, "text", "word " * 401),
        "recommendations",
        4,
        "text",
        "max_length",
    ),
]


@pytest.mark.parametrize(
    ("change", "sheet", "row", "column", "rule"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_rule_rejects_with_sheet_row_column(
    tmp_path: Path, change: Callable[[Sheets], None], sheet: str, row: int, column: str, rule: str
) -> None:
    folder = csv_folder(tmp_path, "bad", mutate(change))
    errors = errors_of(folder)
    hit = errors.filter(
        (pl.col("sheet") == sheet)
        & (pl.col("row_number") == row)
        & (pl.col("column_name") == column)
        & (pl.col("rule") == rule)
    )
    assert hit.height == 1, report_lines(errors)
    assert any(column in line for line in report_lines(errors))


def test_near_miss_codes_say_what_was_meant(tmp_path: Path) -> None:
    sheets = mutate(set_cell("children", 0, "ethnicity", "White British"))
    sheets["reviews"][0]["region"] = "London "
    lines = report_lines(errors_of(csv_folder(tmp_path, "s", sheets)))
    text = "\n".join(lines)
    assert "'White British' (row 2; did you mean 'white_british'?)" in text
    assert "'London ' (row 2; did you mean 'london'?)" in text


def test_unknown_misspelt_and_missing_columns(tmp_path: Path) -> None:
    sheets = small_submission()
    for child in sheets["children"]:
        child["ethnicty"] = child.pop("ethnicity")
        child["favourite_colour"] = "blue"
    errors = errors_of(csv_folder(tmp_path, "s", sheets))
    by_rule = {(r["rule"], r["column_name"]): r for r in errors.iter_rows(named=True)}
    assert by_rule[("unknown_column", "ethnicty")]["hint"] == "did you mean 'ethnicity'?"
    assert ("unknown_column", "favourite_colour") in by_rule
    assert by_rule[("missing_column", "ethnicity")]["row_number"] == 1


def test_missing_required_sheet_and_empty_folder(tmp_path: Path) -> None:
    folder = csv_folder(tmp_path, "no_children", {"reviews": small_submission()["reviews"]})
    assert "missing_sheet" in errors_of(folder)["rule"].to_list()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert errors_of(empty)["rule"].to_list() == ["empty_submission"]


def test_csv_not_utf8_names_the_encoding(tmp_path: Path) -> None:
    folder = csv_folder(tmp_path, "latin", small_submission())
    (folder / "reviews.csv").write_bytes(
        (folder / "reviews.csv")
        .read_text()
        .replace("Test board", "Test b\u00f6ard")
        .encode("cp1252")
    )
    errors = errors_of(folder)
    assert errors["rule"].to_list() == ["encoding"]
    assert "Windows-1252" in errors["description"][0] and "line 2" in errors["description"][0]


def test_corrupt_and_password_protected_workbooks(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.xlsx"
    corrupt.write_bytes(b"PK\x03\x04 this is not really a zip")
    locked = tmp_path / "locked.xlsx"
    locked.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    assert "not a readable .xlsx" in errors_of(corrupt)["description"][0]
    assert "password-protected" in errors_of(locked)["description"][0]


def test_workbook_with_real_dates_and_numbers_as_text_is_accepted(tmp_path: Path) -> None:
    sheets = small_submission()
    sheets["reviews"][0]["report_pages"] = "30"  # a number stored as text
    errors = errors_of(write_workbook(tmp_path / "good.xlsx", sheets))
    assert errors.height == 0, report_lines(errors)


def test_workbook_error_cells_and_serial_dates_are_named(tmp_path: Path) -> None:
    def cells(name: str, ws: object, columns: list[str]) -> None:
        if name == "children":
            ws.write_formula(2, columns.index("age_months"), "=1/0", None, "#DIV/0!")
        if name == "reviews":
            ws.write_number(1, columns.index("report_date"), 38717)  # unformatted date serial

    errors = errors_of(write_workbook(tmp_path / "bad.xlsx", small_submission(), cells))
    found = {
        (r["sheet"], r["row_number"], r["column_name"], r["rule"])
        for r in errors.iter_rows(named=True)
    }
    assert ("children", 3, "age_months", "excel_error") in found
    assert ("reviews", 2, "report_date", "date_serial") in found
    hint = errors.filter(pl.col("rule") == "date_serial")["hint"][0]
    assert "2005-12-31" in hint


def test_review_of_another_board_and_moved_child_against_the_warehouse(tmp_path: Path) -> None:
    from warehouse.schema import ensure_schema

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_schema(con)
    con.execute(
        "INSERT INTO reviews (review_id, board_code, period, region, incident_date, "
        "author_status, parent_ethnicity, submission_id) VALUES "
        "('TR-1', 'ELSEWHERE', '2005-07', 'london', DATE '2005-01-01', 'internal', "
        "'not_stated', 's0')"
    )
    con.execute(
        "INSERT INTO children (child_id, review_id, gender, ethnicity, disability, "
        "incident_type, cp_register, legal_status, submission_id) VALUES "
        "('TC-2', 'TR-OLD', 'male', 'mixed', 'no', 'death', 'not_recorded', 'none', 's0')"
    )
    errors = errors_of(csv_folder(tmp_path, "s", small_submission()), con)
    rules = set(errors["rule"].to_list())
    assert {"review_of_other_board", "child_of_other_review"} <= rules
    cells = errors.select("sheet", "row_number", "rule")
    assert cells.sort(cells.columns).rows() == [
        ("children", 3, "child_of_other_review"),
        ("reviews", 2, "review_of_other_board"),
    ]
    # The GX suites (the pipeline's suite of record) find the same two cells, in the same words.
    sheets, _ = check_submission(con, tmp_path / "s")
    gx = expectation_issues(sheets, con).select("sheet", "row_number", "rule")
    assert gx.sort(gx.columns).rows() == cells.sort(cells.columns).rows()
    con.close()


def test_suites_are_generated_from_the_coding_frame() -> None:
    assert load_suites() == build_suites(), "run: python -m warehouse.expectations"
    assert set(load_suites()) == {
        "reviews",
        "children",
        "recommendations",
        "actions",
        "notifications",
        "action_updates",
    }
    reviews = {
        (e["type"], e["kwargs"].get("column"), e["meta"]["check"])
        for e in load_suites()["reviews"]["expectations"]
    }
    assert (
        "expect_column_values_to_be_in_set",
        "author_status",
        "reviews.author_status.unknown_code",
    ) in reviews
    assert (
        "expect_column_values_to_match_regex",
        "review_id",
        "reviews.review_id.pattern",
    ) in reviews


def test_expectations_catch_what_slips_past_typing(tmp_path: Path) -> None:
    """The GX suites judge typed rows on their own: feed them rows that break the frame
    directly and they report the same cells, rules and words as the fast checker."""
    sheets, issues = check_submission(None, csv_folder(tmp_path, "ok", small_submission()))
    assert issues.filter(pl.col("severity") == "error").height == 0
    assert expectation_issues(sheets, None).height == 0
    broken = dict(sheets)
    broken["children"] = sheets["children"].with_columns(
        pl.when(pl.col("_row") == 3)
        .then(pl.lit("purple"))
        .otherwise(pl.col("gender"))
        .alias("gender")
    )
    broken["reviews"] = sheets["reviews"].with_columns(
        pl.when(pl.col("_row") == 2)
        .then(pl.lit(5000))
        .otherwise(pl.col("report_pages"))
        .alias("report_pages")
    )
    found = expectation_issues(broken, None)
    cells = {
        (r["sheet"], r["row_number"], r["column_name"], r["rule"])
        for r in found.iter_rows(named=True)
    }
    assert cells == {
        ("children", 3, "gender", "unknown_code"),
        ("reviews", 2, "report_pages", "above_maximum"),
    }
    assert "not a code of 'gender'" in " ".join(found["description"].to_list())


def test_validate_command_text_and_json(tmp_path: Path, capsys) -> None:
    bad = csv_folder(tmp_path, "bad", mutate(set_cell("children", 1, "ethnicity", "White")))
    assert main(["--warehouse", str(tmp_path / "w.duckdb"), "validate", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "would be REJECTED" in out and "children, ethnicity" in out and "row 3" in out
    assert (
        main(["--warehouse", str(tmp_path / "w.duckdb"), "validate", str(bad), "--format", "json"])
        == 1
    )
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "rejected"
    assert report["issues"][0]["sheet"] == "children"
    good = csv_folder(tmp_path, "good", small_submission())
    assert main(["--warehouse", str(tmp_path / "w.duckdb"), "validate", str(good)]) == 0


def test_repeated_and_blank_headers_are_named(tmp_path: Path) -> None:
    folder = csv_folder(tmp_path, "s", small_submission())
    lines = (folder / "children.csv").read_text().splitlines()
    lines[0] += ",gender,"
    lines[1:] = [line + ",male,x" for line in lines[1:]]
    (folder / "children.csv").write_text("\n".join(lines) + "\n")
    errors = errors_of(folder)
    by_rule = {r["rule"]: r for r in errors.iter_rows(named=True)}
    assert by_rule["duplicate_column"]["column_name"] == "gender"
    assert "column J" in by_rule["duplicate_column"]["hint"]
    assert "column K" in by_rule["blank_header"]["hint"]


def hint_for(tmp_path: Path, sheet: str, column: str, value: str) -> str | None:
    sheets = mutate(set_cell(sheet, 0, column, value))
    errors = errors_of(csv_folder(tmp_path, f"{column}_{abs(hash(value))}", sheets))
    hit = errors.filter((pl.col("sheet") == sheet) & (pl.col("column_name") == column))
    assert hit.height == 1, report_lines(errors)
    return hit["hint"][0]


@pytest.mark.parametrize(
    ("sheet", "column", "typed", "meant"),
    [
        ("reviews", "region", "Londn", "did you mean 'london'?"),
        ("reviews", "author_status", "Independant", "did you mean 'independent'?"),
        ("recommendations", "focus", "Traning", "did you mean 'training'?"),
        ("children", "ethnicity", "Wite", "did you mean 'white_british' or 'white_other'?"),
        ("children", "ethnicity", "Black British", "did you mean 'black_black_british'?"),
        ("children", "gender", "Femal", "did you mean 'female'?"),
        ("children", "legal_status", "S20 accomodation", "did you mean 's20_accommodation'?"),
    ],
)
def test_real_typos_get_a_did_you_mean(
    tmp_path: Path, sheet: str, column: str, typed: str, meant: str
) -> None:
    assert hint_for(tmp_path, sheet, column, typed) == meant


@pytest.mark.parametrize("typed", ["purple", "zz", "12abc", "Completely unrelated"])
def test_values_far_from_every_code_get_no_guess(tmp_path: Path, typed: str) -> None:
    assert hint_for(tmp_path, "children", "ethnicity", typed) is None


def test_dates_that_are_not_calendar_dates_say_so(tmp_path: Path) -> None:
    sheets = mutate(set_cell("reviews", 0, "report_date", "31/02/2010"))
    sheets["reviews"][1]["report_date"] = "12/25/2010"  # month first: a real date
    sheets["actions"][0]["due_date"] = "2005-02-30"
    errors = errors_of(csv_folder(tmp_path, "s", sheets))
    by_cell = {
        (r["sheet"], r["row_number"], r["column_name"]): r for r in errors.iter_rows(named=True)
    }
    dmy = by_cell[("reviews", 2, "report_date")]
    assert (dmy["rule"], dmy["description"]) == ("invalid_date", "not a valid calendar date")
    assert dmy["hint"] == "there is no day 31 of month 02 in 2010"
    assert "2010-02-31" not in " ".join(report_lines(errors))
    us = by_cell[("reviews", 3, "report_date")]
    assert (us["rule"], us["hint"]) == ("date_format", "if month/day/year, write 2010-12-25")
    iso = by_cell[("actions", 2, "due_date")]
    assert (iso["rule"], iso["hint"]) == ("invalid_date", "there is no day 30 of month 02 in 2005")


def test_future_date_from_an_excel_date_cell_is_shown_as_a_date(tmp_path: Path) -> None:
    sheets = mutate(set_cell("reviews", 0, "report_date", "2999-01-01"))
    errors = errors_of(write_workbook(tmp_path / "future.xlsx", sheets))
    future = errors.filter(pl.col("rule") == "future_date")
    assert future["value"].to_list() == ["2999-01-01"]
    assert future["hint"][0].startswith("today is ")
    line = next(x for x in report_lines(errors) if "future" in x)
    assert "'2999-01-01' (row 2;" in line and "00:00" not in line


def test_a_workbook_without_an_optional_sheet_is_warned_by_name(tmp_path: Path) -> None:
    sheets = small_submission()
    del sheets["actions"]
    _, issues = check_submission(None, write_workbook(tmp_path / "no_actions.xlsx", sheets))
    assert issues.filter(pl.col("severity") == "error").height == 0, report_lines(issues)
    warned = issues.filter(pl.col("rule") == "missing_optional_sheet")
    assert warned.select("severity", "sheet").rows() == [("warning", "actions")]
    assert "optional sheet 'actions'" in warned["description"][0]
    full = write_workbook(tmp_path / "full.xlsx", small_submission())
    assert "missing_optional_sheet" not in check_submission(None, full)[1]["rule"].to_list()


def test_invisible_and_reordering_characters_are_named(tmp_path: Path) -> None:
    sheets = mutate(set_cell("reviews", 1, "board_name", "Board \u2066one\u2069"))
    errors = errors_of(csv_folder(tmp_path, "s", sheets))
    hit = errors.filter(pl.col("rule") == "forbidden_character").row(0, named=True)
    assert (hit["sheet"], hit["row_number"], hit["column_name"]) == ("reviews", 3, "board_name")
    assert "U+2066 LEFT-TO-RIGHT ISOLATE" in hit["hint"]
    # The report shows the value with the invisible character escaped, never raw.
    line = next(x for x in report_lines(errors) if "board_name" in x)
    assert "\\u2066" in line and "\u2066" not in line


def test_free_text_over_the_limit_is_reported_short(tmp_path: Path) -> None:
    sheets = mutate(set_cell("recommendations", 0, "text", "x" * 50_000))
    errors = errors_of(csv_folder(tmp_path, "s", sheets))
    hit = errors.filter(pl.col("rule") == "max_length").row(0, named=True)
    assert hit["description"] == "text is longer than 2000 characters"
    assert hit["hint"] == "50000 characters" and len(hit["value"]) == 41
    assert sum(len(x) for x in report_lines(errors)) < 500


def test_typing_keeps_checkable_values_and_nulls_only_what_cannot_be_typed(
    tmp_path: Path,
) -> None:
    """The typed rows keep an unknown code, an out-of-range number and a future date (so
    the GX suites judge them too); a word in a number column is null."""
    from warehouse.coerce import coerce_submission

    sheets = mutate(set_cell("children", 0, "gender", "Male"))
    sheets["reviews"][0]["report_pages"] = 0
    sheets["reviews"][1]["report_pages"] = "thirty"
    sheets["reviews"][0]["report_date"] = "2999-01-01"
    typed = coerce_submission(read_submission(csv_folder(tmp_path, "s", sheets)))
    assert typed.sheets["children"]["gender"].to_list() == ["Male", "female"]
    assert typed.sheets["reviews"]["report_pages"].to_list() == [0, None]
    assert str(typed.sheets["reviews"]["report_date"][0]) == "2999-01-01"

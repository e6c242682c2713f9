"""`scr template`: a blank workbook derived from the coding frame, and a usable one."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import polars as pl

from pipelines.cli import main
from tests.conftest import REPLICATION
from warehouse.frame import frame
from warehouse.load import check_submission


def test_template_has_every_sheet_column_dropdown_and_date_format(tmp_path: Path) -> None:
    out = tmp_path / "blank.xlsx"
    assert main(["template", "--out", str(out)]) == 0
    book = openpyxl.load_workbook(out)
    cf = frame()
    for name, sheet in cf.sheets.items():
        ws = book[name]
        assert [c.value for c in ws[1]] == sheet.column_names
        lists = {
            str(dv.sqref).split(":")[0]: dv
            for dv in ws.data_validations.dataValidation
            if dv.type == "list"
        }
        for i, column in enumerate(sheet.columns, start=1):
            letter = openpyxl.utils.get_column_letter(i)
            if column.type == "code":
                dv = lists[f"{letter}2"]
                # The dropdown points at this column's code list on the hidden lists sheet.
                ref = dv.formula1.split("!")[1].replace("$", "")
                codes = [c.value for row in book["lists"][ref] for c in row]
                assert codes == cf.codes(column.codes), column.name
            if column.type == "date":
                # openpyxl groups adjacent columns of one format into one dimension.
                formats = {
                    d.number_format for d in ws.column_dimensions.values() if d.min <= i <= d.max
                }
                assert formats == {"yyyy-mm-dd"}, column.name
    notes = [row for row in book["notes"].iter_rows(values_only=True)]
    described = {(r[0], r[1]) for r in notes if r and r[1]}
    assert all((s, c.name) in described for s, sh in cf.sheets.items() for c in sh.columns)
    assert book["lists"].sheet_state == "hidden"


def test_template_notes_list_the_registry_checks(tmp_path: Path) -> None:
    """The notes say what `scr validate` checks, because both come from the registry."""
    from warehouse.checks import registry

    out = tmp_path / "blank.xlsx"
    assert main(["template", "--out", str(out)]) == 0
    notes = list(openpyxl.load_workbook(out)["notes"].iter_rows(values_only=True))
    types = {"string", "code", "integer", "date"}
    checked = {(r[0], r[1]): r[6] for r in notes if r and r[1] and r[2] in types}
    assert checked[("reviews", "region")] == (
        "no NUL, bidirectional-control or zero-width characters; required; "
        "one of the 'region' codes"
    )
    assert checked[("reviews", "report_pages")] == "a whole number; at least 1; at most 2000"
    assert "at most 2000 characters" in checked[("recommendations", "text")]
    assert "on or after the review's incident_date" in checked[("actions", "due_date")]
    listed = {(r[0], r[3]) for r in notes if r and r[3]}
    for check in registry():
        if check.scope != "sheet" or check.kind == "unique" or check.severity != "error":
            assert (check.sheet, check.rule) in listed, check.name


def test_a_filled_in_template_is_a_valid_submission(tmp_path: Path) -> None:
    out = tmp_path / "filled.xlsx"
    assert main(["template", "--out", str(out)]) == 0
    book = openpyxl.load_workbook(out)
    for name in frame().sheets:
        if not (REPLICATION / f"{name}.csv").exists():  # a version 1 sample: no tracking
            continue
        data = pl.read_csv(REPLICATION / f"{name}.csv", infer_schema=False)
        ws = book[name]
        for row in data.iter_rows():
            ws.append(list(row))
    book.save(out)
    sheets, issues = check_submission(None, out)
    assert issues.filter(pl.col("severity") == "error").height == 0, issues
    assert sheets["reviews"].height == 40 and sheets["children"].height == 45

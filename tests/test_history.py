"""`scr history REVIEW_ID`: every version of a review and what changed, field by field."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from pipelines.cli import main
from tests.conftest import csv_folder, small_submission
from warehouse.history import review_history


@pytest.fixture(scope="module")
def resubmitted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two submissions of board TST1; the second corrects review TR-1: a field of the review
    changed, a child changed and one added, a recommendation and the action removed. Loaded
    by the warehouse's own receive, stage and publish (what the Dagster assets call), so
    the fixture takes a second, not a pipeline run."""
    from warehouse.db import archive_dir, connect
    from warehouse.load import publish, receive, stage

    root = tmp_path_factory.mktemp("history")
    sheets = small_submission()
    corrected = {
        "reviews": [dict(sheets["reviews"][0], recommendations_total=1, report_pages=90)],
        "children": [
            dict(sheets["children"][0], age_months=40),
            dict(sheets["children"][0], child_id="TC-9", age_months=2),
        ],
        "recommendations": [sheets["recommendations"][0]],
        "actions": [],
    }
    path = root / "scr.duckdb"
    first = csv_folder(root, "first", sheets)
    second = csv_folder(root, "corrected", corrected)
    con = connect(path)
    try:
        for folder in (first, second):
            receipt = receive(con, folder, archive_dir(path), "pytest")
            assert stage(con, receipt)["errors"] == 0
            publish(con, receipt.submission_id)
    finally:
        con.close()
    return path


def test_changes_are_listed_field_by_field(resubmitted: Path) -> None:
    con = duckdb.connect(str(resubmitted), read_only=True)
    try:
        history = review_history(con, "TR-1")
        untouched = review_history(con, "TR-2")
        assert review_history(con, "NOPE") is None
    finally:
        con.close()
    assert history is not None and untouched is not None
    assert history.versions["original_name"].to_list() == ["first", "corrected"]
    assert history.versions["current"].to_list() == [False, True]
    assert history.versions["replaced_by"][0] == history.versions["submission_id"][1]
    changes = {
        (c["sheet"], c["row_key"], c["change"], c["field"]): (c["old"], c["new"])
        for c in history.changes.iter_rows(named=True)
    }
    assert set(history.changes["version"]) == {2}
    assert changes[("reviews", "TR-1", "changed", "report_pages")] == ("30", "90")
    assert changes[("reviews", "TR-1", "changed", "recommendations_total")] == ("2", "1")
    assert changes[("children", "TC-1", "changed", "age_months")] == ("11", "40")
    assert changes[("children", "TC-9", "added", "age_months")] == (None, "2")
    assert changes[("recommendations", "2", "removed", "focus")] == ("communication", None)
    assert changes[("actions", "1", "removed", "status")] == ("completed", None)
    # Fields that did not change are not listed; nor is anything of TC-1 but its age.
    assert ("reviews", "TR-1", "changed", "period") not in changes
    assert [k for k in changes if k[1] == "TC-1"] == [("children", "TC-1", "changed", "age_months")]
    # A review loaded once has one version and no changes.
    assert untouched.versions.height == 1 and untouched.changes.height == 0


def test_scr_history_text_and_json(resubmitted: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--warehouse", str(resubmitted), "history", "TR-1"]) == 0
    out = capsys.readouterr().out
    assert "2 versions" in out and "first" in out and "corrected" in out
    assert "review TR-1: report_pages 30 -> 90" in out
    assert "child TC-1: age_months 11 -> 40" in out
    assert "child TC-9 added: age_months=2, gender=male" in out
    assert "recommendation 2 removed: focus=communication" in out
    assert "action 1 removed:" in out
    assert main(["--warehouse", str(resubmitted), "history", "TR-1", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["review_id"] == "TR-1" and len(data["versions"]) == 2
    assert {
        "version": 2,
        "sheet": "reviews",
        "row_key": "TR-1",
        "change": "changed",
        "field": "report_pages",
        "old": "30",
        "new": "90",
    } in data["changes"]
    assert main(["--warehouse", str(resubmitted), "history", "TR-2"]) == 0
    assert "review TR-2: 1 version; never replaced" in capsys.readouterr().out
    assert main(["--warehouse", str(resubmitted), "history", "NOPE"]) == 2
    assert "no review 'NOPE'" in capsys.readouterr().err

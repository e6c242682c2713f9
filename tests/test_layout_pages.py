"""The Data quality page through Streamlit's AppTest, as a national analyst, on a warehouse
with a rejected submission: each board's review count beside its completeness, submissions
not accepted with their reasons (and the read layer keeping them in scope). England's row on
the Region page and the Themes percents are checked in test_dashboard.py."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from tests.sample_warehouses import copy_warehouse, sample_warehouse_once
from tests.test_dashboard import open_page, texts
from warehouse.access import PUBLIC, Access, OutOfScope, Selection
from warehouse.db import snapshot_path
from warehouse.principal import Principal


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample warehouse with one rejected submission in its published ledger."""
    sample = sample_warehouse_once(tmp_path_factory.getbasetemp())
    path = copy_warehouse(sample, tmp_path_factory.mktemp("rejected") / "scr.duckdb")
    with duckdb.connect(str(snapshot_path(path))) as con:
        con.execute(
            "INSERT INTO submissions (submission_id, sha256, original_name, source_kind, "
            "received_at, submitted_by, status, n_errors) VALUES ('S-BAD', 'x', "
            "'bad board.xlsx', 'xlsx', now(), 'an office', 'rejected', 4)"
        )
        con.execute(
            "INSERT INTO submission_issues (submission_id, severity, sheet, row_number, "
            "column_name, value, rule, description) SELECT 'S-BAD', 'error', 'reviews', "
            "i, 'board_code', 'NOPE', 'known_code', 'not a board code of the code list' "
            "FROM range(2, 5) t(i) UNION ALL SELECT 'S-BAD', 'error', 'children', 3, "
            "'age_months', '-1', 'range', 'age below 0' UNION ALL SELECT 'S-BAD', "
            "'warning', 'children', 3, 'age_months', '-1', 'range', 'just a warning'"
        )
    return path


@pytest.fixture
def app_env(warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> Access:
    monkeypatch.setenv("SCR_WAREHOUSE", str(warehouse))
    return Access(warehouse)


def test_data_quality_counts_and_rejected_submissions(app_env: Access) -> None:
    access = app_env
    at = open_page("data-quality")
    by_board = at.dataframe[0].value
    assert {"reviews", "children", "overall"} <= set(by_board.columns)
    latest = access.periods()[-1]
    reviews = access.indicators(Selection(period=latest)).filter(pl.col("indicator") == "reviews")[
        "value"
    ][0]
    assert by_board["reviews"].sum() == reviews  # every review of the period, board by board
    assert (by_board["overall"] == by_board["overall"].round()).all()  # whole percents
    rejected = at.dataframe[1].value
    assert list(rejected["submission_id"]) == ["S-BAD"]
    reasons = rejected["reasons"].iloc[0]
    assert reasons.startswith("reviews.board_code: not a board code of the code list (3 rows)")
    assert "children.age_months: age below 0" in reasons and "warning" not in reasons
    assert any("1 submission not accepted" in w.value for w in at.warning)
    ledger = at.dataframe[-1].value
    assert len(ledger) == access.submissions().height
    assert "1 not (shaded red)" in texts(at)


def test_rejected_submissions_stay_in_scope(warehouse: Path) -> None:
    everything = Access(warehouse).rejected_submissions()
    assert everything["submission_id"].to_list() == ["S-BAD"]
    # A regional office's ledger holds only submissions of its boards' published reviews.
    regional = Access(warehouse, Principal("r", "regional", "london")).rejected_submissions()
    assert regional.is_empty()
    with pytest.raises(OutOfScope):
        Access(warehouse, PUBLIC).rejected_submissions()


def test_completeness_by_board_counts(warehouse: Path) -> None:
    access = Access(warehouse)
    sel = Selection(period=access.periods()[-1], region="london")
    wide = access.completeness_by_board(sel)
    long = access.completeness(sel).filter(pl.col("period") == sel.period)
    one = wide.row(0, named=True)
    rows = long.filter(pl.col("board_code") == one["board_code"])
    assert one["reviews"] == rows.filter(pl.col("field") == "report_date")["total"].sum()
    assert one["children"] == rows.filter(pl.col("field") == "ethnicity")["total"].sum()
    assert one["overall"] == pytest.approx(rows["recorded"].sum() / rows["total"].sum())
    assert wide["overall"].is_sorted(nulls_last=True)  # least complete first

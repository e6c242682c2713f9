"""The submissions ledger a scoped principal sees, for tracking submissions (issue 11): a
submission of notifications or action updates alone belongs to the boards of its items, as a
submission of reviews belongs to the boards of its reviews. Every id here is SYNTHETIC."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.conftest import csv_folder
from tests.test_frame_v2 import ingest, v2_submission
from warehouse.access.snapshot import build_scoped_database
from warehouse.principal import Principal


def notice(notification_id: str, board: str) -> dict[str, object]:
    return {
        "notification_id": notification_id,
        "board_code": board,
        "region": "london",
        "notification_date": "2006-03-01",
        "decision": "no_scr",
        "decision_date": "2006-03-20",
    }


@pytest.fixture(scope="module")
def ledger_warehouse(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("ledger")
    con = duckdb.connect(str(root / "scr.duckdb"))
    submissions = {
        "reviews_tst1": v2_submission(),
        "notices_tst1": {"notifications": [notice("N-SYN-0101", "TST1")]},
        "notices_oth1": {"notifications": [notice("N-SYN-0201", "OTH1")]},
        "notices_both": {
            "notifications": [notice("N-SYN-0102", "TST1"), notice("N-SYN-0202", "OTH1")]
        },
        "updates_tst1": {
            "action_updates": [
                {
                    "review_id": "TR-1",
                    "action_no": 1,
                    "update_date": "2006-06-01",
                    "status": "completed",
                }
            ]
        },
    }
    ids = {}
    for name, sheets in submissions.items():
        status, ids[name] = ingest(con, csv_folder(root, name, sheets), root / "archive")
        assert status == "accepted", name
    con.close()
    return root / "scr.duckdb", ids


def ledger_for(path: Path, board: str) -> dict[str, tuple]:
    source = duckdb.connect(str(path), read_only=True)
    try:
        scoped = build_scoped_database(source, Principal("b", "board", board))
    finally:
        source.close()
    rows = scoped.execute(
        "SELECT submission_id, original_name, n_notifications, n_action_updates, n_reviews "
        "FROM submissions"
    ).fetchall()
    scoped.close()
    return {row[0]: row[1:] for row in rows}


def test_a_tracking_submission_belongs_to_the_boards_of_its_items(
    ledger_warehouse: tuple[Path, dict[str, str]],
) -> None:
    path, ids = ledger_warehouse
    tst1 = ledger_for(path, "TST1")
    oth1 = ledger_for(path, "OTH1")
    # Whole, with its file name, for the board that owns every item.
    assert tst1[ids["notices_tst1"]] == ("notices_tst1", 1, 0, 0)
    assert tst1[ids["updates_tst1"]][0] == "updates_tst1"
    assert tst1[ids["updates_tst1"]][2] == 1
    assert tst1[ids["reviews_tst1"]][0] == "reviews_tst1"
    assert oth1[ids["notices_oth1"]] == ("notices_oth1", 1, 0, 0)
    # Never another board's.
    assert ids["notices_oth1"] not in tst1
    assert {ids["notices_tst1"], ids["updates_tst1"], ids["reviews_tst1"]}.isdisjoint(oth1)
    # Shared with another board: the id and the counts in scope, not the file.
    assert tst1[ids["notices_both"]] == (None, 1, 0, 0)
    assert oth1[ids["notices_both"]] == (None, 1, 0, 0)

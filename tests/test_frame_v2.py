"""Coding frame version 2 (issue 11): notifications and action updates, backward compatible.

A version 1 submission loads exactly as the baseline release loaded it; version 2 workbooks
and CSV folders load notifications and action updates beside the reviews; a notification
sent again replaces the earlier one, kept in history; each new rule rejects a bad file with
an issue naming sheet, row, column and rule, and changes nothing; a submission of action
updates (or notifications) alone needs no reviews. Every id here is SYNTHETIC.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import tarfile
from collections.abc import Callable
from pathlib import Path

import duckdb
import openpyxl
import polars as pl
import pytest

from pipelines.cli import main
from tests.conftest import csv_folder, small_submission, write_workbook
from warehouse import load
from warehouse.db import query_frame
from warehouse.frame import REVIEW_SHEETS, TRACKING_SHEETS, frame
from warehouse.load import check_submission

REPO = Path(__file__).resolve().parent.parent
BASELINE = REPO / "tests" / "fixtures" / "baseline-v1.tar.gz"
Sheets = dict[str, list[dict[str, object]]]
ERROR = "error"


def v2_submission() -> Sheets:
    """The small submission of board TST1 plus its notifications and action updates: TR-1
    came from notification N-SYN-0001 (decided scr, review TR-1); N-SYN-0002 is pending."""
    sheets: Sheets = copy.deepcopy(small_submission())
    sheets["reviews"][0] |= {
        "notification_id": "N-SYN-0001",
        "published_date": "2006-01-31",
        "action_plan_received_date": "2006-01-15",
    }
    sheets["actions"][0] |= {"due_date": "2006-06-30"}
    sheets["notifications"] = [
        {
            "notification_id": "N-SYN-0001",
            "board_code": "TST1",
            "region": "london",
            "notification_date": "2005-07-05",
            "incident_date": "2005-06-30",
            "incident_type": "death",
            "age_months": 11,
            "gender": "male",
            "decision": "scr",
            "decision_date": "2005-07-20",
            "review_id": "TR-1",
            "parallel_proceedings": "criminal",
            "proceedings_concluded_date": "2005-11-01",
            "agreed_completion_date": "2005-12-31",
        },
        {
            "notification_id": "N-SYN-0002",
            "board_code": "TST1",
            "notification_date": "2006-02-01",
            "incident_date": "2006-01-20",
            "decision": "pending",
            "parallel_proceedings": "not_known",
        },
    ]
    sheets["action_updates"] = [
        {
            "review_id": "TR-1",
            "action_no": 1,
            "update_date": "2006-03-01",
            "status": "in_progress",
            "note": "synthetic note",
        },
        {"review_id": "TR-1", "action_no": 1, "update_date": "2006-05-01", "status": "completed"},
    ]
    return sheets


GX_FOUND: dict[str, pl.DataFrame] = {}  # by submission: what the GX suites found


def ingest(con: duckdb.DuckDBPyConnection, path: Path, archive: Path) -> tuple[str, str]:
    """What the pipeline does, without Dagster: receive, stage (fast checker), the GX suites
    on the staged rows, then publish or reject. (status, submission_id)."""
    receipt = load.receive(con, path, archive, "pytest")
    load.stage(con, receipt)
    GX_FOUND[receipt.submission_id] = load.audit_expectations(con, receipt.submission_id)
    errors = load.staged_issues(con, receipt.submission_id).filter(pl.col("severity") == ERROR)
    if errors.height:
        load.reject(con, receipt.submission_id)
        return "rejected", receipt.submission_id
    load.publish(con, receipt.submission_id)
    return "accepted", receipt.submission_id


def published(con: duckdb.DuckDBPyConnection) -> dict[str, pl.DataFrame]:
    """Every published and history table, rows sorted: what a rejection must not change."""
    names = [*REVIEW_SHEETS, *TRACKING_SHEETS]
    return {
        f"{name}{suffix}": query_frame(con, f"SELECT * FROM {name}{suffix} ORDER BY ALL")
        for name in names
        for suffix in ("", "_history")
    }


def ledger(con: duckdb.DuckDBPyConnection, submission_id: str) -> dict[str, object]:
    return load.ledger_row(con, submission_id)


# -- version 1 is unchanged ----------------------------------------------------------------


V1_LEDGER = (
    "status",
    "n_reviews",
    "n_children",
    "n_recommendations",
    "n_actions",
    "n_reviews_new",
    "n_reviews_replaced",
    "n_reviews_unchanged",
    "n_errors",
    "n_warnings",
)


def test_a_version_1_workbook_loads_as_the_baseline_release_loaded_it(tmp_path: Path) -> None:
    """The baseline release's own warehouse (tests/fixtures) holds the 2003-05 sample and a
    corrected resubmission of two of its reviews, with the very files it was given in its
    archive. Loaded again under frame version 2, they give the same rows, the same history,
    the same ledger counts and the same report, and nothing in the version 2 places."""
    with tarfile.open(BASELINE) as tar:
        tar.extractall(tmp_path, filter="data")
    old = duckdb.connect(str(tmp_path / "warehouse" / "scr.duckdb"), read_only=True)
    received = old.execute(
        "SELECT submission_id, archive_path FROM submissions ORDER BY received_at"
    ).fetchall()
    files = [tmp_path / "warehouse" / "scr.archive" / Path(p).name for _, p in received]
    assert [f.exists() for f in files] == [True, True]

    con = duckdb.connect(str(tmp_path / "v2.duckdb"))
    loaded = [ingest(con, f, tmp_path / "archive") for f in files]
    assert [status for status, _ in loaded] == ["accepted", "accepted"]
    cf = frame()
    for name in REVIEW_SHEETS:
        v1 = ", ".join(f'"{c.name}"' for c in cf.sheets[name].columns if c.since == 1)
        for suffix in ("", "_history"):
            sql = f"SELECT {v1} FROM {name}{suffix} ORDER BY ALL"
            assert query_frame(con, sql).equals(query_frame(old, sql)), f"{name}{suffix}"
    added = [c.name for c in cf.sheets["reviews"].columns if c.since > 1]
    assert con.execute(
        f"SELECT count(*) FROM reviews WHERE {' OR '.join(f'{c} IS NOT NULL' for c in added)}"
    ).fetchall() == [(0,)]
    for name in TRACKING_SHEETS:
        assert con.execute(f"SELECT count(*) FROM {name}").fetchall() == [(0,)]
    for (old_id, _), (_, new_id) in zip(received, loaded, strict=True):
        before, after = ledger_of(old, old_id), ledger_of(con, new_id)
        assert {k: after[k] for k in V1_LEDGER} == {k: before[k] for k in V1_LEDGER}
        assert after["n_notifications"] == after["n_action_updates"] == 0
        assert issues_of(con, new_id).equals(issues_of(old, old_id))
    old.close()
    con.close()


def ledger_of(con: duckdb.DuckDBPyConnection, submission_id: str) -> dict[str, object]:
    return query_frame(
        con, "SELECT * FROM submissions WHERE submission_id = ?", [submission_id]
    ).row(0, named=True)


def issues_of(con: duckdb.DuckDBPyConnection, submission_id: str) -> pl.DataFrame:
    return query_frame(
        con,
        "SELECT * EXCLUDE (submission_id) FROM submission_issues WHERE submission_id = ? "
        "ORDER BY ALL",
        [submission_id],
    )


def test_scr_validate_says_of_a_version_1_submission_what_it_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = csv_folder(tmp_path, "v1", small_submission())
    assert main(["--warehouse", str(tmp_path / "none.duckdb"), "validate", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "0 errors, 0 warnings; 2 reviews, 2 children, 3 recommendations, 1 action)" in out
    assert "notification" not in out and "update" not in out


# -- version 2 loads -----------------------------------------------------------------------


def test_a_v2_workbook_and_csv_folder_load_the_same(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Through `scr ingest` (the Dagster pipeline and its GX blocking check)."""
    sheets = v2_submission()
    book = write_workbook(tmp_path / "v2.xlsx", sheets)
    folder = csv_folder(tmp_path, "v2", sheets)
    found = {}
    for kind, path in (("xlsx", book), ("csv", folder)):
        warehouse = tmp_path / kind / "scr.duckdb"
        assert main(["--warehouse", str(warehouse), "ingest", str(path)]) == 0
        out = capsys.readouterr().out
        assert "2 reviews (2 new, 0 replaced, 0 unchanged)" in out
        assert "2 notifications (2 new, 0 replaced, 0 unchanged)" in out
        assert "2 action updates (2 new, 0 replaced, 0 unchanged)" in out
        con = duckdb.connect(str(warehouse), read_only=True)
        found[kind] = {name: df.drop("submission_id") for name, df in published(con).items()}
        con.close()
    assert found["xlsx"].keys() == found["csv"].keys()
    for name, df in found["xlsx"].items():
        assert df.equals(found["csv"][name]), name
    notifications = found["csv"]["notifications"]
    assert notifications.select("notification_id", "decision", "review_id").rows() == [
        ("N-SYN-0001", "scr", "TR-1"),
        ("N-SYN-0002", "pending", None),
    ]
    assert notifications.row(0, named=True)["proceedings_concluded_date"] == dt.date(2005, 11, 1)
    reviews = found["csv"]["reviews"]
    assert reviews.select("review_id", "notification_id", "published_date").rows() == [
        ("TR-1", "N-SYN-0001", dt.date(2006, 1, 31)),
        ("TR-2", None, None),
    ]
    updates = found["csv"]["action_updates"]
    assert updates.select("update_date", "status", "note").rows() == [
        (dt.date(2006, 3, 1), "in_progress", "synthetic note"),
        (dt.date(2006, 5, 1), "completed", None),
    ]


def test_a_notification_sent_again_replaces_it_and_keeps_the_earlier_version(
    tmp_path: Path,
) -> None:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    archive = tmp_path / "archive"
    sheets = v2_submission()
    status, first = ingest(con, csv_folder(tmp_path, "first", sheets), archive)
    assert status == "accepted"
    resend: Sheets = {
        "notifications": copy.deepcopy(sheets["notifications"]),
        "action_updates": [
            # The same key as before, corrected: it replaces the earlier row.
            dict(sheets["action_updates"][1], note="synthetic correction"),
            # Unchanged: left as it was.
            sheets["action_updates"][0],
        ],
    }
    resend["notifications"][1] |= {"decision": "no_scr", "decision_date": "2006-02-20"}
    status, second = ingest(con, csv_folder(tmp_path, "second", resend), archive)
    assert status == "accepted"

    current = query_frame(
        con, "SELECT notification_id, decision, submission_id FROM notifications ORDER BY 1"
    )
    assert current.rows() == [
        ("N-SYN-0001", "scr", first),  # sent again unchanged: still the first version
        ("N-SYN-0002", "no_scr", second),
    ]
    history = query_frame(
        con,
        "SELECT notification_id, decision, decision_date, submission_id, replaced_by "
        "FROM notifications_history",
    )
    assert history.rows() == [("N-SYN-0002", "pending", None, first, second)]
    updates = query_frame(
        con, "SELECT update_date, note, submission_id FROM action_updates ORDER BY 1"
    )
    assert updates.rows() == [
        (dt.date(2006, 3, 1), "synthetic note", first),
        (dt.date(2006, 5, 1), "synthetic correction", second),
    ]
    assert query_frame(
        con, "SELECT update_date, note, replaced_by FROM action_updates_history"
    ).rows() == [(dt.date(2006, 5, 1), None, second)]
    row = ledger(con, second)
    assert (row["n_reviews"], row["n_notifications"], row["n_action_updates"]) == (0, 2, 2)
    assert (
        row["n_notifications_new"],
        row["n_notifications_replaced"],
        row["n_notifications_unchanged"],
    ) == (0, 1, 1)
    assert (
        row["n_action_updates_new"],
        row["n_action_updates_replaced"],
        row["n_action_updates_unchanged"],
    ) == (0, 1, 1)
    # Reviews untouched by a submission of tracking sheets alone.
    assert con.execute("SELECT count(*) FROM reviews_history").fetchall() == [(0,)]
    con.close()


def test_a_submission_of_action_updates_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Through `scr ingest`: later progress reports, no reviews, no warnings for the review
    sheets it leaves out."""
    warehouse = tmp_path / "w" / "scr.duckdb"
    assert (
        main(
            [
                "--warehouse",
                str(warehouse),
                "ingest",
                str(csv_folder(tmp_path, "v2", v2_submission())),
            ]
        )
        == 0
    )
    later = {
        "action_updates": [
            {
                "review_id": "TR-1",
                "action_no": 1,
                "update_date": "2006-09-01",
                "status": "completed",
            }
        ]
    }
    capsys.readouterr()
    assert (
        main(["--warehouse", str(warehouse), "ingest", str(csv_folder(tmp_path, "later", later))])
        == 0
    )
    out = capsys.readouterr().out
    assert "accepted later" in out and "1 action update (1 new, 0 replaced, 0 unchanged)" in out
    assert "0 warnings" in out
    assert main(["--warehouse", str(warehouse), "submissions"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert "2 reviews, 2 notifications, 2 action updates, 0 errors" in listed[0]
    assert "0 reviews, 1 action update, 0 errors" in listed[1]
    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute("SELECT count(*) FROM action_updates").fetchall() == [(3,)]
    assert con.execute("SELECT count(*) FROM reviews").fetchall() == [(2,)]
    con.close()


def test_a_filled_in_template_of_notifications_alone_is_valid(tmp_path: Path) -> None:
    out = tmp_path / "filled.xlsx"
    assert main(["template", "--out", str(out)]) == 0
    book = openpyxl.load_workbook(out)
    ws = book["notifications"]
    columns = [c.value for c in ws[1]]
    row = v2_submission()["notifications"][1]
    ws.append([row.get(c) for c in columns])
    book.save(out)
    sheets, issues = check_submission(None, out)
    assert issues.filter(pl.col("severity") == ERROR).height == 0, issues
    assert issues.height == 0, issues  # no warning about the review sheets left empty
    assert sheets["notifications"].height == 1 and sheets["reviews"].height == 0


def test_an_empty_tracking_submission_is_rejected(tmp_path: Path) -> None:
    folder = csv_folder(tmp_path, "empty", {})
    pl.DataFrame(schema=frame().sheets["notifications"].column_names).write_csv(
        folder / "notifications.csv"
    )
    _, issues = check_submission(None, folder)
    assert issues.filter(pl.col("severity") == ERROR)["rule"].to_list() == ["no_rows"]


# -- each new rule rejects a bad file, naming sheet, row, column and rule --------------------

FUTURE = (dt.date.today() + dt.timedelta(days=30)).isoformat()


def notification(**changes: object) -> Sheets:
    """N-SYN-0002 sent again with ``changes``: a submission of notifications alone."""
    return {"notifications": [dict(v2_submission()["notifications"][1], **changes)]}


def first_notification(**changes: object) -> Sheets:
    return {"notifications": [dict(v2_submission()["notifications"][0], **changes)]}


def update(**changes: object) -> Sheets:
    row = {"review_id": "TR-1", "action_no": 1, "update_date": "2006-07-01", "status": "completed"}
    return {"action_updates": [row | changes]}


def with_review(**changes: object) -> Sheets:
    sheets = small_submission()
    sheets["reviews"][0] |= changes
    return sheets


def new_review_and_notification(**changes: object) -> Sheets:
    """Review TR-3, from notification N-SYN-0003 (decided scr), in one submission."""
    sheets = small_submission()
    review = dict(sheets["reviews"][1], review_id="TR-3", notification_id="N-SYN-0003")
    child = dict(sheets["children"][1], child_id="TC-3", review_id="TR-3")
    note = dict(
        v2_submission()["notifications"][0],
        notification_id="N-SYN-0003",
        incident_date="2006-01-10",
        notification_date="2006-01-12",
        decision_date="2006-02-01",
        agreed_completion_date=None,
        proceedings_concluded_date=None,
        review_id="TR-3",
    )
    return {"reviews": [review], "children": [child], "notifications": [note | changes]}


# (case, the bad submission, sheet, Excel row, column, rule)
RULES: list[tuple[str, Callable[[], Sheets], str, int, str, str]] = [
    (
        "notified before the incident",
        lambda: notification(incident_date="2006-02-02"),
        "notifications",
        2,
        "notification_date",
        "notified_before_incident",
    ),
    (
        "decided before notified",
        lambda: notification(decision="no_scr", decision_date="2006-01-31"),
        "notifications",
        2,
        "decision_date",
        "decided_before_notification",
    ),
    (
        "agreed completion before the decision",
        lambda: first_notification(agreed_completion_date="2005-07-19"),
        "notifications",
        2,
        "agreed_completion_date",
        "completion_before_decision",
    ),
    (
        "agreed completion before notification, no decision yet",
        lambda: notification(agreed_completion_date="2006-01-31"),
        "notifications",
        2,
        "agreed_completion_date",
        "completion_before_notification",
    ),
    (
        "proceedings concluded before the incident",
        lambda: first_notification(proceedings_concluded_date="2005-06-01"),
        "notifications",
        2,
        "proceedings_concluded_date",
        "concluded_before_incident",
    ),
    (
        "a date in the future",
        lambda: notification(notification_date=FUTURE),
        "notifications",
        2,
        "notification_date",
        "future_date",
    ),
    (
        "scr without its date",
        lambda: notification(decision="scr"),
        "notifications",
        2,
        "decision_date",
        "decision_without_date",
    ),
    (
        "pending with a date",
        lambda: notification(decision_date="2006-02-10"),
        "notifications",
        2,
        "decision_date",
        "date_without_decision",
    ),
    (
        "blank decision with a date",
        lambda: notification(decision=None, decision_date="2006-02-10"),
        "notifications",
        2,
        "decision_date",
        "date_without_decision",
    ),
    (
        "a review without scr",
        lambda: notification(decision="no_scr", decision_date="2006-02-10", review_id="TR-2"),
        "notifications",
        2,
        "review_id",
        "review_without_scr",
    ),
    (
        "proceedings concluded without proceedings",
        lambda: notification(parallel_proceedings="none", proceedings_concluded_date="2006-03-01"),
        "notifications",
        2,
        "proceedings_concluded_date",
        "concluded_without_proceedings",
    ),
    (
        "unknown decision code",
        lambda: notification(decision="SCR"),
        "notifications",
        2,
        "decision",
        "unknown_code",
    ),
    (
        "scr whose loaded review is not named",
        lambda: first_notification(review_id=None),
        "notifications",
        2,
        "review_id",
        "scr_review_not_named",
    ),
    (
        "scr naming another review than the one loaded for it",
        lambda: first_notification(review_id="TR-2"),
        "notifications",
        2,
        "review_id",
        "scr_review_not_named",
    ),
    (
        "a review of another board",
        lambda: {
            "notifications": [
                dict(
                    v2_submission()["notifications"][0],
                    notification_id="N-SYN-0009",
                    board_code="OTHR",
                    review_id="TR-2",
                )
            ]
        },
        "notifications",
        2,
        "review_id",
        "review_of_other_board",
    ),
    (
        "a notification of another board",
        lambda: notification(board_code="OTHR"),
        "notifications",
        2,
        "notification_id",
        "notification_of_other_board",
    ),
    (
        "scr whose review in the same submission is not named",
        lambda: new_review_and_notification(review_id=None),
        "notifications",
        2,
        "review_id",
        "scr_review_not_named",
    ),
    (
        "published before the report",
        lambda: with_review(published_date="2005-12-30"),
        "reviews",
        2,
        "published_date",
        "published_before_report",
    ),
    (
        "action plan received before the incident",
        lambda: with_review(action_plan_received_date="2005-06-29"),
        "reviews",
        2,
        "action_plan_received_date",
        "date_before_incident",
    ),
    (
        "a notification_id not of the id form",
        lambda: with_review(notification_id="N SYN 1"),
        "reviews",
        2,
        "notification_id",
        "pattern",
    ),
    (
        "an update of an unknown action",
        lambda: update(action_no=2),
        "action_updates",
        2,
        "action_no",
        "unknown_action",
    ),
    (
        "an update of an unknown review",
        lambda: update(review_id="TR-9"),
        "action_updates",
        2,
        "action_no",
        "unknown_action",
    ),
    (
        "an update before the review's report",
        lambda: update(update_date="2005-12-30"),
        "action_updates",
        2,
        "update_date",
        "update_before_report",
    ),
    (
        "an update in the future",
        lambda: update(update_date=FUTURE),
        "action_updates",
        2,
        "update_date",
        "future_date",
    ),
    (
        "an unknown status",
        lambda: update(status="done"),
        "action_updates",
        2,
        "status",
        "unknown_code",
    ),
]


def test_a_review_and_its_notification_in_one_submission(tmp_path: Path) -> None:
    """The valid twin of the same-submission case below: scr naming its review loads."""
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    assert ingest(con, csv_folder(tmp_path, "v2", v2_submission()), tmp_path / "a")[0] == (
        "accepted"
    )
    folder = csv_folder(tmp_path, "both", new_review_and_notification())
    assert ingest(con, folder, tmp_path / "a")[0] == "accepted"
    assert con.execute(
        "SELECT n.review_id, r.notification_id FROM notifications n JOIN reviews r "
        "USING (review_id) WHERE n.notification_id = 'N-SYN-0003'"
    ).fetchall() == [("TR-3", "N-SYN-0003")]
    con.close()


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse holding the version 2 submission (reviews, notifications, updates)."""
    root = tmp_path_factory.mktemp("v2rules")
    con = duckdb.connect(str(root / "scr.duckdb"))
    assert ingest(con, csv_folder(root, "v2", v2_submission()), root / "archive")[0] == "accepted"
    con.close()
    return root / "scr.duckdb"


@pytest.mark.parametrize(
    ("make", "sheet", "row", "column", "rule"),
    [case[1:] for case in RULES],
    ids=[case[0] for case in RULES],
)
def test_each_new_rule_rejects_the_file_and_changes_nothing(
    make: Callable[[], Sheets],
    sheet: str,
    row: int,
    column: str,
    rule: str,
    loaded: Path,
    tmp_path: Path,
) -> None:
    path = tmp_path / "scr.duckdb"
    path.write_bytes(loaded.read_bytes())
    con = duckdb.connect(str(path))
    before = published(con)
    status, submission_id = ingest(con, csv_folder(tmp_path, "bad", make()), tmp_path / "a")
    assert status == "rejected"
    found = load.recorded_issues(con, submission_id).filter(pl.col("severity") == ERROR)
    cells = set(found.select("sheet", "row_number", "column_name", "rule").rows())
    assert (sheet, row, column, rule) in cells, found
    # The suite of record (GX on the staged rows) finds the same cell for the same rule.
    gx = GX_FOUND[submission_id].select("sheet", "row_number", "column_name", "rule").rows()
    assert (sheet, row, column, rule) in set(gx), gx
    # The report names sheet, column and row in words, and each issue its rule.
    report = json.loads(str(ledger(con, submission_id)["report"]))
    assert any(
        line.startswith(f"[ERROR] {sheet}, {column}:") and f"row {row}" in line
        for line in report["lines"]
    ), report["lines"]
    assert any(
        (i["sheet"], i["row_number"], i["column_name"], i["rule"]) == (sheet, row, column, rule)
        for i in report["issues"]
    )
    after = published(con)
    for name, df in before.items():
        assert after[name].equals(df), f"{name} changed"
    con.close()


def test_scr_history_shows_a_notifications_versions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    warehouse = tmp_path / "scr.duckdb"
    con = duckdb.connect(str(warehouse))
    sheets = v2_submission()
    assert ingest(con, csv_folder(tmp_path, "first", sheets), tmp_path / "a")[0] == "accepted"
    resend = {"notifications": [dict(sheets["notifications"][1], decision=None)]}
    resend["notifications"][0] |= {"parallel_proceedings": "coroner"}
    assert ingest(con, csv_folder(tmp_path, "again", resend), tmp_path / "a")[0] == "accepted"
    con.close()
    capsys.readouterr()
    assert main(["--warehouse", str(warehouse), "history", "N-SYN-0002"]) == 0
    out = capsys.readouterr().out
    assert "notification N-SYN-0002: 2 versions; 1 row changed" in out
    assert "notification N-SYN-0002: decision pending -> (blank)" in out
    assert "notification N-SYN-0002: parallel_proceedings not_known -> coroner" in out
    assert main(["--warehouse", str(warehouse), "history", "N-SYN-0002", "--format", "json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["notification_id"] == "N-SYN-0002" and len(record["versions"]) == 2
    assert main(["--warehouse", str(warehouse), "history", "TR-1"]) == 0
    assert "review TR-1: 1 version; never replaced" in capsys.readouterr().out


def test_an_agreed_completion_date_may_be_in_the_future(loaded: Path, tmp_path: Path) -> None:
    """An agreed extension is a date ahead: the only date the frame lets be in the future."""
    path = tmp_path / "scr.duckdb"
    path.write_bytes(loaded.read_bytes())
    con = duckdb.connect(str(path))
    extended = first_notification(agreed_completion_date=FUTURE)
    status, _ = ingest(con, csv_folder(tmp_path, "ahead", extended), tmp_path / "a")
    assert status == "accepted"
    agreed = extended["notifications"][0]["notification_id"]
    assert con.execute(
        "SELECT agreed_completion_date::VARCHAR FROM notifications WHERE notification_id = ?",
        [agreed],
    ).fetchall() == [(FUTURE,)]
    con.close()

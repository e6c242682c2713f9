"""The weekly tracking digest (issue 11): one overdue list per board, as CSV beside the
warehouse, as of a fixed date, and the Monday 07:00 London schedule that runs it.

A SYNTHETIC fixture, answers worked out by hand (as of 2011-03-31):
- SYNA01 (London): notification NA1 of 2011-01-31 still pending, decision due 2011-02-28,
  31 days overdue, a coroner's inquest not concluded. Review RA1 (no notification) reported
  2010-06-28: action 1 due 2011-03-01 never started (30 days overdue); action 2, same due
  date, completed by an update of 2011-02-20; action 3 dropped by an update; action 4
  completed by an update of 2011-04-02, after the date (so still overdue on 2011-03-31,
  30 days, and not on 2011-04-05).
- SYNB01 (North West): NB1 decided no_scr on time; RB1's only action is due 2011-12-31.
  Nothing overdue: its file is the header alone.
"""

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import polars as pl
import pytest

from pipelines.defs.assets.tracking import (
    TrackingDigestConfig,
    digest_date,
    digest_folder,
    tracking_digest,
)
from pipelines.defs.resources import WarehouseResource
from warehouse.schema import ensure_schema
from warehouse.tracking import OVERDUE_SCHEMA

D = dt.date(2011, 3, 31)

REVIEWS = [
    # review_id, period, board, board_name, region, incident, report, plan received
    ("RA1", "2009-11", "SYNA01", "Synthetic Board A01", "london", "2010-01-05", "2010-06-28"),
    ("RB1", "2009-11", "SYNB01", "Synthetic Board B01", "north_west", "2009-12-01", "2010-03-01"),
]
NOTIFICATIONS = [
    # id, board, notified, decision, decided, proceedings
    ("NA1", "SYNA01", "2011-01-31", "pending", None, "coroner"),
    ("NB1", "SYNB01", "2010-01-10", "no_scr", "2010-01-20", "none"),
]
ACTIONS = [("RA1", 1), ("RA1", 2), ("RA1", 3), ("RA1", 4)]
UPDATES = [
    ("RA1", 2, "2011-02-20", "completed"),
    ("RA1", 3, "2011-01-10", "dropped"),
    ("RA1", 4, "2011-04-02", "completed"),
]


def build(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    try:
        ensure_schema(con)
        con.executemany(
            "INSERT INTO reviews (review_id, period, board_code, board_name, region, "
            "incident_date, report_date, action_plan_received_date, submission_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, DATE '2010-07-01', 'S1')",
            REVIEWS,
        )
        con.executemany(
            "INSERT INTO notifications (notification_id, board_code, notification_date, "
            "decision, decision_date, parallel_proceedings, submission_id) "
            "VALUES (?, ?, ?, ?, ?, ?, 'S1')",
            NOTIFICATIONS,
        )
        con.executemany(
            "INSERT INTO actions (review_id, action_no, due_date, submission_id) "
            "VALUES (?, ?, DATE '2011-03-01', 'S1')",
            ACTIONS,
        )
        con.execute(
            "INSERT INTO actions (review_id, action_no, due_date, submission_id) "
            "VALUES ('RB1', 1, DATE '2011-12-31', 'S1')"
        )
        con.executemany(
            "INSERT INTO action_updates (review_id, action_no, update_date, status, "
            "submission_id) VALUES (?, ?, ?, ?, 'S1')",
            UPDATES,
        )
    finally:
        con.close()
    return path


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return build(tmp_path / "wh" / "scr.duckdb")


def read_digest(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, schema=OVERDUE_SCHEMA)


def test_one_csv_per_board_with_its_overdue_rows(warehouse: Path) -> None:
    result = dg.materialize(
        [tracking_digest],
        resources={"warehouse": WarehouseResource(database=str(warehouse))},
        run_config=dg.RunConfig(ops={"tracking_digest": TrackingDigestConfig(as_of="2011-03-31")}),
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    folder = warehouse.parent / "digests" / "2011-03-31"
    assert folder == digest_folder(warehouse, D)
    assert sorted(p.name for p in folder.iterdir()) == ["SYNA01.csv", "SYNB01.csv"]

    a = read_digest(folder / "SYNA01.csv")
    assert a.columns == list(OVERDUE_SCHEMA)
    got = a.select(
        "kind", "notification_id", "review_id", "action_no", "due_date", "days_overdue"
    ).rows()
    assert sorted(got, key=str) == sorted(
        [
            ("decision", "NA1", None, None, dt.date(2011, 2, 28), 31),
            ("action", None, "RA1", 1, dt.date(2011, 3, 1), 30),
            ("action", None, "RA1", 4, dt.date(2011, 3, 1), 30),
        ],
        key=str,
    )
    decision = a.filter(pl.col("kind") == "decision").row(0, named=True)
    assert decision["board_code"] == "SYNA01" and decision["region"] == "london"
    assert decision["parallel_proceedings"] == "coroner" and decision["proceedings_ongoing"]

    b_text = (folder / "SYNB01.csv").read_text(encoding="utf-8")
    assert b_text.strip() == ",".join(OVERDUE_SCHEMA)  # nothing overdue: the header alone

    metadata = result.asset_materializations_for_node("tracking_digest")[0].metadata
    assert metadata["boards"].value == 2
    assert metadata["boards_with_overdue"].value == 1
    assert metadata["overdue_rows"].value == 3


def test_a_later_date_is_another_folder_and_the_same_date_is_replaced(warehouse: Path) -> None:
    resource = WarehouseResource(database=str(warehouse))
    tracking_digest(config=TrackingDigestConfig(as_of="2011-03-31"), warehouse=resource)
    stale = digest_folder(warehouse, D) / "SYNOLD.csv"
    stale.write_text("kind\n")
    tracking_digest(config=TrackingDigestConfig(as_of="2011-03-31"), warehouse=resource)
    assert not stale.exists()  # the digest of a date is replaced as a whole

    later = dt.date(2011, 4, 5)
    tracking_digest(config=TrackingDigestConfig(as_of=later.isoformat()), warehouse=resource)
    a = read_digest(digest_folder(warehouse, later) / "SYNA01.csv")
    # Action 4 was completed on 2011-04-02; the decision and action 1 are 5 days later.
    assert sorted(a.select("kind", "action_no", "days_overdue").rows(), key=str) == sorted(
        [("decision", None, 36), ("action", 1, 35)], key=str
    )
    assert (digest_folder(warehouse, D) / "SYNA01.csv").exists()  # the earlier one stays
    # Only the digests were written beside the warehouse; no temporary folder is left.
    assert sorted(p.name for p in (warehouse.parent / "digests").iterdir()) == [
        "2011-03-31",
        "2011-04-05",
    ]


def test_the_warehouse_is_only_read(warehouse: Path) -> None:
    def tables() -> dict[str, int]:
        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            names = [n for (n,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
            return {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
        finally:
            con.close()

    before = tables()
    resource = WarehouseResource(database=str(warehouse))
    tracking_digest(config=TrackingDigestConfig(as_of="2011-03-31"), warehouse=resource)
    assert tables() == before


def test_a_malformed_date_fails_and_a_blank_one_is_today_in_london(warehouse: Path) -> None:
    resource = WarehouseResource(database=str(warehouse))
    with pytest.raises(dg.Failure, match="not a date"):
        tracking_digest(config=TrackingDigestConfig(as_of="31/03/2011"), warehouse=resource)
    assert not (warehouse.parent / "digests").exists()
    # 23:30 UTC on 31 March 2011 is already 1 April in London (BST).
    late = dt.datetime(2011, 3, 31, 23, 30, tzinfo=ZoneInfo("UTC"))
    assert digest_date("", now=late) == dt.date(2011, 4, 1)
    assert digest_date(" 2011-03-31 ") == D


def test_the_weekly_schedule_is_in_the_loaded_definitions() -> None:
    from pipelines.definitions import defs

    schedule = defs.resolve_schedule_def("weekly_tracking_digest")
    assert schedule.cron_schedule == "0 7 * * 1"  # Mondays at 07:00
    assert schedule.execution_timezone == "Europe/London"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    job = defs.resolve_job_def(schedule.job_name)
    assert {k.to_user_string() for k in job.asset_layer.selected_asset_keys} == {"tracking_digest"}
    # A tick writes the lists as of the Monday it fires, in London.
    monday = dt.datetime(2011, 4, 4, 7, 0, tzinfo=ZoneInfo("Europe/London"))
    ticks = schedule.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=monday))
    [request] = ticks.run_requests or []
    assert request.run_config["ops"]["tracking_digest"]["config"] == {"as_of": "2011-04-04"}

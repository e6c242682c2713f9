"""Tracking (issue 11): stages, the clock and timeliness on a small SYNTHETIC fixture whose
every answer is worked out by hand in the comments.

Boards: SYN901 and SYN902 (London), SYN903 (North West, from its 2007-09 review R4).

Notifications (N7 is after the main date 2011-03-31 and in period 2011-13):
- N1 SYN901 notified 2010-01-31, scr decided 2010-02-28 (due 31 Jan + 1 month = 28 Feb:
  on time), review R1 reported 2010-06-28 (due 28 Feb + 4 months = 28 Jun, not 30 Jun: on
  time), plan received 2010-07-10; actions: 1 completed on its due date, 2 completed late
  (in progress from the actions row, completed by an update), 3 dropped -> implemented.
- N2 SYN901 notified 2010-03-31, scr decided 2010-05-10 (due 30 Apr: late), no review_id:
  linked by R2's notification_id; agreed completion 2011-01-31, report 2011-01-20 (on time
  only thanks to the agreed date), no plan (due 2011-02-20: 39 days overdue); R2 action 1
  due 2011-03-01: its row says completed on 2011-03-01 but an update the same day says
  in_progress, and the update wins (30 days overdue); action 2 due 2011-06-30; action 3
  with no due date.
- N3 SYN902 notified 2010-06-15, scr decided 2010-07-01 (on time), review R3 not reported
  (due 2010-11-01: 150 days overdue), criminal proceedings concluded 2011-02-01.
- N4 SYN902 notified 2010-08-20, no_scr decided 2010-09-15 (on time).
- N5 SYN903 notified 2011-01-31, pending (due 2011-02-28: 31 days overdue), coroner's
  inquest not concluded; no region of its own: its board's (north_west).
- N6 SYN903 region london stated, notified 2011-03-20, pending, not due until 2011-04-20.
- N7 SYN901 notified 2011-05-01, scr decided 2011-05-20.
- N8 SYN902 notified 2010-02-01, scr decided 2010-12-01 (late; due 2010-03-01),
  completion due 2011-04-01.
R4 (SYN903, 2007-09, no notification) reported 2008-06-30; action 1 due 2009-06-30 never
started (639 days overdue on 2011-03-31).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warehouse import tracking
from warehouse.schema import ensure_schema
from warehouse.tracking import TrackingFilter, period_range

D = date(2011, 3, 31)

REVIEWS = [
    # review_id, period, board, region, incident, report, notification_id, plan received
    ("R1", "2009-11", "SYN901", "london", "2010-01-20", "2010-06-28", None, "2010-07-10"),
    ("R2", "2009-11", "SYN901", "london", "2010-03-20", "2011-01-20", "N2", None),
    ("R3", "2009-11", "SYN902", "london", "2010-06-01", None, None, None),
    ("R4", "2007-09", "SYN903", "north_west", "2007-12-01", "2008-06-30", None, None),
]
NOTIFICATIONS = [
    # id, board, region, notified, decision, decided, review_id, proceedings, concluded, agreed
    ("N1", "SYN901", None, "2010-01-31", "scr", "2010-02-28", "R1", "none", None, None),
    ("N2", "SYN901", None, "2010-03-31", "scr", "2010-05-10", None, "none", None, "2011-01-31"),
    ("N3", "SYN902", None, "2010-06-15", "scr", "2010-07-01", "R3", "criminal", "2011-02-01", None),
    ("N4", "SYN902", None, "2010-08-20", "no_scr", "2010-09-15", None, "none", None, None),
    ("N5", "SYN903", None, "2011-01-31", None, None, None, "coroner", None, None),
    ("N6", "SYN903", "london", "2011-03-20", "pending", None, None, None, None, None),
    ("N7", "SYN901", None, "2011-05-01", "scr", "2011-05-20", None, None, None, None),
    ("N8", "SYN902", None, "2010-02-01", "scr", "2010-12-01", None, None, None, None),
]
ACTIONS = [
    # review_id, action_no, due, status, status_date
    ("R1", 1, "2010-09-30", None, None),
    ("R1", 2, "2010-10-31", "in_progress", "2010-08-01"),
    ("R1", 3, "2010-12-31", None, None),
    ("R2", 1, "2011-03-01", "completed", "2011-03-01"),
    ("R2", 2, "2011-06-30", None, None),
    ("R2", 3, None, None, None),
    ("R4", 1, "2009-06-30", None, None),
]
UPDATES = [
    ("R1", 1, "2010-09-30", "completed"),
    ("R1", 2, "2010-11-15", "completed"),
    ("R1", 3, "2010-12-01", "dropped"),
    ("R2", 1, "2011-03-01", "in_progress"),
]


def build_fixture(path: Path) -> duckdb.DuckDBPyConnection:
    """The fixture in a warehouse of the real schema (migrations up to the latest)."""
    con = duckdb.connect(str(path))
    ensure_schema(con)
    con.executemany(
        "INSERT INTO reviews (review_id, period, board_code, region, incident_date, "
        "report_date, notification_id, action_plan_received_date, submission_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'S1')",
        REVIEWS,
    )
    con.executemany(
        "INSERT INTO notifications (notification_id, board_code, region, notification_date, "
        "decision, decision_date, review_id, parallel_proceedings, "
        "proceedings_concluded_date, agreed_completion_date, submission_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'S1')",
        NOTIFICATIONS,
    )
    con.executemany(
        "INSERT INTO actions (review_id, action_no, due_date, status, status_date, "
        "submission_id) VALUES (?, ?, ?, ?, ?, 'S1')",
        ACTIONS,
    )
    con.executemany(
        "INSERT INTO action_updates (review_id, action_no, update_date, status, submission_id) "
        "VALUES (?, ?, ?, ?, 'S1')",
        UPDATES,
    )
    return con


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    connection = build_fixture(tmp_path_factory.mktemp("tracking") / "t.duckdb")
    yield connection
    connection.close()


def funnel(con: duckdb.DuckDBPyConnection, f: TrackingFilter) -> dict[str, tuple[int, int]]:
    """The selection's stages: {stage: (reached, now_at or -1)}."""
    rows = tracking.selection_rows(tracking.stage_counts(con, f), f)
    return {
        r["stage"]: (r["reached"], -1 if r["now_at"] is None else r["now_at"])
        for r in rows.iter_rows(named=True)
    }


def test_period_range_and_filter() -> None:
    assert period_range("2009-11") == (date(2009, 4, 1), date(2011, 3, 31))
    assert period_range("1999-01") == (date(1999, 4, 1), date(2001, 3, 31))
    with pytest.raises(ValueError, match="not like"):
        TrackingFilter(as_of=D, period="2009/11")


def test_stage_counts_on_the_date(con: duckdb.DuckDBPyConnection) -> None:
    # In view: N1-N6 and N8 (N7 is later). Decided: N1 N2 N3 N8 (scr), N4 (no_scr).
    assert funnel(con, TrackingFilter(as_of=D)) == {
        "notified": (7, 2),  # now at: N5, N6 pending
        "decided": (5, 1),  # now at: N4, decided no review
        "decided_scr": (4, -1),
        "decided_no_scr": (1, -1),
        "review_under_way": (4, 2),  # now at: N3, N8
        "report_completed": (2, 1),  # N1, N2; now at: N2 (no plan)
        "action_plan_received": (1, 0),  # N1
        "actions_implemented": (1, 1),  # N1: 1 and 2 completed, 3 dropped
    }


def test_as_of_reproduces_a_past_state(con: duckdb.DuckDBPyConnection) -> None:
    # 2010-11-01: N1 N2 N3 N4 N8 in view; N8 decided only on 2010-12-01; R2 not yet
    # reported; R1's action 2 is in progress (actions row dated 2010-08-01), so N1 is not
    # implemented yet.
    assert funnel(con, TrackingFilter(as_of=date(2010, 11, 1))) == {
        "notified": (5, 1),
        "decided": (4, 1),
        "decided_scr": (3, -1),
        "decided_no_scr": (1, -1),
        "review_under_way": (3, 2),  # N2, N3
        "report_completed": (1, 0),
        "action_plan_received": (1, 1),  # N1
        "actions_implemented": (0, 0),
    }
    # After N7 is notified and decided.
    later = funnel(con, TrackingFilter(as_of=date(2011, 6, 30)))
    assert later["notified"][0] == 8 and later["decided_scr"][0] == 5


def test_overdue_list_on_the_date(con: duckdb.DuckDBPyConnection) -> None:
    rows = tracking.overdue(con, TrackingFilter(as_of=D)).to_dicts()
    got = [
        (
            r["kind"],
            r["board_code"],
            r["region"],
            r["notification_id"],
            r["review_id"],
            r["action_no"],
            r["due_date"],
            r["days_overdue"],
            r["parallel_proceedings"],
            r["proceedings_ongoing"],
        )
        for r in rows
    ]
    assert got == [
        # N5: pending, due 28 Feb 2011; its inquest goes on.
        ("decision", "SYN903", "north_west", "N5", None, None, date(2011, 2, 28), 31,
         "coroner", True),
        # N3: due 1 Nov 2010; the criminal proceedings concluded on 1 Feb 2011.
        ("review", "SYN902", "london", "N3", "R3", None, date(2010, 11, 1), 150,
         "criminal", False),
        # N2 (linked by R2's notification_id): report 20 Jan 2011, plan due 20 Feb.
        ("action_plan", "SYN901", "london", "N2", "R2", None, date(2011, 2, 20), 39,
         "none", False),
        # R4's action (no notification; the board's region), then R2's: the same-day
        # update (in_progress) wins over the row's completed.
        ("action", "SYN903", "north_west", None, "R4", 1, date(2009, 6, 30), 639,
         None, False),
        ("action", "SYN901", "london", "N2", "R2", 1, date(2011, 3, 1), 30, "none", False),
    ]  # fmt: skip


def test_overdue_in_the_past(con: duckdb.DuckDBPyConnection) -> None:
    # 2010-11-01: N8's decision (due 1 Mar 2010); N3's review is due that very day, so not
    # overdue; R1's action 2 (due 31 Oct, in progress) and R4's.
    rows = tracking.overdue(con, TrackingFilter(as_of=date(2010, 11, 1)))
    columns = ("kind", "notification_id", "review_id", "action_no", "days_overdue")
    assert rows.select(columns).rows() == [
        ("decision", "N8", None, None, 245),
        ("action", None, "R4", 1, 489),
        ("action", "N1", "R1", 2, 1),
    ]  # fmt: skip
    # N3's proceedings were still going on at the start of 2011.
    early = tracking.overdue(con, TrackingFilter(as_of=date(2011, 1, 15)))
    n3 = early.filter(pl.col("notification_id") == "N3").row(0, named=True)
    assert n3["kind"] == "review" and n3["proceedings_ongoing"] is True


def test_timeliness(con: duckdb.DuckDBPyConnection) -> None:
    t = tracking.timeliness(con, TrackingFilter(as_of=D))
    england = {
        r["measure"]: (r["k"], r["n"]) for r in t.filter(pl.col("level") == "england").to_dicts()
    }
    # Decisions: N1 N3 N4 in time; N2 N8 late; N5 overdue (due before the date); N6 not due.
    # Completion: N1 (28 Jun = due), N2 (agreed date) on time; N3 overdue; N8 not yet due.
    # Actions due by the date: R1 1-3, R2 1, R4 1; only R1's action 1 done by its due date.
    assert england == {
        "decision_within_month": (3, 6),
        "completion_on_time": (2, 3),
        "actions_by_due_date": (1, 5),
    }
    row = t.filter((pl.col("level") == "england") & (pl.col("measure") == "completion_on_time"))
    r = row.row(0, named=True)
    assert r["percent"] == 67 and r["share"] == pytest.approx(2 / 3)
    # Clopper-Pearson 2 of 3: [0.0943, 0.9916].
    assert r["ci_low"] == pytest.approx(0.094299, abs=1e-5)
    assert r["ci_high"] == pytest.approx(0.991596, abs=1e-5)
    regions = {
        (r["measure"], r["region"]): (r["k"], r["n"])
        for r in t.filter(pl.col("level") == "region").to_dicts()
    }
    assert regions[("decision_within_month", "london")] == (3, 5)
    assert regions[("decision_within_month", "north_west")] == (0, 1)
    boards = {
        (r["measure"], r["board_code"]): (r["k"], r["n"])
        for r in t.filter(pl.col("level") == "board").to_dicts()
    }
    assert boards[("decision_within_month", "SYN902")] == (2, 3)  # N3 N4 yes, N8 no
    assert boards[("completion_on_time", "SYN902")] == (0, 1)  # N3
    assert boards[("actions_by_due_date", "SYN903")] == (0, 1)  # R4's
    # No case: no share, no interval.
    empty = t.filter(pl.col("n") == 0)
    assert empty["share"].null_count() == empty.height


def test_actions_by_due_date(con: duckdb.DuckDBPyConnection) -> None:
    a = tracking.actions_by_due_date(con, TrackingFilter(as_of=D))
    e = a.filter(pl.col("level") == "england").row(0, named=True)
    assert {c: e[c] for c in tracking.ACTION_COUNTS} == {
        "due": 5,
        "completed_by_due": 1,  # R1/1
        "completed_late": 1,  # R1/2
        "dropped": 1,  # R1/3
        "open": 2,  # R2/1 (the same-day update), R4/1
        "not_yet_due": 1,  # R2/2
        "no_due_date": 1,  # R2/3
    }
    assert e["percent"] == 20


def test_implementation_curve(con: duckdb.DuckDBPyConnection) -> None:
    c = tracking.implementation_curve(con, TrackingFilter(as_of=D))
    e = {r["months"]: (r["k"], r["n"]) for r in c.filter(pl.col("level") == "england").to_dicts()}
    # R1 reported 2010-06-28 (up to 9 months by the date), R2 2011-01-20 (2 months), R4
    # 2008-06-30 (33 months: 2011-03-30). R1/1 completed 2010-09-30 (> 28 Sep: month 4),
    # R1/2 on 2010-11-15 (month 5).
    assert sorted(e) == list(range(34))
    assert e[0] == (0, 7) and e[2] == (0, 7)
    assert e[3] == (0, 4) and e[4] == (1, 4) and e[5] == (2, 4) and e[9] == (2, 4)
    assert e[10] == (0, 1) and e[33] == (0, 1)


def test_period_filter(con: duckdb.DuckDBPyConnection) -> None:
    later = date(2011, 6, 30)
    assert funnel(con, TrackingFilter(as_of=later))["notified"][0] == 8
    # 2009-11 = 2009-04-01 .. 2011-03-31: N7 (2011-05-01) is not in it.
    assert funnel(con, TrackingFilter(as_of=later, period="2009-11"))["notified"][0] == 7
    assert funnel(con, TrackingFilter(as_of=later, period="2011-13"))["notified"][0] == 1
    # Actions of reviews of the period: R4 (2007-09) is left out.
    rows = tracking.overdue(con, TrackingFilter(as_of=D, period="2009-11"))
    assert "R4" not in rows["review_id"].to_list()
    assert rows.filter(pl.col("kind") == "action")["review_id"].to_list() == ["R2"]


def test_region_and_board_filters(con: duckdb.DuckDBPyConnection) -> None:
    # North West: N5 only (N6 states london although its board is in the North West).
    nw = TrackingFilter(as_of=D, region="north_west")
    assert funnel(con, nw)["notified"] == (1, 1)
    board = TrackingFilter(as_of=D, board="SYN903")
    assert funnel(con, board)["notified"] == (2, 2)  # N5, N6
    t = tracking.timeliness(con, board)
    # England stays the comparator; the board's region(s) and the board itself.
    assert set(t["level"]) == {"england", "region", "board"}
    assert set(t.filter(pl.col("level") == "board")["board_code"]) == {"SYN903"}
    london = tracking.stage_counts(con, TrackingFilter(as_of=D, region="london"))
    boards = london.filter((pl.col("level") == "board") & (pl.col("stage") == "notified"))
    assert dict(boards.select("board_code", "reached").rows()) == {
        "SYN901": 2,
        "SYN902": 3,
        "SYN903": 1,
    }
    assert set(london.filter(pl.col("level") == "region")["region"]) == {"london"}
    overdue = tracking.overdue(con, TrackingFilter(as_of=D, board="SYN901"))
    assert set(overdue["board_code"]) == {"SYN901"} and overdue.height == 2


def test_summary_is_json_ready(con: duckdb.DuckDBPyConnection) -> None:
    import json

    doc = tracking.tracking_summary(con, TrackingFilter(as_of=D))
    text = json.dumps(doc)
    assert doc["filters"]["as_of"] == "2011-03-31"
    assert doc["overdue"][0]["due_date"] == "2011-02-28"
    assert set(doc) >= {
        "stage_counts",
        "overdue",
        "timeliness",
        "actions_by_due_date",
        "implementation_curve",
    }
    assert "NaN" not in text


def test_empty_warehouse(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "e.duckdb")) as empty:
        ensure_schema(empty)
        f = TrackingFilter(as_of=D)
        assert funnel(empty, f)["notified"] == (0, 0)
        assert tracking.overdue(empty, f).height == 0
        t = tracking.timeliness(empty, f)
        assert t.filter(pl.col("level") == "england")["n"].to_list() == [0, 0, 0]
        assert (
            tracking.implementation_curve(empty, f).filter(pl.col("level") == "board").height == 0
        )


def test_sql_files_are_all_loaded() -> None:
    for name in tracking.RESULTS:
        sql = tracking.result_sql(name)
        assert "note_state AS (" in sql and "$as_of" in sql
    with pytest.raises(ValueError):
        tracking.result_sql("nope")


DATES = st.dates(min_value=date(2009, 1, 1), max_value=date(2012, 1, 1))


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(earlier=DATES, later=DATES)
def test_funnel_properties(con: duckdb.DuckDBPyConnection, earlier: date, later: date) -> None:
    """Stage counts never increase along the funnel (report, plan and actions each after
    the review is under way); "now at" adds up to notified; an earlier date never shows
    more notified, decided or completed."""
    if earlier > later:
        earlier, later = later, earlier
    before = funnel(con, TrackingFilter(as_of=earlier))
    after = funnel(con, TrackingFilter(as_of=later))
    for counts in (before, after):
        chain = [counts[s][0] for s in ("notified", "decided", "review_under_way")]
        assert chain == sorted(chain, reverse=True)
        for stage in ("report_completed", "action_plan_received", "actions_implemented"):
            assert counts[stage][0] <= counts["review_under_way"][0]
        assert counts["decided"][0] == counts["decided_scr"][0] + counts["decided_no_scr"][0]
        assert sum(v for _, v in counts.values() if v >= 0) == counts["notified"][0]
    for stage in ("notified", "decided", "decided_scr", "report_completed"):
        assert before[stage][0] <= after[stage][0]


# -- the dashboard's reads: scope and disclosure control ------------------------------------


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from warehouse.db import publish_snapshot

    path = tmp_path_factory.mktemp("tracking_access") / "scr.duckdb"
    connection = build_fixture(path)
    try:
        publish_snapshot(connection, path)
    finally:
        connection.close()
    return path


PRINCIPALS = {
    "national": ("analyst", "national", None),
    "regional": ("london office", "regional", "london"),
    "board": ("board coder", "board", "SYN901"),
    "public": ("public", "public", None),
}
IN_FULL = {
    "national": {"SYN901", "SYN902", "SYN903"},
    "regional": {"SYN901", "SYN902"},
    "board": {"SYN901"},
    "public": set(),
}


def access(snapshot: Path, role: str, threshold: int) -> Any:
    from warehouse.access import Access
    from warehouse.principal import Principal

    return Access(snapshot, Principal(*PRINCIPALS[role]), threshold=threshold)


def all_reads(a: Any, sel: Any) -> dict[str, pl.DataFrame]:
    out = {
        "stages": a.tracking_stages(sel, D),
        "timeliness": a.tracking_timeliness(sel, D),
        "actions": a.tracking_actions(sel, D),
        "curve": a.tracking_curve(sel, D),
        "overdue_counts": a.tracking_overdue_counts(sel, D),
    }
    if not a.principal.is_public:
        out["overdue"] = a.tracking_overdue(sel, D)
    return out


COUNT_COLUMNS = (
    "reached",
    "now_at",
    "k",
    "n",
    *tracking.ACTION_COUNTS,
    *tracking.OVERDUE_KINDS,
    "total",
)


def test_national_reads_are_the_warehouse_figures(snapshot: Path) -> None:
    from warehouse.access import Selection

    a = access(snapshot, "national", 5)
    with duckdb.connect(str(snapshot), read_only=True) as whole:
        f = TrackingFilter(as_of=D)
        expected = tracking.stage_counts(whole, f)
        assert a.tracking_stages(Selection(), D).drop("suppressed").equals(expected)
        assert a.tracking_overdue(Selection(), D).equals(tracking.overdue(whole, f))
        got = a.tracking_timeliness(Selection(), D)
        assert not got["suppressed"].any()
        assert got.drop("suppressed").equals(tracking.timeliness(whole, f))


@pytest.mark.parametrize("role", ["national", "regional", "board", "public"])
def test_rows_stay_in_scope(snapshot: Path, role: str) -> None:
    from warehouse.access import OutOfScope, Selection

    a = access(snapshot, role, 5)
    for name, rows in all_reads(a, Selection()).items():
        boards = set(rows.filter(pl.col("board_code").is_not_null())["board_code"])
        assert boards <= IN_FULL[role], name
    if role == "public":
        with pytest.raises(OutOfScope, match="overdue list"):
            a.tracking_overdue(Selection(), D)
    if role in ("board", "regional"):
        with pytest.raises(OutOfScope):
            a.tracking_stages(Selection(board="SYN903"), D)
        with a.connect() as con:
            held = set(con.sql("SELECT board_code FROM notifications")["board_code"].fetchall())
            updates = con.sql("SELECT DISTINCT review_id FROM action_updates").fetchall()
        assert {b for (b,) in held} == IN_FULL[role]
        assert {r for (r,) in updates} <= {"R1", "R2", "R3"}


@pytest.mark.parametrize("role", ["regional", "board", "public"])
@pytest.mark.parametrize("threshold", [1, 3])
def test_no_small_remainder_is_shown(snapshot: Path, role: str, threshold: int) -> None:
    """Every England or regional count shown, minus the principal's own part, is 0 or more
    than the threshold (the remainder rule; the public has no part of its own)."""
    from warehouse.access import Selection

    mine = access(snapshot, role, threshold)
    national = access(snapshot, "national", threshold)
    own = IN_FULL[role]
    for sel in (Selection(), Selection(region="london")):
        shown = all_reads(mine, sel)
        truth = all_reads(national, sel)
        for name, rows in shown.items():
            if name == "overdue":
                continue
            keys = [c for c in ("measure", "stage", "months") if c in rows.columns]
            columns = [c for c in COUNT_COLUMNS if c in rows.columns]
            boards = truth[name].filter(
                (pl.col("level") == "board") & pl.col("board_code").is_in(list(own))
            )
            sums = [pl.col(c).sum().alias(f"own_{c}") for c in columns]
            own_england = (
                boards.group_by(keys).agg(sums) if keys else boards.select(sums)
            ).with_columns(level=pl.lit("england"))
            own_region = boards.group_by("region", *keys).agg(sums)
            england = rows.filter(pl.col("level") == "england")
            england = (
                england.join(own_england, on=[*keys, "level"], how="left")
                if keys
                else england.join(own_england, on="level", how="left")
            )
            regions = rows.filter(pl.col("level") == "region").join(
                own_region, on=["region", *keys], how="left"
            )
            for part in (england, regions):
                for c in columns:
                    remainder = part[c] - part[f"own_{c}"].fill_null(0)
                    small = remainder.is_between(1, threshold).fill_null(False)
                    assert not small.any(), (name, c, part.filter(small).to_dicts())


def test_the_remainder_rule_hides_what_the_region_could_subtract(snapshot: Path) -> None:
    """London's notified (6) holds N6 of a North West board: a London office knows its own
    5, so 6 would give N6 away; at threshold 1 it is hidden. Its decisions (5 due, all its
    own) are shown."""
    from warehouse.access import Selection

    rows = access(snapshot, "regional", 1).tracking_stages(Selection(region="london"), D)
    london = rows.filter((pl.col("level") == "region") & (pl.col("stage") == "notified"))
    assert london["reached"].to_list() == [None] and london["suppressed"].to_list() == [True]
    t = access(snapshot, "regional", 1).tracking_timeliness(Selection(region="london"), D)
    decision = t.filter(
        (pl.col("level") == "region") & (pl.col("measure") == "decision_within_month")
    ).row(0, named=True)
    assert (decision["k"], decision["n"], decision["suppressed"]) == (3, 5, False)


def test_a_board_with_notifications_only_is_in_its_scope(tmp_path: Path) -> None:
    """A board notified before any review of it: its board and regional principals see it
    in full (scope from its notifications' region), others do not."""
    from warehouse.access import Access, OutOfScope, Selection
    from warehouse.db import publish_snapshot
    from warehouse.principal import Principal

    path = tmp_path / "scr.duckdb"
    with duckdb.connect(str(path)) as con:
        ensure_schema(con)
        con.execute(
            "INSERT INTO notifications (notification_id, board_code, region, "
            "notification_date, submission_id) VALUES ('N1', 'SYN904', 'east_of_england', "
            "'2011-01-03', 'S1')"
        )
        publish_snapshot(con, path)
    board = Access(path, Principal("b", "board", "SYN904"), threshold=1)
    rows = board.tracking_overdue(Selection(board="SYN904"), D)
    assert rows.select("kind", "board_code", "days_overdue").rows() == [
        ("decision", "SYN904", 56)  # due 3 Feb 2011: 25 days to 28 Feb, 31 in March
    ]
    regional = Access(path, Principal("r", "regional", "east_of_england"), threshold=1)
    assert regional.tracking_overdue(Selection(), D).height == 1
    other = Access(path, Principal("r", "regional", "london"), threshold=1)
    assert other.tracking_overdue(Selection(), D).height == 0
    with pytest.raises(OutOfScope):
        other.tracking_overdue(Selection(board="SYN904"), D)


@settings(max_examples=15, deadline=None, derandomize=True, database=None)
@given(as_of=DATES)
def test_rates_and_overdue_are_well_formed(con: duckdb.DuckDBPyConnection, as_of: date) -> None:
    """On any date: 0 <= k <= n; every overdue item is overdue by at least a day; the four
    outcomes of actions due add up to the actions due."""
    f = TrackingFilter(as_of=as_of)
    t = tracking.timeliness(con, f)
    assert (t["k"] <= t["n"]).all() and (t["k"] >= 0).all()
    late = tracking.overdue(con, f)
    assert (late["days_overdue"] >= 1).all()
    a = tracking.actions_by_due_date(con, f)
    parts = a["completed_by_due"] + a["completed_late"] + a["dropped"] + a["open"]
    assert (parts == a["due"]).all()


def test_actions_implemented_without_a_recorded_plan_or_report_date(tmp_path: Path) -> None:
    """R1 reported with every action completed but no plan receipt recorded; R2 with its
    actions completed but its report undated. Their actions count as implemented (and they
    are now at that stage); R1's plan is overdue, R2's review too (its report not dated)."""
    with duckdb.connect(str(tmp_path / "p.duckdb")) as con:
        ensure_schema(con)
        con.execute(
            "INSERT INTO reviews (review_id, period, board_code, region, report_date, "
            "submission_id) VALUES ('R1', '2009-11', 'SYN905', 'london', '2010-06-30', 'S1'), "
            "('R2', '2009-11', 'SYN905', 'london', NULL, 'S1')"
        )
        con.execute(
            "INSERT INTO notifications (notification_id, board_code, notification_date, "
            "decision, decision_date, review_id, submission_id) VALUES "
            "('N1', 'SYN905', '2010-01-10', 'scr', '2010-02-01', 'R1', 'S1'), "
            "('N2', 'SYN905', '2010-01-11', 'scr', '2010-02-01', 'R2', 'S1')"
        )
        con.execute(
            "INSERT INTO actions (review_id, action_no, due_date, status, status_date, "
            "submission_id) VALUES ('R1', 1, '2010-12-31', 'completed', '2010-11-30', 'S1'), "
            "('R2', 1, '2010-12-31', 'completed', '2010-11-30', 'S1')"
        )
        f = TrackingFilter(as_of=D)
        counts = funnel(con, f)
        assert counts["review_under_way"] == (2, 0)
        assert counts["report_completed"] == (1, 0)
        assert counts["action_plan_received"] == (0, 0)
        assert counts["actions_implemented"] == (2, 2)
        late = tracking.overdue(con, f)
        assert late.select("kind", "notification_id").rows() == [
            ("review", "N2"),
            ("action_plan", "N1"),
        ]

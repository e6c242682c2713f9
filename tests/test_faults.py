"""Faults: a killed ingest leaves the warehouse as it was; concurrent ingests serialise;
and the ledger keeps every submission, its archive and the earlier versions of reviews."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import duckdb

from pipelines.cli import main
from tests.conftest import REPLICATION, REPO, small_submission

ENV = {**os.environ, "GX_ANALYTICS_ENABLED": "false", "DAGSTER_DISABLE_TELEMETRY": "1"}


def scr(warehouse: Path, *args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "--warehouse", str(warehouse), *args],
        cwd=REPO,
        env=env or ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def state(warehouse: Path) -> tuple[str, list[tuple]]:
    """What a reader sees: the tables JSON and every core row (load metadata aside)."""
    out = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "--warehouse", str(warehouse), "tables"],
        cwd=REPO,
        env=ENV,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = [
            con.execute(f"SELECT * EXCLUDE (submission_id) FROM {t} ORDER BY ALL").fetchall()
            for t in ("reviews", "children", "recommendations", "actions")
        ]
    finally:
        con.close()
    return out, rows


def kill(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def reach(proc: subprocess.Popen, point: str) -> None:
    """Wait until ``proc`` reports reaching fault point ``point`` (warehouse.db.fault_point),
    where it pauses: the test acts at that exact moment, with no timed sleep."""
    line = ""
    while f"SCR_FAULT_POINT {point} reached" not in line:
        line = proc.stderr.readline()
        assert line or proc.poll() is None, f"exited before {point}: {proc.stdout.read()}"


def paused_at(*points: str, release: Path | None = None) -> dict[str, str]:
    """The environment of an ingest that pauses at each of ``points``: until killed, or
    until the file ``release``/<point> exists."""
    env = {**ENV, "SCR_FAULT_POINT": ",".join(points), "SCR_FAULT_SECONDS": "300"}
    if release is not None:
        env["SCR_FAULT_RELEASE"] = str(release)
    return env


def test_killed_mid_publish_changes_nothing(
    make_submission: Callable[..., Path], tmp_path: Path
) -> None:
    warehouse = tmp_path / "w" / "scr.duckdb"
    assert main(["--warehouse", str(warehouse), "ingest", str(make_submission())]) == 0
    before = state(warehouse)
    # A corrected resubmission that would replace TR-1 and add the 40 replication reviews.
    proc = scr(warehouse, "ingest", str(REPLICATION), env=paused_at("publish"))
    reach(proc, "publish")
    kill(proc)  # inside the publishing transaction: deletes and inserts done, not committed
    assert state(warehouse) == before
    # The next ingest closes the interrupted ledger entry and loads normally.
    assert main(["--warehouse", str(warehouse), "ingest", str(REPLICATION)]) == 0
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        statuses = [
            r[0]
            for r in con.execute("SELECT status FROM submissions ORDER BY received_at").fetchall()
        ]
        assert statuses == ["accepted", "interrupted", "accepted"]
        assert con.execute("SELECT count(*) FROM stg_reviews").fetchall() == [(0,)]
        assert con.execute("SELECT count(*) FROM reviews").fetchall() == [(42,)]
    finally:
        con.close()


def test_killed_at_any_moment_leaves_before_or_after_never_between(
    make_submission: Callable[..., Path], tmp_path: Path
) -> None:
    """Killed at each step of an ingest (fault points, not timed sleeps), a reader sees the
    warehouse as before the ingest or as after it, never in between."""
    base = tmp_path / "base" / "scr.duckdb"
    assert main(["--warehouse", str(base), "ingest", str(make_submission())]) == 0
    before = state(base)
    # received: in the ledger only; stage: staging rows written, not committed; published:
    # core tables committed, marts not yet refreshed; marts: the marts' transaction open.
    # (publish, mid-transaction, is the test above; snapshot is in test_hostile_inputs.)
    # Each on its own copy, all started at once: one runs to the end, the others pause.
    points = ("received", "stage", "published", "marts")
    runs = {}
    for name in ("done", *points):
        target = tmp_path / name / "scr.duckdb"
        target.parent.mkdir()
        target.write_bytes(base.read_bytes())
        env = ENV if name == "done" else paused_at(name)
        runs[name] = (target, scr(target, "ingest", str(REPLICATION), env=env))
    for point in points:
        reach(runs[point][1], point)
        kill(runs[point][1])
    target, proc = runs["done"]
    assert proc.wait() == 0, proc.stderr.read()
    after = state(target)
    assert after != before
    for point in points:
        assert state(runs[point][0]) in (before, after), f"killed at {point}"


def test_two_ingests_at_once_serialise(
    make_submission: Callable[..., Path], tmp_path: Path
) -> None:
    from warehouse.db import writer_lock

    warehouse = tmp_path / "w" / "scr.duckdb"
    # Each ingest reports (fault point writer_wait, no pause) when it finds the lock taken.
    waiting = {**ENV, "SCR_FAULT_POINT": "writer_wait", "SCR_FAULT_SECONDS": "0"}
    with writer_lock(warehouse):  # another writer is busy: both ingests must wait for it
        first = scr(warehouse, "ingest", str(REPLICATION), env=waiting)
        second = scr(warehouse, "ingest", str(make_submission(xlsx=True)), env=waiting)
        reach(first, "writer_wait")
        reach(second, "writer_wait")
        assert first.poll() is None and second.poll() is None
        assert not warehouse.exists()
    outs = [p.communicate(timeout=300) for p in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outs
    assert all("Traceback" not in o + e for o, e in outs)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM reviews").fetchall() == [(42,)]
        assert con.execute(
            "SELECT count(*), count(DISTINCT status) FROM submissions"
        ).fetchall() == [(2, 1)]
        # One after the other: the second was received after the first was decided.
        received, decided = zip(
            *con.execute(
                "SELECT received_at, decided_at FROM submissions ORDER BY received_at"
            ).fetchall(),
            strict=True,
        )
        assert received[1] >= decided[0]
    finally:
        con.close()


def test_reading_while_an_ingest_writes(
    make_submission: Callable[..., Path], tmp_path: Path
) -> None:
    """`scr tables` works at every step of an ingest: the writer pauses at each fault point
    while a reader runs, and the reader sees the previous or the new data, whole."""
    warehouse = tmp_path / "w" / "scr.duckdb"
    assert main(["--warehouse", str(warehouse), "ingest", str(make_submission())]) == 0
    release = tmp_path / "release"
    release.mkdir()
    points = ("stage", "publish", "published", "snapshot")
    writer = scr(warehouse, "ingest", str(REPLICATION), env=paused_at(*points, release=release))

    def read() -> int:
        done = subprocess.run(
            [sys.executable, "-m", "pipelines.cli", "--warehouse", str(warehouse), "tables"],
            cwd=REPO,
            env=ENV,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)["tables"][0]["n"]

    seen = {}
    for point in points:
        reach(writer, point)
        seen[point] = read()
        (release / point).touch()
    assert writer.wait(timeout=300) == 0, writer.stderr.read()
    assert all(n in (2, 47) for n in seen.values()), seen
    assert seen["stage"] == seen["publish"] == 2, seen
    assert read() == 47


def test_ledger_archive_and_history(
    make_submission: Callable[..., Path], warehouse_file: Path, capsys
) -> None:
    first = make_submission("first")
    assert main(["ingest", str(first), "--submitted-by", "analyst@board"]) == 0
    sheets = small_submission()
    sheets["children"][0]["ethnicity"] = "not_stated"
    assert main(["ingest", str(make_submission("second", sheets))]) == 0
    bad = small_submission()
    bad["children"][0]["gender"] = "boy"
    assert main(["ingest", str(make_submission("third", bad))]) == 1
    capsys.readouterr()
    assert main(["submissions"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert len(listing) == 3
    assert "accepted" in listing[0] and "analyst@board" in listing[0]
    assert "rejected" in listing[2] and "third" in listing[2]
    rejected_id = listing[2].split()[0]
    assert main(["submissions", "show", rejected_id]) == 0
    shown = capsys.readouterr().out
    assert "children, gender" in shown and "'boy'" in shown and "sha256" in shown
    con = duckdb.connect(str(warehouse_file), read_only=True)
    try:
        archived = [
            Path(p)
            for (p,) in con.execute(
                "SELECT archive_path FROM submissions ORDER BY received_at"
            ).fetchall()
        ]
        history = con.execute(
            "SELECT review_id, child_id, ethnicity, replaced_by FROM children_history"
        ).fetchall()
        second_id = con.execute(
            "SELECT submission_id FROM submissions WHERE original_name = 'second'"
        ).fetchall()[0][0]
    finally:
        con.close()
    assert all(p.exists() for p in archived) and len(set(archived)) == 3
    assert (archived[0] / "children.csv").read_bytes() == (first / "children.csv").read_bytes()
    # Only the review that changed went to history, with the submission that replaced it.
    assert history == [("TR-1", "TC-1", "mixed", second_id)]
    capsys.readouterr()
    assert main(["history", "TR-1"]) == 0
    versions = capsys.readouterr().out.splitlines()
    assert versions[0] == "review TR-1: 2 versions; 1 row changed"
    assert versions[1].startswith("version 1: ") and f"by {second_id}" in versions[1]
    assert versions[2].startswith(f"version 2: {second_id} (second") and "current" in versions[2]
    assert versions[4] == "    child TC-1: ethnicity mixed -> not_stated"
    assert main(["history", "NOPE"]) == 2


def test_a_submission_closed_as_interrupted_is_never_published(
    make_submission: Callable[..., Path], tmp_path: Path
) -> None:
    """If another process closed a staged submission, publishing it must refuse, not load
    nothing and call it accepted."""
    import pytest

    from warehouse import load
    from warehouse.db import connect

    warehouse = tmp_path / "scr.duckdb"
    con = connect(warehouse)
    try:
        receipt = load.receive(con, make_submission(), tmp_path / "archive", "t")
        load.stage(con, receipt)
        assert load.recover_interrupted(con) == [receipt.submission_id]
        with pytest.raises(load.SubmissionRejected, match="interrupted, not staged"):
            load.publish(con, receipt.submission_id)
        assert con.execute("SELECT count(*) FROM reviews").fetchall() == [(0,)]
        assert load.ledger_row(con, receipt.submission_id)["status"] == "interrupted"
    finally:
        con.close()

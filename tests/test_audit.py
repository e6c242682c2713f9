"""The audit trail: recorded, read back, append-only, and `scr audit`."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest

from warehouse import accounts, audit
from warehouse.principal import PUBLIC, Principal

SCR = Path(sys.executable).with_name("scr")
BOARD_USER = Principal("board-1", "board", "SYN001")


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accounts, "sleep", lambda seconds: None)


def scr_audit(warehouse: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SCR_WAREHOUSE": str(warehouse)}
    return subprocess.run(
        [str(SCR), "audit", *args], env=env, capture_output=True, text=True, timeout=120
    )


def recorded_at(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    """Make the trail's clock read ``moment`` (the trail itself cannot be back-dated)."""
    monkeypatch.setattr(audit, "_now", lambda: moment)


def test_record_and_read(warehouse_file: Path) -> None:
    before = datetime.now(UTC)
    selection = {"page": "benchmark", "period": "2003-05", "board": "SYN001"}
    audit.record(warehouse_file, BOARD_USER, "view", selection)
    audit.record(warehouse_file, PUBLIC, "download", "tables.csv")
    audit.record(warehouse_file, None, "sign_in_failed", {"reason": "x"}, name="mallory")

    trail = audit.read(warehouse_file)
    assert trail.columns == ["at", "name", "role", "scope", "action", "detail"]
    assert trail.schema["at"] == pl.Datetime("us", "UTC")
    assert trail.select("name", "role", "scope", "action").rows() == [
        ("board-1", "board", "SYN001", "view"),
        ("public", "public", None, "download"),
        ("mallory", None, None, "sign_in_failed"),
    ]
    assert json.loads(trail["detail"][0]) == selection
    assert json.loads(trail["detail"][1]) == {"note": "tables.csv"}
    assert trail["at"].is_sorted()
    assert before <= trail["at"][0] <= datetime.now(UTC)


def test_unknown_actions_are_refused(warehouse_file: Path) -> None:
    with pytest.raises(ValueError, match="unknown audit action"):
        audit.record(warehouse_file, BOARD_USER, "viewed")
    assert audit.read(warehouse_file).height == 0


def test_record_raises_when_it_cannot_write(warehouse_file: Path) -> None:
    # A view must not be shown unrecorded: a store that cannot be written is an error.
    accounts.security_path(warehouse_file).mkdir(parents=True)
    with pytest.raises(audit.AuditUnavailable):
        audit.record(warehouse_file, BOARD_USER, "view", {"page": "overview"})


def test_oversized_detail_is_truncated(warehouse_file: Path) -> None:
    audit.record(warehouse_file, BOARD_USER, "view", {"q": "x" * 50_000})
    detail = json.loads(audit.read(warehouse_file)["detail"][0])
    assert set(detail) == {"truncated"}
    assert len(detail["truncated"]) == audit.MAX_DETAIL_CHARS


def test_read_since(warehouse_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recorded_at(monkeypatch, datetime(2020, 3, 1, 23, 30, tzinfo=UTC))
    audit.record(warehouse_file, BOARD_USER, "view", {"page": "old"})
    recorded_at(monkeypatch, datetime(2020, 3, 2, 8, 0, tzinfo=UTC))
    audit.record(warehouse_file, BOARD_USER, "view", {"page": "morning"})
    monkeypatch.undo()
    audit.record(warehouse_file, BOARD_USER, "view", {"page": "now"})

    def pages(since: datetime | date | None) -> list[str]:
        frame = audit.read(warehouse_file, since)
        return [json.loads(d)["page"] for d in frame["detail"]]

    assert pages(None) == ["old", "morning", "now"]
    assert pages(date(2020, 3, 2)) == ["morning", "now"]
    assert pages(datetime(2020, 3, 2, 8, 0)) == ["morning", "now"]  # naive means UTC
    assert pages(datetime(2020, 3, 2, 8, 0, 1, tzinfo=UTC)) == ["now"]
    # 09:00 in UTC+2 is 07:00 UTC: before the morning row.
    plus_two = datetime(2020, 3, 2, 9, 0, tzinfo=timezone(timedelta(hours=2)))
    assert pages(plus_two) == ["morning", "now"]
    assert pages(date.today() + timedelta(days=2)) == []


def test_the_trail_is_append_only(warehouse_file: Path) -> None:
    audit.record(warehouse_file, BOARD_USER, "view", {"page": "overview"})
    with sqlite3.connect(accounts.security_path(warehouse_file)) as con:
        for statement in (
            "UPDATE audit SET name = 'someone-else'",
            "UPDATE audit SET detail = '{}' WHERE action = 'view'",
            "DELETE FROM audit",
            "DELETE FROM audit WHERE action = 'view'",
        ):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                con.execute(statement)
    trail = audit.read(warehouse_file)
    assert trail.select("name", "action").rows() == [("board-1", "view")]


def test_sign_ins_are_recorded(warehouse_file: Path, caplog: pytest.LogCaptureFixture) -> None:
    accounts.add_user(warehouse_file, "board-1", "board", "SYN001", "right password")
    assert accounts.authenticate(warehouse_file, "board-1", "right password", client="10.0.0.7")
    assert accounts.authenticate(warehouse_file, "board-1", "guess-1234") is None
    assert accounts.authenticate(warehouse_file, "nobody", "guess-5678") is None
    token = accounts.issue_session_token(warehouse_file, BOARD_USER)
    accounts.revoke_session_token(warehouse_file, token)

    trail = audit.read(warehouse_file)
    rows = trail.select("name", "role", "scope", "action").rows()
    assert rows == [
        (rows[0][0], None, None, "user_added"),  # who ran `scr users add` (the OS user)
        ("board-1", "board", "SYN001", "sign_in"),
        ("board-1", None, None, "sign_in_failed"),
        ("nobody", None, None, "sign_in_failed"),
        ("board-1", "board", "SYN001", "sign_out"),
    ]
    details = [json.loads(d) for d in trail["detail"]]
    assert details[0] == {"user": "board-1", "role": "board", "scope": "SYN001"}
    assert details[1] == {"client": "10.0.0.7"}
    assert details[2] == {"reason": "wrong password"}
    assert details[3] == {"reason": "unknown user"}
    # No password, right or wrong, is ever written to the trail or the log.
    assert not trail["detail"].str.contains("right password|guess-").any()
    # Failures reach the server log too, for an operator's alerting.
    failures = [r.getMessage() for r in caplog.records if r.name == "warehouse.accounts"]
    assert len(failures) == 2 and "'nobody' (unknown user)" in failures[1]
    assert not any("guess-" in m or "right password" in m for m in failures)


def test_scr_audit_text_json_csv(warehouse_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recorded_at(monkeypatch, datetime(2020, 1, 1, 12, 0, tzinfo=UTC))
    audit.record(warehouse_file, BOARD_USER, "view", {"page": "old"})
    monkeypatch.undo()
    audit.record(warehouse_file, BOARD_USER, "view", {"page": "benchmark", "board": "SYN001"})
    audit.record(warehouse_file, None, "sign_in_failed", {}, name="\x1b[31mred")

    text = scr_audit(warehouse_file)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("2020-01-01T12:00:00.000000Z  view")
    assert "board-1 (board SYN001)" in lines[1] and '"page": "benchmark"' in lines[1]
    assert "\x1b" not in text.stdout and "?[31mred" in lines[2]  # no terminal escapes

    since = scr_audit(warehouse_file, "--since", "2021-01-01", "--format", "json")
    records = json.loads(since.stdout)
    assert [r["action"] for r in records] == ["view", "sign_in_failed"]
    assert records[0] == {
        "at": records[0]["at"],
        "name": "board-1",
        "role": "board",
        "scope": "SYN001",
        "action": "view",
        "detail": json.dumps({"board": "SYN001", "page": "benchmark"}),
    }
    assert records[0]["at"].endswith("Z")

    assert (
        "nothing recorded since 2999-01-01"
        in scr_audit(warehouse_file, "--since", "2999-01-01").stdout
    )
    bad = scr_audit(warehouse_file, "--since", "last tuesday")
    assert bad.returncode == 2 and "--since" in bad.stderr


def test_scr_audit_csv_is_safe_to_open(warehouse_file: Path) -> None:
    audit.record(warehouse_file, None, "sign_in_failed", {}, name="=HYPERLINK(evil)")
    audit.record(warehouse_file, BOARD_USER, "download", {"file": "tables.csv"})
    done = scr_audit(warehouse_file, "--format", "csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [r["action"] for r in rows] == ["sign_in_failed", "download"]
    assert rows[0]["name"] == "'=HYPERLINK(evil)"  # neutralised: a spreadsheet shows text
    assert rows[1]["scope"] == "SYN001"

"""`scr tracking`: formats, filters, exit codes, and no dagster or great_expectations
(a read-only command), on the hand-worked fixture of test_tracking.py."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from pipelines.cli import UsageError, main
from pipelines.tracking_cli import parse_as_of
from tests.conftest import REPO
from tests.test_tracking import build_fixture


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tracking_cli") / "scr.duckdb"
    build_fixture(path).close()
    return path


def run(warehouse: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["--warehouse", str(warehouse), "tracking", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_text(warehouse: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(warehouse, capsys, "--as-of", "2011-03-31")
    assert code == 0
    assert out.startswith("Tracking as of 2011-03-31: England")
    lines = out.splitlines()
    assert any(line.split()[:3] == ["Notified", "7", "2"] for line in lines)
    assert "Overdue (5)" in out
    decision = next(line for line in lines if line.strip().startswith("Decision  "))
    assert "N5" in decision and "31" in decision and "Coroner's inquest (ongoing)" in decision
    assert "Criminal proceedings (concluded)" in out
    assert "50%  (95% CI 12% to 88%)" in out  # decisions 3 of 6
    assert any(line.split() == ["completed", "late", "1"] for line in lines)


def test_json_has_every_section(warehouse: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(warehouse, capsys, "--as-of", "2011-03-31", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["filters"] == {
        "as_of": "2011-03-31",
        "period": None,
        "region": None,
        "board": None,
    }
    assert [r["days_overdue"] for r in doc["overdue"]] == [31, 150, 39, 639, 30]
    england = [r for r in doc["stage_counts"] if r["level"] == "england"]
    assert [r["reached"] for r in england] == [7, 5, 4, 1, 4, 2, 1, 1]
    rates = {r["measure"]: (r["k"], r["n"]) for r in doc["timeliness"] if r["level"] == "england"}
    assert rates == {
        "decision_within_month": (3, 6),
        "completion_on_time": (2, 3),
        "actions_by_due_date": (1, 5),
    }
    assert doc["implementation_curve"] and doc["actions_by_due_date"]


def test_csv_is_the_overdue_list(warehouse: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(warehouse, capsys, "--as-of", "2011-03-31", "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["kind"] for r in rows] == ["decision", "review", "action_plan", "action", "action"]
    assert rows[0]["notification_id"] == "N5" and rows[0]["due_date"] == "2011-02-28"
    assert rows[0]["proceedings_ongoing"] == "true"


def test_filters(warehouse: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        warehouse, capsys, "--as-of", "2011-03-31", "--board", "SYN901", "--format", "csv"
    )
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {r["board_code"] for r in rows} == {"SYN901"} and len(rows) == 2
    code, out, _ = run(warehouse, capsys, "--as-of", "2011-03-31", "--region", "north_west")
    assert code == 0 and "Tracking as of 2011-03-31: North West" in out
    assert any(line.split()[:3] == ["Notified", "1", "1"] for line in out.splitlines())
    code, out, _ = run(
        warehouse, capsys, "--as-of", "2011-06-30", "--period", "2011-13", "--format", "json"
    )
    assert code == 0
    doc = json.loads(out)
    england = {r["stage"]: r["reached"] for r in doc["stage_counts"] if r["level"] == "england"}
    assert england["notified"] == 1  # N7 only
    assert doc["overdue"] == []  # no review of 2011-13, so no action of one


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--as-of", "2011-02-30"], "--as-of '2011-02-30' is not a calendar date"),
        (["--as-of", "31/03/2011"], "--as-of '31/03/2011' is not a date like 2011-03-31"),
        (["--as-of", "yesterday"], "is not a date"),
        (["--as-of", "2999-01-01"], "is after today"),
        (["--region", "narnia"], "--region 'narnia' is not a region code"),
        (["--board", "SYN999"], "--board 'SYN999' is not a board with a notification"),
        (["--period", "2013-15"], "--period '2013-15' holds no notification or review"),
        (["--period", "2009"], "is not a period like 2009-11"),
    ],
)
def test_usage_errors_exit_2(
    warehouse: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(warehouse, capsys, *argv)
    assert code == 2 and out == ""
    assert message in err


def test_usage_errors_name_the_choices(warehouse: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, _, err = run(warehouse, capsys, "--board", "SYN99")
    assert "choose one of: SYN901 (SYN901), SYN902 (SYN902), SYN903 (SYN903)" in err
    _, _, err = run(warehouse, capsys, "--period", "2013-15")
    # Review periods and the periods holding a notification.
    assert "choose one of: 2007-09, 2009-11, 2011-13" in err


def test_region_and_board_together_exit_2(
    warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--warehouse", str(warehouse), "tracking", "--region", "london", "--board", "X"])
    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_no_warehouse_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(tmp_path / "none.duckdb", capsys)
    assert code == 1 and "no warehouse" in err


def test_as_of_defaults_to_today() -> None:
    assert parse_as_of(None, today=date(2011, 3, 31)) == date(2011, 3, 31)
    assert parse_as_of("2011-03-31", today=date(2011, 3, 31)) == date(2011, 3, 31)
    with pytest.raises(UsageError):
        parse_as_of("2011-04-01", today=date(2011, 3, 31))


def test_no_dagster_or_great_expectations(warehouse: Path) -> None:
    script = (
        "import sys\n"
        "from pipelines.cli import main\n"
        f"code = main(['--warehouse', {str(warehouse)!r}, 'tracking', '--as-of', "
        "'2011-03-31', '--format', 'json'])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('dagster', 'great_expectations'))\n"
        "print('HEAVY', code, heavy, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert "HEAVY 0 []" in done.stderr, done.stderr
    assert json.loads(done.stdout)["filters"]["as_of"] == "2011-03-31"

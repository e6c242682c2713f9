"""`scr ingest`, resubmission, repeated loads, rejections and the CLI's contract."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from pipelines.cli import main
from tests.conftest import REPO, small_submission


def tables_json(warehouse: Path, capsys, *extra: str) -> dict:
    capsys.readouterr()
    assert main(["--warehouse", str(warehouse), "tables", "--format", "json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def rows(warehouse: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_workbook_and_csv_folder_load_the_same(
    make_submission: Callable[..., Path], tmp_path: Path, capsys
) -> None:
    csv_wh, xlsx_wh = tmp_path / "a" / "scr.duckdb", tmp_path / "b" / "scr.duckdb"
    assert main(["--warehouse", str(csv_wh), "ingest", str(make_submission("s1"))]) == 0
    out = capsys.readouterr().out
    assert "accepted s1" in out and "2 reviews (2 new, 0 replaced, 0 unchanged)" in out
    assert main(["--warehouse", str(xlsx_wh), "ingest", str(make_submission("s2", xlsx=True))]) == 0
    assert "accepted s2.xlsx" in capsys.readouterr().out
    assert tables_json(csv_wh, capsys) == tables_json(xlsx_wh, capsys)
    t = {x["id"]: x for x in tables_json(csv_wh, capsys, "--period", "2005-07")["tables"]}
    assert t["t02_age"]["rows"][0] == {
        "code": "under_1",
        "label": t["t02_age"]["rows"][0]["label"],
        "count": 1,
        "percent": 50,
    }
    assert {r["code"]: r["count"] for r in t["t15_report_length"]["rows"]}["31_50"] == 1
    assert rows(csv_wh, "SELECT count(*) FROM recommendations") == [(3,)]


def test_corrected_resubmission_replaces_the_review_whole(
    make_submission: Callable[..., Path], warehouse_file: Path, capsys
) -> None:
    assert main(["ingest", str(make_submission("first"))]) == 0
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
    capsys.readouterr()
    assert main(["ingest", str(make_submission("corrected", corrected))]) == 0
    assert "1 review (0 new, 1 replaced, 0 unchanged)" in capsys.readouterr().out
    assert rows(
        warehouse_file,
        "SELECT child_id, age_months FROM children WHERE review_id = 'TR-1' ORDER BY child_id",
    ) == [("TC-1", 40), ("TC-9", 2)]
    assert rows(warehouse_file, "SELECT rec_no FROM recommendations WHERE review_id = 'TR-1'") == [
        (1,)
    ]
    assert rows(warehouse_file, "SELECT count(*) FROM actions WHERE review_id = 'TR-1'") == [(0,)]
    # The other review of the first submission is untouched; the old version is in history.
    assert rows(warehouse_file, "SELECT count(*) FROM children WHERE review_id = 'TR-2'") == [(1,)]
    assert rows(warehouse_file, "SELECT report_pages FROM reviews_history") == [(30,)]
    assert rows(warehouse_file, "SELECT count(*) FROM recommendations_history") == [(2,)]


def test_loading_the_same_submission_twice_changes_nothing(
    make_submission: Callable[..., Path], warehouse_file: Path, capsys
) -> None:
    path = make_submission("twice", xlsx=True)
    assert main(["ingest", str(path)]) == 0
    before = tables_json(warehouse_file, capsys)
    core_before = rows(warehouse_file, "SELECT * FROM children ORDER BY child_id")
    assert main(["ingest", str(path)]) == 0
    assert "(0 new, 0 replaced, 2 unchanged)" in capsys.readouterr().out
    assert tables_json(warehouse_file, capsys) == before
    assert rows(warehouse_file, "SELECT * FROM children ORDER BY child_id") == core_before
    assert rows(warehouse_file, "SELECT count(*) FROM reviews_history") == [(0,)]
    assert rows(warehouse_file, "SELECT status, count(*) FROM submissions GROUP BY status") == [
        ("accepted", 2)
    ]


def test_review_of_another_board_is_rejected_and_nothing_changes(
    make_submission: Callable[..., Path], warehouse_file: Path, capsys
) -> None:
    assert main(["ingest", str(make_submission("mine"))]) == 0
    before = tables_json(warehouse_file, capsys)
    sheets = small_submission()
    for review in sheets["reviews"]:
        review["board_code"] = "OTHER"
    assert main(["ingest", str(make_submission("theirs", sheets))]) == 1
    out = capsys.readouterr().out
    assert "REJECTED theirs" in out and "review_id" in out and "another board" in out
    assert tables_json(warehouse_file, capsys) == before
    assert rows(warehouse_file, "SELECT status FROM submissions ORDER BY received_at") == [
        ("accepted",),
        ("rejected",),
    ]


def test_filters_select_by_period_region_and_board(
    make_submission: Callable[..., Path], warehouse_file: Path, capsys
) -> None:
    sheets = small_submission()
    sheets["reviews"][1]["board_code"] = "TST2"
    sheets["reviews"][1]["region"] = "north_east"
    assert main(["ingest", str(make_submission("two_boards", sheets))]) == 0

    def n_children(*args: str) -> int:
        return tables_json(warehouse_file, capsys, *args)["tables"][0]["n"]

    assert n_children() == 2
    assert n_children("--region", "north_east") == 1
    assert n_children("--board", "TST1") == 1
    # A period with no review is named with the periods there are, not answered with zeros.
    capsys.readouterr()
    assert main(["tables", "--period", "2001-03"]) == 2
    assert "--period '2001-03' is not a period in the warehouse; choose one of: 2005-07" in (
        capsys.readouterr().err
    )
    assert n_children("--period", "2005-07", "--region", "london", "--board", "TST1") == 1


def test_tables_csv_and_xlsx_outputs(
    make_submission: Callable[..., Path], warehouse_file: Path, tmp_path: Path, capsys
) -> None:
    import polars as pl

    assert main(["ingest", str(make_submission())]) == 0
    capsys.readouterr()
    assert main(["tables", "--format", "csv"]) == 0
    long = pl.read_csv(capsys.readouterr().out.encode())
    assert {"table_id", "row_code", "count"} <= set(long.columns)
    assert long["table_id"].n_unique() == 20
    out = tmp_path / "tables.xlsx"
    assert main(["tables", "--format", "xlsx", "--out", str(out)]) == 0
    sheets = pl.read_excel(out, sheet_id=0)
    assert len(sheets) == 20


def test_usage_errors_exit_2(warehouse_file: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["no-such-command"])
    assert exc.value.code == 2
    assert main(["tables", "--region", "atlantis"]) == 2
    assert "not a region code" in capsys.readouterr().err
    assert main(["tables", "--format", "xlsx"]) == 2


def test_help_documents_every_command() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "--help"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    ).stdout
    for command in (
        "build",
        "ingest",
        "validate",
        "tables",
        "replicate",
        "template",
        "submissions",
        "history",
        "codes",
        "dashboard",
        "--warehouse",
    ):
        assert command in out


def test_bad_submission_via_subprocess_exits_1_without_traceback(tmp_path: Path) -> None:
    sheets = small_submission()
    sheets["children"][0]["ethnicity"] = "White British"
    from tests.conftest import csv_folder

    folder = csv_folder(tmp_path, "bad", sheets)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines.cli",
            "--warehouse",
            str(tmp_path / "w.duckdb"),
            "ingest",
            str(folder),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "children, ethnicity" in proc.stdout and "'white_british'" in proc.stdout


def test_tables_without_a_warehouse_is_a_clear_error(tmp_path: Path, capsys) -> None:
    assert main(["--warehouse", str(tmp_path / "none.duckdb"), "tables"]) == 1
    assert "scr build" in capsys.readouterr().err


def test_reading_commands_do_not_import_dagster_or_gx(
    replication_warehouse: Path, tmp_path: Path
) -> None:
    from tests.conftest import REPLICATION, csv_folder

    bad = small_submission()
    bad["reviews"][0]["region"] = "Londn"
    folder = csv_folder(tmp_path, "bad", bad)
    code = (
        "import sys, io, contextlib\n"
        "from pipelines.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main(['--warehouse', {str(replication_warehouse)!r}, 'tables']) == 0\n"
        f"    assert main(['--warehouse', {str(replication_warehouse)!r}, 'submissions']) == 0\n"
        # validate checks against the warehouse too (ownership), with the fast checker only
        f"    assert main(['--warehouse', {str(replication_warehouse)!r}, 'validate', "
        f"{str(REPLICATION)!r}]) == 0\n"
        f"    assert main(['--warehouse', {str(replication_warehouse)!r}, 'validate', "
        f"{str(folder)!r}]) == 1\n"
        "print(sorted(m for m in ('dagster', 'great_expectations') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    ).stdout
    assert out.strip() == "[]"

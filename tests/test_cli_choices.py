"""Wrong selections on the command line are named with the valid choices (exit 2), never
answered with tables of zeros; `scr codes` lists the choices; plurals; `scr ... | head`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.cli import main, plural
from tests.conftest import REPO, csv_folder, small_submission

REGIONS = ["london", "north_east", "south_west"]


@pytest.fixture(scope="module")
def boards_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """15 boards B01-B15 with one review each, in three regions (B01 London, B02 North East,
    ...), B01-B07 in 2005-07 and the rest in 2007-09; loaded by the warehouse's own receive,
    stage and publish (what the pipeline calls), so it takes a second."""
    from warehouse.db import archive_dir, connect
    from warehouse.load import publish, receive, stage

    base = small_submission()
    review, child = base["reviews"][0], base["children"][0]
    reviews, children = [], []
    for i in range(1, 16):
        period = "2005-07" if i <= 7 else "2007-09"
        reviews.append(
            dict(
                review,
                review_id=f"R{i:02}",
                board_code=f"B{i:02}",
                board_name=f"Board {i:02}",
                region=REGIONS[(i - 1) % 3],
                period=period,
                incident_date=f"{period[:4]}-06-30",
                report_date=f"{period[:4]}-12-31",
                recommendations_total=None,
                action_points_total=None,
            )
        )
        children.append(dict(child, child_id=f"C{i:02}", review_id=f"R{i:02}"))
    root = tmp_path_factory.mktemp("choices")
    folder = csv_folder(root, "boards", {"reviews": reviews, "children": children})
    path = root / "scr.duckdb"
    con = connect(path)
    try:
        receipt = receive(con, folder, archive_dir(path), "pytest")
        assert stage(con, receipt)["errors"] == 0
        publish(con, receipt.submission_id)
    finally:
        con.close()
    return path


def run(warehouse: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["--warehouse", str(warehouse), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_an_unknown_board_names_the_closest(boards_warehouse: Path, capsys) -> None:
    code, out, err = run(boards_warehouse, capsys, "tables", "--board", "B1")
    assert code == 2 and out == ""
    assert "--board 'B1' is not a board in the warehouse" in err
    # 15 boards: too many to list, so the closest five and how to list them all.
    assert "the closest of the 15 boards: B01 (Board 01), B10 (Board 10)," in err
    assert "`scr codes boards` lists them all" in err


def test_a_board_outside_the_region_names_its_region_and_the_regions_boards(
    boards_warehouse: Path, capsys
) -> None:
    code, _, err = run(
        boards_warehouse, capsys, "tables", "--region", "north_east", "--board", "B01"
    )
    assert code == 2
    assert "--board 'B01' has no review coded to North East (its reviews: London)" in err
    # North East has five boards: every one is named.
    assert "choose one of: B02 (Board 02), B05 (Board 05), B08 (Board 08), B11" in err


def test_an_unknown_period_or_region_names_every_choice(boards_warehouse: Path, capsys) -> None:
    code, _, err = run(boards_warehouse, capsys, "tables", "--period", "1999-01")
    assert code == 2
    assert (
        "--period '1999-01' is not a period in the warehouse; choose one of: 2005-07, 2007-09"
        in err
    )
    code, _, err = run(boards_warehouse, capsys, "tables", "--period", "2005")
    assert code == 2 and "is not a period like 2001-03; choose one of: 2005-07, 2007-09" in err
    code, _, err = run(boards_warehouse, capsys, "tables", "--region", "atlantis")
    assert code == 2
    assert "--region 'atlantis' is not a region code; choose one of: london (London)," in err
    assert "not_stated (Not stated)" in err
    # Each part valid, but together they select no review: where they would.
    code, _, err = run(boards_warehouse, capsys, "tables", "--period", "2007-09", "--board", "B01")
    assert code == 2
    assert "--period '2007-09' holds no review of board B01; choose one of: 2005-07" in err
    # A selection that selects reviews runs.
    code, out, _ = run(boards_warehouse, capsys, "tables", "--period", "2005-07", "--board", "B01")
    assert code == 0 and json.loads(out)["tables"][0]["n"] == 1


def test_an_audience_is_told_only_of_its_own_boards(boards_warehouse: Path, capsys) -> None:
    code, _, err = run(
        boards_warehouse,
        capsys,
        *("tables", "--audience", "regional", "--scope", "north_east", "--board", "B1"),
    )
    assert code == 2 and "is not a board of region north_east" in err
    assert "B01" not in err and "B02 (Board 02)" in err
    code, out, err = run(
        boards_warehouse, capsys, "codes", "boards", "--audience", "regional", "--scope", "london"
    )
    assert code == 0 and [line.split()[0] for line in out.splitlines()] == [
        "B01",
        "B04",
        "B07",
        "B10",
        "B13",
    ]
    assert err == "5 boards\n"
    code, out, err = run(boards_warehouse, capsys, "codes", "boards", "--audience", "public")
    assert code == 0 and out == "" and "no board-level figures" in err
    code, out, err = run(
        boards_warehouse, capsys, "codes", "boards", "--audience", "board", "--scope", "B03"
    )
    assert out.split() == ["B03", "Board", "03", "south_west", "South", "West"]
    assert err == "1 board\n"  # the plural rule


def test_scr_codes_lists_boards_regions_and_periods(boards_warehouse: Path, capsys) -> None:
    code, out, err = run(boards_warehouse, capsys, "codes", "boards")
    assert code == 0 and len(out.splitlines()) == 15 and err == "15 boards\n"
    assert out.splitlines()[0].split() == ["B01", "Board", "01", "london", "London"]
    code, out, _ = run(
        boards_warehouse, capsys, "codes", "boards", "--region", "london", "--format", "json"
    )
    assert [b["code"] for b in json.loads(out)] == ["B01", "B04", "B07", "B10", "B13"]
    assert json.loads(out)[0] == {
        "code": "B01",
        "name": "Board 01",
        "region": "london",
        "region_label": "London",
    }
    code, out, _ = run(boards_warehouse, capsys, "codes", "periods", "--format", "csv")
    assert out.splitlines() == ["code", "2005-07", "2007-09"]
    code, out, err = run(boards_warehouse, capsys, "codes", "regions")
    assert out.splitlines()[0].split() == ["london", "London"] and err == "11 regions\n"
    code, _, err = run(boards_warehouse, capsys, "codes", "boards", "--region", "londn")
    assert code == 2 and "--region 'londn' is not a region code; choose one of: london" in err


def test_plurals() -> None:
    assert plural(1, "board") == "1 board" and plural(2, "board") == "2 boards"
    assert plural(1, "reviews") == "1 review" and plural(0, "review") == "0 reviews"
    assert plural(1, "children") == "1 child" and plural(3, "child") == "3 children"
    assert plural(None, "warning") == "0 warnings"


def test_output_to_a_reader_that_stops_reading_ends_quietly(boards_warehouse: Path) -> None:
    """`scr ... | head`: the reader goes away before scr writes; no BrokenPipeError."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipelines.cli",
            "--warehouse",
            str(boards_warehouse),
            "codes",
            "boards",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # as `head` does once it has its lines
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141, err
    assert "Traceback" not in err and "BrokenPipe" not in err and "internal error" not in err


def test_an_audiences_wrong_scope_is_named(boards_warehouse: Path, capsys) -> None:
    code, _, err = run(
        boards_warehouse, capsys, "tables", "--audience", "regional", "--scope", "londn"
    )
    assert code == 2 and "--scope 'londn' is not a region code; choose one of: london" in err
    code, _, err = run(boards_warehouse, capsys, "tables", "--audience", "board", "--scope", "B99")
    assert code == 2 and "--scope 'B99' is not a board in the warehouse" in err
    assert "B01" not in err  # whose board it is is unknown: none is named
    code, _, err = run(
        boards_warehouse, capsys, "codes", "boards", "--audience", "board", "--scope", "B99"
    )
    assert code == 2 and "--scope 'B99' is not a board" in err


def test_a_region_with_no_reviews_is_named_with_those_that_have(
    boards_warehouse: Path, capsys
) -> None:
    code, _, err = run(boards_warehouse, capsys, "tables", "--region", "central")
    assert code == 2
    assert (
        "--region 'central' holds no review in the warehouse; choose one of: london (London), "
        "north_east (North East), south_west (South West)"
    ) in err


def test_a_wrong_value_is_quoted_never_sent_raw_to_the_terminal(
    boards_warehouse: Path, capsys
) -> None:
    code, _, err = run(boards_warehouse, capsys, "tables", "--board", "\x1b[31mB01")
    assert code == 2 and "--board '\\x1b[31mB01' is not a board" in err and "\x1b" not in err

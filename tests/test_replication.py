"""The 2001-03 sample reproduces every count of the study's Appendix 2 through the pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from pipelines.cli import main
from warehouse.study_tables import compute_study_tables

PUBLISHED = json.loads(
    (Path(__file__).resolve().parent.parent / "warehouse" / "appendix2_published.json").read_text()
)


def _counts(table: dict) -> dict[tuple[str, str, str | None], int]:
    """Every published figure of a table keyed by (section, row code, column code)."""
    found = {}
    for section in ("rows", "summaries"):
        for row in table.get(section, []):
            if "counts" in row:
                for column, count in row["counts"].items():
                    found[(section, row["code"], column)] = count
            else:
                found[(section, row["code"], None)] = row["count"]
    return found


def test_every_published_count_is_reproduced(replication_warehouse: Path) -> None:
    con = duckdb.connect(str(replication_warehouse), read_only=True)
    try:
        result = compute_study_tables(con, period="2001-03")
    finally:
        con.close()
    computed = {t["id"]: t for t in result["tables"]}
    checked = 0
    for table in PUBLISHED["tables"]:
        mine = computed[table["id"]]
        assert mine["n"] == table["n"], table["id"]
        mine_counts = _counts(mine)
        for key, count in _counts(table).items():
            assert mine_counts.get(key) == count, (table["id"], key)
            checked += 1
    assert checked > 200
    # t18 is in the published order (count descending).
    assert [r["code"] for r in computed["t18_recommendation_focus"]["rows"]] == [
        r["code"]
        for r in next(t for t in PUBLISHED["tables"] if t["id"] == "t18_recommendation_focus")[
            "rows"
        ]
    ]


def test_cli_tables_json_matches_published(replication_warehouse: Path, capsys) -> None:
    code = main(
        [
            "--warehouse",
            str(replication_warehouse),
            "tables",
            "--period",
            "2001-03",
            "--format",
            "json",
        ]
    )
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["filters"] == {"period": "2001-03", "region": None, "board": None}
    assert result["coding_frame_version"] == 2  # the frame the warehouse was built with
    by_id = {t["id"]: t for t in result["tables"]}
    assert by_id["t02_age"]["n"] == 45
    assert by_id["t18_recommendation_focus"]["n"] == 634
    assert {r["code"]: r["percent"] for r in by_id["t02_age"]["summaries"]} == {
        "2_and_under": 47,
        "11_and_over": 20,
    }
    assert by_id["t20_action_plans"]["columns"][-1] == "missing"
    assert by_id["t20_action_plans"]["rows"][1]["counts"]["missing"] == 6


def test_replicate_command_reports_all_counts_reproduced(
    replication_warehouse: Path, capsys
) -> None:
    assert main(["--warehouse", str(replication_warehouse), "replicate"]) == 0
    out = capsys.readouterr().out
    assert "published counts reproduced" in out
    assert "Roles of staff" in out or "staff_roles" in out
    assert "errata" in out.lower()

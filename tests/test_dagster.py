"""The Dagster definitions: they load, the asset graph materialises on a temp warehouse, the
blocking check stops a bad submission before publication, and the inbox sensor keeps a cursor."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.defs.assets.ingest import (
    published_submission,
    staged_submission,
    staged_submission_checks,
)
from pipelines.defs.assets.marts import data_quality, study_tables, warehouse_snapshot
from pipelines.defs.partitions import submissions
from pipelines.defs.resources import WarehouseResource
from pipelines.defs.sensors import inbox_sensor
from tests.conftest import small_submission
from warehouse.db import snapshot_path
from warehouse.load import partition_key

warnings.filterwarnings("ignore", category=dg.PreviewWarning)
INGEST = [staged_submission, staged_submission_checks, published_submission]


def run_config(path: Path) -> dict:
    return {"ops": {"staged_submission": {"config": {"path": str(path), "submitted_by": "t"}}}}


def materialize_submission(
    path: Path, warehouse: WarehouseResource, instance: dg.DagsterInstance
) -> dg.ExecuteInProcessResult:
    """Stage, check and publish one submission as its own partition, as the sensor's runs do."""
    key = partition_key(path)
    instance.add_dynamic_partitions(submissions.name, [key])
    return dg.materialize(
        INGEST,
        partition_key=key,
        run_config=run_config(path),
        resources={"warehouse": warehouse},
        instance=instance,
        raise_on_error=False,
    )


def test_definitions_load() -> None:
    from pipelines.definitions import defs

    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == {
        "staged_submission",
        "published_submission",
        "study_tables",
        "warehouse_snapshot",
        "data_quality",
    }
    assert defs.resolve_job_def("ingest_submission") is not None
    inbox = defs.resolve_sensor_def("inbox_sensor")
    assert inbox.default_status == dg.DefaultSensorStatus.RUNNING
    refresh = defs.resolve_sensor_def("refresh_marts_after_ingest")
    assert [t.job_name for t in refresh.targets] == ["refresh_marts"]


def test_asset_graph_materialises_on_a_temp_warehouse(
    make_submission: Callable[..., Path], tmp_path: Path
) -> None:
    warehouse = WarehouseResource(path=str(tmp_path / "scr.duckdb"))
    instance = dg.DagsterInstance.ephemeral()
    result = materialize_submission(make_submission(xlsx=True), warehouse, instance)
    assert result.success
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks == {"passes_rules": True, "meets_expectations": True}
    marts = dg.materialize(
        [study_tables, data_quality, warehouse_snapshot],
        resources={"warehouse": warehouse},
        instance=instance,
    )
    assert marts.success
    con = duckdb.connect(str(snapshot_path(warehouse.file)), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM reviews").fetchall() == [(2,)]
        ethnicity = "SELECT sum(n)::INT FROM mart_data_quality WHERE field = 'ethnicity'"
        assert con.execute(ethnicity).fetchall() == [(2,)]
        assert con.execute(
            "SELECT count(DISTINCT period) FROM mart_study_tables WHERE period IS NOT NULL"
        ).fetchall() == [(1,)]
    finally:
        con.close()


def test_failing_check_blocks_publication(
    make_submission: Callable[..., Path], tmp_path: Path
) -> None:
    warehouse = WarehouseResource(path=str(tmp_path / "scr.duckdb"))
    sheets = small_submission()
    sheets["recommendations"][0]["focus"] = "Training"  # not a code: rejects the whole file
    path = make_submission("bad", sheets)
    result = materialize_submission(path, warehouse, dg.DagsterInstance.ephemeral())
    assert not result.success
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks == {"passes_rules": False, "meets_expectations": False}
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "published_submission" not in materialized
    con = duckdb.connect(str(warehouse.file), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM reviews").fetchall() == [(0,)]
        assert con.execute("SELECT count(*) FROM stg_reviews").fetchall() == [(0,)]
        status, report = con.execute("SELECT status, report FROM submissions").fetchall()[0]
        assert status == "rejected"
        assert "recommendations, focus" in " ".join(json.loads(report)["lines"])
    finally:
        con.close()


def test_inbox_sensor_requests_each_new_submission_once(
    make_submission: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    monkeypatch.setenv("SCR_INBOX", str(inbox))
    path = make_submission(xlsx=True)
    path.rename(inbox / "board_a.xlsx")
    (inbox / "~$board_a.xlsx").write_text("excel lock file")  # ignored
    instance = dg.DagsterInstance.ephemeral()

    first = inbox_sensor(dg.build_sensor_context(instance=instance))
    assert len(first.run_requests) == 1
    request = first.run_requests[0]
    assert request.partition_key == partition_key(inbox / "board_a.xlsx")
    assert request.run_config["ops"]["staged_submission"]["config"]["path"].endswith("board_a.xlsx")
    assert first.dynamic_partitions_requests[0].partition_keys == [request.partition_key]

    again = inbox_sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor))
    assert again.run_requests == []

    make_submission("second")  # a CSV folder
    (tmp_path / "subs" / "second").rename(inbox / "board_b")
    third = inbox_sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor))
    assert [r.partition_key for r in third.run_requests] == [partition_key(inbox / "board_b")]

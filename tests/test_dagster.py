"""The Dagster definitions: they load from the defs modules, the warehouse is a DuckDBResource
from $SCR_WAREHOUSE, every writing step runs in the writer pool, the asset graph materialises on
a temp warehouse, published_submission publishes its partition on its own, the blocking check
stops a bad submission before publication, and the inbox sensor keeps a cursor."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from pipelines.defs.assets.ingest import (
    published_submission,
    staged_submission,
    staged_submission_checks,
)
from pipelines.defs.assets.marts import data_quality, study_tables, warehouse_snapshot
from pipelines.defs.partitions import submissions
from pipelines.defs.resources import WRITER_POOL, WarehouseResource, warehouse_from_env
from pipelines.defs.sensors import inbox_sensor
from tests.conftest import small_submission
from warehouse.db import DEFAULT_WAREHOUSE, ENV_WAREHOUSE, snapshot_path
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


def test_definitions_load_by_module() -> None:
    from pipelines.definitions import defs, defs_modules

    names = {m.__name__ for m in defs_modules()}
    assert {
        "pipelines.defs.assets.ingest",
        "pipelines.defs.assets.marts",
        "pipelines.defs.assets.published",
        "pipelines.defs.jobs",
        "pipelines.defs.sensors",
        "pipelines.defs.resources",
    } <= names
    source = (Path(__file__).parents[1] / "pipelines" / "definitions.py").read_text()
    assert "staged_submission" not in source  # nothing listed by hand

    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == {
        "staged_submission",
        "published_submission",
        "study_tables",
        "warehouse_snapshot",
        "data_quality",
        "published_national_series",
        "tracking_digest",
    }
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert checks == {
        ("staged_submission", "passes_rules"),
        ("staged_submission", "meets_expectations"),
    }
    assert {j.name for j in defs.jobs or []} == {"ingest_submission", "refresh_marts"}
    assert defs.resolve_job_def("ingest_submission") is not None
    assert {s.name for s in defs.sensors or []} == {"inbox_sensor", "refresh_marts_after_ingest"}
    inbox = defs.resolve_sensor_def("inbox_sensor")
    assert inbox.default_status == dg.DefaultSensorStatus.RUNNING
    refresh = defs.resolve_sensor_def("refresh_marts_after_ingest")
    assert [t.job_name for t in refresh.targets] == ["refresh_marts"]
    assert set(defs.resources or {}) == {"warehouse"}


def test_dagster_finds_one_definitions_object(tmp_path: Path) -> None:
    """What `dagster dev -m pipelines.definitions` loads (one Definitions at module scope)."""
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "DAGSTER_DISABLE_TELEMETRY": "1"}
    (tmp_path / "dagster.yaml").write_text("")
    done = subprocess.run(
        [str(Path(sys.executable).with_name("dagster")), "definitions", "validate"]
        + ["-m", "pipelines.definitions"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Validation successful" in done.stderr + done.stdout


def test_warehouse_is_a_duckdb_resource_from_the_env_var(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "from env" / "scr.duckdb"
    monkeypatch.setenv(ENV_WAREHOUSE, str(target))
    warehouse = warehouse_from_env()
    assert isinstance(warehouse, DuckDBResource)
    assert isinstance(warehouse.database, dg.EnvVar)
    assert warehouse.database.env_var_name == ENV_WAREHOUSE
    # The variable is read when the run starts: the marts are built in the file it names.
    result = dg.materialize(
        [study_tables, data_quality, warehouse_snapshot],
        resources={"warehouse": warehouse},
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    assert target.exists() and snapshot_path(target).exists()
    assert WarehouseResource(database=str(target)).archive == target.with_name("scr.archive")

    monkeypatch.delenv(ENV_WAREHOUSE)  # `dagster dev` without it: the default warehouse
    assert warehouse_from_env().database == str(DEFAULT_WAREHOUSE)


def test_every_writing_step_runs_in_the_writer_pool(
    make_submission: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines.definitions import defs

    loaded = [*(defs.assets or []), *(defs.asset_checks or [])]
    ops = {d.node_def.name: d.node_def.pool for d in loaded}  # type: ignore[union-attr]
    assert ops == dict.fromkeys(
        [
            "staged_submission",
            "staged_submission_checks",
            "published_submission",
            "study_tables",
            "data_quality",
            "warehouse_snapshot",
            "published_national_series",
            "tracking_digest",
        ],
        WRITER_POOL,
    )
    # `make dagster` gives the instance the template's pool limit of 1, per step ...
    home = tmp_path / "dagster_home"
    home.mkdir()
    template = Path(__file__).parents[1] / "pipelines" / "dagster.yaml"
    shutil.copy(template, home / "dagster.yaml")
    assert (
        "cp pipelines/dagster.yaml .dagster_home/dagster.yaml"
        in (Path(__file__).parents[1] / "Makefile").read_text()
    )
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        pools = instance.get_concurrency_config().pool_config
        assert pools.default_pool_limit == 1
        assert pools.pool_granularity is not None and pools.pool_granularity.value == "op"
        # ... and an in-process run (as `scr ingest` makes with DAGSTER_HOME) takes the slot
        # for each step and gives it back.
        warehouse = WarehouseResource(database=str(tmp_path / "scr.duckdb"))
        assert materialize_submission(make_submission(), warehouse, instance).success
        info = instance.event_log_storage.get_concurrency_info(WRITER_POOL)
        assert info.slot_count == 1
        assert info.claimed_slots == [] and info.pending_steps == []


def test_a_writing_step_waits_for_the_writer_slot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While another run's step holds the pool's one slot, a writing step does not start."""
    shutil.copy(Path(__file__).parents[1] / "pipelines" / "dagster.yaml", tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    warehouse = WarehouseResource(database=str(tmp_path / "scr.duckdb"))
    with dg.DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        storage.initialize_concurrency_limit_to_default(WRITER_POOL)
        holder = storage.claim_concurrency_slot(WRITER_POOL, "another-run", "publishing")
        assert holder.is_claimed
        results: list[dg.ExecuteInProcessResult] = []
        waiting = threading.Thread(
            target=lambda: results.append(
                dg.materialize(
                    [data_quality], resources={"warehouse": warehouse}, instance=instance
                )
            )
        )
        waiting.start()
        try:
            waiting.join(3)
            assert waiting.is_alive() and not warehouse.file.exists()
        finally:
            storage.free_concurrency_slot_for_step("another-run", "publishing")
        waiting.join(60)
        assert results and results[0].success and warehouse.file.exists()


def test_published_submission_alone_publishes_its_partition(
    make_submission: Callable[..., Path], tmp_path: Path
) -> None:
    warehouse = WarehouseResource(database=str(tmp_path / "scr.duckdb"))
    instance = dg.DagsterInstance.ephemeral()
    path = make_submission(xlsx=True)
    key = partition_key(path)
    instance.add_dynamic_partitions(submissions.name, [key])

    def alone() -> dg.ExecuteInProcessResult:
        return dg.materialize(
            [published_submission],
            partition_key=key,
            resources={"warehouse": warehouse},
            instance=instance,
            raise_on_error=False,
        )

    def refusal(result: dg.ExecuteInProcessResult) -> str:
        assert not result.success
        failure = next(e for e in result.all_events if e.is_step_failure)
        return failure.step_failure_data.error.message

    assert "nothing is staged for submission" in refusal(alone())
    assert "never been received" in refusal(alone())

    staged = dg.materialize(
        [staged_submission, staged_submission_checks],
        partition_key=key,
        run_config=run_config(path),
        resources={"warehouse": warehouse},
        instance=instance,
    )
    assert staged.success
    published = alone()  # another run: it finds the partition's staged rows
    assert published.success
    [event] = published.get_asset_materialization_events()
    assert event.partition == key
    con = duckdb.connect(str(warehouse.file), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM reviews").fetchall() == [(2,)]
        assert con.execute("SELECT status FROM submissions").fetchall() == [("accepted",)]
    finally:
        con.close()
    assert "is accepted" in refusal(alone())  # published once, not twice


def test_asset_graph_materialises_on_a_temp_warehouse(
    make_submission: Callable[..., Path], tmp_path: Path
) -> None:
    warehouse = WarehouseResource(database=str(tmp_path / "scr.duckdb"))
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
    warehouse = WarehouseResource(database=str(tmp_path / "scr.duckdb"))
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

"""Warehouses for the dashboard's tests and benchmark.

``build_sample_warehouse`` loads every sample submission exactly as ``scr build`` does
(the Dagster assets in process, expectation suites included), then the marts and the
snapshot. ``scaled_warehouse`` copies a warehouse's core tables N times with suffixed ids: a
synthetic national set N times larger, for the benchmark.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from pipelines.samples import SAMPLE_SUBMISSIONS, sample_paths
from warehouse.db import connect, publish_snapshot, snapshot_path


def _refresh_marts(con: object, path: Path) -> None:
    from warehouse.marts import materialise_data_quality
    from warehouse.study_tables import materialise_study_tables

    materialise_study_tables(con)  # type: ignore[arg-type]
    materialise_data_quality(con)  # type: ignore[arg-type]
    publish_snapshot(con, path)  # type: ignore[arg-type]


def build_sample_warehouse(path: Path, source: Path = SAMPLE_SUBMISSIONS) -> Path:
    """Build a new warehouse at ``path`` from every sample submission, as `scr build` does.

    Returns the warehouse path. Raises if any sample submission is rejected.
    """
    from pipelines.runner import ingest

    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists; build into a new location")
    outcomes = ingest(sample_paths(source), path, "dashboard tests")
    rejected = [o for o in outcomes if o.status != "accepted"]
    if rejected:
        raise RuntimeError(f"sample {rejected[0].path.name} rejected: {rejected[0].lines[:3]}")
    return path


def copy_warehouse(source: Path, target: Path) -> Path:
    """Copy a built warehouse (live file and snapshot) to a new location."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)
    shutil.copy2(snapshot_path(source), snapshot_path(target))
    return target


def scaled_warehouse(source: Path, target: Path, factor: int = 10) -> Path:
    """A warehouse holding ``factor`` copies of every review (ids suffixed ``-xN``) of the
    snapshot of ``source``, boards unchanged: each board has ``factor`` times the reviews."""
    from warehouse.schema import CORE_SHEETS, ensure_schema

    target = Path(target)
    if target.exists():
        raise FileExistsError(f"{target} exists; build into a new location")
    con = connect(target)
    try:
        ensure_schema(con)
        con.execute(f"ATTACH '{snapshot_path(source)}' AS src (READ_ONLY)")
        copies = f"(SELECT '-x' || i AS sfx FROM range({int(factor)}) t(i))"
        for sheet in CORE_SHEETS:
            replace = ["review_id || c.sfx AS review_id", "submission_id || c.sfx AS submission_id"]
            if sheet == "children":
                replace.append("child_id || c.sfx AS child_id")
            con.execute(
                f"INSERT INTO {sheet} BY NAME SELECT s.* REPLACE ({', '.join(replace)}) "
                f"FROM src.main.{sheet} s CROSS JOIN {copies} c"
            )
        con.execute(
            "INSERT INTO submissions BY NAME SELECT s.* REPLACE ("
            "submission_id || c.sfx AS submission_id) "
            f"FROM src.main.submissions s CROSS JOIN {copies} c"
        )
        con.execute("DETACH src")
        _refresh_marts(con, target)
    finally:
        con.close()
    return target


def sample_warehouse_once(base: Path) -> Path:
    """The sample warehouse under ``base`` (a test session's temp root), built on first use:
    test modules and folders share one build per session."""
    path = Path(base) / "dashboard-sample" / "scr.duckdb"
    if not snapshot_path(path).exists():
        shutil.rmtree(path.parent, ignore_errors=True)  # a build interrupted earlier
        build_sample_warehouse(path)
    return path

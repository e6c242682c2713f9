"""Warehouses for the dashboard's tests and benchmark (not used by the app itself).

``build_sample_warehouse`` loads every sample submission through the project's own loader
(``warehouse.load``: read, type, check the rules, publish in one transaction), then
materialises the marts and publishes the snapshot, as ``scr build`` does but without running
Dagster and the Great Expectations suites per submission: the same rows in ~30 s instead of
minutes. ``scaled_warehouse`` copies a warehouse's core tables N times with suffixed ids: a
synthetic national set N times larger, for the benchmark.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl

from warehouse.db import archive_dir, connect, publish_snapshot, snapshot_path

REPO = Path(__file__).resolve().parent.parent
SAMPLE_SUBMISSIONS = REPO / "data_samples" / "submissions"


def sample_paths(source: Path = SAMPLE_SUBMISSIONS) -> list[Path]:
    """The submissions `scr build` would load, in the same order."""
    return sorted(
        p
        for p in source.iterdir()
        if not p.name.startswith(".") and (p.is_dir() or p.suffix == ".xlsx")
    )


def _refresh_marts(con: object, path: Path) -> None:
    from warehouse.marts import materialise_data_quality
    from warehouse.study_tables import materialise_study_tables

    materialise_study_tables(con)  # type: ignore[arg-type]
    materialise_data_quality(con)  # type: ignore[arg-type]
    publish_snapshot(con, path)  # type: ignore[arg-type]


def build_sample_warehouse(path: Path, source: Path = SAMPLE_SUBMISSIONS) -> Path:
    """Load every sample submission into a new warehouse at ``path`` and publish a snapshot.

    Returns the warehouse path. Raises if any sample submission is rejected.
    """
    from warehouse import load

    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists; build into a new location")
    con = connect(path)
    try:
        for submission in sample_paths(source):
            receipt = load.receive(con, submission, archive_dir(path), "dashboard tests")
            load.stage(con, receipt)
            errors = load.staged_issues(con, receipt.submission_id).filter(
                pl.col("severity") == "error"
            )
            if errors.height:
                lines = load.reject(con, receipt.submission_id)
                raise RuntimeError(f"sample {submission.name} rejected: {lines[:3]}")
            load.publish(con, receipt.submission_id)
        _refresh_marts(con, path)
    finally:
        con.close()
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

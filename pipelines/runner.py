"""Run the Dagster assets in process, as `scr ingest` and `scr build` do.

The CLI goes through exactly the assets the Dagster UI and the inbox sensor run: this module
only builds the run (partition, config, quiet logging) and reads the outcome from the ledger.
`scr` processes serialise on the warehouse's lock file; with DAGSTER_HOME set to the instance
`make dagster` uses, each writing step also waits for the `scr_warehouse_writer` pool's one
slot, as the UI's and the inbox sensor's runs do.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")

import dagster as dg  # noqa: E402

# The CLI prints its own report; Dagster's preview notices would only be noise there.
warnings.filterwarnings("ignore", category=dg.PreviewWarning)

from pipelines.defs.assets.ingest import (  # noqa: E402
    SubmissionConfig,
    published_submission,
    staged_submission,
    staged_submission_checks,
)
from pipelines.defs.assets.marts import data_quality, study_tables, warehouse_snapshot  # noqa: E402
from pipelines.defs.assets.published import published_national_series  # noqa: E402
from pipelines.defs.partitions import submissions  # noqa: E402
from pipelines.defs.resources import WarehouseResource  # noqa: E402
from warehouse import load  # noqa: E402
from warehouse.db import connect, writer_lock  # noqa: E402
from warehouse.issues import issue, report_lines  # noqa: E402
from warehouse.migrations import UpgradeResult, upgrade  # noqa: E402

QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@dataclass
class IngestOutcome:
    path: Path
    submission_id: str | None
    status: str
    ledger: dict[str, object] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)


def _instance() -> dg.DagsterInstance:
    return (
        dg.DagsterInstance.get()
        if os.environ.get("DAGSTER_HOME")
        else (dg.DagsterInstance.ephemeral())
    )


def _failure_text(result: dg.ExecuteInProcessResult) -> str:
    """The innermost error message of the first failed step (the user-facing cause)."""
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data is not None:
            error = event.step_failure_data.error
            while error is not None and error.cause is not None:
                error = error.cause
            if error is not None:
                return error.message.strip()
    return "the run failed"


def ingest_one(
    path: Path, warehouse: WarehouseResource, instance: dg.DagsterInstance, submitted_by: str | None
) -> IngestOutcome:
    path = Path(path).resolve()
    if not path.exists():
        lines = report_lines(issue("not_found", f"{path} does not exist"))
        return IngestOutcome(path, None, "rejected", lines=lines)
    key = load.partition_key(path)
    instance.add_dynamic_partitions(submissions.name, [key])
    config = SubmissionConfig(path=str(path), submitted_by=submitted_by or "")
    result = dg.materialize(
        [staged_submission, staged_submission_checks, published_submission],
        partition_key=key,
        run_config={"ops": {"staged_submission": {"config": config.model_dump()}}, **QUIET},
        resources={"warehouse": warehouse},
        instance=instance,
        raise_on_error=False,
        tags={"scr/original_name": path.name},
    )
    con = connect(warehouse.file)
    try:
        submission_id = load.submission_for_run(con, result.run_id)
        if submission_id is None:
            lines = [f"[ERROR] file: could not be received: {_failure_text(result)}"]
            return IngestOutcome(path, None, "rejected", lines=lines)
        row = load.ledger_row(con, submission_id)
        if row["status"] not in ("accepted", "rejected"):
            # An unexpected failure after staging: record it so the ledger stays truthful.
            load.reject(con, submission_id, issue("ingest_failed", _failure_text(result)))
            row = load.ledger_row(con, submission_id)
        issues = load.recorded_issues(con, submission_id)
    finally:
        con.close()
    return IngestOutcome(path, submission_id, str(row["status"]), row, report_lines(issues))


class RefreshFailed(RuntimeError):
    """The submissions were decided (accepted ones are committed and stay loaded), but
    refreshing the marts or publishing the snapshot failed: the dashboard is stale until
    `scr build --refresh` or the next ingest republishes them."""

    def __init__(self, reason: str, outcomes: list[IngestOutcome] | None = None):
        super().__init__(f"refreshing the marts and the snapshot failed: {reason}")
        self.reason = reason
        self.outcomes = outcomes or []


def refresh_marts(warehouse: WarehouseResource, instance: dg.DagsterInstance) -> None:
    """Rebuild the marts from the core tables, reload the real published figures, and
    publish a new snapshot (all or none of the snapshot: a failure leaves the previous
    one, and no temporary file)."""
    result = dg.materialize(
        [study_tables, data_quality, published_national_series, warehouse_snapshot],
        run_config=QUIET,
        resources={"warehouse": warehouse},
        instance=instance,
        raise_on_error=False,
    )
    if not result.success:
        raise RefreshFailed(_failure_text(result))


def _say_upgrade(result: UpgradeResult, notify: Callable[[str], None] | None) -> None:
    if result.changed and result.from_version > 0:
        for line in result.lines():
            (notify or _stderr)(line)


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


@contextlib.contextmanager
def _held_open(file: Path) -> Iterator[None]:
    """Keep the warehouse's DuckDB database open while the command's runs go on.

    Each asset opens and closes its own connection; with one held here DuckDB gives them
    this process's open database instead of opening the file (and checkpointing it on
    close) every time. The caller holds the writer lock; nothing else writes meanwhile.
    """
    con = connect(file)
    try:
        yield
    finally:
        con.close()


def ingest(
    paths: list[Path],
    warehouse_file: Path,
    submitted_by: str | None = None,
    notify: Callable[[str], None] | None = None,
) -> list[IngestOutcome]:
    """Ingest submissions one after another, then refresh the marts and the snapshot.

    An older warehouse is first upgraded (a backup copy, then the migrations in one
    transaction) and ``notify`` told what was done. Raises RefreshFailed, carrying the
    outcomes, if only the refresh failed. Every ingest refreshes, so one after a failed
    refresh republishes what the failed one left stale.
    """
    warehouse = WarehouseResource(database=str(warehouse_file))
    instance = _instance()
    with writer_lock(warehouse.file):
        _say_upgrade(upgrade(warehouse.file), notify)
        if warehouse.file.exists():
            with warehouse.get_connection() as con:
                load.recover_interrupted(con)
        with _held_open(warehouse.file), _progress(len(paths) + 1) as step:
            outcomes = []
            for path in paths:
                step(f"checking and loading {path.name}")
                outcomes.append(ingest_one(path, warehouse, instance, submitted_by))
            step("refreshing the study tables and publishing the snapshot")
            try:
                refresh_marts(warehouse, instance)
            except RefreshFailed as failed:
                raise RefreshFailed(failed.reason, outcomes) from None
    return outcomes


@contextlib.contextmanager
def _progress(total: int, console: Any = None) -> Iterator[Callable[[str], None]]:
    """Steps shown as a progress bar on a terminal (stderr), for more than one submission;
    nothing at all when the output is piped or logged."""
    from rich.console import Console

    console = console or Console(stderr=True)
    if total <= 2 or not console.is_terminal:
        yield lambda _label: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("starting", total=total)
        started = False

        def step(label: str) -> None:
            nonlocal started
            progress.update(task, description=label, advance=1 if started else 0)
            progress.refresh()  # each step shown when it starts, not at the next tick
            started = True

        yield step
        progress.update(task, advance=1)


def refresh(warehouse_file: Path, notify: Callable[[str], None] | None = None) -> None:
    """Republish the marts and the snapshot without ingesting (`scr build --refresh`)."""
    warehouse = WarehouseResource(database=str(warehouse_file))
    if not warehouse.file.exists():
        raise FileNotFoundError(
            f"no warehouse at {warehouse.file}: run `scr build` or `scr ingest` first"
        )
    with writer_lock(warehouse.file):
        _say_upgrade(upgrade(warehouse.file), notify)
        with _held_open(warehouse.file):
            with warehouse.get_connection() as con:
                load.recover_interrupted(con)
            refresh_marts(warehouse, _instance())


def upgrade_warehouse(warehouse_file: Path, *, dry_run: bool = False) -> UpgradeResult:
    """`scr upgrade`: list the pending migrations (``dry_run``) or apply them (a backup
    copy first, one transaction), then republish the marts and the snapshot so readers
    find the new version."""
    warehouse = WarehouseResource(database=str(warehouse_file))
    if not warehouse.file.exists():
        raise FileNotFoundError(f"no warehouse at {warehouse.file}: nothing to upgrade")
    if dry_run:
        return upgrade(warehouse.file, dry_run=True)
    with writer_lock(warehouse.file):
        result = upgrade(warehouse.file)
        refresh_marts(warehouse, _instance())
    return result

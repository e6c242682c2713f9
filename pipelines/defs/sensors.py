"""Pick up submissions dropped into the inbox folder."""

import json
import os
from pathlib import Path

import dagster as dg

from pipelines.defs.assets.ingest import SubmissionConfig
from pipelines.defs.jobs import ingest_submission_job, refresh_marts_job
from pipelines.defs.partitions import submissions
from warehouse.db import warehouse_path
from warehouse.load import partition_key
from warehouse.reader import EXCEL_SUFFIXES

ENV_INBOX = "SCR_INBOX"


def inbox_path() -> Path:
    """$SCR_INBOX, else an `inbox` folder beside the warehouse."""
    return Path(os.environ.get(ENV_INBOX) or warehouse_path().with_name("inbox"))


def inbox_submissions(inbox: Path) -> list[Path]:
    """Workbooks and CSV folders in the inbox, oldest first (hidden/temporary files skipped)."""
    if not inbox.is_dir():
        return []
    found = [
        p
        for p in inbox.iterdir()
        if not p.name.startswith((".", "~$"))
        and (
            (p.is_file() and p.suffix.lower() in EXCEL_SUFFIXES)
            or (p.is_dir() and any(p.glob("*.csv")))
        )
    ]
    return sorted(found, key=lambda p: (p.stat().st_mtime, p.name))


@dg.sensor(
    job=ingest_submission_job,
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Queues every new workbook or CSV folder found in the inbox.",
)
def inbox_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    seen: set[str] = set(json.loads(context.cursor)) if context.cursor else set()
    new_keys: list[str] = []
    requests: list[dg.RunRequest] = []
    for path in inbox_submissions(inbox_path()):
        key = partition_key(path)
        if key in seen or key in new_keys:
            continue
        new_keys.append(key)
        config = SubmissionConfig(path=str(path), submitted_by="inbox")
        requests.append(
            dg.RunRequest(
                run_key=key,
                partition_key=key,
                run_config=dg.RunConfig(ops={"staged_submission": config}),
                tags={"scr/original_name": path.name},
            )
        )
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[submissions.build_add_request(new_keys)] if new_keys else [],
        cursor=json.dumps(sorted(seen | set(new_keys))),
    )


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[ingest_submission_job],
    request_job=refresh_marts_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="After a submission is published, rebuild the marts and the snapshot.",
)
def refresh_marts_after_ingest(context: dg.RunStatusSensorContext) -> dg.RunRequest:
    return dg.RunRequest(run_key=f"after-{context.dagster_run.run_id}")

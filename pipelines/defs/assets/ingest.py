"""Write-audit-publish of one submission: stage it, check it (blocking), publish it."""

from pathlib import Path

import dagster as dg

from pipelines.defs.partitions import submissions
from pipelines.defs.resources import WarehouseResource
from warehouse import load


class SubmissionConfig(dg.Config):
    path: str
    submitted_by: str = ""


@dg.asset(
    partitions_def=submissions,
    group_name="ingest",
    kinds={"duckdb", "polars"},
    description="A submission read, typed per the coding frame and checked into stg_* tables.",
)
def staged_submission(
    context: dg.AssetExecutionContext, config: SubmissionConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    path = Path(config.path)
    key = load.partition_key(path)
    if key != context.partition_key:
        raise dg.Failure(
            f"{path} has changed since it was queued (content {key}, "
            f"partition {context.partition_key}); queue it again"
        )
    with warehouse.get_connection() as con:
        receipt = load.receive(
            con, path, warehouse.archive, config.submitted_by or None, run_id=context.run.run_id
        )
        counts = load.stage(con, receipt)
    return dg.MaterializeResult(
        metadata={
            "submission_id": receipt.submission_id,
            "original_name": receipt.original_name,
            "sha256": receipt.sha256,
            **{f"rows_{k}": v for k, v in counts.items()},
        }
    )


@dg.asset_check(
    asset=staged_submission,
    blocking=True,
    partitions_def=submissions,
    description="No error in the staged submission: types, codes, required "
    "columns, unique keys, links between sheets, the frame's rules.",
)
def staged_submission_passes_rules(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    with warehouse.get_connection() as con:
        submission_id = load.submission_for_run(con, context.run.run_id)
        if submission_id is None:
            return dg.AssetCheckResult(passed=False, metadata={"reason": "nothing staged"})
        issues = load.staged_issues(con, submission_id)
        errors = issues.filter(issues["severity"] == "error")
        if errors.height:
            lines = load.reject(con, submission_id)
            return dg.AssetCheckResult(
                passed=False,
                metadata={
                    "submission_id": submission_id,
                    "errors": errors.height,
                    "report": dg.MetadataValue.md("\n".join(f"- {x}" for x in lines)),
                },
            )
    return dg.AssetCheckResult(
        passed=True, metadata={"submission_id": submission_id, "warnings": issues.height}
    )


@dg.asset(
    partitions_def=submissions,
    deps=[staged_submission],
    group_name="ingest",
    kinds={"duckdb"},
    description="The staged submission promoted into reviews, children, recommendations and "
    "actions in one transaction (earlier versions of resubmitted reviews to history).",
)
def published_submission(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    with warehouse.get_connection() as con:
        submission_id = load.submission_for_run(con, context.run.run_id)
        if submission_id is None:
            raise dg.Failure("no staged submission for this run")
        try:
            counts = load.publish(con, submission_id)
        except load.SubmissionRejected as rejected:
            load.reject(con, submission_id)
            raise dg.Failure("submission rejected:\n" + "\n".join(rejected.lines)) from None
    return dg.MaterializeResult(metadata={"submission_id": submission_id, **counts})

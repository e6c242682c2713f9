"""Write-audit-publish of one submission: stage it, check it (blocking), publish it."""

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl

from pipelines.defs.partitions import submissions
from pipelines.defs.resources import WRITER_POOL, WarehouseResource
from warehouse import load
from warehouse.issues import issue


class SubmissionConfig(dg.Config):
    path: str
    submitted_by: str = ""


@dg.asset(
    partitions_def=submissions,
    group_name="ingest",
    kinds={"duckdb", "polars"},
    pool=WRITER_POOL,
    description="A submission read, typed per the coding frame and checked into stg_* tables.",
)
def staged_submission(
    context: dg.AssetExecutionContext, config: SubmissionConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    path = Path(config.path)
    sha = load.content_sha256(path)
    key = load.partition_of(sha)
    if key != context.partition_key:
        raise dg.Failure(
            f"{path} has changed since it was queued (content {key}, "
            f"partition {context.partition_key}); queue it again"
        )
    with warehouse.get_connection() as con:
        receipt = load.receive(
            con,
            path,
            warehouse.archive,
            config.submitted_by or None,
            run_id=context.run.run_id,
            sha=sha,
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


def staged_submission_id(
    con: duckdb.DuckDBPyConnection,
    context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext,
) -> str:
    """The submission this run staged or, run on its own (published_submission or the
    checks materialised alone for a partition), the partition's latest staged submission.
    Refuses, saying why, when nothing is staged for the partition."""
    submission_id = load.submission_for_run(con, context.run.run_id)
    if submission_id is not None:
        return submission_id
    key = context.partition_key
    latest = con.execute(
        "SELECT submission_id, status FROM submissions WHERE starts_with(sha256, ?) "
        "ORDER BY (status = 'staged') DESC, received_at DESC LIMIT 1",
        [key],
    ).fetchall()
    if latest and latest[0][1] == "staged":
        return latest[0][0]
    found = (
        f"its latest receipt, {latest[0][0]}, is {latest[0][1]}"
        if latest
        else "it has never been received"
    )
    raise dg.Failure(
        f"nothing is staged for submission {key} ({found}): "
        "materialise staged_submission for this partition first"
    )


RULES_CHECK = "passes_rules"
EXPECTATIONS_CHECK = "meets_expectations"


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(
            RULES_CHECK,
            asset=staged_submission,
            blocking=True,
            partitions_def=submissions,
            description="The check registry's fast checker, run when the submission was staged: "
            "types, codes, required and unknown columns, ranges, unique keys, links between "
            "sheets, date order, counts, ownership, text limits (row-level report).",
        ),
        dg.AssetCheckSpec(
            EXPECTATIONS_CHECK,
            asset=staged_submission,
            blocking=True,
            partitions_def=submissions,
            description="The Great Expectations suites in expectations/ (one per sheet, "
            "generated from the check registry), run on the staged rows: the suite of record.",
        ),
    ],
    pool=WRITER_POOL,
)
def staged_submission_checks(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> Iterator[dg.AssetCheckResult]:
    """Audit the staged submission; any failure rejects it whole (nothing is published).

    The fast checker's verdict was recorded in stg_issues when the submission was staged; the
    GX suites then run on the staged rows (a pandas batch per sheet holding only the columns
    its suite reads), and any row they reject that the fast checker did not is added to the
    report. Either one failing rejects the submission."""
    with warehouse.get_connection() as con:
        submission_id = staged_submission_id(con, context)
        rule_errors = load.staged_issues(con, submission_id).filter(pl.col("severity") == "error")
        gx_errors = load.audit_expectations(con, submission_id).filter(
            pl.col("severity") == "error"
        )
        # The failed expectations, named as their checks are (sheet.column.rule).
        failed = (
            gx_errors.select(
                pl.concat_str(["sheet", "column_name", "rule"], separator=".", ignore_nulls=True)
            )
            .to_series()
            .unique()
            .sort()
            .to_list()
        )
        lines = load.reject(con, submission_id) if rule_errors.height or gx_errors.height else []
    report = dg.MetadataValue.md("\n".join(f"- {x}" for x in lines) or "no problems")
    yield dg.AssetCheckResult(
        check_name=RULES_CHECK,
        passed=rule_errors.height == 0,
        metadata={"submission_id": submission_id, "errors": rule_errors.height, "report": report},
    )
    yield dg.AssetCheckResult(
        check_name=EXPECTATIONS_CHECK,
        passed=gx_errors.height == 0,
        metadata={
            "submission_id": submission_id,
            "failing_cells": gx_errors.height,
            "failed_expectations": failed,
        },
    )


@dg.asset(
    partitions_def=submissions,
    deps=[staged_submission],
    group_name="ingest",
    kinds={"duckdb"},
    pool=WRITER_POOL,
    description="The staged submission promoted into reviews, children, recommendations and "
    "actions in one transaction (earlier versions of resubmitted reviews to history). "
    "Materialised on its own, it publishes the partition's staged submission.",
)
def published_submission(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    with warehouse.get_connection() as con:
        submission_id = staged_submission_id(con, context)
        try:
            counts = load.publish(con, submission_id)
        except load.SubmissionRejected as rejected:
            reason = "; ".join(line.removeprefix("[ERROR] ") for line in rejected.lines)
            load.reject(con, submission_id, issue("publish_refused", reason))
            raise dg.Failure("submission rejected:\n" + "\n".join(rejected.lines)) from None
    return dg.MaterializeResult(metadata={"submission_id": submission_id, **counts})

"""Dagster definitions: `dagster dev -m pipelines.definitions` opens them in the UI."""

import dagster as dg

from pipelines.defs.assets.ingest import (
    published_submission,
    staged_submission,
    staged_submission_checks,
)
from pipelines.defs.assets.marts import data_quality, study_tables, warehouse_snapshot
from pipelines.defs.jobs import ingest_submission_job, refresh_marts_job
from pipelines.defs.resources import default_warehouse
from pipelines.defs.sensors import inbox_sensor, refresh_marts_after_ingest

INGEST_ASSETS = [staged_submission, staged_submission_checks, published_submission]
MART_ASSETS = [study_tables, data_quality, warehouse_snapshot]

defs = dg.Definitions(
    assets=[staged_submission, published_submission, *MART_ASSETS],
    asset_checks=[staged_submission_checks],
    jobs=[ingest_submission_job, refresh_marts_job],
    sensors=[inbox_sensor, refresh_marts_after_ingest],
    resources={"warehouse": default_warehouse()},
)

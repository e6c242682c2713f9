"""Jobs: ingest one submission (a partition), refresh the marts and snapshot."""

import dagster as dg

from pipelines.defs.assets.ingest import published_submission, staged_submission
from pipelines.defs.assets.marts import data_quality, study_tables, warehouse_snapshot
from pipelines.defs.assets.published import published_national_series

ingest_submission_job = dg.define_asset_job(
    "ingest_submission",
    selection=dg.AssetSelection.assets(staged_submission, published_submission),
    description="Stage, check and publish one submission (write-audit-publish).",
)

refresh_marts_job = dg.define_asset_job(
    "refresh_marts",
    selection=dg.AssetSelection.assets(
        study_tables, data_quality, published_national_series, warehouse_snapshot
    ),
    description="Rebuild the national study tables, reload the real published figures and "
    "publish the dashboard snapshot.",
)

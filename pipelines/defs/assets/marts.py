"""National marts built from the core tables, and the snapshot readers use."""

import dagster as dg

from pipelines.defs.assets.ingest import published_submission
from pipelines.defs.assets.published import published_national_series
from pipelines.defs.resources import WRITER_POOL, WarehouseResource
from warehouse.db import publish_snapshot
from warehouse.marts import materialise_data_quality
from warehouse.study_tables import materialise_study_tables


@dg.asset(
    deps=[published_submission],
    group_name="marts",
    pool=WRITER_POOL,
    kinds={"duckdb", "sql"},
    description="Tables 2-20 of the 2001-03 study for England, for every period and overall "
    "(the SQL in warehouse/sql/study, also used for any filtered selection).",
)
def study_tables(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.get_connection() as con:
        rows = materialise_study_tables(con)
    return dg.MaterializeResult(metadata={"rows": rows})


@dg.asset(
    deps=[published_submission],
    group_name="marts",
    pool=WRITER_POOL,
    kinds={"duckdb", "sql"},
    description="Completeness of the key fields (ethnicity, parent ethnicity, disability, "
    "author status, report date and length, Chapter 8 answers) by period, region and board.",
)
def data_quality(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.get_connection() as con:
        rows = materialise_data_quality(con)
    return dg.MaterializeResult(metadata={"rows": rows})


@dg.asset(
    deps=[study_tables, data_quality, published_national_series],
    group_name="marts",
    pool=WRITER_POOL,
    kinds={"duckdb"},
    description="A finished copy of the warehouse swapped in atomically; the dashboard reads it.",
)
def warehouse_snapshot(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.get_connection() as con:
        target = publish_snapshot(con, warehouse.file)
    return dg.MaterializeResult(metadata={"path": str(target)})

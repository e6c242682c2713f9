"""Real published national figures (not synthetic): the shipped CSV into
``published_national_series``, write-audit-publish (check every row, then replace the shipped
rows in one transaction; figures added by `scr published add` stay)."""

import dagster as dg

from pipelines.defs.resources import WRITER_POOL, WarehouseResource
from warehouse.published import SHIPPED, PublishedRejected, load_shipped


@dg.asset(
    group_name="published",
    pool=WRITER_POOL,
    kinds={"duckdb", "polars", "csv"},
    description="Real published national figures (Ofsted/DfE serious incident notifications, "
    "the biennial and triennial analyses of serious case reviews, the Panel), each with its "
    "source and the verbatim quote containing it; where sources disagree every row is kept "
    "and one is marked used (warehouse/published.py). Kept apart from the synthetic coded data.",
)
def published_national_series(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.get_connection() as con:
        try:
            result = load_shipped(con, warehouse.archive, SHIPPED)
        except PublishedRejected as rejected:
            # The checks failed: the table is as it was; the lines say which row and rule.
            raise dg.Failure(
                f"{SHIPPED.name} failed its checks; nothing was changed",
                metadata={"problems": "\n".join(rejected.lines)},
            ) from None
    return dg.MaterializeResult(
        metadata={
            "submission_id": result.submission_id,
            "rows": result.rows,
            "used": result.used,
            "disagreements": result.disagreements,
        }
    )

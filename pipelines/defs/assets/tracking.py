"""The weekly tracking digest (issue 11): one overdue list per board, as CSV beside the
warehouse, for the board's business manager.

``<warehouse folder>/digests/<as_of>/<board_code>.csv``: every board with a notification or
a review gets a file (a header alone when nothing is overdue), holding the rows of
:func:`warehouse.tracking.overdue` for that board as of the date (all its periods), text
neutralised against formulas (:mod:`warehouse.safe_output`). The figures are computed by
``warehouse.tracking`` only; this asset writes nothing into the warehouse. It reads through
the warehouse resource's connection, which holds the file's lock (and may bring an older
file up to date first), so it runs in the writer pool like every other step that opens it.
"""

import datetime as dt
import os
import re
import shutil
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import polars as pl

from pipelines.defs.assets.ingest import published_submission
from pipelines.defs.resources import WRITER_POOL, WarehouseResource
from warehouse import tracking
from warehouse.frame import frame
from warehouse.safe_output import csv_bytes

DIGEST_FOLDER = "digests"
DIGEST_TIMEZONE = "Europe/London"


class TrackingDigestConfig(dg.Config):
    """``as_of``: the date of the digest (YYYY-MM-DD); blank means today in London (the
    weekly schedule passes the day it runs)."""

    as_of: str = ""


def digest_date(as_of: str, now: dt.datetime | None = None) -> dt.date:
    """The configured date, else today in Europe/London. Raises ValueError on a malformed
    date."""
    if as_of.strip():
        return dt.date.fromisoformat(as_of.strip())
    return (
        (now or dt.datetime.now(ZoneInfo(DIGEST_TIMEZONE)))
        .astimezone(ZoneInfo(DIGEST_TIMEZONE))
        .date()
    )


def digest_folder(warehouse_file: Path, as_of: dt.date) -> Path:
    """Where the digest of ``as_of`` goes: ``digests/<as_of>/`` beside the warehouse file."""
    return Path(warehouse_file).parent / DIGEST_FOLDER / as_of.isoformat()


def _safe_board_codes(codes: list[str]) -> list[str]:
    """Board codes that are safe file names: the coding frame's board pattern (a letter or
    digit first, then letters, digits, _ . -), never '.' or '..'."""
    pattern = re.compile(frame().sheets["reviews"].column("board_code").pattern or r"^$")
    return [c for c in codes if pattern.fullmatch(c) and c not in (".", "..")]


def write_digest(con: duckdb.DuckDBPyConnection, folder: Path, as_of: dt.date) -> pl.DataFrame:
    """Write one overdue list per board into ``folder`` (replacing a digest of the same date
    as a whole: built in a temporary folder beside it, then moved into place). Returns one
    row per board written: board_code, file, rows."""
    overdue = tracking.overdue(con, tracking.TrackingFilter(as_of=as_of))
    boards = _safe_board_codes(tracking.board_choices(con)["code"].to_list())
    per_board = overdue.partition_by("board_code", as_dict=True, include_key=True)
    empty = overdue.head(0)
    folder.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        for board in boards:
            rows = per_board.get((board,), empty)
            (building / f"{board}.csv").write_bytes(csv_bytes(rows))
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(building, folder)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    counts = overdue.group_by("board_code").len("rows")
    return (
        pl.DataFrame({"board_code": boards}, schema={"board_code": pl.String})
        .join(counts, on="board_code", how="left")
        .select(
            "board_code",
            pl.format("{}.csv", "board_code").alias("file"),
            pl.col("rows").fill_null(0).cast(pl.Int64),
        )
    )


@dg.asset(
    deps=[published_submission],
    group_name="tracking",
    pool=WRITER_POOL,
    kinds={"duckdb", "polars", "csv"},
    description="The weekly overdue lists: one CSV per board (decisions, review reports, "
    "action plans and action points overdue as of the date, with days overdue and any "
    "parallel proceedings), in digests/<date>/ beside the warehouse, for each board's "
    "business manager. Computed by warehouse/tracking.py; the warehouse is only read.",
)
def tracking_digest(
    config: TrackingDigestConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    try:
        as_of = digest_date(config.as_of)
    except ValueError:
        raise dg.Failure(f"as_of {config.as_of!r} is not a date like 2011-06-30") from None
    folder = digest_folder(warehouse.file, as_of)
    with warehouse.get_connection() as con:
        written = write_digest(con, folder, as_of)
    return dg.MaterializeResult(
        metadata={
            "as_of": as_of.isoformat(),
            "folder": dg.MetadataValue.path(str(folder)),
            "boards": written.height,
            "boards_with_overdue": int((written["rows"] > 0).sum()),
            "overdue_rows": int(written["rows"].sum()),
        }
    )

"""Where the warehouse lives, how to open it, and how readers get a consistent snapshot.

DuckDB locks its file per process: while a writer has it open, no other process can open it,
not even read-only. So writers serialise on a lock file, and readers (the dashboard, `scr
tables` during an ingest) read a published snapshot: a finished copy swapped in atomically.
A long-lived reader must not keep plain connections to the snapshot path: DuckDB shares one
database instance per path in a process, which would keep serving the replaced file
(warehouse.access attaches each snapshot version explicitly instead).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl

DEFAULT_WAREHOUSE = Path(__file__).with_name("scr.duckdb")
ENV_WAREHOUSE = "SCR_WAREHOUSE"


class WarehouseBusy(RuntimeError):
    """Another process is writing to the warehouse and did not finish in time."""


def warehouse_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """--warehouse, else $SCR_WAREHOUSE, else warehouse/scr.duckdb."""
    chosen = explicit or os.environ.get(ENV_WAREHOUSE) or DEFAULT_WAREHOUSE
    return Path(chosen).expanduser().resolve()


def snapshot_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.snapshot.duckdb")


def archive_dir(path: Path) -> Path:
    return path.with_name(f"{path.stem}.archive")


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text or "conflicting" in text


def connect(
    path: Path, *, read_only: bool = False, wait_seconds: float = 60.0
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse, waiting while another process holds DuckDB's file lock."""
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if not _is_lock_error(exc) or time.monotonic() > deadline:
                raise WarehouseBusy(
                    f"the warehouse {path} is in use by another process; try again shortly"
                ) from exc
            time.sleep(0.2)


@contextlib.contextmanager
def writer_lock(path: Path, wait_seconds: float = 300.0) -> Iterator[None]:
    """Serialise writers (ingests, builds) across processes on a lock file beside the DB."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_file = path.with_name(f"{path.name}.lock")
    with open(lock_file, "a+") as handle:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise WarehouseBusy(
                        f"another ingest or build holds {lock_file}; try again when it ends"
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def publish_snapshot(con: duckdb.DuckDBPyConnection, path: Path) -> Path:
    """Copy the warehouse into a finished file, then swap it in with one atomic rename."""
    target = snapshot_path(path)
    staging = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    staging.unlink(missing_ok=True)
    con.execute(f"ATTACH '{staging}' AS snapshot_copy")
    try:
        con.execute(
            "COPY FROM DATABASE {} TO snapshot_copy".format(
                con.execute("SELECT current_database()").fetchall()[0][0]
            )
        )
    finally:
        con.execute("DETACH snapshot_copy")
    os.replace(staging, target)
    return target


def snapshot_version(path: Path) -> str:
    """Identifies the published snapshot: readers key their caches on it."""
    target = snapshot_path(path)
    try:
        stat = target.stat()
    except FileNotFoundError:
        return "none"
    return f"{stat.st_mtime_ns}-{stat.st_size}"


def query_frame(
    con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | dict[str, object] | None = None
) -> pl.DataFrame:
    """A query's result as a polars frame (DuckDB 2 has no ``execute(...).pl()``)."""
    return con.sql(sql, params=params).pl()

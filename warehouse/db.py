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
import errno
import fcntl
import os
import re
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl

DEFAULT_WAREHOUSE = Path(__file__).with_name("scr.duckdb")
ENV_WAREHOUSE = "SCR_WAREHOUSE"


class WarehouseError(RuntimeError):
    """The warehouse cannot be used; the message says why, for the user."""


class WarehouseBusy(WarehouseError):
    """Another process is writing to the warehouse and did not finish in time."""


class WarehouseUnavailable(WarehouseError):
    """Not a lock: permission denied, not a DuckDB file, disk full, ..."""


class InjectedFault(RuntimeError):
    """Raised at a fault point when SCR_FAULT_MODE=raise (tests of failure handling)."""


def fault_point(name: str) -> None:
    """Fault injection for the crash tests, at a step SCR_FAULT_POINT names (a comma-separated
    list names several): print "SCR_FAULT_POINT <name> reached" to stderr, then fail if
    SCR_FAULT_MODE=raise, else pause up to SCR_FAULT_SECONDS (default 60; 0 only reports).
    With SCR_FAULT_RELEASE=DIR the pause ends as soon as the file DIR/<name> exists, so a
    test can act at that exact moment (kill, read) and then let the step go on."""
    if name not in os.environ.get("SCR_FAULT_POINT", "").split(","):
        return
    print(f"SCR_FAULT_POINT {name} reached", file=sys.stderr, flush=True)
    if os.environ.get("SCR_FAULT_MODE") == "raise":
        raise InjectedFault(f"fault injected at {name}")
    deadline = time.monotonic() + float(os.environ.get("SCR_FAULT_SECONDS", "60"))
    release = os.environ.get("SCR_FAULT_RELEASE")
    if not release:
        time.sleep(max(0.0, deadline - time.monotonic()))
        return
    while time.monotonic() < deadline and not Path(release, name).exists():
        time.sleep(0.02)


def warehouse_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """--warehouse, else $SCR_WAREHOUSE, else warehouse/scr.duckdb."""
    chosen = explicit or os.environ.get(ENV_WAREHOUSE) or DEFAULT_WAREHOUSE
    return Path(chosen).expanduser().resolve()


def snapshot_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.snapshot.duckdb")


def archive_dir(path: Path) -> Path:
    return path.with_name(f"{path.stem}.archive")


def lock_files(path: Path) -> list[Path]:
    """The files a writer creates beside the warehouse that no output may replace."""
    return [path.with_name(f"{path.name}.lock"), path.with_name(f"{path.name}.wal")]


def _is_lock_error(exc: Exception) -> bool:
    """Only DuckDB's own "another process holds the file" error, nothing else with 'lock'."""
    text = str(exc)
    return "Could not set lock on file" in text or "Conflicting lock is held" in text


def unavailable(
    path: Path, exc: BaseException, what: str = "the warehouse"
) -> WarehouseUnavailable:
    """What went wrong opening ``path``, in words (the OS or DuckDB detail kept at the end)."""
    text = str(exc)
    code = getattr(exc, "errno", None)
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    if code in (errno.EACCES, errno.EPERM) or "Permission denied" in text:
        why = "permission denied: check the owner and mode of the file and its folder"
    elif code == errno.ENOSPC or "No space left on device" in text:
        why = "the disk is full: free some space and run the command again"
    elif code == errno.EROFS or "Read-only file system" in text:
        why = "the file system is read-only"
    elif "not a valid DuckDB database file" in text:
        why = "it is not a DuckDB database file (check --warehouse or SCR_WAREHOUSE)"
    elif "version" in text.lower() and ("older" in text or "newer" in text):
        why = f"it was written by another DuckDB version ({first})"
    else:
        why = first
    return WarehouseUnavailable(f"cannot use {what} {path}: {why}")


def connect(
    path: Path, *, read_only: bool = False, wait_seconds: float = 60.0
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse, waiting while another process holds DuckDB's file lock.

    Only a lock conflict is "in use by another process"; any other failure (permission
    denied, not a DuckDB file, disk full) raises WarehouseUnavailable saying which.
    """
    try:
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise unavailable(path, exc) from exc
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            if not read_only:
                # DuckDB's allocator otherwise keeps what a write freed until the connection
                # closes: after staging a national submission, some 250 MB held through the
                # checks and publishing that follow.
                con.execute("SET allocator_background_threads = true")
            return con
        except duckdb.IOException as exc:
            if not _is_lock_error(exc):
                raise unavailable(path, exc) from exc
            if time.monotonic() > deadline:
                raise WarehouseBusy(
                    f"the warehouse {path} is in use by another process; try again shortly"
                ) from exc
            time.sleep(0.2)
        except duckdb.Error as exc:  # e.g. a serialization error: a file DuckDB cannot read
            raise unavailable(path, exc) from exc


@contextlib.contextmanager
def writer_lock(path: Path, wait_seconds: float = 300.0) -> Iterator[None]:
    """Serialise writers (ingests, builds) across processes on a lock file beside the DB."""
    lock_file = lock_files(path)[0]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(lock_file, "a+")  # closed by the with below
    except OSError as exc:
        raise unavailable(lock_file, exc, "the warehouse's lock file") from exc
    with handle:
        deadline = time.monotonic() + wait_seconds
        waited = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not waited:
                    waited = True
                    fault_point("writer_wait")  # tests: this writer is queued behind another
                if time.monotonic() > deadline:
                    raise WarehouseBusy(
                        f"another ingest or build holds {lock_file}; try again when it ends"
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def quote_identifier(name: str) -> str:
    """A SQL identifier, double-quoted (a database named after a file like o'q.duckdb)."""
    return '"' + name.replace('"', '""') + '"'


STAGING = re.compile(r"\.(\d+)\.tmp(\.wal)?$")


def _remove_orphans(target: Path) -> None:
    """Delete snapshot copies left by writers that died (their PID is gone)."""
    for leftover in target.parent.iterdir():
        found = STAGING.search(leftover.name)
        if not leftover.name.startswith(f"{target.name}.") or not found:
            continue
        if int(found.group(1)) == os.getpid():
            continue
        try:
            os.kill(int(found.group(1)), 0)
        except ProcessLookupError:
            leftover.unlink(missing_ok=True)
        except PermissionError:
            pass  # alive, another user's


def _copy_checkpointed(con: duckdb.DuckDBPyConnection, path: Path, staging: Path) -> bool:
    """Copy the database file byte for byte once a checkpoint has put every committed change
    in it (the write-ahead log empty): far cheaper than COPY FROM DATABASE on a big
    warehouse, which re-encodes every table. The caller holds the writer lock, so nothing
    writes in between. False (nothing copied) when this is not the file at ``path`` or the
    checkpoint cannot complete (e.g. another transaction of this process is open)."""
    rows = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchall()
    if not rows or not rows[0][0] or Path(rows[0][0]).resolve() != Path(path).resolve():
        return False
    try:
        con.execute("CHECKPOINT")
    except duckdb.Error:
        return False
    wal = Path(f"{path}.wal")
    if wal.exists() and wal.stat().st_size:
        return False
    shutil.copyfile(path, staging)
    return True


def publish_snapshot(con: duckdb.DuckDBPyConnection, path: Path) -> Path:
    """Copy the warehouse into a finished file, then swap it in with one atomic rename.

    On any failure the half-written copy is removed: readers keep the previous snapshot
    and nothing is left behind (`scr build --refresh` publishes again).
    """
    target = snapshot_path(path)
    staging = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    leftovers = (staging, staging.with_name(f"{staging.name}.wal"))
    _remove_orphans(target)
    for leftover in leftovers:
        leftover.unlink(missing_ok=True)
    try:
        if not _copy_checkpointed(con, path, staging):
            # The path is a bound parameter, never pasted into the SQL (a folder named o'q).
            con.execute("ATTACH ? AS snapshot_copy", [str(staging)])
            try:
                database = con.execute("SELECT current_database()").fetchall()[0][0]
                con.execute(f"COPY FROM DATABASE {quote_identifier(database)} TO snapshot_copy")
            finally:
                con.execute("DETACH snapshot_copy")
        fault_point("snapshot")
        os.replace(staging, target)
    except BaseException:
        for leftover in leftovers:
            leftover.unlink(missing_ok=True)
        raise
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

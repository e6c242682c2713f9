"""The warehouse as a Dagster resource: dagster-duckdb's DuckDBResource, path from $SCR_WAREHOUSE.

`WarehouseResource` is a `dagster_duckdb.DuckDBResource` whose connections wait while another
process holds DuckDB's file lock (only a real lock conflict is "in use"; other I/O errors are
named) and find the schema in place, an older file upgraded first (``warehouse.migrations``).
The archive sits beside the database file.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from warehouse.db import DEFAULT_WAREHOUSE, ENV_WAREHOUSE, archive_dir, connect, warehouse_path
from warehouse.migrations import upgrade
from warehouse.schema import ensure_schema

# Every asset that writes the warehouse runs in this pool; its limit is 1 in the Dagster
# instance (dagster.yaml: concurrency > pools > default_limit), so runs launched from the
# UI or by the inbox sensor write one at a time. `scr` also holds the warehouse lock file.
WRITER_POOL = "scr_warehouse_writer"
# Warehouse files this process has brought to the latest schema version.
_UPGRADED: set[Path] = set()


class WarehouseResource(DuckDBResource):
    """The DuckDB warehouse file (`database`); connections wait while another process holds
    its lock, and find the schema created."""

    def __init__(self, *, path: str | None = None, **data: Any) -> None:
        # `path=` is the name this resource's field had before it was a DuckDBResource.
        if path is not None:
            data.setdefault("database", path)
        super().__init__(**data)

    @property
    def file(self) -> Path:
        return warehouse_path(self.database)

    @property
    def archive(self) -> Path:
        return archive_dir(self.file)

    @contextlib.contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        # A run launched from the UI or the sensor upgrades an older file as `scr` does:
        # a backup copy first, then the migrations in one transaction (once per process).
        if self.file not in _UPGRADED:
            upgrade(self.file)
            _UPGRADED.add(self.file)
        con = connect(self.file)
        try:
            ensure_schema(con)
            yield con
        finally:
            con.close()


def warehouse_from_env() -> WarehouseResource:
    """The resource Dagster's definitions use: the database is `EnvVar("SCR_WAREHOUSE")`,
    resolved when a run starts (`make dagster` sets it). Without the variable, as `scr`
    does, the default warehouse: warehouse/scr.duckdb."""
    if os.environ.get(ENV_WAREHOUSE):
        return WarehouseResource(database=dg.EnvVar(ENV_WAREHOUSE))
    return WarehouseResource(database=str(DEFAULT_WAREHOUSE))

"""The warehouse as a Dagster resource."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb

from warehouse.db import archive_dir, connect, warehouse_path
from warehouse.schema import ensure_schema


class WarehouseResource(dg.ConfigurableResource):
    """A DuckDB warehouse file; connections wait while another process holds its lock."""

    path: str

    @property
    def file(self) -> Path:
        return warehouse_path(self.path)

    @property
    def archive(self) -> Path:
        return archive_dir(self.file)

    @contextlib.contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        con = connect(self.file)
        try:
            ensure_schema(con)
            yield con
        finally:
            con.close()


def default_warehouse() -> WarehouseResource:
    return WarehouseResource(path=str(warehouse_path()))

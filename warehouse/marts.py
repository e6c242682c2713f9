"""Marts beyond the study tables: data quality. Each is one SQL file in sql/marts/."""

from __future__ import annotations

from pathlib import Path

import duckdb

MART_SQL = Path(__file__).with_name("sql") / "marts"
DATA_QUALITY_TABLE = "mart_data_quality"


def data_quality_sql() -> str:
    return (MART_SQL / "data_quality.sql").read_text(encoding="utf-8")


def materialise_data_quality(con: duckdb.DuckDBPyConnection) -> int:
    """(Re)write mart_data_quality in one transaction; returns its row count."""
    con.begin()
    try:
        con.execute(f"CREATE OR REPLACE TABLE {DATA_QUALITY_TABLE} AS {data_quality_sql()}")
        rows = con.execute(f"SELECT count(*) FROM {DATA_QUALITY_TABLE}").fetchall()[0][0]
        con.commit()
    except Exception:
        con.rollback()
        raise
    return int(rows)

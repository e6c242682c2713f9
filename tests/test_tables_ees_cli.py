"""`scr tables --format ees`: the EES-style data and metadata pair, named with its audience."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipelines.cli import main


def test_ees_pair_from_the_cli(replication_warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "tables.csv"
    args = ["--warehouse", str(replication_warehouse), "tables", "--period", "2001-03"]
    assert main([*args, "--format", "ees", "--out", str(out), "--audience", "public"]) == 0
    data = pl.read_csv(out, infer_schema=False)
    meta = pl.read_csv(tmp_path / "tables.meta.csv", infer_schema=False)
    assert set(meta["col_name"]) <= set(data.columns)
    assert data["audience"].str.starts_with("public").all()
    assert main([*args, "--format", "ees"]) == 2  # a file is needed

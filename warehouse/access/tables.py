"""The study's Tables 2-20 for a selection, their downloads (the files ``scr tables``
writes) and the published 2001-03 figures they are read beside."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from warehouse.access.catalog import CatalogReads
from warehouse.access.connection import reads
from warehouse.access.selection import Selection


class StudyTableReads(CatalogReads):
    """Tables 2-20 and their CSV and Excel files."""

    @reads
    def study_tables(self, sel: Selection) -> dict[str, Any]:
        """Tables 2-20 as ``scr tables`` computes them (the tables JSON as a dict).

        A national principal, or a board in scope: the tables in full. England and regions
        for anyone else: under disclosure control (``warehouse.disclosure.
        suppress_study_tables``, with the principal's own part of each count known to them):
        hidden counts, percents and n are ``c`` and ``result["disclosure"]`` says so.
        """
        if sel.board is not None or self.principal.sees_everything:
            return self._study_tables(sel)

        def control(full: dict[str, Any], known: dict[str, Any]) -> dict[str, Any]:
            from warehouse.disclosure import suppress_study_tables

            own = None if self.principal.is_public else known
            return suppress_study_tables(full, self.threshold, known=own)

        return self.controlled(lambda: self._study_tables(sel), control)

    def _study_tables(self, sel: Selection) -> dict[str, Any]:
        """The tables on the current connection. England-wide selections read the long form
        the build materialised in ``mart_study_tables`` (the same SQL, run when the snapshot
        was made); any other selection, or a copy without the mart, computes them now."""
        from warehouse.study_tables import (
            LONG_SCHEMA,
            MART_TABLE,
            TABLES,
            coding_frame_version,
            compute_study_tables,
            result_from_long,
        )

        params = sel.params()
        with self.connect() as con:
            if params["region"] is None and params["board"] is None:
                if self.has_table(con, MART_TABLE):
                    long = con.sql(
                        f"SELECT * FROM {MART_TABLE} WHERE period IS NOT DISTINCT FROM $period",
                        params={"period": params["period"]},
                    ).pl()
                    # A scoped principal's copy has an empty mart: computed from its rows.
                    if long.height:
                        order = {t.id: i for i, t in enumerate(TABLES)}
                        long = (
                            long.with_columns(
                                pl.col("table_id").replace_strict(order).alias("_order")
                            )
                            .sort("_order", "section", "row_order", "column_order", nulls_last=True)
                            .select(pl.col(k).cast(v) for k, v in LONG_SCHEMA.items())
                        )
                        return result_from_long(long, params, coding_frame_version(con))
            return compute_study_tables(con, params["period"], params["region"], params["board"])

    @reads
    def tables_csv(self, sel: Selection) -> bytes:
        """The selection's tables as the CSV ``scr tables --format csv`` writes."""
        return tables_csv_bytes(self.study_tables(sel))

    @reads
    def tables_xlsx(self, sel: Selection) -> bytes:
        """The selection's tables as the workbook ``scr tables --format xlsx`` writes."""
        return tables_xlsx_bytes(self.study_tables(sel))


def tables_json(result: dict[str, Any]) -> str:
    """The tables JSON text, as ``scr tables`` prints it (without the final newline)."""
    from warehouse.exports import tables_json as to_json

    return to_json(result)


def tables_csv_bytes(result: dict[str, Any]) -> bytes:
    """The CSV that ``scr tables --format csv --out FILE`` writes, as bytes."""
    from warehouse.exports import write_tables_csv

    return _via_file(result, write_tables_csv, ".csv")


def tables_xlsx_bytes(result: dict[str, Any], audience: str | None = None) -> bytes:
    """The workbook that ``scr tables --format xlsx --out FILE`` writes, as bytes
    (``audience``: who it is for, named in each sheet's selection line)."""
    from warehouse.exports import write_tables_xlsx

    def write(res: dict[str, Any], path: Any) -> Path:
        return write_tables_xlsx(res, path, audience=audience)

    return _via_file(result, write, ".xlsx")


def tables_ees_zip_bytes(
    result: dict[str, Any],
    stem: str = "scr-tables",
    *,
    audience: str | None = None,
    board_name: str | None = None,
) -> bytes:
    """The EES-style pair (tidy data CSV and its metadata CSV, with the published 2001-03
    comparison and the selection) in one zip: ``warehouse.exports.tables_ees_zip_bytes``."""
    from warehouse.exports import tables_ees_zip_bytes as ees_zip

    return ees_zip(result, stem, audience=audience, board_name=board_name)


def _via_file(result: dict[str, Any], writer: Callable[[Any, Any], Any], suffix: str) -> bytes:
    fd, name = tempfile.mkstemp(suffix=suffix)
    os.close(fd)
    try:
        writer(result, name)
        return Path(name).read_bytes()
    finally:
        Path(name).unlink(missing_ok=True)


def published_tables() -> pl.DataFrame:
    """The published 2001-03 figures (Appendix 2) in long form, one row per table, section,
    row and (crosstab) column: row_label, published_n, published_count, published_percent,
    and the 2002 report's percentage (``comparison_2002``; for Table 16 a count) where
    printed (``warehouse.exports.published_long``)."""
    from warehouse.exports import published_long

    return published_long()


def comparison_2002_notes() -> dict[str, str]:
    """Notes printed with the 2002 comparison, by table id."""
    from warehouse.replication import published

    return {
        table_id: values["note"]
        for table_id, values in published().get("comparison_2002", {}).items()
        if isinstance(values, dict) and "note" in values
    }

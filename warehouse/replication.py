"""Replication of the study's published Appendix 2 (2001-03) from the warehouse.

Compares every published count, percentage and n (``appendix2_published.json``, the
project's transcription of the printed tables) with the tables computed for period 2001-03.
A count or n that differs is a failure. A printed percentage that differs from the
round-half-up rule is a failure unless the study's errata list explains it (the printed
figure is named in an erratum of that table); a percentage the study did not print is not
compared.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from warehouse.study_tables import TABLES, compute_study_tables, long_from_result

PUBLISHED_PATH = Path(__file__).with_name("appendix2_published.json")
KEY = ["table_id", "section", "row_code", "column_code"]
REPLICATION_COLUMNS = (
    "table_id",
    "section",
    "row_code",
    "row_label",
    "column_code",
    "published_n",
    "computed_n",
    "published_count",
    "computed_count",
    "published_percent",
    "computed_percent",
    "n_match",
    "count_match",
    "percent_status",
    "match",
)

# Status of a published percentage against the computed one.
PERCENT_MATCH = "match"
PERCENT_ERRATUM = "erratum"
PERCENT_DIFFERS = "differs"
PERCENT_NOT_PRINTED = "not printed"
PERCENT_COUNTS_ONLY = "counts only"
PERCENT_OK = (PERCENT_MATCH, PERCENT_ERRATUM, PERCENT_NOT_PRINTED, PERCENT_COUNTS_ONLY)


@cache
def published() -> dict[str, Any]:
    """The published tables, as transcribed (with ``percent_published`` and ``errata``)."""
    return json.loads(PUBLISHED_PATH.read_text(encoding="utf-8"))


def _keyed(long: pl.DataFrame, side: str) -> pl.DataFrame:
    # A crosstab cell is keyed by its column; a simple row has none, so use "" to join.
    return long.select(
        "table_id",
        "section",
        "row_code",
        pl.col("column_code").fill_null(""),
        pl.col("row_label").alias(f"{side}_label"),
        pl.col("count").alias(f"{side}_count"),
        pl.col("percent").alias(f"{side}_percent"),
        pl.int_range(pl.len()).alias(f"{side}_position"),
    )


def _percent_status(
    table_id: str, published_pct: int | None, computed_pct: int | None, errata: list[str]
) -> str:
    if published_pct is None:
        return PERCENT_COUNTS_ONLY if computed_pct is None else PERCENT_NOT_PRINTED
    if published_pct == computed_pct:
        return PERCENT_MATCH
    # Explained when an erratum of this table names the printed figure, e.g. "printed 23%".
    pattern = re.compile(rf"(?<!\d){published_pct}%")
    for erratum in errata:
        if erratum.startswith(f"{table_id}:") and pattern.search(erratum):
            return PERCENT_ERRATUM
    return PERCENT_DIFFERS


def _n_by_table(result: dict[str, Any], side: str) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "table_id": [t["id"] for t in result["tables"]],
            f"{side}_n": [t["n"] for t in result["tables"]],
        },
        schema={"table_id": pl.String(), f"{side}_n": pl.Int64()},
    )


def replication_rows(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """One row per published table row or crosstab cell (and per computed row the study
    did not print), published against computed, with match flags."""
    pub = published()
    result = compute_study_tables(con, period=pub["period"])
    ids = [t["id"] for t in pub["tables"]]
    pub_cells = _keyed(long_from_result(pub, percent_key="percent_published"), "published")
    comp_cells = _keyed(long_from_result(result).filter(pl.col("table_id").is_in(ids)), "computed")
    order = pl.DataFrame(
        {"table_id": [t.id for t in TABLES], "table_order": list(range(len(TABLES)))}
    )
    joined = (
        pub_cells.join(comp_cells, on=KEY, how="full", coalesce=True)
        .join(_n_by_table(pub, "published"), on="table_id", how="left")
        .join(_n_by_table(result, "computed"), on="table_id", how="left")
        .join(order, on="table_id", how="left")
        .sort("table_order", "published_position", "computed_position", nulls_last=True)
    )
    errata: list[str] = list(pub.get("errata", []))
    statuses = [
        _percent_status(table_id, pub_pct, comp_pct, errata)
        for table_id, pub_pct, comp_pct in zip(
            joined["table_id"],
            joined["published_percent"],
            joined["computed_percent"],
            strict=True,
        )
    ]
    # An absent row is a zero count: the study prints no row for a category nobody has.
    count_match = pl.col("published_count").fill_null(0) == pl.col("computed_count").fill_null(0)
    n_match = pl.col("published_n") == pl.col("computed_n")
    percent_ok = pl.col("percent_status").is_in(PERCENT_OK)
    return joined.with_columns(
        row_label=pl.coalesce("published_label", "computed_label"),
        column_code=pl.when(pl.col("column_code") != "").then(pl.col("column_code")),
        percent_status=pl.Series(statuses, dtype=pl.String()),
    ).select(
        *REPLICATION_COLUMNS[:-4],
        n_match=n_match,
        count_match=count_match,
        percent_status=pl.col("percent_status"),
        match=n_match & count_match & percent_ok,
    )


def _fmt(value: int | None, suffix: str = "") -> str:
    return "-" if value is None else f"{value}{suffix}"


def _marker(row: dict[str, Any]) -> str:
    if not row["count_match"]:
        return "<< COUNT DIFFERS"
    if row["percent_status"] == PERCENT_DIFFERS:
        return "<< PERCENT DIFFERS"
    if row["percent_status"] == PERCENT_ERRATUM:
        return "printed figure, see errata"
    return ""


def summary_line(rows: pl.DataFrame) -> str:
    """One line: how many published counts were reproduced, and the percentage errata."""
    published_counts = rows.filter(pl.col("published_count").is_not_null())
    total = published_counts.height
    failed_counts = published_counts.filter(~pl.col("count_match")).height
    unpublished = rows.filter(pl.col("published_count").is_null() & ~pl.col("count_match")).height
    n_failed = rows.filter(~pl.col("n_match")).select("table_id").n_unique()
    errata = rows.filter(pl.col("percent_status") == PERCENT_ERRATUM).height
    # A percentage that differs because its count does is not counted twice.
    differs = rows.filter(
        (pl.col("percent_status") == PERCENT_DIFFERS) & pl.col("count_match")
    ).height
    parts = [
        f"all {total} published counts reproduced"
        if failed_counts == 0
        else f"{failed_counts} of {total} published counts not reproduced"
    ]
    if n_failed:
        parts.append(f"n differs in {n_failed} tables")
    if unpublished:
        parts.append(f"{unpublished} computed rows with counts the study did not print")
    if differs:
        parts.append(f"{differs} printed percentages differ without an erratum")
    if errata:
        parts.append(f"{errata} printed percentages differ from round-half-up, see errata")
    return "; ".join(parts)


def replication_report(con: duckdb.DuckDBPyConnection) -> str:
    """Side-by-side text: per table, published against computed counts and percentages,
    then the study's printing errata and a one-line summary."""
    rows = replication_rows(con)
    pub = published()
    titles = {t["id"]: t["title"] for t in pub["tables"]}
    lines = [f"Replication of {pub['source']}", f"Period {pub['period']}, national.", ""]
    headers = ("code", "label", "published", "computed", "pub %", "comp %")
    for (table_id,), part in rows.group_by("table_id", maintain_order=True):
        first = part.row(0, named=True)
        n_note = "" if first["n_match"] else "  << N DIFFERS"
        lines.append(
            f"{table_id}: {titles.get(str(table_id), '')} "
            f"(n published {_fmt(first['published_n'])}, computed {_fmt(first['computed_n'])})"
            f"{n_note}"
        )
        # A crosstab row's label is shown once, on its first cell.
        previous = part["row_code"].shift(1).to_list()
        cells = [
            (
                row["row_code"] + (f"/{row['column_code']}" if row["column_code"] else ""),
                "" if row["row_code"] == before else (row["row_label"] or "")[:44],
                _fmt(row["published_count"]),
                _fmt(row["computed_count"]),
                _fmt(row["published_percent"], "%"),
                _fmt(row["computed_percent"], "%"),
                _marker(row),
            )
            for row, before in zip(part.iter_rows(named=True), previous, strict=True)
        ]
        widths = [max(len(str(c[i])) for c in [*cells, headers]) for i in range(6)]
        for cell in [headers, *cells]:
            text = "  ".join(
                str(v).ljust(w) if i < 2 else str(v).rjust(w)
                for i, (v, w) in enumerate(zip(cell[:6], widths, strict=True))
            )
            marker = cell[6] if len(cell) > 6 else ""
            lines.append(f"  {text}  {marker}".rstrip())
        lines.append("")
    lines.append("Printing errata in the published tables:")
    lines += [f"  - {erratum}" for erratum in pub.get("errata", [])]
    lines += ["", summary_line(rows)]
    return "\n".join(lines) + "\n"

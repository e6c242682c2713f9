"""Shapes the study tables JSON into display frames laid out like the study's Appendix 2,
with the published 2001-03 figures and the 2002 comparison beside the computed ones."""

from __future__ import annotations

from typing import Any

import polars as pl

from warehouse.frame import frame
from warehouse.study_tables import TABLES_BY_ID

MISSING = "Missing"


def response_labels(table: dict[str, Any]) -> dict[str, str]:
    """Labels of a crosstab's response codes, from the code list of its item columns."""
    cf = frame()
    labels: dict[str, str] = {"missing": MISSING}
    items = {row["code"] for row in table.get("rows", [])}
    for sheet in cf.sheets.values():
        for column in sheet.columns:
            if column.name in items and column.codes:
                labels = cf.labels(column.codes) | labels
    return {c: labels.get(c, c.replace("_", " ").capitalize()) for c in table.get("columns", [])}


def _published_for(published: pl.DataFrame, table_id: str) -> pl.DataFrame:
    return published.filter(pl.col("table_id") == table_id)


def simple_frame(table: dict[str, Any], published: pl.DataFrame) -> pl.DataFrame:
    """Rows, a Total line, then the summaries (e.g. "11 and over"), each with the computed
    number and percentage and the published ones beside."""
    meta = TABLES_BY_ID[table["id"]]
    pub = _published_for(published, table["id"]).filter(pl.col("column_code") == "")
    by_code = {(r["section"], r["row_code"]): r for r in pub.iter_rows(named=True)}
    pub_n = pub["published_n"].drop_nulls()
    records = []

    def add(section: str, row: dict[str, Any]) -> None:
        p = by_code.get((section, row["code"]), {})
        records.append(
            {
                meta.row_header: row["label"],
                "Number": row.get("count"),
                "%": row.get("percent"),
                "Published 2001-03": p.get("published_count"),
                "Published %": p.get("published_percent"),
                "2002 report %": p.get("comparison_2002"),
            }
        )

    for row in table["rows"]:
        add("rows", row)
    records.append(
        {
            meta.row_header: "Total",
            "Number": table["n"],
            "%": None,
            "Published 2001-03": int(pub_n[0]) if pub_n.len() else None,
            "Published %": None,
            "2002 report %": None,
        }
    )
    for row in table.get("summaries", []):
        add("summaries", row)
    schema = {
        meta.row_header: pl.String(),
        "Number": pl.Int64(),
        "%": pl.Int64(),
        "Published 2001-03": pl.Int64(),
        "Published %": pl.Int64(),
        "2002 report %": pl.Int64(),
    }
    out = pl.DataFrame(records, schema=schema)
    if not meta.percent:
        out = out.drop("%", "Published %")
    if out["2002 report %"].null_count() == out.height:
        out = out.drop("2002 report %")
    return out


def crosstab_frame(table: dict[str, Any]) -> pl.DataFrame:
    """Items as rows, responses as columns (labelled), and each item's total."""
    meta = TABLES_BY_ID[table["id"]]
    labels = response_labels(table)
    records = []
    for row in table["rows"]:
        record: dict[str, Any] = {meta.row_header: row["label"]}
        for code in table["columns"]:
            record[labels[code]] = row["counts"].get(code)
        record["Total"] = sum(v for v in row["counts"].values() if v is not None)
        records.append(record)
    schema = {meta.row_header: pl.String(), **{labels[c]: pl.Int64() for c in table["columns"]},
              "Total": pl.Int64()}
    return pl.DataFrame(records, schema=schema)


def published_crosstab(table: dict[str, Any], published: pl.DataFrame, key: str) -> pl.DataFrame:
    """The published crosstab (``key`` = published_count) or the 2002 comparison counts
    (``key`` = comparison_2002), with items labelled and ordered as the computed table."""
    meta = TABLES_BY_ID[table["id"]]
    pub = _published_for(published, table["id"]).filter(
        (pl.col("column_code") != "") & pl.col(key).is_not_null()
    )
    if pub.is_empty():
        return pl.DataFrame()
    item_labels = {row["code"]: row["label"] for row in table["rows"]}
    columns = [c for c in table["columns"] if c in set(pub["column_code"])]
    columns += sorted(set(pub["column_code"]) - set(columns))
    labels = response_labels({"rows": table["rows"], "columns": columns})
    records = []
    for code in [r["code"] for r in table["rows"]]:
        cells = pub.filter(pl.col("row_code") == code)
        if cells.is_empty():
            continue
        counts = dict(zip(cells["column_code"], cells[key], strict=True))
        record: dict[str, Any] = {meta.row_header: item_labels.get(code, code)}
        for c in columns:
            record[labels[c]] = counts.get(c)
        records.append(record)
    schema = {meta.row_header: pl.String(), **{labels[c]: pl.Int64() for c in columns}}
    return pl.DataFrame(records, schema=schema)


def unmatched_comparisons(table: dict[str, Any], published: pl.DataFrame) -> list[str]:
    """2002 figures printed against bands that are not rows of the computed table."""
    codes = {r["code"] for r in table["rows"]} | {r["code"] for r in table.get("summaries", [])}
    pub = _published_for(published, table["id"]).filter(
        (pl.col("column_code") == "") & pl.col("comparison_2002").is_not_null()
    )
    return [
        f"{row['row_code'].replace('_', ' ')}: {row['comparison_2002']}%"
        for row in pub.iter_rows(named=True)
        if row["row_code"] not in codes
    ]

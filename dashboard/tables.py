"""Shapes the study tables JSON into display frames laid out like the study's Appendix 2,
with the published 2001-03 figures and the 2002 comparison beside the computed ones.

Under disclosure control a hidden count, percentage or n is the symbol ``c`` in the JSON: the
columns holding one are shown as text, so ``c`` appears where the figure would (never a
blank that reads as zero or as missing)."""

from __future__ import annotations

from typing import Any

import polars as pl

from warehouse.disclosure import SYMBOL
from warehouse.frame import frame
from warehouse.study_tables import TABLES_BY_ID

MISSING = "Missing"


def _figures(out: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Whole numbers in ``columns``, or text when any of them holds ``c`` (hidden)."""
    return out.with_columns(
        pl.col(c).cast(pl.Int64) if out[c].dtype == pl.String and not _has_symbol(out[c]) else c
        for c in columns
    )


def _has_symbol(series: pl.Series) -> bool:
    return bool((series == SYMBOL).any())


def has_hidden(table: dict[str, Any]) -> bool:
    """Whether any figure of a study table is hidden (shown as ``c``)."""
    if table.get("n") == SYMBOL:
        return True
    for section in ("rows", "summaries"):
        for row in table.get(section, []):
            values = [row.get("count"), row.get("percent"), *row.get("counts", {}).values()]
            if SYMBOL in values:
                return True
    return False


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


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
                "Number": _text(row.get("count")),
                "%": _text(row.get("percent")),
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
            "Number": _text(table["n"]),
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
        "Number": pl.String(),
        "%": pl.String(),
        "Published 2001-03": pl.Int64(),
        "Published %": pl.Int64(),
        "2002 report %": pl.Int64(),
    }
    out = _figures(pl.DataFrame(records, schema=schema), ["Number", "%"])
    if not meta.percent:
        out = out.drop("%", "Published %")
    if out["2002 report %"].null_count() == out.height:
        out = out.drop("2002 report %")
    return out


def crosstab_frame(table: dict[str, Any], published: pl.DataFrame) -> pl.DataFrame:
    """Items as rows, responses as columns (labelled), each item's total, and beside them the
    published 2001-03 counts and the 2002 report's, in the same response order ("28 / 8 / 4")."""
    meta = TABLES_BY_ID[table["id"]]
    labels = response_labels(table)
    pub = _published_for(published, table["id"]).filter(pl.col("column_code") != "")

    def beside(item: str, key: str, codes: list[str]) -> str | None:
        cells = pub.filter((pl.col("row_code") == item) & pl.col(key).is_not_null())
        counts = dict(zip(cells["column_code"], cells[key], strict=True))
        if not counts:
            return None
        return " / ".join(str(counts.get(c, 0)) for c in codes)

    pub_codes = [c for c in table["columns"] if c in set(pub["column_code"])]
    comp_codes = [
        c
        for c in table["columns"]
        if c in set(pub.filter(pl.col("comparison_2002").is_not_null())["column_code"])
    ]
    records = []
    for row in table["rows"]:
        record: dict[str, Any] = {meta.row_header: row["label"]}
        for code in table["columns"]:
            record[labels[code]] = _text(row["counts"].get(code))
        counts = list(row["counts"].values())
        # A row with a hidden cell keeps its total hidden too: total minus the rest would
        # give the cell away.
        record["Total"] = (
            SYMBOL if SYMBOL in counts else str(sum(v for v in counts if v is not None))
        )
        record["Published 2001-03"] = beside(row["code"], "published_count", pub_codes)
        record["2002 report"] = beside(row["code"], "comparison_2002", comp_codes)
        records.append(record)
    schema = {
        meta.row_header: pl.String(),
        **{labels[c]: pl.String() for c in table["columns"]},
        "Total": pl.String(),
        "Published 2001-03": pl.String(),
        "2002 report": pl.String(),
    }
    out = _figures(
        pl.DataFrame(records, schema=schema), [*(labels[c] for c in table["columns"]), "Total"]
    )
    for column in ("Published 2001-03", "2002 report"):
        if out[column].null_count() == out.height:
            out = out.drop(column)
    return out


def crosstab_note(table: dict[str, Any], published: pl.DataFrame) -> str:
    """How to read the published columns beside a crosstab."""
    labels = response_labels(table)
    pub = _published_for(published, table["id"]).filter(pl.col("column_code") != "")
    pub_codes = [c for c in table["columns"] if c in set(pub["column_code"])]
    notes = [f"*Published 2001-03* gives {' / '.join(labels[c] for c in pub_codes)}"]
    comp = pub.filter(pl.col("comparison_2002").is_not_null())
    if comp.height:
        codes = [c for c in table["columns"] if c in set(comp["column_code"])]
        notes.append(f"*2002 report* {' / '.join(labels[c] for c in codes)} (counts as printed)")
    return "; ".join(notes) + "."


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

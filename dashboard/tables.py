"""Shapes the study tables JSON into display frames laid out like the study's Appendix 2,
with the published 2001-03 figures and the 2002 comparison beside the computed ones.

Under disclosure control a hidden count, percentage or n is the symbol ``c`` in the JSON: the
columns holding one are shown as text, so ``c`` appears where the figure would (never a
blank that reads as zero or as missing)."""

from __future__ import annotations

from typing import Any

import polars as pl

from dashboard import ui
from warehouse.disclosure import SYMBOL
from warehouse.exports import band_label
from warehouse.frame import frame
from warehouse.numbers import percent_of_expr
from warehouse.study_tables import TABLES_BY_ID

MISSING = "Missing"
DASH = "–"  # no figure (not printed)
# The study tables' units (their SQL's ``-- unit:``), singular: "n = 1 review".
_SINGULAR = {"children": "child", "reviews": "review", "recommendations": "recommendation"}


def n_text(table: dict[str, Any]) -> str:
    """A table's base as people read it: "n = 45 children", "n = 1 review", "n = c reviews"
    (hidden by disclosure control)."""
    n, unit = table["n"], table["unit"]
    count = n if isinstance(n, int) else None
    return "n = " + ui.plural(count, _SINGULAR.get(unit, unit), unit)


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
    published_n = int(pub_n[0]) if pub_n.len() else None
    # The Total line is the whole: 100% of n (a hidden n is still a whole), none of no n.
    has_base = table["n"] == SYMBOL or (isinstance(table["n"], int) and table["n"] > 0)
    records.append(
        {
            meta.row_header: "Total",
            "Number": _text(table["n"]),
            "%": "100" if has_base else None,
            "Published 2001-03": published_n,
            "Published %": 100 if published_n else None,
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
    if published_n:
        # The study prints a dash for a 0: a published 0 is 0% of its n (half up, as all).
        published = pl.col("Published 2001-03")
        out = out.with_columns(
            pl.when(pl.col("Published %").is_null() & published.is_not_null())
            .then(percent_of_expr(published, pl.lit(published_n)))
            .otherwise(pl.col("Published %"))
            .alias("Published %")
        )
    if not meta.percent:
        out = out.drop("%", "Published %")
    if out["2002 report %"].null_count() == out.height:
        out = out.drop("2002 report %")
    return out


def crosstab_frame(table: dict[str, Any], published: pl.DataFrame | None = None) -> pl.DataFrame:
    """Items as rows (their question labels), responses as columns (labelled) and each
    item's total. The published figures are ``published_crosstab_frame``, shown beside.
    (``published`` is accepted for callers of the earlier layout, and unused.)"""
    meta = TABLES_BY_ID[table["id"]]
    labels = response_labels(table)
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
        records.append(record)
    schema = {
        meta.row_header: pl.String(),
        **{labels[c]: pl.String() for c in table["columns"]},
        "Total": pl.String(),
    }
    return _figures(
        pl.DataFrame(records, schema=schema), [*(labels[c] for c in table["columns"]), "Total"]
    )


def _count_and_percent(count: pl.Expr, total: pl.Expr) -> pl.Expr:
    """ "28 (70%)": a count with its percent of ``total`` (half up, warehouse.numbers)."""
    # A no-break space: "40 (100%)" stays on one line in a narrow column.
    return pl.format("{}\u00a0({}%)", count, percent_of_expr(count, total))


def published_crosstab_frame(table: dict[str, Any], published: pl.DataFrame) -> pl.DataFrame:
    """The published 2001-03 grid of a crosstab (Tables 16 and 20): items as rows by their
    question labels, the published responses as columns, each cell "count (percent of the
    published n)" and a Total of 100%; then, where the 2002 report printed counts (Table 16),
    its columns ("2002 report: Yes") as "count (percent of the item's printed total)".
    Empty when nothing was published for the table."""
    meta = TABLES_BY_ID[table["id"]]
    labels = published_labels(table, published)
    pub = _published_for(published, table["id"]).filter(pl.col("column_code") != "")
    if pub.is_empty():
        return pl.DataFrame()
    item_labels = {row["code"]: row["label"] for row in table["rows"]}
    items = pub.select("row_code").unique(maintain_order=True)
    cells = pub.filter(pl.col("published_count").is_not_null()).with_columns(
        _count_and_percent(pl.col("published_count"), pl.col("published_n")).alias("cell"),
        pl.col("column_code").replace_strict(labels, default=None).alias("column"),
    )
    grid = cells.pivot("column", index="row_code", values="cell", aggregate_function="first")
    totals = cells.group_by("row_code").agg(
        _count_and_percent(pl.col("published_count").sum(), pl.col("published_n").first()).alias(
            "Total"
        )
    )
    out = items.join(grid, on="row_code", how="left").join(totals, on="row_code", how="left")
    earlier = pub.filter(pl.col("comparison_2002").is_not_null())
    if earlier.height:
        # Printed as counts of the 2002 sample: each as a percent of the item's printed total.
        comp = earlier.with_columns(
            _count_and_percent(
                pl.col("comparison_2002"), pl.col("comparison_2002").sum().over("row_code")
            ).alias("cell"),
            pl.format(
                "2002 report: {}", pl.col("column_code").replace_strict(labels, default=None)
            ).alias("column"),
        ).pivot("column", index="row_code", values="cell", aggregate_function="first")
        out = out.join(comp, on="row_code", how="left")
    return out.with_columns(
        pl.col("row_code")
        .replace_strict(item_labels, default=pl.col("row_code"))
        .alias(meta.row_header)
    ).select(meta.row_header, pl.exclude("row_code", meta.row_header))


def published_labels(table: dict[str, Any], published: pl.DataFrame) -> dict[str, str]:
    """Labels of the response codes the published table uses (which may include a column,
    such as Missing, that the selection's table has not)."""
    codes = _published_for(published, table["id"]).filter(pl.col("column_code") != "")
    wanted = [*table.get("columns", []), *codes["column_code"].unique(maintain_order=True)]
    return response_labels({**table, "columns": list(dict.fromkeys(wanted))})


def crosstab_note(table: dict[str, Any], published: pl.DataFrame) -> str:
    """How to read the published grid under a crosstab."""
    pub = _published_for(published, table["id"]).filter(pl.col("column_code") != "")
    if pub.is_empty():
        return ""
    n = pub["published_n"].drop_nulls()
    notes = [
        f"*Published 2001-03*: England 2001-03, number of the study's {n[0]:,} {table['unit']} "
        "(percentage of them, rounded half up)"
        if n.len()
        else "*Published 2001-03*: England 2001-03"
    ]
    if pub["comparison_2002"].is_not_null().any():
        notes.append(
            "*2002 report*: counts as printed there (percentage of the item's printed total)"
        )
    return "; ".join(notes) + "."


def unmatched_comparisons(table: dict[str, Any], published: pl.DataFrame) -> list[str]:
    """2002 figures printed against bands that are not rows of the computed table."""
    codes = {r["code"] for r in table["rows"]} | {r["code"] for r in table.get("summaries", [])}
    pub = _published_for(published, table["id"]).filter(
        (pl.col("column_code") == "") & pl.col("comparison_2002").is_not_null()
    )
    return [
        f"{band_label(row['row_code'])}: {row['comparison_2002']}%"
        for row in pub.iter_rows(named=True)
        if row["row_code"] not in codes
    ]

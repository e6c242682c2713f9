"""The study's Tables 2-20 (Appendix 2 of the 2001-03 study), for any selection.

Each table is defined once, as one SQL file in ``sql/study/``. A file reads only the
selection CTEs ``sel_reviews``, ``sel_children`` and ``sel_recommendations`` (prepended
here, filtered by the DuckDB named parameters ``$period``, ``$region``, ``$board``) and the
``ref_codes``/``ref_columns`` tables, and returns the uniform long shape
``section, row_order, row_code, row_label, column_order, column_code, count, n``.
Its header comments (``-- id:``, ``-- title:``, ``-- unit:``, ``-- row_header:``,
``-- kind: crosstab``, ``-- percent: no``, ``-- order: count``) are the table's metadata.
``-- identity: total = part + part`` lines (any number) declare what a reader can add up
beyond "the rows add up to n", for disclosure control: a summary row and the rows it sums
(``2_and_under = under_1 + 1_2``), or a cell equal to another table's
(``n = t02_age.under_1``); a term is ``n``, a row code of the table, or ``table_id.term``.
Tables of one shape share its SQL: ``-- counts: sheet.column`` (one coded column, Tables
3-10 and 14) and ``-- grid: prefix`` (a grid of reviews questions, Tables 16 and 20) name the
shared template in ``sql/study/*.sql.template`` and what it counts.

All counting happens in SQL; this module only adds percentages (integer round half up),
orders the rows, and shapes the tables JSON of ``shared/coding-frame/tabulations.md``.
Everything is read-only (CTEs, no temp objects), so it works on a read-only connection.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from warehouse.db import fault_point
from warehouse.frame import frame

SQL_DIR = Path(__file__).with_name("sql") / "study"
MART_TABLE = "mart_study_tables"

# The selection every table reads. Children and recommendations follow their review, so a
# region or board filter applies to them through the review.
SELECTION_SQL = """\
WITH sel_reviews AS (
    SELECT * FROM reviews
    WHERE ($period IS NULL OR period = $period)
        AND ($region IS NULL OR region = $region)
        AND ($board IS NULL OR board_code = $board)
),
sel_children AS (
    SELECT * FROM children WHERE review_id IN (SELECT review_id FROM sel_reviews)
),
sel_recommendations AS (
    SELECT * FROM recommendations WHERE review_id IN (SELECT review_id FROM sel_reviews)
)"""

# The long form: one row per table, section row and (crosstab) column, in display order.
LONG_SCHEMA: dict[str, pl.DataType] = {
    "table_id": pl.String(),
    "table_title": pl.String(),
    "unit": pl.String(),
    "n": pl.Int64(),
    "section": pl.String(),
    "row_order": pl.Int64(),
    "row_code": pl.String(),
    "row_label": pl.String(),
    "column_order": pl.Int64(),
    "column_code": pl.String(),
    "count": pl.Int64(),
    "percent": pl.Int64(),
}

# The figures disclosure control may replace by "c": text in a controlled long form.
_FIGURES = ("n", "count", "percent")
SUPPRESSED_LONG_SCHEMA: dict[str, pl.DataType] = {
    name: pl.String() if name in _FIGURES else dtype for name, dtype in LONG_SCHEMA.items()
}

_TABLE_ID = re.compile(r"t[0-9]{2}[a-z]?_[a-z0-9_]+")
_HEADER = re.compile(
    r"^--\s*(id|title|unit|row_header|kind|percent|order|counts|grid|identity):\s*(.+?)\s*$"
)
_IDENTITY_TERM = re.compile(r"(t[0-9]{2}[a-z]?_[a-z0-9_]+\.)?[a-z0-9_]+")
# Tables that count one coded column share this SQL; their file says which column.
CODE_LIST_TEMPLATE = SQL_DIR / "code_list_table.sql.template"
# Tables 16 and 20 cross-tabulate a group of reviews columns; their file names the prefix.
QUESTION_GRID_TEMPLATE = SQL_DIR / "question_grid.sql.template"


@dataclass(frozen=True)
class Identity:
    """``total == sum(parts)``; terms as written in the header (``n``, ``row_code`` or
    ``table_id.row_code``)."""

    total: str
    parts: tuple[str, ...]


@dataclass(frozen=True)
class StudyTable:
    id: str
    title: str
    unit: str
    row_header: str
    kind: str  # "simple" or "crosstab"
    percent: bool
    sql: str
    path: Path
    identities: tuple[Identity, ...] = ()
    ordered_by_count: bool = False  # rows sorted by count (t18), so order says something

    @property
    def number(self) -> str:
        """The study's table number, e.g. "2" for t02_age, "2b" for t02b_age_under_1."""
        match = re.match(r"t0*(\d+[a-z]?)_", self.id)
        return match.group(1) if match else self.id


def parse_table(path: Path) -> StudyTable:
    """Read one table's SQL file and the metadata in its header comments."""
    sql = path.read_text(encoding="utf-8")
    meta: dict[str, str] = {}
    identities: list[Identity] = []
    for line in sql.splitlines():
        if not line.startswith("--"):
            break  # metadata lives in the leading comment block only
        match = _HEADER.match(line)
        if match and match.group(1) == "identity":
            identities.append(_parse_identity(path, match.group(2)))
        elif match:
            meta[match.group(1)] = match.group(2)
    missing = {"id", "title", "unit"} - meta.keys()
    if missing:
        raise ValueError(f"{path.name}: header lacks {', '.join(sorted(missing))}")
    if meta["id"] != path.stem:
        raise ValueError(f"{path.name}: header id {meta['id']!r} differs from the file name")
    if not _TABLE_ID.fullmatch(meta["id"]):
        # The id becomes a CTE name in the combined statement, so it must be a plain name.
        raise ValueError(f"{path.name}: {meta['id']!r} is not an id like t02_age")
    if "counts" in meta:
        sheet, column = meta["counts"].split(".")
        if not (sheet.isidentifier() and column.isidentifier()):
            raise ValueError(f"{path.name}: 'counts: {meta['counts']}' is not sheet.column")
        template = CODE_LIST_TEMPLATE.read_text(encoding="utf-8")
        sql = template.replace("{sheet}", sheet).replace("{column}", column)
    if "grid" in meta:
        prefix = meta["grid"]
        if not re.fullmatch(r"[a-z0-9]+_", prefix):
            raise ValueError(f"{path.name}: 'grid: {prefix}' is not a column prefix like c8_")
        sql = QUESTION_GRID_TEMPLATE.read_text(encoding="utf-8").replace("{prefix}", prefix)
    return StudyTable(
        id=meta["id"],
        title=meta["title"],
        unit=meta["unit"],
        row_header=meta.get("row_header", "Category"),
        kind=meta.get("kind", "simple"),
        percent=meta.get("percent", "yes") != "no",
        sql=sql.strip().rstrip(";"),
        path=path,
        identities=tuple(identities),
        ordered_by_count=meta.get("order") == "count",
    )


def _parse_identity(path: Path, text: str) -> Identity:
    total, _, rest = text.partition("=")
    terms = [total.strip(), *(t.strip() for t in rest.split("+"))]
    if not rest.strip() or not all(_IDENTITY_TERM.fullmatch(t) for t in terms):
        raise ValueError(f"{path.name}: 'identity: {text}' is not like 'total = a + b'")
    return Identity(total=terms[0], parts=tuple(terms[1:]))


def load_tables(sql_dir: Path = SQL_DIR) -> tuple[StudyTable, ...]:
    # File names sort into the study's order: t02_age < t02b_age_under_1 < t03_... < t20_...
    return tuple(parse_table(p) for p in sorted(sql_dir.glob("t*.sql")))


TABLES: tuple[StudyTable, ...] = load_tables()
TABLES_BY_ID: dict[str, StudyTable] = {t.id: t for t in TABLES}


def study_sql(tables: tuple[StudyTable, ...] = TABLES) -> str:
    """One statement for every table, so all tables see the same snapshot of the data."""
    ctes = ",\n".join(f"{t.id} AS (\n{t.sql}\n)" for t in tables)
    unions = "\nUNION ALL BY NAME\n".join(
        f"SELECT '{t.id}' AS table_id, * FROM {t.id}" for t in tables
    )
    return f"{SELECTION_SQL},\n{ctes}\n{unions}"


def _filters(period: str | None, region: str | None, board: str | None) -> dict[str, str | None]:
    return {"period": period, "region": region, "board": board}


def _empty_long() -> pl.DataFrame:
    return pl.DataFrame(schema=LONG_SCHEMA)


def study_tables_long(
    con: duckdb.DuckDBPyConnection,
    period: str | None = None,
    region: str | None = None,
    board: str | None = None,
) -> pl.DataFrame:
    """The tidy long form of every table for one selection (columns: LONG_SCHEMA).

    ``row_order`` is the 1-based display position within (table, section) and
    ``column_order`` the position within the table's columns (null for simple tables).
    A table with no rows at all (t11 on an empty selection) has n = 0 and no rows here.
    """
    raw = con.sql(study_sql(), params=_filters(period, region, board)).pl()
    if raw.is_empty():
        return _empty_long()
    meta = pl.DataFrame(
        {
            "table_id": [t.id for t in TABLES],
            "table_title": [t.title for t in TABLES],
            "unit": [t.unit for t in TABLES],
            "has_percent": [t.percent for t in TABLES],
            "table_order": list(range(len(TABLES))),
        }
    )
    n = pl.col("n")
    long = (
        raw.join(meta, on="table_id", how="left")
        .sort("table_order", "section", "row_order", "column_order", nulls_last=True)
        .with_columns(
            # Positions, so the long form matches the JSON's order whatever the SQL numbered.
            row_order=pl.col("row_order").rank("dense").over("table_id", "section"),
            column_order=pl.col("column_order").rank("dense").over("table_id"),
            # Round half up in integers: floor((200 * count + n) / (2 * n)).
            percent=pl.when(pl.col("has_percent") & (n > 0))
            .then((200 * pl.col("count") + n) // (2 * n))
            .otherwise(None),
        )
    )
    return long.select(pl.col(name).cast(dtype) for name, dtype in LONG_SCHEMA.items())


def coding_frame_version(con: duckdb.DuckDBPyConnection) -> int:
    """The frame version the warehouse was built with (the loaded frame's when unrecorded)."""
    rows = con.execute(
        "SELECT value FROM warehouse_meta WHERE key = 'coding_frame_version'"
    ).fetchall()
    return int(rows[0][0]) if rows else frame().version


def result_from_long(
    long: pl.DataFrame, filters: dict[str, str | None], version: int
) -> dict[str, Any]:
    """Shape the long form into the tables JSON (tabulations.md); key order as the spec."""
    tables = []
    for table in TABLES:
        part = long.filter(pl.col("table_id") == table.id)
        n = int(part["n"][0]) if part.height else 0
        entry: dict[str, Any] = {"id": table.id, "title": table.title, "unit": table.unit, "n": n}
        rows = part.filter(pl.col("section") == "rows")
        if table.kind == "crosstab":
            columns = (rows.select("column_order", "column_code").unique().sort("column_order"))[
                "column_code"
            ].to_list()
            entry["columns"] = columns
            entry["rows"] = [
                {
                    "code": group["row_code"][0],
                    "label": group["row_label"][0],
                    "counts": dict(zip(group["column_code"], group["count"], strict=True)),
                }
                for _, group in rows.group_by("row_order", maintain_order=True)
            ]
        else:
            entry["rows"] = _simple_rows(rows, table.percent)
        summaries = part.filter(pl.col("section") == "summaries")
        if summaries.height:
            entry["summaries"] = _simple_rows(summaries, table.percent)
        tables.append(entry)
    return {"coding_frame_version": version, "filters": dict(filters), "tables": tables}


def _simple_rows(rows: pl.DataFrame, with_percent: bool) -> list[dict[str, Any]]:
    out = []
    for row in rows.iter_rows(named=True):
        item: dict[str, Any] = {
            "code": row["row_code"],
            "label": row["row_label"],
            "count": row["count"],
        }
        if with_percent:  # t18 carries counts only
            item["percent"] = row["percent"]
        out.append(item)
    return out


def compute_study_tables(
    con: duckdb.DuckDBPyConnection,
    period: str | None = None,
    region: str | None = None,
    board: str | None = None,
) -> dict[str, Any]:
    """The tables JSON (as a dict) for one selection; None means "all"."""
    long = study_tables_long(con, period, region, board)
    return result_from_long(long, _filters(period, region, board), coding_frame_version(con))


def long_from_result(result: dict[str, Any], percent_key: str = "percent") -> pl.DataFrame:
    """Flatten a tables JSON back to the long form (LONG_SCHEMA).

    The inverse of result_from_long, used by the CSV export and by replication, which reads
    the published tables (``percent_key="percent_published"``) in the same shape. Tables
    under disclosure control (``result["disclosure"]``) hold ``c`` for hidden figures, so
    their n, count and percent columns are text (SUPPRESSED_LONG_SCHEMA).
    """
    records: list[dict[str, Any]] = []
    for table in result["tables"]:
        base = {
            "table_id": table["id"],
            "table_title": table["title"],
            "unit": table["unit"],
            "n": table["n"],
        }
        columns: list[str] = table.get("columns", [])
        for section in ("rows", "summaries"):
            for position, row in enumerate(table.get(section, []), start=1):
                cells = (
                    [(c + 1, code, row["counts"].get(code)) for c, code in enumerate(columns)]
                    if "counts" in row
                    else [(None, None, row.get("count"))]
                )
                for column_order, column_code, count in cells:
                    records.append(
                        base
                        | {
                            "section": section,
                            "row_order": position,
                            "row_code": row["code"],
                            "row_label": row["label"],
                            "column_order": column_order,
                            "column_code": column_code,
                            "count": count,
                            "percent": None if column_code else row.get(percent_key),
                        }
                    )
    if "disclosure" in result:
        for record in records:
            for key in _FIGURES:
                if record[key] is not None:
                    record[key] = str(record[key])
        return pl.DataFrame(records, schema=SUPPRESSED_LONG_SCHEMA)
    return pl.DataFrame(records, schema=LONG_SCHEMA)


# What each period's rows in the mart were computed from: an order-independent hash of every
# row (all columns) of that period's reviews, children, recommendations and actions. Kept
# as the mart table's comment (not a column: the mart's contents are unchanged), so a
# refresh recomputes only the periods whose data changed, and "all periods" when any did.
_FINGERPRINT_SQL = """
WITH r AS (SELECT coalesce(period, 'null') AS period, review_id, hash(r) AS h FROM reviews r),
parts AS (
    SELECT period, h FROM r
    UNION ALL SELECT r.period, hash(c) FROM children c JOIN r USING (review_id)
    UNION ALL SELECT r.period, hash(x) FROM recommendations x JOIN r USING (review_id)
    UNION ALL SELECT r.period, hash(a) FROM actions a JOIN r USING (review_id)
)
SELECT period, count(*)::VARCHAR || ':' || sum(h)::VARCHAR FROM parts GROUP BY period
"""


def _fingerprints(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    import hashlib

    periods = dict(con.execute(_FINGERPRINT_SQL).fetchall())
    sql = hashlib.sha256(study_sql().encode()).hexdigest()
    return {"sql": sql, "periods": periods}


def _recorded_fingerprints(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    rows = con.execute(
        "SELECT comment FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name = ?",
        [MART_TABLE],
    ).fetchall()
    if not rows or not rows[0][0]:
        return None
    try:
        recorded = json.loads(rows[0][0])
    except ValueError:
        return None
    return recorded if isinstance(recorded, dict) else None


def _period_frame(con: duckdb.DuckDBPyConnection, period: str | None) -> pl.DataFrame:
    return study_tables_long(con, period=period).select(
        pl.lit(period, dtype=pl.String()).alias("period"), pl.all()
    )


def materialise_study_tables(con: duckdb.DuckDBPyConnection) -> int:
    """(Re)write ``mart_study_tables``: the national long form of each period and of all
    periods together (period NULL), in one transaction. Returns the number of rows.

    Periods whose data is unchanged since the last refresh (same fingerprint, same SQL) keep
    their rows; the table is rewritten in the same order a full rebuild gives."""
    con.execute("BEGIN TRANSACTION")
    try:
        periods = [
            row[0]
            for row in con.execute(
                "SELECT DISTINCT period FROM reviews WHERE period IS NOT NULL ORDER BY period"
            ).fetchall()
        ]
        now = _fingerprints(con)
        before = _recorded_fingerprints(con)
        kept: dict[str | None, pl.DataFrame] = {}
        if before is not None and before.get("sql") == now["sql"]:
            old = before.get("periods") or {}
            unchanged = [p for p in periods if old.get(p) == now["periods"].get(p)]
            if unchanged:
                rows = query_mart(con, unchanged)
                kept = {p: rows.filter(pl.col("period") == p) for p in unchanged}
            if old == now["periods"]:
                kept[None] = query_mart(con, [None])
        frames = [kept[p] if p in kept else _period_frame(con, p) for p in [*periods, None]]
        mart = pl.concat(frames, how="vertical")
        columns = ", ".join(
            f"{name} {'BIGINT' if dtype == pl.Int64() else 'VARCHAR'}"
            for name, dtype in {"period": pl.String(), **LONG_SCHEMA}.items()
        )
        con.execute(f"CREATE OR REPLACE TABLE {MART_TABLE} ({columns})")
        con.execute(f"INSERT INTO {MART_TABLE} SELECT * FROM mart")
        recorded = json.dumps(now).replace("'", "''")  # COMMENT ON takes no parameters
        con.execute(f"COMMENT ON TABLE {MART_TABLE} IS '{recorded}'")
        fault_point("marts")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return mart.height


def query_mart(con: duckdb.DuckDBPyConnection, periods: list[str | None]) -> pl.DataFrame:
    """The mart's rows of ``periods`` (None: all periods together), in the order written."""
    names = ["period", *LONG_SCHEMA]
    wanted = [p for p in periods if p is not None]
    where = "period IN (SELECT unnest($periods::VARCHAR[]))"
    if None in periods:
        where = f"({where} OR period IS NULL)"
    rows = con.sql(
        f"SELECT {', '.join(names)} FROM {MART_TABLE} WHERE {where} ORDER BY rowid",
        params={"periods": wanted},
    ).pl()
    return rows.select(pl.col(n).cast(d) for n, d in {"period": pl.String(), **LONG_SCHEMA}.items())

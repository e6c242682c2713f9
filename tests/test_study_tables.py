"""Study Tables 2-20: band boundaries, rules, filters, JSON shape, mart and replication.

Every test builds its own DuckDB warehouse with ``ensure_schema`` and hand-made rows, so
nothing here depends on the sample data.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from warehouse.frame import frame
from warehouse.replication import (
    PERCENT_ERRATUM,
    published,
    replication_report,
    replication_rows,
)
from warehouse.schema import ensure_schema
from warehouse.study_tables import (
    LONG_SCHEMA,
    MART_TABLE,
    TABLES,
    compute_study_tables,
    long_from_result,
    materialise_study_tables,
    study_tables_long,
)

Row = dict[str, Any]

REVIEW_DEFAULTS: Row = {
    "period": "2001-03",
    "board_code": "b1",
    "region": "london",
    "incident_date": "2002-01-15",
    "author_status": "internal",
    "parent_ethnicity": "white_british",
    "submission_id": "s1",
}
CHILD_DEFAULTS: Row = {
    "gender": "male",
    "ethnicity": "white_british",
    "disability": "no",
    "incident_type": "death",
    "cp_register": "not_on_register",
    "legal_status": "none",
    "submission_id": "s1",
}


# --- building warehouses -------------------------------------------------------------


def new_warehouse(path: Path | None = None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path) if path else ":memory:")
    ensure_schema(con)
    return con


def insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[Row]) -> None:
    """Insert rows that all have the same keys (the test's own column names)."""
    if not rows:
        return
    columns = list(rows[0])
    marks = ", ".join("?" for _ in columns)
    con.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
        [[row[c] for c in columns] for row in rows],
    )


def add_review(con: duckdb.DuckDBPyConnection, review_id: str, **values: Any) -> None:
    insert(con, "reviews", [REVIEW_DEFAULTS | {"review_id": review_id} | values])


def add_child(con: duckdb.DuckDBPyConnection, child_id: str, review_id: str, **values: Any) -> None:
    insert(
        con, "children", [CHILD_DEFAULTS | {"child_id": child_id, "review_id": review_id} | values]
    )


def add_recommendations(con: duckdb.DuckDBPyConnection, review_id: str, focus: list[str]) -> None:
    insert(
        con,
        "recommendations",
        [
            {"review_id": review_id, "rec_no": i, "focus": f, "submission_id": "s1"}
            for i, f in enumerate(focus, start=1)
        ],
    )


def table(result: dict[str, Any], table_id: str) -> dict[str, Any]:
    return next(t for t in result["tables"] if t["id"] == table_id)


def counts(result: dict[str, Any], table_id: str) -> dict[str, int]:
    return {row["code"]: row["count"] for row in table(result, table_id)["rows"]}


def codes_with_count(result: dict[str, Any], table_id: str) -> list[str]:
    return [row["code"] for row in table(result, table_id)["rows"] if row["count"]]


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = new_warehouse()
    yield connection
    connection.close()


# --- the SQL files -------------------------------------------------------------------


def test_tables_are_the_published_ids_in_order() -> None:
    assert [t.id for t in TABLES] == [t["id"] for t in published()["tables"]]
    kinds = {t.id: (t.kind, t.percent) for t in TABLES}
    assert kinds["t16_chapter8_compliance"] == ("crosstab", False)
    assert kinds["t20_action_plans"] == ("crosstab", False)
    assert kinds["t18_recommendation_focus"] == ("simple", False)
    assert kinds["t02_age"] == ("simple", True)
    assert {t.unit for t in TABLES} == {"children", "reviews", "recommendations"}


@pytest.mark.parametrize("spec", TABLES, ids=lambda t: t.id)
def test_sql_reads_only_the_selection_and_ref_tables(spec: Any) -> None:
    body = "\n".join(line.split("--")[0] for line in spec.sql.splitlines())
    core = re.findall(r"\b(?:FROM|JOIN)\s+(reviews|children|recommendations|actions)\b", body)
    assert core == [], f"{spec.id} reads core tables directly"
    assert not re.search(r"\bCREATE\b|\{|%s", body)


def test_duckdb_month_arithmetic_clamps_to_month_end(con: duckdb.DuckDBPyConnection) -> None:
    # The t13 rule relies on this; DuckDB returns a TIMESTAMP, so the SQL casts to DATE.
    got = con.execute(
        "SELECT CAST(DATE '2001-08-31' + INTERVAL 6 MONTH AS DATE),"
        " CAST(DATE '2003-08-31' + INTERVAL 6 MONTH AS DATE),"
        " CAST(DATE '2004-02-29' + INTERVAL 12 MONTH AS DATE)"
    ).fetchall()
    assert got == [(dt.date(2002, 2, 28), dt.date(2004, 2, 29), dt.date(2005, 2, 28))]


# --- band boundaries -----------------------------------------------------------------
# Each boundary value is its own unit in one warehouse; the table's non-zero counts must be
# exactly the tally of the expected bands (a value on the wrong side of a boundary moves a
# count). One query per table keeps the suite quick.


def band_counts(table_id: str, column: str, values: list[int | None]) -> dict[str, int]:
    con = new_warehouse()
    add_review(con, "r0")
    for i, value in enumerate(values):
        if table_id.startswith("t02"):
            add_child(con, f"c{i}", "r0", **{column: value})
        else:
            add_review(con, f"r{i + 1}", **{column: value})
    got = {code: c for code, c in counts(compute_study_tables(con), table_id).items() if c}
    con.close()
    return got


def tally(cases: list[tuple[int | None, str]]) -> dict[str, int]:
    return dict(Counter(code for _, code in cases))


AGE_CASES = [
    (0, "under_1"), (11, "under_1"), (12, "1_2"), (35, "1_2"), (36, "3_4"), (59, "3_4"),
    (60, "5_10"), (131, "5_10"), (132, "11_14"), (179, "11_14"), (180, "15"), (191, "15"),
    (192, "16"), (203, "16"), (204, "17"), (215, "17"), (None, "missing"),
]  # fmt: skip


def test_age_band_boundaries() -> None:
    got = band_counts("t02_age", "age_months", [v for v, _ in AGE_CASES])
    assert got == tally(AGE_CASES)


def test_age_rows_and_summaries(con: duckdb.DuckDBPyConnection) -> None:
    add_review(con, "r1")
    for i, (months, _) in enumerate(AGE_CASES):
        add_child(con, f"c{i}", "r1", age_months=months)
    t02 = table(compute_study_tables(con), "t02_age")
    assert t02["n"] == len(AGE_CASES)
    assert [r["code"] for r in t02["rows"]] == [
        "under_1", "1_2", "3_4", "5_10", "11_14", "15", "16", "17", "missing",
    ]  # fmt: skip
    # 2 and under: 0-35 months (0, 11, 12, 35); 11 and over: 132-215 (8 values).
    assert [(s["code"], s["count"], s["percent"]) for s in t02["summaries"]] == [
        ("2_and_under", 4, 24),
        ("11_and_over", 8, 47),
    ]


def test_under_one_band_boundaries() -> None:
    cases = [(0, "0_2m"), (2, "0_2m"), (3, "3_5m"), (5, "3_5m"), (6, "6_11m"), (11, "6_11m")]
    # 12 months and a blank age are not known to be under one: outside the table's n.
    assert band_counts("t02b_age_under_1", "age_months", [v for v, _ in cases] + [12, None]) == (
        tally(cases)
    )


def test_under_one_n_is_the_under_ones(con: duckdb.DuckDBPyConnection) -> None:
    add_review(con, "r1")
    for i, months in enumerate([4, 11, 12, None]):
        add_child(con, f"c{i}", "r1", age_months=months)
    t02b = table(compute_study_tables(con), "t02b_age_under_1")
    assert t02b["n"] == 2
    assert [(r["code"], r["count"], r["percent"]) for r in t02b["rows"]] == [
        ("0_2m", 0, 0),
        ("3_5m", 1, 50),
        ("6_11m", 1, 50),
    ]


# Review-level bands: (table, column, [(value, expected band)]). r0, the review every
# band_counts warehouse starts with, has the column blank, so the blank band gets one more.
REVIEW_BANDS = [
    ("t15_report_length", "report_pages", [
        (1, "0_30"), (30, "0_30"), (31, "31_50"), (50, "31_50"), (51, "51_75"), (75, "51_75"),
        (76, "76_100"), (100, "76_100"), (101, "over_100"), (2000, "over_100"),
        (None, "missing"), (None, "missing"),
    ]),
    ("t17_recommendations_total", "recommendations_total", [
        (0, "0_10"), (10, "0_10"), (11, "11_20"), (20, "11_20"), (21, "21_40"), (40, "21_40"),
        (41, "41_60"), (60, "41_60"), (61, "61_80"), (80, "61_80"), (81, "over_80"),
        (500, "over_80"), (None, "not_known"),
    ]),
    ("t19_action_points_total", "action_points_total", [
        (0, "none"), (1, "1_10"), (10, "1_10"), (11, "11_20"), (20, "11_20"), (21, "21_40"),
        (40, "21_40"), (41, "41_60"), (60, "41_60"), (61, "61_80"), (80, "61_80"),
        (81, "81_plus"), (2000, "81_plus"), (None, "not_known"),
    ]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("table_id", "column", "cases"), REVIEW_BANDS, ids=[b[0] for b in REVIEW_BANDS]
)
def test_review_band_boundaries(
    table_id: str, column: str, cases: list[tuple[int | None, str]]
) -> None:
    blank = next(code for value, code in cases if value is None)
    got = band_counts(table_id, column, [v for v, _ in cases])
    assert got == tally([*cases, (None, blank)])


def test_fixed_bands_are_rows_even_at_zero(con: duckdb.DuckDBPyConnection) -> None:
    add_review(con, "r1", recommendations_total=3, action_points_total=3, report_pages=3)
    result = compute_study_tables(con)
    assert list(counts(result, "t17_recommendations_total")) == [
        "0_10", "11_20", "21_40", "41_60", "61_80", "over_80", "not_known",
    ]  # fmt: skip
    assert list(counts(result, "t19_action_points_total")) == [
        "none", "1_10", "11_20", "21_40", "41_60", "61_80", "81_plus", "not_known",
    ]  # fmt: skip
    assert list(counts(result, "t15_report_length")) == [
        "0_30", "31_50", "51_75", "76_100", "over_100",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("incident", "report", "code"),
    [
        ("2002-01-15", "2002-01-15", "le_6m"),
        ("2002-01-15", "2002-07-15", "le_6m"),  # exactly 6 months
        ("2002-01-15", "2002-07-16", "6_12m"),  # one day after
        ("2002-01-15", "2003-01-15", "6_12m"),  # exactly 12 months
        ("2002-01-15", "2003-01-16", "12_18m"),
        ("2002-01-15", "2003-07-15", "12_18m"),  # exactly 18 months
        ("2002-01-15", "2003-07-16", "gt_18m"),
        ("2001-08-31", "2002-02-28", "le_6m"),  # 31 Aug + 6 months = 28 Feb
        ("2001-08-31", "2002-03-01", "6_12m"),
        ("2003-08-31", "2004-02-29", "le_6m"),  # leap year: 29 Feb
        ("2003-08-31", "2004-03-01", "6_12m"),
        ("2004-02-29", "2005-02-28", "6_12m"),  # 29 Feb + 12 months = 28 Feb
        ("2004-02-29", "2005-03-01", "12_18m"),
        ("2002-01-15", None, "not_dated"),
    ],
)
def test_time_to_completion(
    con: duckdb.DuckDBPyConnection, incident: str, report: str | None, code: str
) -> None:
    add_review(con, "r1", incident_date=incident, report_date=report)
    result = compute_study_tables(con)
    assert codes_with_count(result, "t13_time_to_completion") == [code]
    assert list(counts(result, "t13_time_to_completion")) == [
        "le_6m", "6_12m", "12_18m", "gt_18m", "not_dated",
    ]  # fmt: skip


# --- rules for every table -----------------------------------------------------------


def test_percent_rounds_half_up_in_integers(con: duckdb.DuckDBPyConnection) -> None:
    statuses = ["independent"] * 5 + ["internal"] * 7 + ["not_reported"] * 28
    for i, status in enumerate(statuses):
        add_review(con, f"r{i}", author_status=status)
    t14 = table(compute_study_tables(con), "t14_author_status")
    assert t14["n"] == 40
    # 12.5 -> 13, 17.5 -> 18 (float round() would give 12 and 18, banker's 12 and 18).
    assert [(r["code"], r["count"], r["percent"]) for r in t14["rows"]] == [
        ("independent", 5, 13),
        ("internal", 7, 18),
        ("not_reported", 28, 70),
    ]


def test_zero_rows_present_and_missing_only_when_above_zero(
    con: duckdb.DuckDBPyConnection,
) -> None:
    add_review(con, "r1", report_pages=10)
    add_child(con, "c1", "r1", age_months=5)
    result = compute_study_tables(con)
    assert counts(result, "t03_gender") == {"male": 1, "female": 0, "not_known": 0}
    assert table(result, "t03_gender")["rows"][1]["percent"] == 0
    assert "missing" not in counts(result, "t15_report_length")
    assert "missing" not in counts(result, "t02_age")
    assert len(counts(result, "t10_region")) == 11  # every region code, zero or not

    add_review(con, "r2", report_pages=None)
    result = compute_study_tables(con)
    assert counts(result, "t15_report_length")["missing"] == 1
    assert list(counts(result, "t15_report_length"))[-1] == "missing"


def all_answers(prefix: str, answer: str | None) -> Row:
    return dict.fromkeys(_columns_with_prefix(prefix), answer)


def _columns_with_prefix(prefix: str) -> list[str]:
    return [c.name for c in frame().columns_with_prefix("reviews", prefix)]


def test_crosstab_missing_column_only_when_present(con: duckdb.DuckDBPyConnection) -> None:
    add_review(con, "r1", **all_answers("c8_", "yes"), **all_answers("ap_", "no"))
    result = compute_study_tables(con)
    t16 = table(result, "t16_chapter8_compliance")
    assert t16["columns"] == ["yes", "no", "partly", "not_applicable", "not_stated"]
    assert [r["code"] for r in t16["rows"]] == _columns_with_prefix("c8_")
    assert len(t16["rows"]) == 17
    assert all(list(r["counts"]) == t16["columns"] for r in t16["rows"])
    assert t16["rows"][0]["counts"] == {
        "yes": 1, "no": 0, "partly": 0, "not_applicable": 0, "not_stated": 0,
    }  # fmt: skip
    t20 = table(result, "t20_action_plans")
    assert t20["columns"] == ["yes", "no", "partly", "not_clear"]
    assert len(t20["rows"]) == 6

    add_review(con, "r2", **(all_answers("c8_", "partly") | {"c8_genogram": None}))
    result = compute_study_tables(con)
    t16 = table(result, "t16_chapter8_compliance")
    assert t16["columns"][-1] == "missing"
    assert all(list(r["counts"]) == t16["columns"] for r in t16["rows"])
    genogram = next(r for r in t16["rows"] if r["code"] == "c8_genogram")
    assert genogram["counts"] == {
        "yes": 1, "no": 0, "partly": 0, "not_applicable": 0, "not_stated": 0, "missing": 1,
    }  # fmt: skip
    assert all(sum(r["counts"].values()) == t16["n"] == 2 for r in t16["rows"])
    # r2 has no action-plan answers at all, so t20 now has its own missing column.
    assert table(result, "t20_action_plans")["columns"][-1] == "missing"
    assert all("percent" not in r for r in t16["rows"])


def test_t18_by_count_descending_ties_in_code_list_order(
    con: duckdb.DuckDBPyConnection,
) -> None:
    add_review(con, "r1")
    add_recommendations(con, "r1", ["training"] * 3 + ["communication"] * 3 + ["other"])
    t18 = table(compute_study_tables(con), "t18_recommendation_focus")
    assert t18["n"] == 7
    assert [r["code"] for r in t18["rows"]] == [
        "communication", "training", "other",  # communication precedes training in the list
        "existing_procedures", "new_procedures", "assessment", "management",
        "risk_assessment", "supervision", "staff_roles", "decision_making", "direct_work",
        "new_staff", "staff_knowledge",
    ]  # fmt: skip
    assert [r["count"] for r in t18["rows"]][:4] == [3, 3, 1, 0]
    assert all(set(r) == {"code", "label", "count"} for r in t18["rows"])


def test_years_present_ascending_and_no_date_always(con: duckdb.DuckDBPyConnection) -> None:
    add_review(con, "r1", incident_date="2003-02-01", report_date="2003-09-01")
    add_review(con, "r2", incident_date="2001-05-01", report_date="2002-01-01")
    add_review(con, "r3", incident_date="2003-03-01", report_date="2003-04-01")
    result = compute_study_tables(con)
    assert counts(result, "t11_incident_year") == {"2001": 1, "2003": 2}
    assert table(result, "t11_incident_year")["rows"][0]["label"] == "2001"
    assert counts(result, "t12_report_year") == {"2002": 1, "2003": 2, "no_date": 0}


def test_filters_select_reviews_and_children_follow(con: duckdb.DuckDBPyConnection) -> None:
    add_review(con, "a", period="2001-03", region="london", board_code="b1")
    add_review(con, "b", period="2001-03", region="north_west", board_code="b2")
    add_review(con, "c", period="2003-05", region="london", board_code="b1")
    for child, review in [("a1", "a"), ("a2", "a"), ("b1", "b"), ("c1", "c"), ("c2", "c")]:
        add_child(con, child, review)
    add_recommendations(con, "a", ["training"])
    add_recommendations(con, "c", ["training", "management", "other"])

    def ns(**filters: str) -> tuple[int, int, int]:
        result = compute_study_tables(con, **filters)
        assert result["filters"] == {"period": None, "region": None, "board": None} | filters
        return (
            table(result, "t10_region")["n"],
            table(result, "t03_gender")["n"],
            table(result, "t18_recommendation_focus")["n"],
        )

    assert ns() == (3, 5, 4)
    assert ns(period="2001-03") == (2, 3, 1)
    assert ns(period="2003-05") == (1, 2, 3)
    assert ns(region="london") == (2, 4, 4)
    assert ns(board="b2") == (1, 1, 0)
    assert ns(period="2001-03", region="london", board="b1") == (1, 2, 1)
    assert ns(period="1999-01") == (0, 0, 0)
    assert counts(compute_study_tables(con, region="north_west"), "t10_region")["north_west"] == 1


def test_parameters_are_bound_not_formatted(con: duckdb.DuckDBPyConnection) -> None:
    add_review(con, "r1")
    result = compute_study_tables(con, period="2001-03' OR '1'='1")
    assert table(result, "t10_region")["n"] == 0


def test_empty_warehouse_gives_n_zero_tables(con: duckdb.DuckDBPyConnection) -> None:
    result = compute_study_tables(con)
    assert [t["id"] for t in result["tables"]] == [t.id for t in TABLES]
    for t in result["tables"]:
        assert t["n"] == 0, t["id"]
        for row in t["rows"] + t.get("summaries", []):
            assert row.get("percent") is None
            assert row.get("count", 0) == 0
    assert table(result, "t11_incident_year")["rows"] == []
    assert counts(result, "t12_report_year") == {"no_date": 0}
    assert "missing" not in table(result, "t16_chapter8_compliance")["columns"]
    assert len(counts(result, "t03_gender")) == 3


def test_read_only_connection(tmp_path: Path) -> None:
    path = tmp_path / "wh.duckdb"
    con = new_warehouse(path)
    add_review(con, "r1", report_pages=12)
    add_child(con, "c1", "r1", age_months=3)
    writable = compute_study_tables(con, period="2001-03")
    con.close()
    ro = duckdb.connect(str(path), read_only=True)
    try:
        assert compute_study_tables(ro, period="2001-03") == writable
        assert study_tables_long(ro).height > 0
    finally:
        ro.close()


# --- shapes --------------------------------------------------------------------------


def test_json_shape_is_exactly_the_spec(con: duckdb.DuckDBPyConnection) -> None:
    add_review(con, "r1", report_pages=None, **all_answers("c8_", "yes"))
    add_child(con, "c1", "r1", age_months=40)
    add_recommendations(con, "r1", ["training"])
    result = compute_study_tables(con, period="2001-03")
    assert list(result) == ["coding_frame_version", "filters", "tables"]
    assert result["coding_frame_version"] == 2  # the frame the warehouse was built with
    assert list(result["filters"]) == ["period", "region", "board"]
    for t in result["tables"]:
        expected = ["id", "title", "unit", "n"]
        expected += (
            ["columns", "rows"]
            if t["id"] in ("t16_chapter8_compliance", "t20_action_plans")
            else ["rows"]
        )
        expected += ["summaries"] if t["id"] == "t02_age" else []
        assert list(t) == expected, t["id"]
        assert isinstance(t["n"], int)
        for row in t["rows"] + t.get("summaries", []):
            if "columns" in t:
                assert list(row) == ["code", "label", "counts"]
                assert list(row["counts"]) == t["columns"]
            elif t["id"] == "t18_recommendation_focus":
                assert list(row) == ["code", "label", "count"]
            else:
                assert list(row) == ["code", "label", "count", "percent"]
            assert isinstance(row["code"], str) and isinstance(row["label"], str)


def test_long_form_matches_the_json(con: duckdb.DuckDBPyConnection) -> None:
    add_review(con, "r1", c8_genogram="yes", report_date=None)
    add_review(con, "r2", incident_date="2001-02-03", report_pages=44)
    add_child(con, "c1", "r1", age_months=None)
    add_recommendations(con, "r1", ["other", "training", "training"])
    long = study_tables_long(con, period="2001-03")
    assert list(long.schema) == list(LONG_SCHEMA)
    assert long.schema == pl.Schema(LONG_SCHEMA)
    result = compute_study_tables(con, period="2001-03")
    assert long.equals(long_from_result(result))
    assert long["table_id"].unique(maintain_order=True).to_list() == [t.id for t in TABLES]


def test_materialise_writes_every_period_and_all(tmp_path: Path) -> None:
    con = new_warehouse(tmp_path / "wh.duckdb")
    add_review(con, "a", period="2001-03")
    add_review(con, "b", period="2003-05")
    add_child(con, "a1", "a")
    expected = sum(study_tables_long(con, period=p).height for p in ("2001-03", "2003-05", None))
    assert materialise_study_tables(con) == expected
    assert materialise_study_tables(con) == expected  # replaces, does not append
    got = con.execute(
        f"SELECT period, count(*) FROM {MART_TABLE} GROUP BY period ORDER BY period NULLS LAST"
    ).fetchall()
    assert [p for p, _ in got] == ["2001-03", "2003-05", None]
    assert sum(c for _, c in got) == expected
    n_all = con.execute(
        f"SELECT DISTINCT n FROM {MART_TABLE} WHERE period IS NULL AND table_id = 't10_region'"
    ).fetchall()
    assert n_all == [(2,)]
    columns = [r[0] for r in con.execute(f"DESCRIBE {MART_TABLE}").fetchall()]
    assert columns == ["period", *LONG_SCHEMA]
    con.close()


def test_materialise_empty_warehouse(con: duckdb.DuckDBPyConnection) -> None:
    rows = materialise_study_tables(con)
    assert rows == study_tables_long(con).height > 0


# --- replication ---------------------------------------------------------------------

# Representative values for the published bands (the tables give only counts).
AGE_MONTHS = {"0_2m": 1, "3_5m": 4, "6_11m": 8, "1_2": 24, "3_4": 48, "5_10": 96,
              "11_14": 150, "15": 185, "16": 195, "17": 210}  # fmt: skip
PAGES = {"0_30": 20, "31_50": 40, "51_75": 60, "76_100": 90, "over_100": 120}
ACTION_POINTS = {"none": 0, "1_10": 5, "11_20": 15, "21_40": 30, "41_60": 50, "61_80": 70,
                 "81_plus": 90, "not_known": None}  # fmt: skip
# Recommendation totals per band, chosen to add up to the 634 recommendation rows.
RECOMMENDATIONS = {"0_10": [5] * 15, "11_20": [15] * 10, "21_40": [24] * 11 + [25],
                   "41_60": [50], "61_80": [70], "not_known": [None]}  # fmt: skip
# (incident, report, how many): consistent with Tables 11, 12 and 13 at once.
DATES = [
    ("2001-06-01", None, 3), ("2002-06-01", None, 2), ("2003-02-01", None, 2),
    ("2001-04-10", "2001-09-01", 1), ("2003-01-10", "2003-05-10", 3),
    ("2001-11-01", "2002-03-01", 1), ("2001-03-01", "2002-01-15", 11),
    ("2001-04-01", "2003-01-15", 2), ("2002-03-01", "2003-01-15", 2),
    ("2002-01-10", "2003-05-10", 13),
]  # fmt: skip


def _expand(table_id: str, value: dict[str, Any] | None = None) -> list[Any]:
    """The published counts of a table as one value per unit, in row order."""
    rows = next(t for t in published()["tables"] if t["id"] == table_id)["rows"]
    return [value[r["code"]] if value else r["code"] for r in rows for _ in range(r["count"])]


def _expand_cells(table_id: str, item: str) -> list[str | None]:
    t = next(t for t in published()["tables"] if t["id"] == table_id)
    counts_ = next(r for r in t["rows"] if r["code"] == item)["counts"]
    return [None if c == "missing" else c for c in t["columns"] for _ in range(counts_[c])]


def build_published_warehouse(con: duckdb.DuckDBPyConnection) -> None:
    """40 reviews, 45 children and 634 recommendations whose tables are the published ones.

    The published tables are marginal counts, so each column is filled from its own table
    independently; dates are chosen to satisfy Tables 11-13 together.
    """
    dates = [(i, r) for i, r, k in DATES for _ in range(k)]
    rec_totals = [v for values in RECOMMENDATIONS.values() for v in values]
    c8 = {c: _expand_cells("t16_chapter8_compliance", c) for c in _columns_with_prefix("c8_")}
    ap = {c: _expand_cells("t20_action_plans", c) for c in _columns_with_prefix("ap_")}
    columns = (
        {
            "parent_ethnicity": _expand("t05_parent_ethnicity"),
            "region": _expand("t10_region"),
            "author_status": _expand("t14_author_status"),
            "report_pages": _expand("t15_report_length", PAGES),
            "action_points_total": _expand("t19_action_points_total", ACTION_POINTS),
            "recommendations_total": rec_totals,
            "incident_date": [d[0] for d in dates],
            "report_date": [d[1] for d in dates],
        }
        | c8
        | ap
    )
    assert all(len(v) == 40 for v in columns.values()), {k: len(v) for k, v in columns.items()}
    reviews = [
        REVIEW_DEFAULTS
        | {"review_id": f"r{i:02d}", "board_code": f"b{i % 9}"}
        | {k: v[i] for k, v in columns.items()}
        for i in range(40)
    ]
    insert(con, "reviews", reviews)

    ages = [AGE_MONTHS[c] for c in _expand("t02b_age_under_1")] + [
        AGE_MONTHS[c] for c in _expand("t02_age") if c != "under_1"
    ]
    child_columns = {
        "gender": _expand("t03_gender"),
        "ethnicity": _expand("t04_child_ethnicity"),
        "disability": _expand("t06_disability"),
        "incident_type": _expand("t07_incident_type"),
        "cp_register": _expand("t08_cp_register"),
        "legal_status": _expand("t09_legal_status"),
        "age_months": ages,
    }
    # 3 reviews have more than one child: 40 children one each, then 5 more.
    review_of_child = [f"r{i:02d}" for i in range(40)] + ["r00", "r00", "r01", "r01", "r02"]
    children = [
        CHILD_DEFAULTS
        | {"child_id": f"c{j:02d}", "review_id": review_of_child[j]}
        | {k: v[j] for k, v in child_columns.items()}
        for j in range(45)
    ]
    insert(con, "children", children)

    focus = iter(_expand("t18_recommendation_focus"))
    for review in reviews:
        n = review["recommendations_total"] or 0
        add_recommendations(con, review["review_id"], [next(focus) for _ in range(n)])
    assert next(focus, None) is None


def test_published_warehouse_reproduces_appendix_2(con: duckdb.DuckDBPyConnection) -> None:
    build_published_warehouse(con)
    rows = replication_rows(con)
    assert rows.filter(~pl.col("count_match")).is_empty(), rows.filter(~pl.col("count_match"))
    assert rows["n_match"].all()
    assert rows["match"].all()
    errata = rows.filter(pl.col("percent_status") == PERCENT_ERRATUM)
    assert sorted(zip(errata["table_id"], errata["row_code"], strict=True)) == [
        ("t07_incident_type", "serious_injury"),
        ("t07_incident_type", "suicide"),
        ("t13_time_to_completion", "le_6m"),
        ("t13_time_to_completion", "not_dated"),
    ]
    # published-only rows are none; computed-only rows would be unprinted categories.
    assert rows["published_count"].null_count() == 0
    total = rows.height
    report = replication_report(con)
    assert report.rstrip().endswith(
        f"all {total} published counts reproduced; "
        "4 printed percentages differ from round-half-up, see errata"
    )
    for erratum in published()["errata"]:
        assert erratum in report
    assert "t16_chapter8_compliance" in report and "c8_genogram/partly" in report


def test_replication_flags_a_count_that_differs(con: duckdb.DuckDBPyConnection) -> None:
    build_published_warehouse(con)
    con.execute("UPDATE children SET gender = 'female' WHERE child_id = 'c00'")
    con.execute("UPDATE reviews SET report_pages = NULL WHERE review_id = 'r00'")
    rows = replication_rows(con)
    bad = rows.filter(~pl.col("match"))
    assert set(bad["table_id"]) == {"t03_gender", "t15_report_length"}
    missing = bad.filter(pl.col("row_code") == "missing")
    assert missing["published_count"].to_list() == [None]
    assert missing["computed_count"].to_list() == [1]
    report = replication_report(con)
    assert "<< COUNT DIFFERS" in report
    assert report.splitlines()[-1].startswith(
        f"3 of {rows['published_count'].count()} published counts not reproduced; "
        "1 computed rows with counts the study did not print"
    )

"""Independent checks of the SYNTHETIC sample submissions in data_samples/.

The files are read directly with polars (CSV as text, workbooks with calamine), without the
project's warehouse package. The 2001-03 replication is re-tabulated as the tabulation rules
describe and every count of warehouse/appendix2_published.json is compared; the coding-frame
rules are checked on every sample submission.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import date
from itertools import pairwise
from pathlib import Path

import polars as pl
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data_samples"
SUBMISSIONS = SAMPLES / "submissions"
REPLICATION = SUBMISSIONS / "2001-03-replication"
FRAME = yaml.safe_load((ROOT / "warehouse" / "coding_frame.yaml").read_text(encoding="utf-8"))
PUBLISHED = json.loads((ROOT / "warehouse" / "appendix2_published.json").read_text("utf-8"))
SHEETS = ["reviews", "children", "recommendations", "actions"]
V2_SHEETS = ["notifications", "action_updates"]  # checked in tests/test_sample_tracking.py
CODE_LISTS = {name: [c["code"] for c in codes] for name, codes in FRAME["code_lists"].items()}
KEYS = {
    "reviews": ["review_id"],
    "children": ["child_id"],
    "recommendations": ["review_id", "rec_no"],
    "actions": ["review_id", "action_no"],
}
DATE_COLUMNS = {
    "reviews": ["incident_date", "decision_date", "report_date"],
    "actions": ["due_date", "status_date"],
}


def columns(sheet: str, present: list[str] | None = None) -> list[dict]:
    """A sheet's frame columns: all of them, or (given the header) the version 1 columns and
    the later ones the file has (version 1 files have no `since: 2` column)."""
    return [
        c
        for c in FRAME["sheets"][sheet]["columns"]
        if present is None or c.get("since", 1) == 1 or c["name"] in present
    ]


# --------------------------------------------------------------------------------------
# Reading submissions into frame-typed DataFrames


def read_csv_submission(folder: Path) -> dict[str, pl.DataFrame]:
    """Every sheet read as text, then typed strictly by the coding frame."""
    out = {}
    for sheet in SHEETS:
        raw = pl.read_csv(folder / f"{sheet}.csv", infer_schema=False, encoding="utf8")
        frame_columns = columns(sheet, raw.columns)
        assert raw.columns == [c["name"] for c in frame_columns], f"{folder.name}/{sheet}"
        exprs = []
        for col in frame_columns:
            name = col["name"]
            if col["type"] == "date":
                bad = raw.filter(
                    pl.col(name).is_not_null() & ~pl.col(name).str.contains(r"^\d{4}-\d{2}-\d{2}$")
                )
                assert bad.is_empty(), f"{sheet}.{name}: non-ISO dates"
                exprs.append(pl.col(name).str.strptime(pl.Date, "%Y-%m-%d", strict=True))
            elif col["type"] == "integer":
                exprs.append(pl.col(name).cast(pl.Int64, strict=True))
            else:
                exprs.append(pl.col(name))
        out[sheet] = raw.select(exprs)
    return out


def read_xlsx_submission(path: Path) -> dict[str, pl.DataFrame]:
    """Every sheet of a workbook; dates must be real Excel dates and integers numbers."""
    book = pl.read_excel(path, sheet_id=0, engine="calamine")
    assert list(book) in (SHEETS, SHEETS + V2_SHEETS), f"{path.name}: sheets {list(book)}"
    out = {}
    for sheet in SHEETS:
        raw = book[sheet]
        frame_columns = columns(sheet, raw.columns)
        assert raw.columns == [c["name"] for c in frame_columns], f"{path.name}/{sheet}"
        exprs = []
        for col in frame_columns:
            name, dtype = col["name"], raw.schema[col["name"]]
            if dtype == pl.Null or raw[name].null_count() == raw.height:
                want = {"date": pl.Date, "integer": pl.Int64}.get(col["type"], pl.String)
                exprs.append(pl.lit(None, dtype=want).alias(name))
            elif col["type"] == "date":
                assert dtype in (pl.Date, pl.Datetime), f"{path.name}/{sheet}.{name}: {dtype}"
                exprs.append(pl.col(name).cast(pl.Date))
            elif col["type"] == "integer":
                assert dtype.is_numeric(), f"{path.name}/{sheet}.{name}: {dtype}"
                assert (raw[name].drop_nulls() % 1 == 0).all()
                exprs.append(pl.col(name).cast(pl.Int64))
            else:
                assert dtype == pl.String, f"{path.name}/{sheet}.{name}: {dtype}"
                exprs.append(pl.col(name))
        out[sheet] = raw.select(exprs)
    return out


WORKBOOKS = sorted(SUBMISSIONS.glob("*.xlsx"))


def load_all() -> dict[str, dict[str, pl.DataFrame]]:
    subs = {REPLICATION.name: read_csv_submission(REPLICATION)}
    subs.update({path.stem: read_xlsx_submission(path) for path in WORKBOOKS})
    return subs


@pytest.fixture(scope="module")
def submissions() -> dict[str, dict[str, pl.DataFrame]]:
    return load_all()


@pytest.fixture(scope="module")
def replication(submissions) -> dict[str, pl.DataFrame]:
    return submissions[REPLICATION.name]


# --------------------------------------------------------------------------------------
# Coding-frame rules


def rule_errors(sub: dict[str, pl.DataFrame]) -> list[str]:
    """Violations of the coding-frame column specs and cross-field rules."""
    errors = []
    for sheet in SHEETS:
        df = sub[sheet]
        for col in columns(sheet, df.columns):
            s = df[col["name"]]
            where = f"{sheet}.{col['name']}"
            if col["required"] and s.null_count():
                errors.append(f"{where}: blank in a required column")
            values = s.drop_nulls()
            if col["type"] == "code":
                unknown = set(values.unique()) - set(CODE_LISTS[col["codes"]])
                if unknown:
                    errors.append(f"{where}: unknown codes {sorted(unknown)}")
            if "pattern" in col and not values.str.contains(col["pattern"]).all():
                errors.append(f"{where}: values not matching {col['pattern']}")
            if "min" in col and (values < col["min"]).any():
                errors.append(f"{where}: below {col['min']}")
            if "max" in col and (values > col["max"]).any():
                errors.append(f"{where}: above {col['max']}")
        if df.select(KEYS[sheet]).is_duplicated().any():
            errors.append(f"{sheet}: duplicate key {KEYS[sheet]}")
    if (sub["recommendations"]["text"].drop_nulls().str.len_chars() > 2000).any():
        errors.append("recommendations.text: longer than 2000 characters")

    reviews = sub["reviews"]
    for sheet in SHEETS[1:]:
        orphans = sub[sheet].join(reviews, on="review_id", how="anti")
        if orphans.height:
            errors.append(f"{sheet}: {orphans.height} rows name no review of the submission")

    rec_rows = sub["recommendations"].group_by("review_id").len()
    mismatch = reviews.join(rec_rows, on="review_id").filter(
        pl.col("recommendations_total").is_null()
        | (pl.col("len") != pl.col("recommendations_total"))
    )
    if mismatch.height:
        errors.append(f"recommendations: row count differs from total for {mismatch.height}")
    linked = sub["actions"].filter(pl.col("rec_no").is_not_null())
    dangling = linked.join(sub["recommendations"], on=["review_id", "rec_no"], how="anti")
    if dangling.height:
        errors.append(f"actions: {dangling.height} rec_no name no recommendation")

    today = date.today()
    for column in ("report_date", "decision_date"):
        if reviews.filter(pl.col(column) < pl.col("incident_date")).height:
            errors.append(f"reviews.{column}: before incident_date")
    for sheet, names in DATE_COLUMNS.items():
        for name in names:
            if (sub[sheet][name].drop_nulls() > today).any():
                errors.append(f"{sheet}.{name}: in the future")
    return errors


def sample_errors(sub: dict[str, pl.DataFrame]) -> list[str]:
    """Stricter properties the generator promises beyond the frame rules."""
    errors = []
    reviews = sub["reviews"]
    for sheet, number in (("recommendations", "rec_no"), ("actions", "action_no")):
        gaps = (
            sub[sheet]
            .group_by("review_id")
            .agg((pl.col(number).sort() == pl.int_range(1, pl.len() + 1)).all().alias("ok"))
        )
        if not gaps["ok"].all():
            errors.append(f"{sheet}: {number} is not 1..N within a review")
    action_rows = sub["actions"].group_by("review_id").len()
    if (
        reviews.join(action_rows, on="review_id")
        .filter(pl.col("action_points_total").fill_null(-1) != pl.col("len"))
        .height
    ):
        errors.append("actions: row count differs from action_points_total")
    if reviews.filter(pl.col("decision_date") > pl.col("report_date")).height:
        errors.append("reviews: decision after report")
    dated = sub["actions"].join(reviews.select("review_id", "incident_date"), on="review_id")
    for name in DATE_COLUMNS["actions"]:
        if dated.filter(pl.col(name) < pl.col("incident_date")).height:
            errors.append(f"actions.{name}: before incident_date")
    families = (
        sub["children"]
        .group_by("review_id")
        .agg(
            pl.len().alias("children"),
            pl.col("age_months").drop_nulls().n_unique().alias("ages"),
            pl.col("ethnicity").n_unique().alias("ethnicities"),
            pl.col("incident_type").n_unique().alias("incidents"),
        )
        .filter(pl.col("children") > 1)
    )
    if not (families["ages"] == families["children"]).all():
        errors.append("children: siblings without distinct known ages")
    if not ((families["ethnicities"] == 1) & (families["incidents"] == 1)).all():
        errors.append("children: siblings with different ethnicity or incident type")
    names = pl.concat([reviews["board_name"].drop_nulls(), sub["children"]["child_id"]])
    if not names.str.contains(r"^(Synthetic Board \d{3}|C[0-9-]+)$").all():
        errors.append("a board name or child id that is not synthetic")
    return errors


def test_frame_rules_hold_in_every_submission(submissions):
    assert len(submissions) == 1 + len(WORKBOOKS)
    problems = {name: rule_errors(sub) + sample_errors(sub) for name, sub in submissions.items()}
    assert {name: errs for name, errs in problems.items() if errs} == {}


def test_ids_unique_across_submissions(submissions):
    for sheet, key in (("reviews", "review_id"), ("children", "child_id")):
        ids = pl.concat([sub[sheet][key] for sub in submissions.values()])
        assert ids.is_unique().all(), f"{key} repeats across submissions"


def test_each_board_keeps_one_region(submissions):
    catalog = pl.read_csv(SAMPLES / "boards.csv")
    assert catalog["board_code"].is_unique().all() and catalog.height >= 140
    reviews = pl.concat(
        [
            sub["reviews"].select("board_code", "board_name", "region")
            for sub in submissions.values()
        ]
    )
    joined = reviews.join(catalog, on="board_code", how="left", suffix="_catalog")
    assert joined["region_catalog"].null_count() == 0, "a board outside the catalog"
    assert (joined["board_name"] == joined["board_name_catalog"]).all()
    stated = joined.filter(pl.col("region") != "not_stated")
    assert (stated["region"] == stated["region_catalog"]).all()


# --------------------------------------------------------------------------------------
# The 2001-03 replication against Appendix 2


def banded(column: str, bands: dict[str, tuple[int, int]]) -> pl.Expr:
    """The band code of an integer column ('missing' when blank)."""
    expr = pl.when(pl.col(column).is_null()).then(pl.lit("missing"))
    for code, (low, high) in bands.items():
        expr = expr.when(pl.col(column).is_between(low, high)).then(pl.lit(code))
    return expr.otherwise(pl.lit("out_of_band"))


BIG = 10**6  # upper end of the open bands


def bands(spec: str) -> dict[str, tuple[int, int]]:
    """Bands written as in the tabulation rules: "under_1:0-11 over_100:101-" (open end)."""
    parsed = (item.rsplit(":", 1) for item in spec.split())
    return {
        code: (int(span.split("-")[0]), int(span.split("-")[1] or BIG)) for code, span in parsed
    }


AGE_BANDS = bands(
    "under_1:0-11 1_2:12-35 3_4:36-59 5_10:60-131 11_14:132-179 15:180-191 16:192-203 17:204-215"
)
PAGE_BANDS = bands("0_30:1-30 31_50:31-50 51_75:51-75 76_100:76-100 over_100:101-")
REC_BANDS = bands("0_10:0-10 11_20:11-20 21_40:21-40 41_60:41-60 61_80:61-80 over_80:81-")
ACTION_BANDS = bands(
    "none:0-0 1_10:1-10 11_20:11-20 21_40:21-40 41_60:41-60 61_80:61-80 81_plus:81-"
)


def counts(df: pl.DataFrame, expr: pl.Expr, codes: list[str]) -> dict[str, int]:
    """Count of each code (every listed code, zero included; 'missing' only when > 0)."""
    values = df.select(expr.fill_null("missing").alias("v"))["v"].to_list()
    assert None not in values
    out = {code: values.count(code) for code in codes}
    extra = {v: values.count(v) for v in set(values) - set(codes)}
    return out | extra


def completion() -> pl.Expr:
    """Table 13 bucket with polars' calendar offsets (which clamp to the month end)."""
    report, incident = pl.col("report_date"), pl.col("incident_date")
    return (
        pl.when(report.is_null())
        .then(pl.lit("not_dated"))
        .when(report <= incident.dt.offset_by("6mo"))
        .then(pl.lit("le_6m"))
        .when(report <= incident.dt.offset_by("12mo"))
        .then(pl.lit("6_12m"))
        .when(report <= incident.dt.offset_by("18mo"))
        .then(pl.lit("12_18m"))
        .otherwise(pl.lit("gt_18m"))
    )


def tabulate(sub: dict[str, pl.DataFrame]) -> dict[str, dict]:
    """Tables 2-20 as {id: {"n": n, "rows": {code: count}, "summaries": {...}}}."""
    kids, reviews, recs = sub["children"], sub["reviews"], sub["recommendations"]
    frame_codes = {
        c["name"]: CODE_LISTS.get(c.get("codes"), []) for sheet in SHEETS for c in columns(sheet)
    }
    tables: dict[str, dict] = {}

    def simple(table_id, df, expr, codes):
        tables[table_id] = {"n": df.height, "rows": counts(df, expr, codes)}

    simple("t02_age", kids, banded("age_months", AGE_BANDS), list(AGE_BANDS))
    ages = kids["age_months"]
    tables["t02_age"]["summaries"] = {
        "2_and_under": int(ages.is_between(0, 35).sum()),
        "11_and_over": int(ages.is_between(132, 215).sum()),
    }
    babies = kids.filter(pl.col("age_months") < 12)
    simple(
        "t02b_age_under_1",
        babies,
        banded("age_months", {"0_2m": (0, 2), "3_5m": (3, 5), "6_11m": (6, 11)}),
        ["0_2m", "3_5m", "6_11m"],
    )
    for table_id, column in (
        ("t03_gender", "gender"),
        ("t04_child_ethnicity", "ethnicity"),
        ("t06_disability", "disability"),
        ("t07_incident_type", "incident_type"),
        ("t08_cp_register", "cp_register"),
        ("t09_legal_status", "legal_status"),
    ):
        simple(table_id, kids, pl.col(column), frame_codes[column])
    for table_id, column in (
        ("t05_parent_ethnicity", "parent_ethnicity"),
        ("t10_region", "region"),
        ("t14_author_status", "author_status"),
    ):
        simple(table_id, reviews, pl.col(column), frame_codes[column])
    years = sorted(set(reviews["incident_date"].dt.year().to_list()))
    simple(
        "t11_incident_year",
        reviews,
        pl.col("incident_date").dt.year().cast(pl.String),
        [str(y) for y in years],
    )
    report_years = sorted(set(reviews["report_date"].dt.year().drop_nulls().to_list()))
    simple(
        "t12_report_year",
        reviews,
        pl.col("report_date").dt.year().cast(pl.String).fill_null("no_date"),
        [str(y) for y in report_years] + ["no_date"],
    )
    simple(
        "t13_time_to_completion",
        reviews,
        completion(),
        ["le_6m", "6_12m", "12_18m", "gt_18m", "not_dated"],
    )
    simple("t15_report_length", reviews, banded("report_pages", PAGE_BANDS), list(PAGE_BANDS))
    simple(
        "t17_recommendations_total",
        reviews,
        banded("recommendations_total", REC_BANDS).replace("missing", "not_known"),
        [*REC_BANDS, "not_known"],
    )
    simple(
        "t19_action_points_total",
        reviews,
        banded("action_points_total", ACTION_BANDS).replace("missing", "not_known"),
        [*ACTION_BANDS, "not_known"],
    )
    simple("t18_recommendation_focus", recs, pl.col("focus"), frame_codes["focus"])
    for table_id, prefix, answers in (
        ("t16_chapter8_compliance", "c8_", "compliance"),
        ("t20_action_plans", "ap_", "action_plan"),
    ):
        items = [c["name"] for c in columns("reviews") if c["name"].startswith(prefix)]
        tables[table_id] = {
            "n": reviews.height,
            "rows": {item: counts(reviews, pl.col(item), CODE_LISTS[answers]) for item in items},
        }
    return tables


def published_table(table: dict) -> dict:
    """A published table in the shape `tabulate` returns."""
    if "columns" in table:
        rows = {row["code"]: dict(row["counts"]) for row in table["rows"]}
        for row in rows.values():
            if row.get("missing", 0) == 0:
                row.pop("missing", None)
    else:
        rows = {row["code"]: row["count"] for row in table["rows"]}
    out = {"n": table["n"], "rows": rows}
    if "summaries" in table:
        out["summaries"] = {row["code"]: row["count"] for row in table["summaries"]}
    return out


@pytest.mark.parametrize("table", PUBLISHED["tables"], ids=lambda t: t["id"])
def test_replication_reproduces_published_table(replication, table):
    ours = tabulate(replication)[table["id"]]
    assert ours == published_table(table)


def test_replication_table18_order(replication):
    focus = replication["recommendations"].group_by("focus").len()
    order = CODE_LISTS["recommendation_focus"]
    ranked = sorted(focus.iter_rows(), key=lambda r: (-r[1], order.index(r[0])))
    table = next(t for t in PUBLISHED["tables"] if t["id"] == "t18_recommendation_focus")
    assert [r[0] for r in ranked] == [r["code"] for r in table["rows"]]


def test_replication_shape(replication):
    reviews, kids = replication["reviews"], replication["children"]
    assert reviews["period"].unique().to_list() == ["2001-03"]
    assert reviews["review_id"].str.contains(r"^R2001-03-\d{4}$").all()
    family = kids.group_by("review_id").agg(
        pl.len().alias("n"),
        pl.col("age_months").n_unique().alias("ages"),
        pl.col("ethnicity").n_unique().alias("eth"),
    )
    assert sorted(family.filter(pl.col("n") > 1)["n"].to_list()) == [2, 3, 3]
    assert (family["ages"] == family["n"]).all() and (family["eth"] == 1).all()
    assert (
        reviews.select(pl.col(c) for c in reviews.columns if c.startswith("c8_"))
        .null_count()
        .sum_horizontal()
        .item()
        == 0
    )
    dates = reviews.select("incident_date", "decision_date", "report_date")
    assert (dates.max().max_horizontal().item()) <= date(2003, 12, 31)
    assert reviews["decision_date"].null_count() < 10
    # the single review with an unknown total has no recommendation rows
    unknown = reviews.filter(pl.col("recommendations_total").is_null())["review_id"]
    assert unknown.len() == 1
    assert (
        replication["recommendations"]
        .filter(pl.col("review_id").is_in(unknown.to_list()))
        .is_empty()
    )
    assert replication["recommendations"].height == 634
    # actions: rows exactly for the reviews with a known action_points_total above zero
    planned = reviews.filter(pl.col("action_points_total") > 0)
    assert set(replication["actions"]["review_id"]) == set(planned["review_id"])
    # suicides are of children of 12 or over
    assert (kids.filter(pl.col("incident_type") == "suicide")["age_months"] >= 144).all()
    # the same reviews are 'not clear' on every action-plan question but the first
    unclear = [
        frozenset(reviews.filter(pl.col(c) == "not_clear")["review_id"])
        for c in reviews.columns
        if c.startswith("ap_") and c != "ap_part_of_overview"
    ]
    assert len(set(unclear)) == 1 and len(unclear[0]) == 4


def test_csv_format():
    for path in REPLICATION.glob("*.csv"):
        data = path.read_bytes()
        data.decode("utf-8")
        assert b"\r" not in data and data.endswith(b"\n")
        assert not re.search(rb"\d{2}/\d{2}/\d{4}", data)


# --------------------------------------------------------------------------------------
# The later periods (one workbook per period and region)

LATER_PERIODS = ["2003-05", "2005-07", "2007-09", "2009-11"]
GO_REGIONS = [r for r in CODE_LISTS["region"] if r not in ("central", "not_stated")]
CIRCUMSTANCES = {  # share of children coded "yes": (low, high)
    "neglect": (0.30, 0.40),
    "domestic_violence": (0.30, 0.60),
    "parental_substance_misuse": (0.30, 0.45),
    "parental_mental_ill_health": (0.30, 0.40),
}


@pytest.fixture(scope="module")
def periods(submissions) -> dict[str, dict[str, pl.DataFrame]]:
    """All sample data by period (the first seven characters of a submission's name)."""
    grouped: dict[str, dict[str, list[pl.DataFrame]]] = {}
    for name, sub in submissions.items():
        for sheet, df in sub.items():
            grouped.setdefault(name[:7], {}).setdefault(sheet, []).append(df)
    return {p: {sheet: pl.concat(dfs) for sheet, dfs in g.items()} for p, g in grouped.items()}


def test_one_workbook_per_later_period(submissions):
    assert {p.stem for p in WORKBOOKS} == set(LATER_PERIODS)
    catalog = pl.read_csv(SAMPLES / "boards.csv")
    for path in WORKBOOKS:
        period = path.stem
        reviews = submissions[path.stem]["reviews"]
        assert set(reviews["period"]) == {period}
        assert reviews["review_id"].str.contains(rf"^R{period}-\d{{4}}$").all()
        boards = reviews.join(catalog, on="board_code")
        assert set(boards["region"].unique()) - {"not_stated"} <= set(GO_REGIONS)
        stated = boards.filter(pl.col("region") != "not_stated")
        assert (stated["region"] == stated["region_right"]).all(), path.name


def summary(data: dict[str, pl.DataFrame]) -> dict[str, float]:
    """Sizes and shares of one period."""
    reviews, kids, recs = data["reviews"], data["children"], data["recommendations"]
    focus = recs["focus"]
    out = {
        "reviews": reviews.height,
        "children_per_review": kids.height / reviews.height,
        "under_one": (kids["age_months"] < 12).sum() / kids.height,
        "on_register": (kids["cp_register"] == "on_register").mean(),
        "child_ethnicity_not_stated": (kids["ethnicity"] == "not_stated").mean(),
        "parent_ethnicity_not_stated": (reviews["parent_ethnicity"] == "not_stated").mean(),
        "independent": (reviews["author_status"] == "independent").mean(),
        "recs_per_review": reviews["recommendations_total"].mean(),
        "procedures": focus.is_in(["existing_procedures", "new_procedures"]).mean(),
        "practice": focus.is_in(["assessment", "training", "communication"]).mean(),
        "region_not_stated": (reviews["region"] == "not_stated").mean(),
    }
    out.update({name: (kids[name] == "yes").mean() for name in CIRCUMSTANCES})
    return out


def test_later_period_sizes_and_shares(periods):
    stats = {p: summary(periods[p]) for p in ["2001-03", *LATER_PERIODS]}
    for period in LATER_PERIODS:
        s = stats[period]
        assert 160 <= s["reviews"] <= 190, period
        assert 1.05 <= s["children_per_review"] <= 1.15, period
        low, high = (0.44, 0.50) if period == "2003-05" else (0.40, 0.47)
        assert low <= s["under_one"] <= high, period
        assert 0.12 <= s["on_register"] <= 0.15 < stats["2001-03"]["on_register"], period
        for name, (low, high) in CIRCUMSTANCES.items():
            assert low <= s[name] <= high, (period, name, s[name])
        assert 10 <= s["recs_per_review"] <= 25, period
        assert s["region_not_stated"] <= 0.03, period
        assert s["procedures"] < stats["2001-03"]["procedures"], period
        assert s["practice"] > stats["2001-03"]["practice"], period
    trend = [stats[p] for p in ["2001-03", *LATER_PERIODS]]
    for key, sign in (
        ("child_ethnicity_not_stated", -1),
        ("parent_ethnicity_not_stated", -1),
        ("independent", 1),
        ("procedures", -1),
        ("practice", 1),
    ):
        values = [s[key] for s in trend]
        assert all(sign * (b - a) > 0 for a, b in pairwise(values)), (key, values)


def test_later_period_dates(periods):
    for period in LATER_PERIODS:
        reviews = periods[period]["reviews"]
        year = int(period[:4])
        assert reviews["incident_date"].is_between(date(year, 4, 1), date(year + 2, 3, 31)).all()
        incident, report = pl.col("incident_date"), pl.col("report_date")
        dated = reviews.filter(report.is_not_null())
        assert 0 < reviews.height - dated.height <= 0.15 * reviews.height
        late = dated.filter(
            (report <= incident.dt.offset_by("6mo")) | (report > incident.dt.offset_by("24mo"))
        )
        assert late.is_empty(), period
        assert "central" not in set(reviews["region"])


def test_later_period_actions(periods):
    for period in LATER_PERIODS:
        reviews, actions = periods[period]["reviews"], periods[period]["actions"]
        planned = reviews.filter(pl.col("action_points_total") > 0)
        share = actions["review_id"].n_unique() / planned.height
        assert 0.3 <= share <= 0.8, period
        assert {"completed", "in_progress"} <= set(actions["status"])
        known = actions.filter(pl.col("status") != "not_known")
        assert known["status_date"].null_count() == 0
        assert actions.filter(pl.col("status") == "not_known")["status_date"].null_count() > 0
        assert (actions["rec_no"].is_not_null()).any()


def test_sample_folder_size():
    size = sum(p.stat().st_size for p in SAMPLES.rglob("*") if p.is_file())
    assert size < 15 * 2**20


# --------------------------------------------------------------------------------------
# Regeneration


def test_generator_is_deterministic(tmp_path):
    subprocess.run(
        [sys.executable, str(SAMPLES / "generate.py"), "--out", str(tmp_path)],
        check=True,
        timeout=240,
    )
    made = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    kept = sorted(
        [Path("boards.csv")]
        + [p.relative_to(SAMPLES) for p in SUBMISSIONS.rglob("*") if p.is_file()]
    )
    assert made == kept
    for rel in made:
        assert (tmp_path / rel).read_bytes() == (SAMPLES / rel).read_bytes(), rel

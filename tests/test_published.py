"""Real published national figures: every value in its quote, disagreements kept with one
used, the Dagster asset, `scr published add`, and every principal reading them."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from warehouse import published as P
from warehouse.db import connect, publish_snapshot, snapshot_path
from warehouse.migrations import apply_pending
from warehouse.schema import ensure_schema

HEADER = ",".join(P.COLUMNS)
EES = P.EES_CATALOGUE + "data-set/x"


def shipped() -> pl.DataFrame:
    return pl.read_csv(P.SHIPPED, infer_schema=False)


def loaded_db() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    apply_pending(con)
    P.load_shipped(con)
    return con


def write_csv(path: Path, *rows: str) -> Path:
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


# -- every value in its quote ---------------------------------------------------------------


def independent_token(value: str, quote: str) -> bool:
    """The token rule again, with Python's look-around (an independent implementation):
    the digits, thousands optionally comma-separated, not inside a longer number."""
    digits = value.lstrip("-")
    whole, _, decimals = digits.partition(".")
    groups = [whole[max(0, i - 3) : i] for i in range(len(whole), 0, -3)][::-1]
    body = ",?".join(groups) + (r"\." + decimals if decimals else "")
    return re.search(rf"(?<!\d)(?<!\d[.,]){body}(?!\d)(?![.,]\d)", quote) is not None


def label_runs(quote: str) -> list[str]:
    """The digit runs that directly follow a text label in run-together preview cells."""
    return re.findall(r"[A-Za-z]{2}(\d[\d.]*)", quote)


def test_every_shipped_value_appears_in_its_quote() -> None:
    rows = shipped()
    assert rows.height == 122 and rows.columns == list(P.COLUMNS)
    figures, problems = P.check_figures(P.read_figures(P.SHIPPED)[0])
    assert problems.is_empty(), P.issue_lines(problems)
    found = rows.with_columns(figures["quote_match"])
    assert found["quote_match"].null_count() == 0
    # The token rule agrees with an independent implementation on every row.
    for row in found.iter_rows(named=True):
        assert independent_token(row["value"], row["quote"]) == (row["quote_match"] == P.TOKEN), row
    # The others are exactly the EES preview rows whose cells run together, and in each the
    # count starts the cell after its label, a percent ends the row after the count.
    together = found.filter(pl.col("quote_match") == P.RUN_TOGETHER)
    assert together.height == 12
    for row in together.iter_rows(named=True):
        assert row["source_url"].startswith(P.EES_CATALOGUE) and "|" not in row["quote"]
        runs = label_runs(row["quote"])
        if row["unit"] == "count":
            assert any(run.startswith(row["value"]) for run in runs), row
        else:
            count = found.filter((pl.col("quote") == row["quote"]) & (pl.col("unit") == "count"))[
                "value"
            ]
            assert runs[-1] == count[0] + row["value"] and row["quote"].endswith(row["value"])


@pytest.mark.parametrize(
    ("value", "quote", "url", "expected"),
    [
        ("1234", "The Panel received 1,234 rapid reviews.", "https://a.b/", P.TOKEN),
        ("1234", "The Panel received 1234 rapid reviews.", "https://a.b/", P.TOKEN),
        ("1045", "some 1,045 in all", "https://a.b/", P.TOKEN),
        ("45", "some 1,045 in all", "https://a.b/", None),
        ("45", "145 reviews", "https://a.b/", None),
        ("45", "45.6% of them", "https://a.b/", None),
        ("45.6", "45.6% of them", "https://a.b/", P.TOKEN),
        ("-51", "total notifications (down 51) was", "https://a.b/", P.TOKEN),
        ("231", "the year before: 231.", "https://a.b/", P.TOKEN),
        ("5", "one in five", "https://a.b/", None),  # a number in words never matches
        ("130", "EnglandGenderFemale13045.6", EES, P.RUN_TOGETHER),
        ("45.6", "EnglandGenderFemale13045.6", EES, P.RUN_TOGETHER),
        ("130", "EnglandGenderFemale13045.6", "https://a.b/", None),  # not an EES preview
        ("130", "| Female | 13045.6 |", EES, None),  # separated cells: the token rule only
    ],
)
def test_the_matching_rule(value: str, quote: str, url: str, expected: str | None) -> None:
    found = pl.DataFrame({"v": [value], "q": [quote], "u": [url]}).select(
        P.quote_match_expr(pl.col("v"), pl.col("q"), pl.col("u"))
    )
    assert found.item() == expected


# -- disagreements: every row kept, one used -------------------------------------------------


def test_disagreements_are_kept_and_exactly_one_row_is_used() -> None:
    con = loaded_db()
    every = P.published_series(con, every_source=True)
    assert every.height == 122
    used = every.group_by(P.KEY).agg(pl.col("used").sum().alias("n"))
    assert used["n"].to_list() == [1] * used.height  # exactly one used per series/period/measure
    assert P.published_series(con).height == used.height == 107
    # 2019-20: Social Work Today's 448 and Foster Talk's 449 both kept; 449 used, because
    # DfE's official "536 ... up 87 on 2019-20" implies it.
    both = every.filter(
        (pl.col("period") == "2019-20") & (pl.col("measure") == "notifications_total")
    )
    assert sorted(both["value"].to_list()) == [448, 449]
    chosen = both.filter(pl.col("used")).row(0, named=True)
    assert (
        chosen["value"] == 449 and "official published change implies 449" in chosen["used_reason"]
    )
    assert both["disagreement"].all()
    assert every.filter(pl.col("disagreement"))["period"].unique().to_list() == ["2019-20"]
    # Where sources agree the best kind of source is the one linked.
    rank = pl.col("source_kind").replace_strict(P.SOURCE_RANK)
    best = every.group_by(P.KEY).agg(rank.min().alias("best"))
    linked = every.filter(pl.col("used")).join(best, on=P.KEY).filter(rank != pl.col("best"))
    assert linked.is_empty()


def test_official_over_secondary_then_the_later_addition(tmp_path: Path) -> None:
    con = loaded_db()
    quote = "In 2019-20 there were {} serious incident notifications."
    first = write_csv(
        tmp_path / "first.csv",
        f"notifications,2019-20,notifications_total,482,count,DfE release,"
        f'https://www.gov.uk/a,"{quote.format(482)}"',
    )
    P.add_figures(con, first, tmp_path / "archive", "tester")
    used = P.published_series(con).filter(pl.col("period") == "2019-20")
    assert used["value"].to_list() == [482]
    assert "official source over secondary" in used["used_reason"][0]
    later = write_csv(
        tmp_path / "later.csv",
        f"notifications,2019-20,notifications_total,483,count,DfE revised release,"
        f'https://www.gov.uk/b,"{quote.format(483)}"',
    )
    P.add_figures(con, later, tmp_path / "archive", "tester")
    used = P.published_series(con).filter(pl.col("period") == "2019-20").row(0, named=True)
    assert used["value"] == 483 and used["used_reason"].endswith("the figure added later")
    # Reloading the shipped file (every refresh does) keeps what was added and the choice.
    P.load_shipped(con)
    every = P.published_series(con, every_source=True).filter(pl.col("period") == "2019-20")
    assert sorted(every["value"].to_list()) == [448, 449, 482, 483]
    assert every.filter(pl.col("used"))["value"].to_list() == [483]


# -- the asset -------------------------------------------------------------------------------


def test_the_asset_materialises_into_a_temp_warehouse(tmp_path: Path) -> None:
    from pipelines.defs.assets.published import published_national_series
    from pipelines.defs.resources import WarehouseResource

    warehouse = WarehouseResource(database=str(tmp_path / "scr.duckdb"))
    instance = dg.DagsterInstance.ephemeral()
    for _ in range(2):  # a second run replaces the shipped rows, never appends them
        result = dg.materialize(
            [published_national_series], resources={"warehouse": warehouse}, instance=instance
        )
        assert result.success
    con = duckdb.connect(str(warehouse.file), read_only=True)
    try:
        assert con.execute(
            "SELECT count(*), count(*) FILTER (WHERE used), count(DISTINCT submission_id) "
            "FROM published_national_series"
        ).fetchall() == [(122, 107, 1)]
        ledger = con.execute(
            "SELECT origin, n_rows, archive_path FROM published_submissions"
        ).fetchall()
    finally:
        con.close()
    assert [(origin, n) for origin, n, _ in ledger] == [("shipped", 122)]
    assert Path(ledger[0][2]).read_bytes() == P.SHIPPED.read_bytes()  # archived as shipped
    events = result.get_asset_materialization_events()
    metadata = events[0].materialization.metadata
    assert metadata["rows"].value == 122 and metadata["disagreements"].value == 1


# -- scr published add -----------------------------------------------------------------------


def state(warehouse: Path) -> tuple[object, ...]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute("SELECT * FROM published_national_series ORDER BY ALL").fetchall()
        ledger = con.execute("SELECT * FROM published_submissions ORDER BY ALL").fetchall()
    finally:
        con.close()
    archive = warehouse.with_name(f"{warehouse.stem}.archive")
    files = sorted(p.name for p in archive.iterdir()) if archive.exists() else []
    return rows, ledger, files


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """A warehouse with the shipped figures and its snapshot."""
    path = tmp_path / "wh" / "scr.duckdb"
    con = connect(path)
    try:
        ensure_schema(con)
        P.load_shipped(con, path.with_name("scr.archive"))
        publish_snapshot(con, path)
    finally:
        con.close()
    return path


def test_published_add_rejects_a_bad_file_by_row_column_and_rule(
    warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipelines.published_cli import run_published_add

    bad = write_csv(
        tmp_path / "bad.csv",
        "notifications,2021-22,notifications_total,482,count,T,https://www.gov.uk/x,"
        '"In 2021-22 there were 1482 notifications."',
        'notifications,2021-22,serious_harm_total,5,count,T,https://www.gov.uk/x,"5 more"',
        'notifications,2021,deaths,190,count,T,https://www.gov.uk/y,"190 deaths"',
        'biennial,2009-11,pct_cpp,110,percent,T,https://www.gov.uk/z,"110%"',
        'notifications,2021-22,deaths,-5,count,T,https://www.gov.uk/y,"down 5"',
        ",2021-22,deaths,7,count,T,https://www.gov.uk/y,",
        'annual,2021-22,deaths,7,count,T,https://www.gov.uk/y,"7"',
    )
    before = state(warehouse)
    assert run_published_add(bad, warehouse) == 1
    err = capsys.readouterr().err
    assert "bad.csv: rejected; nothing was changed" in err
    for expected in (
        "row 2, column value: the value does not appear in its quote (value_in_quote): '482'",
        "row 3, column measure: the measure is not one of the known measures of this series "
        "(known_measure): 'serious_harm_total'",
        "row 4, column period: the period must be in the release's own format "
        "(period_format): '2021'",
        "row 5, column value: a percent must be between 0 and 100 (percent_range): '110'",
        "row 6, column value: only a change (change_* measures) may be negative (value_sign)",
        "row 7, column series: every column must have a value (required)",
        "row 7, column quote: every column must have a value (required)",
        "row 8, column series: series must be one of notifications, biennial, panel (series)",
    ):
        assert expected in err, err
    assert state(warehouse) == before  # no row, no ledger entry, nothing archived


def test_published_add_accepts_a_good_file_into_the_ledger_and_the_snapshot(
    warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipelines.published_cli import run_published_add, run_published_list
    from warehouse.access import PUBLIC, Access

    good = write_csv(
        tmp_path / "good.csv",
        "panel,2021,rapid_reviews_received,1234,count,Panel annual report 2021,"
        'https://www.gov.uk/panel-2021,"The Panel received 1,234 rapid reviews in 2021."',
        "notifications,2021-22,notifications_total,393,count,DfE release 2021-22,"
        "https://explore-education-statistics.service.gov.uk/find-statistics/x,"
        '"In 2021-22 there were 393 serious incident notifications."',
    )
    assert run_published_add(good, warehouse, "analyst") == 0
    assert "good.csv: accepted 2 figures" in capsys.readouterr().out
    rows, ledger, files = state(warehouse)
    added = [r for r in ledger if r[3] == "added"]
    assert len(added) == 1 and added[0][2] == "good.csv" and added[0][6] == "analyst"
    assert Path(added[0][4]).read_bytes() == good.read_bytes()  # archived by content
    assert Path(added[0][4]).name in files
    assert run_published_add(good, warehouse) == 1  # the same figures again: already loaded
    assert "(already_loaded)" in capsys.readouterr().err
    # The snapshot was republished: the public sees the new figures, apart from the ledger.
    public = Access(warehouse, PUBLIC)
    figures = public.published_series()
    assert figures.filter(pl.col("period") == "2021")["value_text"].to_list() == ["1234"]
    assert figures.height == 109
    charts = public.published_charts()
    assert "2021-22" in charts["notifications"]["period"].to_list()
    assert charts["notifications"]["source_url"].null_count() == 0
    with public.connect() as con:
        assert con.execute("SELECT count(*) FROM published_submissions").fetchall() == [(0,)]
    assert snapshot_path(warehouse).exists()
    assert run_published_list(warehouse, fmt="csv") == 0
    listed = capsys.readouterr().out
    assert "panel,2021,rapid_reviews_received,1234,true,official" in listed


def test_the_parser_registers_add_and_list() -> None:
    from pipelines.published_cli import _cmd_add, _cmd_list, add_published_parser

    parser = argparse.ArgumentParser(prog="scr")
    add_published_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["published", "add", "more.csv", "--submitted-by", "me"])
    assert (args.func, args.path, args.submitted_by, args.writes) == (
        _cmd_add,
        "more.csv",
        "me",
        True,
    )
    args = parser.parse_args(["published", "list", "--all", "--format", "json"])
    assert (args.func, args.all, args.format) == (_cmd_list, True, "json")


def test_chart_groups_hold_real_figures_with_their_sources() -> None:
    groups = P.chart_groups(P.published_series(loaded_db()))
    assert set(groups) == set(P.CHART_GROUPS)
    notifications = groups["notifications"].sort("period_start")
    assert notifications["period"].to_list()[:3] == ["2012-13", "2013-14", "2014-15"]
    assert notifications.filter(pl.col("period") == "2019-20")["value"].to_list() == [449]
    assert notifications.filter(~pl.col("comparable"))["period"].to_list() == ["2012-13", "2013-14"]
    assert set(groups["deaths_and_harm"]["measure"]) == {"deaths", "serious_harm", "other"}
    assert groups["reviews"].sort("period_start")["value"].to_list() == [40, 161, 184, 293, 368]
    assert groups["headline_percents"]["value_text"].str.ends_with("%").all()
    assert not groups["headline_percents"]["measure"].str.starts_with("ofsted_eval_").any()
    for frame in groups.values():
        assert frame["source_url"].null_count() == 0 and frame["used"].all()


def test_a_hostile_quote_is_shown_escaped(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "hostile.csv",
        'panel,2021,rapid_reviews_received,12,count,T,https://www.gov.uk/p,"\x1b[2J\u202e13"',
    )
    lines = P.issue_lines(P.check_file(path)[1])
    assert len(lines) == 2 and "(value_in_quote)" in lines[1]
    assert "row 2, column quote: text must not hold control" in lines[0]
    assert not any("\x1b" in line or "\u202e" in line for line in lines)
    assert "\\x1b" in lines[0] and "\\u202e" in lines[1]


def test_a_file_saved_by_excel_reads_and_a_wrong_header_is_named(tmp_path: Path) -> None:
    row = 'panel,2021,rapid_reviews_received,12,count,T,https://www.gov.uk/p,"12 reviews"'
    excel = tmp_path / "excel.csv"
    excel.write_bytes(("\ufeff" + HEADER + "\r\n" + row + "\r\n").encode("utf-8"))
    figures, problems = P.check_file(excel)
    assert problems.is_empty() and figures["value"].to_list() == [12]
    wrong = tmp_path / "wrong.csv"
    wrong.write_text(HEADER.replace("quote", "excerpt") + "\n" + row + "\n", encoding="utf-8")
    lines = P.issue_lines(P.check_file(wrong)[1])
    assert lines == [
        "[ERROR] file: the file must have exactly the columns "
        + ", ".join(P.COLUMNS)
        + " (missing: quote; unexpected: excerpt) (columns)"
    ]


def test_official_changes_that_imply_different_totals_imply_none() -> None:
    def row(period: str, measure: str, value: float) -> dict[str, object]:
        return {
            "series": "notifications",
            "period": period,
            "measure": measure,
            "value": value,
            "source_kind": P.OFFICIAL,
        }

    figures = pl.DataFrame(
        [
            row("2020-21", "notifications_total", 536),
            row("2020-21", "change_total_vs_prev_year", 87),
            row("2023-24", "notifications_total", 405),
            row("2023-24", "change_total_vs_2018_19", -93),
            row("2019-20", "notifications_total", 449),
            row("2019-20", "change_total_vs_prev_year", -50),  # 2018-19: 499, not 498
        ]
    )
    implied = P.implied_totals(figures).sort("period")
    assert implied.rows() == [("notifications", "2019-20", "notifications_total", 449.0)]

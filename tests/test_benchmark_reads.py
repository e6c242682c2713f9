"""Board benchmark read layer on the sample warehouse (issue 9, sections 1, 3 and 9): exact
comparisons with no marker on too few cases, pooled periods that add up, what each indicator
counts, and two boards side by side within the viewer's scope only."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from tests.sample_warehouses import sample_warehouse_once
from warehouse import stats
from warehouse.access import INDICATORS, Access, OutOfScope, Selection
from warehouse.db import snapshot_path
from warehouse.principal import Principal

ONE_REVIEW_INDICATORS = ("independent_author", "genogram", "chronology")


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample_warehouse_once(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def access(sample_warehouse: Path) -> Access:
    return Access(sample_warehouse)


@pytest.fixture(scope="module")
def reviews(sample_warehouse: Path) -> pl.DataFrame:
    with duckdb.connect(str(snapshot_path(sample_warehouse)), read_only=True) as con:
        return con.sql("SELECT * FROM reviews").pl()


def test_a_board_with_one_review_gets_too_few_to_compare_and_no_marker(
    access: Access, reviews: pl.DataFrame
) -> None:
    """1 of 1 (or 0 of 1) earns no Higher or Lower, in the table and in the funnel."""
    single = (
        reviews.filter(pl.col("c8_genogram").is_in(["yes", "no", "partly"]))
        .group_by("board_code", "period")
        .agg(pl.len().alias("n"), pl.col("review_id").n_unique().alias("all"))
        .join(
            reviews.group_by("board_code", "period").agg(pl.len().alias("reviews")),
            on=["board_code", "period"],
        )
        .filter((pl.col("reviews") == 1) & (pl.col("n") == 1))
        .sort("board_code", "period")
    )
    assert single.height, "the sample has boards with one review in a period"
    board, period = single.row(0)[:2]
    sel = Selection(period=period, board=board)
    bench = access.benchmark(sel, 1).filter(pl.col("indicator").is_in(ONE_REVIEW_INDICATORS))
    assert bench["board_n"].to_list() == [1, 1, 1]
    assert set(bench["comparison"]) == {"Too few to compare"}
    funnel = access.funnel(sel, "genogram", 1).filter(pl.col("selected"))
    assert funnel.row(0, named=True)["band"] == "too few to compare"  # drawn without a colour


def test_no_better_or_worse_anywhere_the_read_layer_answers(access: Access) -> None:
    board = access.boards().sort("reviews", descending=True)["board_code"][0]
    other = access.boards().sort("reviews")["board_code"][0]
    frames = [
        access.benchmark(Selection(period="2009-11", board=board)),
        access.benchmark(Selection(board=board), 1),
        access.benchmark_pair(Selection(period="2009-11", board=board), other),
        access.funnel(Selection(period="2009-11"), "genogram"),
    ]
    words = {str(v) for f in frames for c in f.columns if f[c].dtype == pl.String for v in f[c]} | {
        c for f in frames for c in f.columns
    }
    assert not {w for w in words if "better" in w.lower() or "worse" in w.lower()}
    comparisons = set(frames[0]["comparison"]) | set(frames[1]["comparison"])
    assert comparisons <= {"Higher", "Similar", "Lower", "Too few to compare", "Not compared"}
    assert not any(
        "better" in text.lower() or "worse" in text.lower()
        for i in INDICATORS
        for text in (i.label, i.definition, i.counted)
    )


def test_three_periods_pool_by_adding_their_counts(access: Access) -> None:
    board = access.boards().sort("reviews", descending=True)["board_code"][0]
    sel = Selection(period="2009-11", board=board)
    periods = access.pooled_periods("2009-11", 3)
    assert periods == ("2005-07", "2007-09", "2009-11")
    assert access.pooled_periods("2003-05", 3) == ("2001-03", "2003-05")  # none before
    assert access.pooled_periods(None, 3) == tuple(access.periods())
    with pytest.raises(ValueError, match="pool"):
        access.pooled_periods("2009-11", 2)
    pooled = access.benchmark(sel).sort("indicator")
    singles = [access.benchmark(Selection(period=p, board=board), 1) for p in periods]
    added = (
        pl.concat(singles)
        .group_by("indicator")
        .agg(pl.col("board_k").sum(), pl.col("board_n").sum(), pl.col("england_n").sum())
    )
    joined = pooled.join(added, on="indicator", suffix="_sum")
    assert (joined["board_k"] == joined["board_k_sum"]).all()
    assert (joined["board_n"] == joined["board_n_sum"]).all()
    assert (joined["england_n"] == joined["england_n_sum"]).all()
    # The interval and the comparison are the exact ones of the pooled counts.
    for row in pooled.iter_rows(named=True):
        low, high = stats.clopper_pearson(int(row["board_k"]), row["board_n"])
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high))
        assert row["comparison"] == stats.compare(
            int(row["board_k"]), row["board_n"], row["england_value"]
        )
    funnel = access.funnel(sel, "under_one")
    chosen = funnel.filter(pl.col("selected")).row(0, named=True)
    under_one = pooled.filter(pl.col("indicator") == "under_one").row(0, named=True)
    assert (chosen["k"], chosen["n"]) == (under_one["board_k"], under_one["board_n"])


def test_genogram_and_chronology_leave_unanswered_reviews_out(
    access: Access, reviews: pl.DataFrame
) -> None:
    """Blank or not stated counts neither for nor against: it is its own completeness figure."""
    period = "2009-11"
    these = reviews.filter(pl.col("period") == period)
    indicators = {
        r["indicator"]: r for r in access.indicators(Selection(period)).iter_rows(named=True)
    }
    for key, column in (("genogram", "c8_genogram"), ("chronology", "c8_chronology")):
        answered = these.filter(
            pl.col(column).is_not_null() & (pl.col(column) != "not_stated")
        ).height
        assert answered < these.height  # the sample has blanks
        assert indicators[key]["denominator"] == answered
        assert indicators[key]["numerator"] == these.filter(pl.col(column) == "yes").height
    board = these.filter(pl.col("c8_genogram").is_null())["board_code"][0]
    bench = access.benchmark(Selection(period=period, board=board), 1)
    genogram = bench.filter(pl.col("indicator") == "genogram").row(0, named=True)
    own = these.filter(pl.col("board_code") == board)
    assert genogram["board_all"] == own.height
    assert (
        genogram["board_unanswered"]
        == own.filter(
            pl.col("c8_genogram").is_null() | (pl.col("c8_genogram") == "not_stated")
        ).height
    )
    assert genogram["board_unanswered"] >= 1
    for ind in INDICATORS:  # every indicator says what it counts
        assert ind.denominator_text and (ind.kind != "share" or ind.numerator_text)
        assert "Denominator" in ind.counted or ind.kind != "share"


def test_two_boards_side_by_side_only_within_the_scope(
    sample_warehouse: Path, access: Access
) -> None:
    regional = Access(sample_warehouse, Principal("london office", "regional", "london"))
    mine = regional.boards()["board_code"].to_list()
    elsewhere = access.boards().filter(pl.col("region") != "london")["board_code"][0]
    sel = Selection(period="2009-11", board=mine[0])
    pair = regional.benchmark_pair(sel, mine[1])
    first = regional.benchmark(sel).sort("indicator")
    second = regional.benchmark(Selection(period="2009-11", board=mine[1])).sort("indicator")
    pair = pair.sort("indicator")
    assert pair["first_k"].to_list() == first["board_k"].to_list()
    assert pair["second_n"].to_list() == second["board_n"].to_list()
    assert pair["second_comparison"].to_list() == second["comparison"].to_list()
    with pytest.raises(OutOfScope, match="not in your scope"):
        regional.benchmark_pair(sel, elsewhere)
    board_user = Access(sample_warehouse, Principal("coder", "board", mine[0]))
    with pytest.raises(OutOfScope):
        board_user.benchmark_pair(sel, mine[1])

"""The one rounding rule (issue 9): every percent rounds half up, the same from counts, from a
float share and in polars, as the study tables do."""

from __future__ import annotations

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from warehouse.numbers import (
    percent,
    percent_expr,
    percent_of,
    percent_of_expr,
    percent_text,
    points_text,
    round_half_up,
    round_half_up_expr,
)


def test_halves_round_up() -> None:
    assert percent_of(5, 8) == 63  # 62.5
    assert percent(5 / 8) == 63
    assert percent(57 / 200) == 29  # 28.5, stored as 0.28499999999999998
    assert percent(1 / 3) == 33
    assert percent_text(0.125) == "13%"
    assert percent_text(None) == "–"
    assert points_text(-0.125) == "-13 pts"
    assert points_text(0.625 - 0.5) == "+13 pts"
    assert round_half_up(2.25, 1) == 2.3
    assert round_half_up(-2.5) == -3


def test_every_share_of_small_counts_agrees() -> None:
    """All k of n up to n = 400: integer arithmetic, the float path and polars agree."""
    pairs = [(k, n) for n in range(1, 401) for k in range(n + 1)]
    df = pl.DataFrame(pairs, schema=["k", "n"], orient="row")
    out = df.with_columns(
        from_counts=percent_of_expr(pl.col("k"), pl.col("n")),
        from_share=percent_expr(pl.col("k") / pl.col("n")),
    )
    assert out["from_counts"].to_list() == [percent_of(k, n) for k, n in pairs]
    assert out["from_share"].to_list() == out["from_counts"].to_list()
    assert [percent(k / n) for k, n in pairs] == out["from_counts"].to_list()


@given(st.integers(0, 10**6), st.integers(1, 10**6))
def test_counts_and_shares_agree(k: int, n: int) -> None:
    k = min(k, n)
    assert percent(k / n) == percent_of(k, n)


@given(st.integers(-(10**6), 10**6))
def test_decimal_rounding_matches_polars(tenths: int) -> None:
    value = tenths / 20  # every multiple of 0.05: halves at one decimal place
    expr = pl.select(round_half_up_expr(pl.lit(value), 1)).item()
    assert round_half_up(value, 1) == expr

"""warehouse/stats.py against scipy.stats computed independently: exact intervals, exact
funnel limits, the comparison and its minimum (issue 9, section 1)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sp

from warehouse import stats

GRID = [(k, n) for n in (*range(1, 21), 33, 57, 100) for k in range(n + 1)]
P0S = (0.01, 0.05, 0.134, 0.3, 0.5, 0.72, 0.97)


def test_clopper_pearson_is_scipys_exact_interval_over_a_grid() -> None:
    ks = np.array([k for k, _ in GRID])
    ns = np.array([n for _, n in GRID])
    for level in stats.LEVELS:
        low, high = stats.clopper_pearson_arrays(ks, ns, level)
        for i, (k, n) in enumerate(GRID):
            ci = sp.binomtest(k, n).proportion_ci(confidence_level=level, method="exact")
            assert math.isclose(low[i], ci.low, abs_tol=1e-9), (k, n, level)
            assert math.isclose(high[i], ci.high, abs_tol=1e-9), (k, n, level)
    assert stats.clopper_pearson(0, 0) == (None, None)
    assert stats.clopper_pearson(3, 3)[1] == 1.0 and stats.clopper_pearson(0, 3)[0] == 0.0


@pytest.mark.parametrize("p0", P0S)
def test_funnel_limits_are_scipys_exact_binomial_tails(p0: float) -> None:
    """A count is beyond a limit exactly when scipy's one-sided exact p-value is below
    (1 - level) / 2; the limit counts are the last counts inside."""
    ns = np.arange(1, 41)
    pvalues = {
        (k, int(n)): (
            sp.binomtest(k, int(n), p0, alternative="greater").pvalue,
            sp.binomtest(k, int(n), p0, alternative="less").pvalue,
        )
        for n in ns
        for k in range(n + 1)
    }
    for level in stats.LEVELS:
        tail = (1 - level) / 2
        low, high = stats.limit_counts(ns, p0, level)
        for (k, n), (greater, less) in pvalues.items():
            assert bool(stats.above(k, n, p0, level)) == (greater < tail), (k, n, level)
            assert bool(stats.below(k, n, p0, level)) == (less < tail), (k, n, level)
            assert (k > high[n - 1]) == (greater < tail), (k, n, level)
            assert (k < low[n - 1]) == (less < tail), (k, n, level)


@pytest.mark.parametrize("p0", P0S)
def test_the_interval_excludes_england_exactly_when_the_point_is_outside_the_funnel(
    p0: float,
) -> None:
    ks = np.array([k for k, _ in GRID])
    ns = np.array([n for _, n in GRID])
    low, high = stats.clopper_pearson_arrays(ks, ns, 0.95)
    outside = stats.above(ks, ns, p0, 0.95) | stats.below(ks, ns, p0, 0.95)
    np.testing.assert_array_equal((low > p0) | (high < p0), outside)


@settings(max_examples=200, deadline=None)
@given(
    p0=st.floats(min_value=0.005, max_value=0.995),
    n=st.integers(min_value=1, max_value=400),
    level=st.sampled_from(stats.LEVELS),
)
def test_the_exact_limits_hold_their_level(p0: float, n: int, level: float) -> None:
    """A board matching England lies outside the limits with probability at most 1 - level
    (the normal approximation flagged 9-14% of such boards at "95%")."""
    chance = float(stats.chance_outside([n], p0, level)[0])
    ks = np.arange(n + 1)
    outside = stats.above(ks, n, p0, level) | stats.below(ks, n, p0, level)
    assert math.isclose(chance, float(sp.binom.pmf(ks, n, p0)[outside].sum()), abs_tol=1e-12)
    assert chance <= 1 - level + 1e-12


def test_the_issues_example_two_of_two_is_not_outside_the_998_limit() -> None:
    """At n = 2, 2 of 2 against an England proportion whose chance of 2 of 2 is 0.018: beyond
    the 95% limit (0.018 < 0.025) but not the 99.8% one (0.018 > 0.001). The normal
    approximation and the PHE interpolation both put it outside 99.8%."""
    p0 = math.sqrt(0.018)
    assert math.isclose(float(stats.upper_tail(2, 2, p0)), 0.018)
    assert not stats.above(2, 2, p0, 0.998)
    assert stats.above(2, 2, p0, 0.95)
    limits = stats.funnel_limits(p0, 10).row(1, named=True)
    assert limits["n"] == 2 and limits["upper_998"] == 1.0 and limits["upper_95"] == 0.5
    normal_998 = p0 + 3.090232306167813 * math.sqrt(p0 * (1 - p0) / 2)
    assert normal_998 < 1.0  # the old limit put 2 of 2 outside
    assert float(stats.interpolated_limit([2], p0, 0.999)[0]) < 1.0  # and so would PHE's
    # Two cases are below the minimum: no marker, whatever the count.
    assert stats.compare(2, 2, p0) == stats.TOO_FEW
    assert list(stats.band_arrays([2], [2], p0)) == ["too few to compare"]


@pytest.mark.parametrize("p0", P0S)
def test_one_of_one_is_too_few_to_compare(p0: float) -> None:
    assert stats.compare(1, 1, p0) == "Too few to compare"
    assert stats.compare(0, 1, p0) == "Too few to compare"
    assert list(stats.band_arrays([1, 0], [1, 1], p0)) == ["too few to compare"] * 2


def test_comparison_words_and_the_minimum() -> None:
    assert stats.compare(9, 10, 0.4) == "Higher"
    assert stats.compare(0, 10, 0.4) == "Lower"
    assert stats.compare(4, 10, 0.4) == "Similar"
    assert stats.compare(3, 4, 0.01) == "Too few to compare"  # below MIN_CASES
    # Enough cases, but no count could fall outside the 95% limits: too few as well.
    assert not stats.comparable([5], 0.5)[0]  # 0.5 ** 5 = 0.031 > 0.025
    assert stats.compare(5, 5, 0.5) == "Too few to compare"
    assert stats.comparable([6], 0.5)[0] and stats.compare(6, 6, 0.5) == "Higher"
    assert stats.compare(None, None, 0.4) == stats.compare(3, 0, 0.4) == "Not compared"
    assert stats.compare(3, 10, None) == "Not compared"
    assert stats.compare(1, 1, None) == "Too few to compare"  # England hidden, one case
    words = set(stats.compare_arrays(np.arange(31), np.full(31, 30), 0.3))
    assert words == {"Higher", "Similar", "Lower"}
    assert not {"Better", "Worse"} & set(stats.COMPARISONS)


def test_funnel_limits_cover_every_n_and_agree_with_the_bands() -> None:
    p0 = 0.3
    limits = stats.funnel_limits(p0, 60)
    assert limits["n"].to_list() == list(range(1, 61))
    for row in limits.iter_rows(named=True):
        n = row["n"]
        ks = np.arange(n + 1)
        bands = stats.band_arrays(ks, np.full(n + 1, n), p0)
        for k, band in zip(ks, bands, strict=True):
            beyond_95 = k / n > row["upper_95"] or k / n < row["lower_95"]
            beyond_998 = k / n > row["upper_998"] or k / n < row["lower_998"]
            if band == "too few to compare":
                assert not stats.comparable([n], p0)[0]
            else:
                expected = (
                    "outside 99.8% limits"
                    if beyond_998
                    else "between 95% and 99.8% limits"
                    if beyond_95
                    else "within 95% limits"
                )
                assert band == expected, (k, n)

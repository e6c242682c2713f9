"""Statistics that hold at the small counts of a board: exact binomial intervals, exact funnel
limits around England's proportion, and the comparison a table marks.

A board has a handful of serious case reviews in a period, so the normal approximations
(Wilson intervals, p0 +/- z sqrt(p0 (1 - p0) / n) funnels) do not hold: at n = 2 they put a
board at 2 of 2 outside England's 99.8% limit when the chance of that is 0.018. Everything
here is exact, from the binomial distribution (scipy.stats):

- :func:`clopper_pearson`: the exact (Clopper-Pearson) interval of k of n, from the beta
  quantiles. It never has less than its nominal coverage.
- Funnel limits (Spiegelhalter 2005, Statistics in Medicine 24:1185; the PHE funnel-plot
  method for proportions): for each n, the counts a board could have if it matched England's
  proportion p0, at 95% and 99.8%. A board is *above* the upper limit when the exact chance of
  at least its count, P(X >= k | n, p0), is below (1 - level) / 2, and *below* the lower limit
  when P(X <= k | n, p0) is below it. The limits drawn are those exact binomial quantiles as
  proportions (:func:`limit_counts` / n): a point is outside exactly when it lies strictly
  beyond the line, so the picture and the markers agree. We do **not** use the PHE/Spiegelhalter
  interpolation between counts ((r_p - alpha) / n, :func:`interpolated_limit`): it smooths the
  line, but at the extremes of very small n it draws the limit inside the last possible count
  (at n = 2 and p0 = 0.134 the interpolated 99.8% upper limit is 97%, so 2 of 2 would be
  plotted outside 99.8% although its exact tail probability is 0.018 > 0.001).
- The exact limits hold their level: if every board matched England, each would fall outside
  the 95% limits with probability at most 5% (:func:`chance_outside`), often far less at small
  n, where the count moves in big steps.
- :func:`compare`: Higher, Similar or Lower than England by the 95% funnel (equivalently: the
  board's exact 95% interval excludes England's value), or "Too few to compare" below
  :data:`MIN_CASES` cases, or where no count from 0 to n could fall outside the 95% limits
  (the comparison could then never find a difference). Only these words, none of merit:
  these reviews are not a measure of a board's performance.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import stats

LEVELS: Final = (0.95, 0.998)  # the funnel's two limits
# Fewer cases than this are too few to compare: one case moves the proportion by 20 points or
# more, and the exact limits at such n are nearly the whole range.
MIN_CASES: Final = 5
# A change between two periods is given in points only when both have at least this many
# cases: a single case then moves either share by 5 points at most.
MIN_CASES_FOR_CHANGE: Final = 20

HIGHER, SIMILAR, LOWER = "Higher", "Similar", "Lower"
TOO_FEW = "Too few to compare"
NOT_COMPARED = "Not compared"  # England's value is hidden or there is none
COMPARISONS: Final = (HIGHER, SIMILAR, LOWER, TOO_FEW, NOT_COMPARED)

WITHIN_95 = "within 95% limits"
BETWEEN = "between 95% and 99.8% limits"
OUTSIDE_998 = "outside 99.8% limits"
BANDS: Final = (WITHIN_95, BETWEEN, OUTSIDE_998, TOO_FEW.lower())

FloatArray = npt.NDArray[np.float64]


def _arrays(*values: object) -> list[FloatArray]:
    return [np.asarray(v, dtype=np.float64) for v in values]


def clopper_pearson_arrays(
    k: npt.ArrayLike, n: npt.ArrayLike, level: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Exact binomial interval of k of n, elementwise; NaN where n <= 0 or k or n is NaN."""
    k_, n_ = _arrays(k, n)
    tail = (1 - level) / 2
    valid = (n_ > 0) & (k_ >= 0) & (k_ <= n_)
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.where(k_ > 0, stats.beta.ppf(tail, k_, n_ - k_ + 1), 0.0)
        high = np.where(k_ < n_, stats.beta.ppf(1 - tail, k_ + 1, n_ - k_), 1.0)
    return np.where(valid, low, np.nan), np.where(valid, high, np.nan)


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float | None, float | None]:
    """Exact (Clopper-Pearson) interval of k of n as proportions; (None, None) when n = 0."""
    if n <= 0:
        return None, None
    low, high = clopper_pearson_arrays([k], [n], level)
    return float(low[0]), float(high[0])


def upper_tail(k: npt.ArrayLike, n: npt.ArrayLike, p0: float) -> FloatArray:
    """P(X >= k) for X ~ Binomial(n, p0): how unusual a count this high would be."""
    k_, n_ = _arrays(k, n)
    return np.asarray(stats.binom.sf(k_ - 1, n_, p0), dtype=np.float64)


def lower_tail(k: npt.ArrayLike, n: npt.ArrayLike, p0: float) -> FloatArray:
    """P(X <= k) for X ~ Binomial(n, p0): how unusual a count this low would be."""
    k_, n_ = _arrays(k, n)
    return np.asarray(stats.binom.cdf(k_, n_, p0), dtype=np.float64)


def above(k: npt.ArrayLike, n: npt.ArrayLike, p0: float, level: float) -> npt.NDArray[np.bool_]:
    """Whether k of n lies above England's upper ``level`` funnel limit."""
    return upper_tail(k, n, p0) < (1 - level) / 2


def below(k: npt.ArrayLike, n: npt.ArrayLike, p0: float, level: float) -> npt.NDArray[np.bool_]:
    """Whether k of n lies below England's lower ``level`` funnel limit."""
    return lower_tail(k, n, p0) < (1 - level) / 2


def limit_counts(
    n: npt.ArrayLike, p0: float, level: float
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """For each n, the lowest and highest counts inside England's ``level`` limits: a board
    with k below the first is below the lower limit, above the second above the upper one
    (exactly as :func:`below` and :func:`above` decide)."""
    n_ = np.asarray(n, dtype=np.int64)
    tail = (1 - level) / 2
    # The binomial quantiles are the limits; their neighbours are checked with the very tail
    # functions that classify points, so a tie or a rounding difference cannot split the two.
    guess_high = np.asarray(stats.binom.ppf(1 - tail, n_, p0), dtype=np.int64)
    guess_low = np.asarray(stats.binom.ppf(tail, n_, p0), dtype=np.int64)
    high = np.full(n_.shape, -1, dtype=np.int64)
    for step in (-2, -1, 0, 1, 2):  # the largest candidate count not above the limit
        c = np.clip(guess_high + step, 0, n_)
        high = np.where(~above(c, n_, p0, level), np.maximum(high, c), high)
    low = n_ + 1
    for step in (2, 1, 0, -1, -2):  # the smallest candidate count not below the limit
        c = np.clip(guess_low + step, 0, n_)
        low = np.where(~below(c, n_, p0, level), np.minimum(low, c), low)
    return low, high


def interpolated_limit(n: npt.ArrayLike, p0: float, q: float) -> FloatArray:
    """Spiegelhalter's (2005, appendix A.1.1) interpolated binomial limit at quantile q, as a
    proportion: (r_q - a) / n with r_q the q-quantile of Binomial(n, p0) and
    a = (F(r_q) - q) / (F(r_q) - F(r_q - 1)). Documented for comparison only: see the module
    docstring for why the funnel does not draw it."""
    n_ = np.asarray(n, dtype=np.float64)
    r = stats.binom.ppf(q, n_, p0)
    f_r, f_before = stats.binom.cdf(r, n_, p0), stats.binom.cdf(r - 1, n_, p0)
    a = (f_r - q) / (f_r - f_before)
    return np.asarray((r - a) / n_, dtype=np.float64)


def comparable(n: npt.ArrayLike, p0: float, level: float = 0.95) -> npt.NDArray[np.bool_]:
    """Whether n cases are enough to compare with England's p0: at least :data:`MIN_CASES`,
    and some count from 0 to n would fall outside the ``level`` limits."""
    n_ = np.asarray(n, dtype=np.float64)
    reachable = below(np.zeros_like(n_), n_, p0, level) | above(n_, n_, p0, level)
    return (n_ >= MIN_CASES) & reachable


def chance_outside(n: npt.ArrayLike, p0: float, level: float = 0.95) -> FloatArray:
    """For each n, the exact probability that a board matching England (k ~ Binomial(n, p0))
    falls outside the ``level`` limits: at most 1 - level, often much less at small n."""
    low, high = limit_counts(n, p0, level)
    n_ = np.asarray(n, dtype=np.float64)
    return np.asarray(
        stats.binom.cdf(low - 1, n_, p0) + stats.binom.sf(high, n_, p0), dtype=np.float64
    )


def compare_arrays(k: npt.ArrayLike, n: npt.ArrayLike, p0: float | None) -> npt.NDArray[np.str_]:
    """:func:`compare`, elementwise."""
    k_, n_ = _arrays(k, n)
    if p0 is None or np.isnan(p0):
        # No England value: a handful of cases is still too few, whatever England's value.
        few = (n_ > 0) & (n_ < MIN_CASES)
        return np.where(few, TOO_FEW, NOT_COMPARED).astype(object)
    missing = np.isnan(k_) | np.isnan(n_) | (n_ <= 0)
    k_, n_ = np.nan_to_num(k_), np.nan_to_num(n_)
    return np.select(
        [missing, ~comparable(n_, p0), above(k_, n_, p0, 0.95), below(k_, n_, p0, 0.95)],
        [NOT_COMPARED, TOO_FEW, HIGHER, LOWER],
        SIMILAR,
    ).astype(object)


def compare(k: int | None, n: int | None, p0: float | None) -> str:
    """A board's k of n against England's proportion p0: Higher or Lower when it lies beyond
    England's exact 95% funnel limit (its exact 95% interval excludes p0), else Similar;
    "Too few to compare" when n is too small (:func:`comparable`; under :data:`MIN_CASES`
    even without England's value); "Not compared" when there is no England value or no
    case."""
    k_ = np.nan if k is None else k
    n_ = np.nan if n is None else n
    return str(compare_arrays([k_], [n_], p0)[0])


def band_arrays(k: npt.ArrayLike, n: npt.ArrayLike, p0: float) -> npt.NDArray[np.str_]:
    """Where each k of n falls against England's funnel: within 95%, between 95% and 99.8%,
    outside 99.8%, or too few to compare (no colour: see :func:`comparable`)."""
    k_, n_ = _arrays(k, n)
    out95 = above(k_, n_, p0, 0.95) | below(k_, n_, p0, 0.95)
    out998 = above(k_, n_, p0, 0.998) | below(k_, n_, p0, 0.998)
    return np.select(
        [~comparable(n_, p0), out998, out95], [BANDS[3], OUTSIDE_998, BETWEEN], WITHIN_95
    ).astype(object)


def funnel_limits(p0: float, n_max: int) -> pl.DataFrame:
    """England's exact 95% and 99.8% limits as proportions for every n from 1 to n_max
    (columns n, lower_95, upper_95, lower_998, upper_998, england): the counts of
    :func:`limit_counts` divided by n. A board is outside a limit exactly when its point lies
    strictly beyond the line."""
    n = np.arange(1, max(int(n_max), 2) + 1, dtype=np.int64)
    columns: dict[str, object] = {"n": n}
    for level, label in zip(LEVELS, ("95", "998"), strict=True):
        low, high = limit_counts(n, p0, level)
        columns[f"lower_{label}"] = low / n
        columns[f"upper_{label}"] = high / n
    return pl.DataFrame(columns).with_columns(pl.lit(p0, dtype=pl.Float64).alias("england"))

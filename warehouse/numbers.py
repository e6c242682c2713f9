"""The one rounding rule: every percent anywhere rounds half up to a whole number, as the
study's tables do (5 of 8 is 63%, never 62%).

Percents are rounded here, on the server, and shown as the whole numbers this module returns:
a chart tooltip, a Streamlit column format or an export never rounds a share itself (the
browser's and Python's own rounding disagree on halves). From counts the rule is exact
integer arithmetic; from a proportion held as a float, a tiny tolerance first absorbs binary
error (57/200 is stored as 0.28499999999999998 but is a half, and rounds up to 29).
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

import polars as pl

# Binary error on a share of two counts is far below this; a real difference never is.
_TOLERANCE = 1e-9
DASH = "–"


def percent_of(count: int, total: int) -> int | None:
    """100 * count / total rounded half up, exactly: floor((200 * count + total) / (2 * total))."""
    if total <= 0:
        return None
    return (200 * count + total) // (2 * total)


def round_half_up(value: float | None, digits: int = 0) -> float | None:
    """``value`` rounded half away from zero to ``digits`` places (None and NaN stay None)."""
    if value is None or math.isnan(value):
        return None
    nudged = value + math.copysign(_TOLERANCE, value) if value else value
    step = Decimal(1).scaleb(-digits)
    return float(Decimal(repr(nudged)).quantize(step, rounding=ROUND_HALF_UP))


def percent(share: float | None) -> int | None:
    """A proportion (0.625) as a whole percent (63), half up."""
    rounded = round_half_up(None if share is None else 100 * share)
    return None if rounded is None else int(rounded)


def percent_text(share: float | None) -> str:
    """A proportion as people read it: 63%; a dash when there is none."""
    value = percent(share)
    return DASH if value is None else f"{value}%"


def points_text(change: float | None) -> str:
    """A change between two proportions in percentage points, half up: +13 pts."""
    value = round_half_up(None if change is None else 100 * change)
    return DASH if value is None else f"{int(value):+d} pts"


def percent_expr(share: pl.Expr) -> pl.Expr:
    """A polars column of proportions as whole percents (Int64), half up; nulls stay null."""
    scaled = share * 100
    nudged = scaled + pl.when(scaled < 0).then(-_TOLERANCE).otherwise(_TOLERANCE)
    return (nudged.abs() + 0.5).floor().cast(pl.Int64) * nudged.sign().cast(pl.Int64)


def percent_of_expr(count: pl.Expr, total: pl.Expr) -> pl.Expr:
    """100 * count / total as whole percents, half up, in exact integer arithmetic."""
    total = total.cast(pl.Int64)
    return pl.when(total > 0).then((200 * count.cast(pl.Int64) + total) // (2 * total))


def round_half_up_expr(value: pl.Expr, digits: int = 0) -> pl.Expr:
    """A float column rounded half away from zero to ``digits`` places."""
    scale = 10.0**digits
    scaled = value * scale
    nudged = scaled + pl.when(scaled < 0).then(-_TOLERANCE).otherwise(_TOLERANCE)
    return (nudged.abs() + 0.5).floor() * nudged.sign() / scale

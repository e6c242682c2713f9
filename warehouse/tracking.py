"""Tracking: every notification from notification to implemented action plan, as of a date.

Each result is one SQL file in ``sql/tracking/``; ``base.sql`` holds the clock and the
state of every notification and action as of ``$as_of`` (only facts dated on or before it
count) and is prepended to every other file, so each definition exists once. The files
count per region and board; this module adds them up to England, region and board rows,
adds shares, exact (Clopper-Pearson) 95% intervals (:mod:`warehouse.stats`) and whole
percents (:mod:`warehouse.numbers`), and returns polars frames. Everything is read-only
(CTEs, bound parameters), so it works on a read-only connection and a scoped copy.

The rules (months are calendar months, 31 Jan + 1 month = 28/29 Feb):

- decided as of D: decision scr/no_scr dated on or before D; due one month after
  notification;
- review under way: decided scr; report completed: the linked review's report_date <= D,
  due at the agreed completion date, else four months after the decision;
- action plan received: the linked review's action_plan_received_date <= D, due one month
  after the report (a product rule: the plan comes with or soon after the report);
- an action's status as of D: its latest update dated <= D (an update wins over the
  actions row's own status on the same day), else its own status when dated <= D, else
  not_started; actions implemented: at least one action and every one not dropped
  completed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Literal

import duckdb
import numpy as np
import polars as pl

from warehouse import stats
from warehouse.numbers import percent_expr, percent_of_expr

SQL_DIR = Path(__file__).with_name("sql") / "tracking"
RESULTS = (
    "stage_counts",
    "overdue",
    "decision_timeliness",
    "completion_timeliness",
    "actions_by_due_date",
    "implementation_curve",
    "board_regions",
)
Level = Literal["england", "region", "board"]
LEVELS: tuple[Level, ...] = ("england", "region", "board")
ENGLAND = "England"

# The funnel: (stage, label, what "now at" the stage means). Sub-rows of "decided" have no
# "now at" of their own.
STAGES: tuple[tuple[str, str, str | None], ...] = (
    ("notified", "Notified", "Decision pending"),
    ("decided", "Decided", "Decided: no review"),
    ("decided_scr", "of which: serious case review", None),
    ("decided_no_scr", "of which: no serious case review", None),
    ("review_under_way", "Review under way", "Review under way"),
    ("report_completed", "Report completed", "Report completed, plan awaited"),
    ("action_plan_received", "Action plan received", "Action plan received"),
    ("actions_implemented", "Actions implemented", "Actions implemented"),
)
_NOW_COLUMN = {
    "notified": "now_notified",
    "decided": "now_decided",
    "review_under_way": "now_review_under_way",
    "report_completed": "now_report_completed",
    "action_plan_received": "now_action_plan_received",
    "actions_implemented": "now_actions_implemented",
}

OVERDUE_KINDS = ("decision", "review", "action_plan", "action")
OVERDUE_LABELS = {
    "decision": "Decision",
    "review": "Review report",
    "action_plan": "Action plan",
    "action": "Action",
}
OVERDUE_SCHEMA: dict[str, pl.DataType] = {
    "kind": pl.String(),
    "board_code": pl.String(),
    "region": pl.String(),
    "notification_id": pl.String(),
    "review_id": pl.String(),
    "action_no": pl.Int64(),
    "due_date": pl.Date(),
    "days_overdue": pl.Int64(),
    "parallel_proceedings": pl.String(),
    "proceedings_ongoing": pl.Boolean(),
}

MEASURES: tuple[tuple[str, str, str], ...] = (
    ("decision_within_month", "Decision within one month", "decision_timeliness"),
    ("completion_on_time", "Review completed on time", "completion_timeliness"),
    ("actions_by_due_date", "Actions completed by their due date", "actions_by_due_date"),
)
ACTION_COUNTS = (
    "due",
    "completed_by_due",
    "completed_late",
    "dropped",
    "open",
    "not_yet_due",
    "no_due_date",
)

_LEVEL_ORDER = pl.col("level").replace_strict({lv: i for i, lv in enumerate(LEVELS)})
_PERIOD = re.compile(r"([0-9]{4})-([0-9]{2})")


def period_range(period: str) -> tuple[date, date]:
    """A period 'YYYY-YY' as the dates it spans: 2009-11 = 2009-04-01 .. 2011-03-31."""
    match = _PERIOD.fullmatch(period)
    if not match:
        raise ValueError(f"period {period!r} is not like 2009-11")
    start = int(match.group(1))
    end = start - start % 100 + int(match.group(2))
    if end <= start:
        end += 100
    return date(start, 4, 1), date(end, 3, 31)


@dataclass(frozen=True)
class TrackingFilter:
    """What to track: as of a date, notifications of a period, a region or a board.

    ``period`` selects notifications dated within it (:func:`period_range`) and the actions
    of reviews of that period; ``region`` and ``board`` a notification's region (its own,
    else its board's) and board, and an action's through its review's notification (else
    its board).
    """

    as_of: date
    period: str | None = None
    region: str | None = None
    board: str | None = None

    def __post_init__(self) -> None:
        if self.period is not None:
            period_range(self.period)  # raises on a malformed period

    def params(self) -> dict[str, Any]:
        start, end = period_range(self.period) if self.period else (None, None)
        return {
            "as_of": self.as_of,
            "period": self.period,
            "period_start": start,
            "period_end": end,
            "region": self.region,
            "board": self.board,
        }

    def widest(self) -> TrackingFilter:
        """The same date and period for all of England (the comparator)."""
        return replace(self, region=None, board=None)


@cache
def base_sql() -> str:
    return (SQL_DIR / "base.sql").read_text(encoding="utf-8").strip()


@cache
def result_sql(name: str) -> str:
    """One result's statement: the base CTEs, then the file's own (a file may start with
    its own ``WITH``, which continues the base's list)."""
    if name not in RESULTS:
        raise ValueError(f"no tracking result {name!r}: one of {', '.join(RESULTS)}")
    body = (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")
    lines = [line for line in body.splitlines() if not line.lstrip().startswith("--")]
    text = "\n".join(lines).strip().rstrip(";")
    if re.match(r"(?i)with\s", text):
        return f"{base_sql()},\n{text[4:].lstrip()}"
    return f"{base_sql()}\n{text}"


def board_choices(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """What a board filter may be: every board with a notification or a review (code,
    name), by code."""
    return con.sql(_plain_sql("choices_boards")).pl()


def period_choices(con: duckdb.DuckDBPyConnection) -> list[str]:
    """What a period filter may be: the periods of reviews and the two-year periods (odd
    start years, as the study's) holding a notification, oldest first."""
    return [str(p) for (p,) in con.execute(_plain_sql("choices_periods")).fetchall()]


@cache
def _plain_sql(name: str) -> str:
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def run(con: duckdb.DuckDBPyConnection, name: str, filters: TrackingFilter) -> pl.DataFrame:
    """One SQL file's rows for the filter (per region and board, or the overdue rows)."""
    return con.sql(result_sql(name), params=filters.params()).pl()


def _levels(
    con: duckdb.DuckDBPyConnection,
    name: str,
    filters: TrackingFilter,
    counts: Sequence[str],
    keys: Sequence[str] = (),
) -> pl.DataFrame:
    """England, region and board rows of a per-region-and-board result (summed ``counts``
    per ``keys``): England and its regions from the whole country (the comparators), the
    boards from the selection; with a region or board selected, only its region (or the
    board's) and boards. Columns: level, region, board_code, *keys, *counts."""
    whole = run(con, name, filters.widest())
    chosen = whole if filters.region is None and filters.board is None else run(con, name, filters)
    sums = [pl.col(c).sum().cast(pl.Int64) for c in counts]
    # A board's region: the board catalog's; for a board with notifications only, where
    # most of its rows are.
    catalog = run(con, "board_regions", filters).rename({"region": "_catalog"})
    board_region = (
        chosen.group_by("board_code", "region")
        .agg(pl.col(counts[0]).sum().alias("_w"))
        .sort("_w", "region", descending=[True, False])
        .group_by("board_code", maintain_order=True)
        .agg(pl.col("region").first())
        .join(catalog, on="board_code", how="left")
        .select("board_code", pl.coalesce("_catalog", "region").alias("region"))
    )
    england = whole.group_by(*keys).agg(*sums) if keys else whole.select(sums)
    regions = whole.group_by("region", *keys).agg(*sums)
    if filters.region is not None:
        regions = regions.filter(pl.col("region") == filters.region)
    elif filters.board is not None:
        regions = regions.filter(pl.col("region").is_in(chosen["region"].unique().implode()))
    boards = chosen.group_by("board_code", *keys).agg(*sums).join(board_region, on="board_code")
    if england.height == 0 and not keys:
        england = pl.DataFrame({c: [0] for c in counts}, schema=dict.fromkeys(counts, pl.Int64))
    columns = ["level", "region", "board_code", *keys, *counts]
    frames = [
        england.with_columns(
            level=pl.lit("england"),
            region=pl.lit(None, pl.String),
            board_code=pl.lit(None, pl.String),
        ),
        regions.with_columns(level=pl.lit("region"), board_code=pl.lit(None, pl.String)),
        boards.with_columns(level=pl.lit("board")),
    ]
    out = pl.concat([f.select(columns) for f in frames], how="vertical_relaxed")
    return out.sort(_LEVEL_ORDER, "region", "board_code", *keys, nulls_last=False)


def selection_rows(frame: pl.DataFrame, filters: TrackingFilter) -> pl.DataFrame:
    """The rows of a leveled frame that are the selection itself: the board's when a board
    is chosen, the region's when a region is, else England's."""
    if filters.board is not None:
        return frame.filter((pl.col("level") == "board") & (pl.col("board_code") == filters.board))
    if filters.region is not None:
        return frame.filter((pl.col("level") == "region") & (pl.col("region") == filters.region))
    return frame.filter(pl.col("level") == "england")


STAGE_COUNTS = tuple(s for s, _, _ in STAGES) + tuple(_NOW_COLUMN.values())
# What a reader can add up in the funnel of one area (for disclosure control): notified and
# review under way are sums of the "now at" counts, decided splits into scr and no_scr. (The
# report, plan and actions stages are reached each on its own facts, so the later ones are
# no such sums.)
STAGE_IDENTITIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("notified", ("now_notified", "decided")),
    ("decided", ("decided_scr", "decided_no_scr")),
    ("decided_no_scr", ("now_decided",)),
    ("decided_scr", ("review_under_way",)),
    (
        "review_under_way",
        (
            "now_review_under_way",
            "now_report_completed",
            "now_action_plan_received",
            "now_actions_implemented",
        ),
    ),
    ("actions_implemented", ("now_actions_implemented",)),
)


def stage_counts_wide(con: duckdb.DuckDBPyConnection, filters: TrackingFilter) -> pl.DataFrame:
    """The funnel, one row per England, region and board of the selection: level, region,
    board_code, then every count of STAGE_COUNTS (the stages reached, then now_<stage>)."""
    return _levels(con, "stage_counts", filters, list(STAGE_COUNTS))


def stages_long(wide: pl.DataFrame) -> pl.DataFrame:
    """:func:`stage_counts_wide` (counts may be null where hidden; any other columns of
    each row, e.g. ``suppressed``, are kept) one row per stage, in funnel order."""
    index = [c for c in wide.columns if c not in STAGE_COUNTS]
    stages = pl.DataFrame(
        {
            "stage_order": list(range(1, len(STAGES) + 1)),
            "stage": [s for s, _, _ in STAGES],
            "label": [label for _, label, _ in STAGES],
            "now_label": [now for _, _, now in STAGES],
        }
    )
    long = wide.unpivot(
        index=index,
        on=[s for s, _, _ in STAGES],
        variable_name="stage",
        value_name="reached",
    )
    now = wide.unpivot(
        index=index,
        on=list(_NOW_COLUMN.values()),
        variable_name="now_column",
        value_name="now_at",
    ).with_columns(
        pl.col("now_column").replace_strict({v: k for k, v in _NOW_COLUMN.items()}).alias("stage")
    )
    return (
        long.join(stages, on="stage")
        .join(now.drop("now_column"), on=[*index, "stage"], how="left", nulls_equal=True)
        .sort(_LEVEL_ORDER, "region", "board_code", "stage_order", nulls_last=False)
        .select(
            "level",
            "region",
            "board_code",
            "stage_order",
            "stage",
            "label",
            pl.col("reached").cast(pl.Int64),
            "now_label",
            pl.col("now_at").cast(pl.Int64),
            *(c for c in index if c not in ("level", "region", "board_code")),
        )
    )


def stage_counts(con: duckdb.DuckDBPyConnection, filters: TrackingFilter) -> pl.DataFrame:
    """The funnel for England, each region and each board of the selection.

    Columns: level, region, board_code, stage_order, stage, label, reached (each stage's
    own facts, so it counts those gone further too; report completed, action plan received
    and actions implemented each follow review under way on their own facts), now_label,
    now_at (the notifications whose furthest stage it is, in the order of the stages: they
    add up to notified; null for the "of which" rows).
    """
    return stages_long(stage_counts_wide(con, filters))


def overdue(con: duckdb.DuckDBPyConnection, filters: TrackingFilter) -> pl.DataFrame:
    """Everything overdue as of the date, kind by kind (decision, review, action_plan,
    action), longest overdue first. Columns: OVERDUE_SCHEMA (kind, board_code, region,
    notification_id, review_id, action_no, due_date, days_overdue, parallel_proceedings,
    proceedings_ongoing)."""
    rows = run(con, "overdue", filters)
    return rows.select(pl.col(c).cast(t) for c, t in OVERDUE_SCHEMA.items())


def with_shares(frame: pl.DataFrame, k: str = "k", n: str = "n") -> pl.DataFrame:
    """Add share (k / n, null when n = 0), ci_low and ci_high (exact 95%), and the whole
    percents percent, ci_low_percent, ci_high_percent (half up)."""
    low, high = stats.clopper_pearson_arrays(
        frame[k].cast(pl.Float64).fill_null(np.nan).to_numpy(),
        frame[n].cast(pl.Float64).fill_null(np.nan).to_numpy(),
    )
    return frame.with_columns(
        pl.when(pl.col(n) > 0).then(pl.col(k) / pl.col(n)).cast(pl.Float64).alias("share"),
        pl.Series("ci_low", low, dtype=pl.Float64).fill_nan(None),
        pl.Series("ci_high", high, dtype=pl.Float64).fill_nan(None),
    ).with_columns(
        percent_of_expr(pl.col(k), pl.col(n)).alias("percent"),
        percent_expr(pl.col("ci_low")).alias("ci_low_percent"),
        percent_expr(pl.col("ci_high")).alias("ci_high_percent"),
    )


TIMELINESS_COLUMNS = (
    "measure",
    "label",
    "level",
    "region",
    "board_code",
    "k",
    "n",
    "share",
    "ci_low",
    "ci_high",
    "percent",
    "ci_low_percent",
    "ci_high_percent",
)


def timeliness(con: duckdb.DuckDBPyConnection, filters: TrackingFilter) -> pl.DataFrame:
    """Decision within one month, completion on time and actions completed by their due
    date, for England, each region and each board of the selection.

    Columns: TIMELINESS_COLUMNS (measure, label, level, region, board_code, k, n, share,
    ci_low, ci_high: exact 95% interval as proportions, percent, ci_low_percent,
    ci_high_percent: whole percents, half up). share and the interval are null when n = 0.
    """
    frames = []
    for order, (measure, label, name) in enumerate(MEASURES):
        if name == "actions_by_due_date":
            leveled = _levels(con, name, filters, ["completed_by_due", "due"]).rename(
                {"completed_by_due": "k", "due": "n"}
            )
        else:
            leveled = _levels(con, name, filters, ["k", "n"])
        frames.append(
            leveled.with_columns(measure=pl.lit(measure), label=pl.lit(label), _order=pl.lit(order))
        )
    out = pl.concat(frames, how="vertical_relaxed").sort("_order", maintain_order=True)
    return with_shares(out).select(TIMELINESS_COLUMNS)


def actions_by_due_date(con: duckdb.DuckDBPyConnection, filters: TrackingFilter) -> pl.DataFrame:
    """Action points against their due dates, for England, each region and each board of
    the selection. Columns: level, region, board_code, due (due_date <= the date),
    completed_by_due, completed_late, dropped, open (the four add up to due), not_yet_due,
    no_due_date, share (completed_by_due / due), ci_low, ci_high, percent, ci_low_percent,
    ci_high_percent."""
    leveled = _levels(con, "actions_by_due_date", filters, list(ACTION_COUNTS))
    return with_shares(leveled, "completed_by_due", "due")


def implementation_curve(con: duckdb.DuckDBPyConnection, filters: TrackingFilter) -> pl.DataFrame:
    """The share of action points completed by months since the report, for England, each
    region and each board of the selection. Columns: level, region, board_code, months,
    k (completed within ``months`` of the report), n (actions of reviews reported at least
    ``months`` months before the date), share, ci_low, ci_high, percent, ci_low_percent,
    ci_high_percent."""
    leveled = _levels(con, "implementation_curve", filters, ["k", "n"], keys=["months"])
    return with_shares(leveled)


def tracking_summary(con: duckdb.DuckDBPyConnection, filters: TrackingFilter) -> dict[str, Any]:
    """Every section for one filter, as plain JSON-ready values (the ``scr tracking
    --format json`` document)."""
    sections = {
        "stage_counts": stage_counts(con, filters),
        "overdue": overdue(con, filters),
        "timeliness": timeliness(con, filters),
        "actions_by_due_date": actions_by_due_date(con, filters),
        "implementation_curve": implementation_curve(con, filters),
    }
    return {
        "filters": {
            "as_of": filters.as_of.isoformat(),
            "period": filters.period,
            "region": filters.region,
            "board": filters.board,
        },
        **{name: _records(df) for name, df in sections.items()},
    }


def _records(df: pl.DataFrame) -> list[dict[str, Any]]:
    dates = [c for c, t in df.schema.items() if t == pl.Date]
    return df.with_columns(pl.col(c).dt.to_string("%Y-%m-%d") for c in dates).to_dicts()

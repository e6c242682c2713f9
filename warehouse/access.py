"""The dashboard's one data-access layer: selections in, polars frames out.

Every page of the dashboard gets its data from an :class:`Access` through functions that take
a :class:`Selection` (period, region, board) and return polars frames (or, for the study
tables, the tables JSON dict that ``scr tables`` prints). No SQL lives in the views.

Reads only the *published snapshot* of the warehouse (``scr.snapshot.duckdb``), on
short-lived read-only connections, so the dashboard keeps serving while an ingest or build
writes the live file and swaps a new snapshot in.

Scope (what a role may see) is enforced in exactly one place, :meth:`Access.connect`:
under a restricted :class:`Scope` every connection shadows the core tables with temporary
views holding only the rows of the boards in scope, so every query here, the study tables
included, sees nothing else. :meth:`Access.select` refuses a selection outside the scope.

Selection semantics:
- ``period`` None means all periods pooled; ``region`` None means England (every region);
- a region aggregate counts reviews *coded* to the region, as the study's tables do;
- a board selection takes all of the board's reviews (its region is context only);
- lists of boards place each board in its *most recent stated* region
  (a review may have its region coded ``not_stated``).
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import duckdb
import polars as pl

from warehouse.db import snapshot_path, snapshot_version, warehouse_path
from warehouse.frame import frame

Z95 = 1.959963984540054  # two-sided 95%
Z998 = 3.090232306167813  # two-sided 99.8%
ENGLAND = "England"
CORE_TABLES = ("reviews", "children", "recommendations", "actions")
# Tables that hold aggregates over every board: hidden under a restricted scope.
NATIONAL_MARTS = ("mart_study_tables", "mart_data_quality")
SYNTHETIC_BOARD_PREFIXES = ("SYN",)


class NoSnapshot(FileNotFoundError):
    """No published snapshot yet: run ``scr build`` (or ``scr ingest``)."""


class OutOfScope(PermissionError):
    """A selection names a region or board outside the caller's scope."""


@dataclass(frozen=True)
class Scope:
    """The regions and boards a role may see; None means no restriction on that axis.

    A board is visible when it is named in ``boards`` or its region is in ``regions``.
    The roles step builds one per user and hands it to :class:`Access`.
    """

    regions: tuple[str, ...] | None = None
    boards: tuple[str, ...] | None = None
    name: str = "everyone"

    @property
    def restricted(self) -> bool:
        return self.regions is not None or self.boards is not None


FULL_SCOPE = Scope()


@dataclass(frozen=True)
class Selection:
    """What the user chose: None means all periods / England / all boards."""

    period: str | None = None
    region: str | None = None
    board: str | None = None

    def params(self, *, with_period: bool = True) -> dict[str, str | None]:
        """The SQL filter parameters; a board's reviews are taken whatever region they state."""
        return {
            "period": self.period if with_period else None,
            "region": self.region if self.board is None else None,
            "board": self.board,
        }

    def national(self) -> Selection:
        return Selection(period=self.period)


@dataclass(frozen=True)
class Indicator:
    key: str
    label: str
    kind: Literal["count", "share", "median", "mean"]
    unit: str  # what the denominator counts
    definition: str
    polarity: Literal["higher", "lower", "none"] = "none"  # which direction is better


INDICATORS: tuple[Indicator, ...] = (
    Indicator("reviews", "Reviews", "count", "reviews", "Serious case reviews in the selection."),
    Indicator(
        "children", "Children", "count", "children", "Children who are the subject of a review."
    ),
    Indicator(
        "under_one",
        "Under one",
        "share",
        "children",
        "Children aged under one (age_months 0-11) as a share of all children (study Table 2).",
    ),
    Indicator(
        "age_11_plus",
        "Aged 11 or over",
        "share",
        "children",
        "Children aged 11 or over (age_months 132-215) as a share of all children.",
    ),
    Indicator(
        "deaths",
        "Deaths",
        "share",
        "children",
        "Children whose incident was a death (suicides are counted apart) (Table 7).",
    ),
    Indicator(
        "on_register",
        "On a register or plan",
        "share",
        "children",
        "Children on a child protection register (later: plan) at the incident (Table 8).",
    ),
    Indicator(
        "ethnicity_not_recorded",
        "Ethnicity not recorded",
        "share",
        "children",
        "Children whose ethnicity is coded not known/stated (Table 4).",
        "lower",
    ),
    Indicator(
        "independent_author",
        "Independent author",
        "share",
        "reviews",
        "Reviews whose overview report had an independent author (Table 14).",
        "higher",
    ),
    Indicator(
        "median_months",
        "Median months to report",
        "median",
        "dated reports",
        "Median of completed calendar months from incident to report date, of dated "
        "reports (Table 13 bands the same interval).",
    ),
    Indicator(
        "genogram",
        "Report has a genogram",
        "share",
        "reviews",
        "Reviews whose report contains a genogram (Chapter 8 item answered 'yes', Table 16).",
        "higher",
    ),
    Indicator(
        "chronology",
        "Integrated chronology",
        "share",
        "reviews",
        "Reviews whose report contains an integrated chronology of agency involvement "
        "(answered 'yes', Table 16).",
        "higher",
    ),
    Indicator(
        "recs_per_review",
        "Recommendations per review",
        "mean",
        "reviews with a known total",
        "Mean number of overview-report recommendations, of reviews with a known total (Table 17).",
    ),
    Indicator(
        "procedures",
        "Recommendations about procedures",
        "share",
        "recommendations",
        "Recommendations whose focus is existing procedures or the need for new procedures "
        "(Table 18).",
    ),
)
INDICATORS_BY_KEY = {i.key: i for i in INDICATORS}
SHARE_INDICATORS = tuple(i.key for i in INDICATORS if i.kind == "share")
# The indicators shown for each board when boards are set side by side.
SIDE_BY_SIDE = (
    "under_one",
    "on_register",
    "independent_author",
    "genogram",
    "chronology",
    "recs_per_review",
)

# numerator, denominator columns of the aggregate query, per indicator.
_INDICATOR_TERMS: dict[str, tuple[str, str]] = {
    "reviews": ("reviews", "reviews"),
    "children": ("children", "children"),
    "under_one": ("under_one", "children"),
    "age_11_plus": ("age_11_plus", "children"),
    "deaths": ("deaths", "children"),
    "on_register": ("on_register", "children"),
    "ethnicity_not_recorded": ("ethnicity_not_recorded", "children"),
    "independent_author": ("independent_author", "reviews"),
    "median_months": ("median_months", "dated_reports"),
    "genogram": ("genogram", "reviews"),
    "chronology": ("chronology", "reviews"),
    "recs_per_review": ("recs_total", "recs_known"),
    "procedures": ("procedures", "recommendations"),
}

THEMES: tuple[tuple[str, str], ...] = (
    ("neglect", "Neglect"),
    ("domestic_violence", "Domestic violence"),
    ("parental_substance_misuse", "Parental substance misuse"),
    ("parental_mental_ill_health", "Parental mental ill health"),
)
# Short names for charts and combinations (substance misuse and mental ill health: parental).
THEME_SHORT = {
    "neglect": "Neglect",
    "domestic_violence": "Domestic violence",
    "parental_substance_misuse": "Substance misuse",
    "parental_mental_ill_health": "Mental ill health",
}

# Completeness fields of the data-quality mart (warehouse/sql/marts/data_quality.sql), labelled.
QUALITY_FIELDS: dict[str, str] = {
    "ethnicity": "Child's ethnicity",
    "disability": "Disability",
    "parent_ethnicity": "Parents' ethnicity",
    "author_status": "Author status",
    "report_date": "Report date",
    "report_pages": "Report length",
    "chapter8_answers": "Chapter 8 answers",
}

# --- the selection and aggregate SQL ------------------------------------------------------

# Board catalog: a board's name and its region from its most recent review stating one.
BOARDS_SQL = """
SELECT board_code,
    arg_max(board_name, period || coalesce(incident_date::VARCHAR, ''))
        FILTER (WHERE board_name IS NOT NULL) AS board_name,
    coalesce(
        arg_max(region, period || coalesce(incident_date::VARCHAR, ''))
            FILTER (WHERE region <> 'not_stated'),
        'not_stated') AS region,
    count(*) AS reviews, min(period) AS first_period, max(period) AS last_period
FROM reviews GROUP BY board_code
"""

# The selected reviews. $region filters the review's coded region (as the study's tables do),
# or, with region_by = board, the board's catalog region (for lists of boards).
_SEL_REVIEWS = """
sel_reviews AS (
    SELECT r.*, b.region AS board_region, b.board_name AS catalog_board_name
    FROM reviews r JOIN board_catalog b USING (board_code)
    WHERE ($period IS NULL OR r.period = $period)
        AND ($region IS NULL OR {region_column} = $region)
        AND ($board IS NULL OR r.board_code = $board)
)"""


def _selection_ctes(region_by: Literal["review", "board"] = "review") -> str:
    column = "r.region" if region_by == "review" else "b.region"
    return f"WITH board_catalog AS ({BOARDS_SQL}),\n{_SEL_REVIEWS.format(region_column=column)}"


def _keys_sql(keys: tuple[str, ...], alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    return ", ".join(f"{prefix}{k}" for k in keys)


def _aggregate_sql(keys: tuple[str, ...], region_by: Literal["review", "board"]) -> str:
    """One row per group of ``keys`` (period, board_code, ...) with every indicator's terms."""
    group = f"GROUP BY {_keys_sql(keys)}" if keys else ""
    rgroup = f"GROUP BY {_keys_sql(keys, 'r')}" if keys else ""
    select_keys = f"{_keys_sql(keys)}, " if keys else ""
    rselect_keys = f"{_keys_sql(keys, 'r')}, " if keys else ""
    join = f"USING ({_keys_sql(keys)})" if keys else "ON true"
    # Completed calendar months from incident to report (a day earlier in the month than the
    # incident's does not complete the month).
    months = (
        "(12 * (year(report_date) - year(incident_date)) + month(report_date) "
        "- month(incident_date) - CASE WHEN day(report_date) < day(incident_date) "
        "THEN 1 ELSE 0 END)"
    )
    return f"""{_selection_ctes(region_by)},
rv AS (
    SELECT {select_keys}count(*) AS reviews,
        count(*) FILTER (WHERE author_status = 'independent') AS independent_author,
        count(*) FILTER (WHERE c8_genogram = 'yes') AS genogram,
        count(*) FILTER (WHERE c8_chronology = 'yes') AS chronology,
        count(report_date) AS dated_reports,
        median({months}) FILTER (WHERE report_date IS NOT NULL) AS median_months,
        coalesce(sum(recommendations_total), 0) AS recs_total,
        count(recommendations_total) AS recs_known
    FROM sel_reviews {group}
),
ch AS (
    SELECT {rselect_keys}count(*) AS children,
        count(*) FILTER (WHERE c.age_months BETWEEN 0 AND 11) AS under_one,
        count(*) FILTER (WHERE c.age_months BETWEEN 132 AND 215) AS age_11_plus,
        count(*) FILTER (WHERE c.incident_type = 'death') AS deaths,
        count(*) FILTER (WHERE c.cp_register = 'on_register') AS on_register,
        count(*) FILTER (WHERE c.ethnicity = 'not_stated') AS ethnicity_not_recorded
    FROM children c JOIN sel_reviews r USING (review_id) {rgroup}
),
rc AS (
    SELECT {rselect_keys}count(*) AS recommendations,
        count(*) FILTER (WHERE x.focus IN ('existing_procedures', 'new_procedures'))
            AS procedures
    FROM recommendations x JOIN sel_reviews r USING (review_id) {rgroup}
)
SELECT * FROM rv LEFT JOIN ch {join} LEFT JOIN rc {join}
"""


def _to_long(wide: pl.DataFrame, keys: tuple[str, ...]) -> pl.DataFrame:
    """Aggregate columns to one row per group and indicator: numerator, denominator, value."""
    schema = {
        **{k: pl.String() for k in keys},
        "indicator": pl.String(),
        "label": pl.String(),
        "kind": pl.String(),
        "numerator": pl.Float64(),
        "denominator": pl.Int64(),
        "value": pl.Float64(),
    }
    if wide.is_empty():
        return pl.DataFrame(schema=schema)
    parts = []
    for ind in INDICATORS:
        num, den = _INDICATOR_TERMS[ind.key]
        numerator = pl.col(num).cast(pl.Float64)
        if ind.kind != "median":  # no median of nothing; a count of nothing is 0
            numerator = numerator.fill_null(0)
        denominator = pl.col(den).cast(pl.Int64).fill_null(0)
        if ind.kind == "count":
            value = numerator
        elif ind.kind == "median":
            value = pl.when(denominator > 0).then(numerator)
        else:
            value = pl.when(denominator > 0).then(numerator / denominator)
        parts.append(
            wide.select(
                *keys,
                pl.lit(ind.key).alias("indicator"),
                pl.lit(ind.label).alias("label"),
                pl.lit(ind.kind).alias("kind"),
                numerator.alias("numerator"),
                denominator.alias("denominator"),
                value.cast(pl.Float64).alias("value"),
            )
        )
    return pl.concat(parts).cast(schema)  # type: ignore[arg-type]


# --- statistics -----------------------------------------------------------------------------


def wilson_interval(k: float, n: int, z: float = Z95) -> tuple[float | None, float | None]:
    """Wilson score interval for k successes of n (as proportions); (None, None) when n = 0."""
    if n <= 0:
        return None, None
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _wilson_exprs(k: pl.Expr, n: pl.Expr, z: float, names: tuple[str, str]) -> list[pl.Expr]:
    """Vectorised Wilson bounds; null where n = 0."""
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)).sqrt()) / denom
    return [
        pl.when(n > 0).then((centre - half).clip(0.0, 1.0)).alias(names[0]),
        pl.when(n > 0).then((centre + half).clip(0.0, 1.0)).alias(names[1]),
    ]


def compare_with_england(
    low: float | None, high: float | None, england: float | None, polarity: str
) -> str:
    """PHE single-overlap convention: the board's 95% CI against England's *value*.

    Similar when the interval contains England's value; otherwise Better/Worse where a
    direction is better, else Higher/Lower.
    """
    if low is None or high is None or england is None:
        return "Not compared"
    if low <= england <= high:
        return "Similar"
    higher = low > england
    if polarity == "none":
        return "Higher" if higher else "Lower"
    return "Better" if higher == (polarity == "higher") else "Worse"


def funnel_limits(p0: float, n_max: int, points: int = 120) -> pl.DataFrame:
    """95% and 99.8% control limits around England's proportion p0, for n = 1 .. n_max.

    The limits are p0 +/- z * sqrt(p0 (1 - p0) / n): exactly the board values whose Wilson
    score interval (at that z) just reaches p0. So a board lies outside the 95% funnel exactly
    when its 95% Wilson interval excludes England's value, the single-overlap rule of the
    benchmark table, and the picture and the markers always agree.
    """
    n_max = max(int(n_max), 2)
    # Denser at small n, where the funnel bends.
    grid = sorted({max(1, round(1 + (n_max - 1) * (i / points) ** 2)) for i in range(points + 1)})
    n = pl.col("n").cast(pl.Float64)
    spread = (p0 * (1 - p0) / n).sqrt()
    out = []
    for z, label in ((Z95, "95"), (Z998, "998")):
        out += [
            (p0 - z * spread).clip(0.0, 1.0).alias(f"lower_{label}"),
            (p0 + z * spread).clip(0.0, 1.0).alias(f"upper_{label}"),
        ]
    return pl.DataFrame({"n": grid}).with_columns(*out, pl.lit(p0).alias("england"))


# --- the access object ----------------------------------------------------------------------


# One in-memory database per published snapshot version, with the snapshot ATTACHed read-only;
# every connection is a cursor on it. ATTACH rather than duckdb.connect(path): DuckDB shares one
# instance per path within a process, so while any connection is open a new one would go on
# reading the file an ingest has since replaced. Keyed on the version, a swapped-in snapshot
# gets a new database at once; the previous version's stays for queries still running on it.
_ATTACHED: dict[str, list[tuple[str, duckdb.DuckDBPyConnection]]] = {}
_ATTACHED_LOCK = threading.Lock()
_VERSIONS_KEPT = 2


def _snapshot_cursor(snapshot: Path, version: str) -> duckdb.DuckDBPyConnection:
    """A new connection (cursor) reading snapshot ``version``."""
    with _ATTACHED_LOCK:
        held = _ATTACHED.setdefault(str(snapshot), [])
        found = [database for held_version, database in held if held_version == version]
        if found:
            database = found[0]
        else:
            database = duckdb.connect(":memory:")
            database.execute(f"ATTACH '{snapshot}' AS wh (READ_ONLY)")
            held.append((version, database))
            while len(held) > _VERSIONS_KEPT:
                held.pop(0)[1].close()
        cursor = database.cursor()
    cursor.execute("USE wh")  # each connection has its own default catalog
    return cursor


def _one_connection(method: Callable[..., Any]) -> Callable[..., Any]:
    """Run a data function that makes several queries on one connection."""

    @functools.wraps(method)
    def wrapper(self: Access, *args: Any, **kwargs: Any) -> Any:
        with self.connect():
            return method(self, *args, **kwargs)

    return wrapper


class Access:
    """Read-only access to the published snapshot for one scope."""

    def __init__(self, warehouse: Path | str | None = None, scope: Scope = FULL_SCOPE) -> None:
        self.warehouse = warehouse_path(warehouse)
        self.snapshot = snapshot_path(self.warehouse)
        self.scope = scope
        # The connection (and board catalog) of the call in progress, per thread.
        self._local = threading.local()

    # -- connection and scope: the one place scope is enforced --------------------------------

    def version(self) -> str:
        """The snapshot's version: caches key on it, so a new snapshot means fresh data."""
        return snapshot_version(self.warehouse)

    def has_snapshot(self) -> bool:
        return self.snapshot.exists()

    @contextlib.contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived read-only connection to the snapshot, restricted to the scope.

        Each is a cursor on an in-memory database with that snapshot version ATTACHed read-only
        (see ``_snapshot_cursor``), so it is cheap and always reads the version now published.

        Nested uses share the outermost connection, so one data function makes one
        connection and sees one snapshot throughout.
        """
        active = getattr(self._local, "con", None)
        if active is not None:
            yield active
            return
        if not self.snapshot.exists():
            raise NoSnapshot(
                f"no published warehouse snapshot at {self.snapshot}: run `scr build` first"
            )
        con = _snapshot_cursor(self.snapshot, self.version())
        try:
            if self.scope.restricted:
                self._apply_scope(con)
            self._local.con = con
            yield con
        finally:
            self._local.con = None
            self._local.boards = None
            con.close()

    def _apply_scope(self, con: duckdb.DuckDBPyConnection) -> None:
        """Shadow every table holding board-level rows with a view of the boards in scope."""
        con.execute(
            f"CREATE TEMP TABLE scope_boards AS SELECT board_code FROM ({BOARDS_SQL}) "
            "WHERE list_contains($regions, region) OR list_contains($boards, board_code)",
            {"regions": list(self.scope.regions or []), "boards": list(self.scope.boards or [])},
        )
        con.execute(
            "CREATE TEMP VIEW reviews AS SELECT * FROM wh.main.reviews "
            "WHERE board_code IN (SELECT board_code FROM temp.main.scope_boards)"
        )
        for table in CORE_TABLES[1:]:
            con.execute(
                f"CREATE TEMP VIEW {table} AS SELECT * FROM wh.main.{table} "
                "WHERE review_id IN (SELECT review_id FROM temp.main.reviews)"
            )
        existing = {row[0] for row in con.execute("SHOW TABLES").fetchall()}
        for table in ("submissions", "submission_issues"):
            if table in existing:
                con.execute(
                    f"CREATE TEMP VIEW {table} AS SELECT * FROM wh.main.{table} "
                    "WHERE submission_id IN (SELECT submission_id FROM temp.main.reviews)"
                )
        for table in NATIONAL_MARTS:
            if table in existing:
                con.execute(f"CREATE TEMP VIEW {table} AS SELECT * FROM wh.main.{table} LIMIT 0")

    @_one_connection
    def select(
        self, period: str | None = None, region: str | None = None, board: str | None = None
    ) -> Selection:
        """Build the selection, refusing a region or board outside the scope."""
        if self.scope.restricted:
            visible = self.boards()
            if region is not None and region not in set(visible["region"]) | set(
                self.scope.regions or ()
            ):
                raise OutOfScope(f"region {region!r} is outside the scope {self.scope.name!r}")
            if board is not None and board not in set(visible["board_code"]):
                raise OutOfScope(f"board {board!r} is outside the scope {self.scope.name!r}")
        return Selection(period=period or None, region=region or None, board=board or None)

    @property
    def comparator_label(self) -> str:
        """What the national comparator is called: England, or all that the scope shows."""
        return "All boards in scope" if self.scope.restricted else ENGLAND

    def _frame(self, sql: str, params: dict[str, Any] | list[Any] | None = None) -> pl.DataFrame:
        with self.connect() as con:
            return con.sql(sql, params=params).pl()

    def _has_table(self, con: duckdb.DuckDBPyConnection, table: str) -> bool:
        rows = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND database_name = 'wh'",
            [table],
        ).fetchall()
        return bool(rows[0][0])

    # -- catalog ----------------------------------------------------------------------------

    def periods(self) -> list[str]:
        rows = self._frame("SELECT DISTINCT period FROM reviews ORDER BY period")
        return [p for p in rows["period"].to_list() if p]

    def boards(self) -> pl.DataFrame:
        """board_code, board_name, region (most recent stated), region_label, reviews,
        first_period, last_period; sorted by name."""
        memo = getattr(self._local, "boards", None)
        if memo is not None:  # already read on this call's connection
            return memo
        labels = frame().labels("region")
        boards = (
            self._frame(BOARDS_SQL)
            .with_columns(
                pl.col("board_name").fill_null(pl.col("board_code")),
                pl.col("region")
                .replace_strict(labels, default=pl.col("region"))
                .alias("region_label"),
            )
            .sort("board_name", "board_code")
        )
        if getattr(self._local, "con", None) is not None:
            self._local.boards = boards
        return boards

    def regions(self) -> pl.DataFrame:
        """Regions with at least one review (coded), in coding-frame order: region, label,
        reviews, boards."""
        counts = self._frame(
            f"WITH board_catalog AS ({BOARDS_SQL}) "
            "SELECT r.region, count(*) AS reviews, "
            "(SELECT count(*) FROM board_catalog b WHERE b.region = r.region) AS boards "
            "FROM reviews r WHERE r.region <> 'not_stated' GROUP BY r.region"
        )
        order = frame().codes("region")
        labels = frame().labels("region")
        return (
            counts.with_columns(
                pl.col("region").replace_strict(labels, default=None).alias("label"),
                pl.col("region")
                .replace_strict({c: i for i, c in enumerate(order)}, default=len(order))
                .alias("_order"),
            )
            .sort("_order")
            .select("region", "label", "reviews", "boards")
        )

    def provenance(self) -> dict[str, Any]:
        """How many reviews there are, how many come from the synthetic sample boards, and
        when the snapshot was published."""
        prefixes = " OR ".join(f"board_code LIKE '{p}%'" for p in SYNTHETIC_BOARD_PREFIXES)
        counts = self._frame(
            "SELECT count(*) AS reviews, count(*) FILTER (WHERE "
            f"{prefixes} OR board_name ILIKE 'synthetic%') AS synthetic FROM reviews"
        ).row(0, named=True)
        published = datetime.fromtimestamp(self.snapshot.stat().st_mtime, UTC)
        return {
            "reviews": int(counts["reviews"]),
            "synthetic": int(counts["synthetic"]),
            "published": published,
        }

    # -- indicators ------------------------------------------------------------------------

    def indicators(
        self,
        sel: Selection,
        by: tuple[str, ...] = (),
        *,
        all_periods: bool = False,
        region_by: Literal["review", "board"] = "review",
    ) -> pl.DataFrame:
        """Every indicator for the selection, one row per group of ``by`` (e.g. ("period",)
        or ("board_code",)) and indicator: numerator, denominator, value (a proportion for
        shares). ``all_periods`` ignores the selection's period (for trends)."""
        sql = _aggregate_sql(by, region_by)
        wide = self._frame(sql, sel.params(with_period=not all_periods))
        long = _to_long(wide, by)
        if "period" in by:
            long = long.sort("period")
        return long

    @_one_connection
    def trends(self, sel: Selection) -> pl.DataFrame:
        """Indicators by period for the selection and its comparators (its region when a
        board is chosen, and England), with a ``series`` column naming each."""
        frames = [self._series(sel, self.describe(sel), 0)]
        if sel.board is not None:
            region = self._board_region(sel.board)
            if region:
                frames.append(self._series(Selection(region=region), self._region_label(region), 1))
        if sel.board is not None or sel.region is not None:
            frames.append(self._series(Selection(), self.comparator_label, 2))
        return pl.concat(frames)

    def _series(self, sel: Selection, name: str, order: int) -> pl.DataFrame:
        long = self.indicators(sel, ("period",), all_periods=True)
        return long.with_columns(
            pl.lit(name).alias("series"), pl.lit(order, dtype=pl.Int64).alias("series_order")
        )

    @_one_connection
    def headline(self, sel: Selection) -> pl.DataFrame:
        """The selection's indicators for its period (all periods pooled when None), with the
        previous period's value beside (``previous``, null when none)."""
        current = self.indicators(sel)
        previous_period = None
        if sel.period is not None:
            periods = self.periods()
            if sel.period in periods and periods.index(sel.period) > 0:
                previous_period = periods[periods.index(sel.period) - 1]
        if previous_period is None:
            return current.with_columns(pl.lit(None, dtype=pl.Float64).alias("previous"))
        prev = self.indicators(replace(sel, period=previous_period)).select(
            "indicator", pl.col("value").alias("previous")
        )
        return current.join(prev, on="indicator", how="left")

    @_one_connection
    def describe(self, sel: Selection) -> str:
        """A human name for what is selected: a board, a region, or England."""
        if sel.board is not None:
            boards = self.boards().filter(pl.col("board_code") == sel.board)
            return boards["board_name"][0] if boards.height else sel.board
        if sel.region is not None:
            return self._region_label(sel.region)
        return self.comparator_label

    @staticmethod
    def _region_label(region: str) -> str:
        return frame().labels("region").get(region, region)

    def _board_region(self, board: str) -> str | None:
        row = self.boards().filter(pl.col("board_code") == board)
        if row.height == 0 or row["region"][0] == "not_stated":
            return None
        return str(row["region"][0])

    @_one_connection
    def board_indicators(self, sel: Selection) -> pl.DataFrame:
        """Indicators for every board of the selection's region (all boards for England), for
        its period: board_code, board_name, region, indicator, numerator, denominator, value.
        Boards are placed in their most recent stated region."""
        long = self.indicators(
            Selection(period=sel.period, region=sel.region), ("board_code",), region_by="board"
        )
        boards = self.boards().select("board_code", "board_name", "region", "region_label")
        return long.join(boards, on="board_code", how="left").sort("board_name", "indicator")

    @_one_connection
    def boards_side_by_side(self, sel: Selection) -> pl.DataFrame:
        """One row per board in the selection's region (every board ever seen there, with zero
        reviews in the period when none): board, reviews, children, and the key shares in %."""
        wide_keys = ("reviews", "children", *SIDE_BY_SIDE)
        long = self.board_indicators(sel).filter(pl.col("indicator").is_in(wide_keys))
        shares = long.with_columns(
            pl.when(pl.col("kind") == "share")
            .then(pl.col("value") * 100)
            .otherwise(pl.col("value"))
            .alias("value")
        )
        wide = shares.pivot(
            on="indicator", index=["board_code"], values="value", aggregate_function="first"
        )
        boards = self.boards()
        if sel.region is not None:
            boards = boards.filter(pl.col("region") == sel.region)
        out = boards.select("board_code", "board_name", "region_label").join(
            wide, on="board_code", how="left"
        )
        for key in wide_keys:
            if key not in out.columns:
                out = out.with_columns(pl.lit(None, dtype=pl.Float64).alias(key))
        return (
            out.with_columns(
                pl.col("reviews").fill_null(0).cast(pl.Int64),
                pl.col("children").fill_null(0).cast(pl.Int64),
            )
            .select("board_code", "board_name", "region_label", *wide_keys)
            .sort("reviews", "board_name", descending=[True, False])
        )

    # -- benchmarking ------------------------------------------------------------------------

    @_one_connection
    def benchmark(self, sel: Selection) -> pl.DataFrame:
        """A board against its region and England on every share indicator, for its period.

        Columns: indicator, label, definition, polarity, board_k, board_n, board_value,
        ci_low, ci_high (Wilson 95%), region_k, region_n, region_value, england_k, england_n,
        england_value, comparison (single-overlap: Better/Similar/Worse or Higher/Lower).
        """
        if sel.board is None:
            raise ValueError("benchmark needs a board in the selection")
        region = self._board_region(sel.board)

        def terms(s: Selection, side: str) -> pl.DataFrame:
            return self.indicators(s).select(
                "indicator",
                pl.col("numerator").alias(f"{side}_k"),
                pl.col("denominator").alias(f"{side}_n"),
                pl.col("value").alias(f"{side}_value"),
            )

        board = terms(Selection(period=sel.period, board=sel.board), "board")
        england = terms(Selection(period=sel.period), "england")
        if region is not None:
            reg = terms(Selection(period=sel.period, region=region), "region")
        else:
            reg = england.select(
                "indicator",
                *(pl.lit(None, dtype=pl.Float64).alias(f"region_{s}") for s in ("k", "value")),
                pl.lit(None, dtype=pl.Int64).alias("region_n"),
            )
        meta = pl.DataFrame(
            {
                "indicator": [i.key for i in INDICATORS if i.kind == "share"],
                "label": [i.label for i in INDICATORS if i.kind == "share"],
                "definition": [i.definition for i in INDICATORS if i.kind == "share"],
                "polarity": [i.polarity for i in INDICATORS if i.kind == "share"],
            }
        )
        out = (
            meta.join(board, on="indicator", how="left")
            .join(reg, on="indicator", how="left")
            .join(england, on="indicator", how="left")
            .with_columns(
                *_wilson_exprs(pl.col("board_k"), pl.col("board_n"), Z95, ("ci_low", "ci_high"))
            )
        )
        comparisons = [
            compare_with_england(lo, hi, eng, pol)
            for lo, hi, eng, pol in zip(
                out["ci_low"], out["ci_high"], out["england_value"], out["polarity"], strict=True
            )
        ]
        return out.with_columns(pl.Series("comparison", comparisons, dtype=pl.String))

    @_one_connection
    def funnel(self, sel: Selection, indicator: str) -> pl.DataFrame:
        """Every board's k, n and proportion on one share indicator for the period, with
        England's proportion and where each board falls against the funnel limits:
        ``band`` is within 95%, between 95% and 99.8%, or outside 99.8%."""
        if INDICATORS_BY_KEY[indicator].kind != "share":
            raise ValueError(f"{indicator} is not a proportion")
        national = self.indicators(Selection(period=sel.period)).filter(
            pl.col("indicator") == indicator
        )
        p0 = float(national["value"][0]) if national.height and national["value"][0] else 0.0
        boards = self.board_indicators(Selection(period=sel.period)).filter(
            (pl.col("indicator") == indicator) & (pl.col("denominator") > 0)
        )
        k, n = pl.col("numerator"), pl.col("denominator").cast(pl.Float64)
        bounds = [
            *_wilson_exprs(k, n, Z95, ("_lo95", "_hi95")),
            *_wilson_exprs(k, n, Z998, ("_lo998", "_hi998")),
        ]
        return (
            boards.with_columns(*bounds)
            .with_columns(
                # A board's Wilson interval excluding p0 is a point beyond the funnel limit.
                pl.when((pl.col("_lo998") > p0) | (pl.col("_hi998") < p0))
                .then(pl.lit("outside 99.8% limits"))
                .when((pl.col("_lo95") > p0) | (pl.col("_hi95") < p0))
                .then(pl.lit("between 95% and 99.8% limits"))
                .otherwise(pl.lit("within 95% limits"))
                .alias("band"),
                pl.lit(p0).alias("england"),
                (pl.col("board_code") == (sel.board or "")).alias("selected"),
                (pl.col("region") == (sel.region or "")).alias("in_region"),
            )
            .select(
                "board_code",
                "board_name",
                "region",
                "region_label",
                pl.col("numerator").cast(pl.Int64).alias("k"),
                pl.col("denominator").alias("n"),
                "value",
                "england",
                "band",
                "selected",
                "in_region",
            )
        )

    # -- study tables ----------------------------------------------------------------------

    def study_tables(self, sel: Selection) -> dict[str, Any]:
        """Tables 2-20 as ``scr tables`` computes them (the tables JSON as a dict).

        England-wide selections read the long form the build materialised in
        ``mart_study_tables`` (the same SQL, run when the snapshot was made); any other
        selection, or a warehouse without the mart, computes the tables now.
        """
        from warehouse.study_tables import (
            LONG_SCHEMA,
            MART_TABLE,
            TABLES,
            coding_frame_version,
            compute_study_tables,
            result_from_long,
        )

        params = sel.params()
        with self.connect() as con:
            if params["region"] is None and params["board"] is None:
                if self._has_table(con, MART_TABLE):
                    long = con.sql(
                        f"SELECT * FROM {MART_TABLE} WHERE period IS NOT DISTINCT FROM $period",
                        params={"period": params["period"]},
                    ).pl()
                    # A restricted scope sees an empty mart, so computes from its rows.
                    if long.height:
                        order = {t.id: i for i, t in enumerate(TABLES)}
                        long = (
                            long.with_columns(
                                pl.col("table_id").replace_strict(order).alias("_order")
                            )
                            .sort("_order", "section", "row_order", "column_order", nulls_last=True)
                            .select(pl.col(k).cast(v) for k, v in LONG_SCHEMA.items())
                        )
                        return result_from_long(long, params, coding_frame_version(con))
            return compute_study_tables(con, params["period"], params["region"], params["board"])

    @_one_connection
    def tables_csv(self, sel: Selection) -> bytes:
        """The selection's tables as the CSV ``scr tables --format csv`` writes."""
        return tables_csv_bytes(self.study_tables(sel))

    @_one_connection
    def tables_xlsx(self, sel: Selection) -> bytes:
        """The selection's tables as the workbook ``scr tables --format xlsx`` writes."""
        return tables_xlsx_bytes(self.study_tables(sel))

    # -- themes ----------------------------------------------------------------------------

    def themes(self, sel: Selection) -> pl.DataFrame:
        """By period (all periods), each family circumstance's counts of children coded yes,
        no, not stated and blank, and the share coded yes of all children."""
        cases = ", ".join(
            f"count(*) FILTER (WHERE c.{t} = 'yes') AS {t}__yes, "
            f"count(*) FILTER (WHERE c.{t} = 'no') AS {t}__no, "
            f"count(*) FILTER (WHERE c.{t} = 'not_stated') AS {t}__not_stated, "
            f"count(*) FILTER (WHERE c.{t} IS NULL) AS {t}__blank"
            for t, _ in THEMES
        )
        wide = self._frame(
            f"{_selection_ctes()} SELECT r.period, count(*) AS children, {cases} "
            "FROM children c JOIN sel_reviews r USING (review_id) GROUP BY r.period",
            sel.params(with_period=False),
        )
        parts = [
            wide.select(
                "period",
                pl.lit(key).alias("theme"),
                pl.lit(label).alias("label"),
                "children",
                *(pl.col(f"{key}__{a}").alias(a) for a in ("yes", "no", "not_stated", "blank")),
            )
            for key, label in THEMES
        ]
        schema = {
            "period": pl.String(),
            "theme": pl.String(),
            "label": pl.String(),
            "children": pl.Int64(),
            "yes": pl.Int64(),
            "no": pl.Int64(),
            "not_stated": pl.Int64(),
            "blank": pl.Int64(),
        }
        if not parts or wide.is_empty():
            return pl.DataFrame(schema={**schema, "share": pl.Float64()})
        return (
            pl.concat(parts)
            .cast(schema)  # type: ignore[arg-type]
            .with_columns((pl.col("yes") / pl.col("children")).alias("share"))
            .sort("period", "theme")
        )

    def _child_themes(self, sel: Selection) -> pl.DataFrame:
        cols = ", ".join(f"coalesce(c.{t} = 'yes', false) AS {t}" for t, _ in THEMES)
        return self._frame(
            f"{_selection_ctes()} SELECT r.period, {cols} "
            "FROM children c JOIN sel_reviews r USING (review_id)",
            sel.params(),
        )

    @_one_connection
    def theme_pairs(self, sel: Selection) -> pl.DataFrame:
        """For the selection's period: every pair of circumstances (a pair with itself is the
        circumstance alone), children with both, and that as a share of all children."""
        kids = self._child_themes(sel)
        total = kids.height
        rows = []
        for a, label_a in THEMES:
            for b, label_b in THEMES:
                both = kids.filter(pl.col(a) & pl.col(b)).height if total else 0
                rows.append((a, label_a, THEME_SHORT[a], b, label_b, THEME_SHORT[b], both, total))
        out = pl.DataFrame(
            rows,
            schema=[
                "theme_a",
                "label_a",
                "short_a",
                "theme_b",
                "label_b",
                "short_b",
                "both",
                "children",
            ],
            orient="row",
        )
        return out.with_columns(
            pl.when(pl.col("children") > 0).then(pl.col("both") / pl.col("children")).alias("share")
        )

    @_one_connection
    def theme_combinations(self, sel: Selection) -> pl.DataFrame:
        """For the selection's period: how many circumstances each child has coded yes
        (0-4), and the commonest exact combinations: combination, circumstances, children,
        share."""
        kids = self._child_themes(sel)
        names = THEME_SHORT
        keys = [k for k, _ in THEMES]
        if kids.is_empty():
            return pl.DataFrame(
                schema={
                    "combination": pl.String(),
                    "circumstances": pl.Int64(),
                    "children": pl.Int64(),
                    "share": pl.Float64(),
                }
            )
        labelled = kids.with_columns(
            pl.sum_horizontal(*(pl.col(k).cast(pl.Int64) for k in keys)).alias("circumstances"),
            pl.concat_str(
                [pl.when(pl.col(k)).then(pl.lit(names[k])) for k in keys],
                separator=" + ",
                ignore_nulls=True,
            ).alias("combination"),
        ).with_columns(
            pl.when(pl.col("circumstances") == 0)
            .then(pl.lit("None of these"))
            .otherwise(pl.col("combination"))
            .alias("combination")
        )
        return (
            labelled.group_by("combination", "circumstances")
            .agg(pl.len().cast(pl.Int64).alias("children"))
            .with_columns((pl.col("children") / kids.height).alias("share"))
            .sort("children", "combination", descending=[True, False])
        )

    # -- recommendations -------------------------------------------------------------------

    def recommendation_focus(self, sel: Selection) -> pl.DataFrame:
        """By period (all periods): recommendations per focus, with focus labels in the
        study's order, and the share of the period's recommendations."""
        counts = self._frame(
            f"{_selection_ctes()} SELECT r.period, x.focus, count(*) AS recommendations "
            "FROM recommendations x JOIN sel_reviews r USING (review_id) GROUP BY ALL",
            sel.params(with_period=False),
        )
        return (
            _label(counts, "focus", "recommendation_focus")
            .with_columns(
                (pl.col("recommendations") / pl.col("recommendations").sum().over("period")).alias(
                    "share"
                )
            )
            .sort("period", "focus_order")
        )

    def recommendation_agency_focus(self, sel: Selection) -> pl.DataFrame:
        """For the selection's period: recommendations by agency and focus."""
        counts = self._frame(
            f"{_selection_ctes()} SELECT coalesce(x.agency, 'not_stated') AS agency, x.focus, "
            "count(*) AS recommendations "
            "FROM recommendations x JOIN sel_reviews r USING (review_id) GROUP BY ALL",
            sel.params(),
        )
        labelled = _label(_label(counts, "focus", "recommendation_focus"), "agency", "agency")
        return labelled.sort("agency_order", "focus_order")

    def search_recommendations(self, sel: Selection, text: str, limit: int = 200) -> pl.DataFrame:
        """Recommendations of the selection whose wording contains every word of ``text``
        (case-insensitive): period, board, review, number, focus, agency, text, and
        ``matches`` (how many matched in all, the frame holding at most ``limit``)."""
        words = [w for w in text.split() if w][:8]
        conditions = (
            " AND ".join(f"x.text ILIKE $w{i} ESCAPE '\\'" for i in range(len(words))) or "true"
        )
        params: dict[str, Any] = sel.params()
        for i, word in enumerate(words):
            escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params[f"w{i}"] = f"%{escaped}%"
        params["limit"] = int(limit)
        rows = self._frame(
            f"{_selection_ctes()} SELECT r.period, r.board_code, "
            "coalesce(r.catalog_board_name, r.board_code) AS board_name, x.review_id, x.rec_no, "
            "x.focus, coalesce(x.agency, 'not_stated') AS agency, x.text, "
            "count(*) OVER () AS matches "
            f"FROM recommendations x JOIN sel_reviews r USING (review_id) WHERE {conditions} "
            "ORDER BY r.period DESC, r.board_code, x.review_id, x.rec_no LIMIT $limit",
            params,
        )
        out = _label(_label(rows, "focus", "recommendation_focus"), "agency", "agency")
        return out.select(
            "period",
            "board_code",
            "board_name",
            "review_id",
            "rec_no",
            "focus_label",
            "agency_label",
            "text",
            pl.col("matches").cast(pl.Int64),
        )

    # -- data quality ----------------------------------------------------------------------

    def completeness(self, sel: Selection) -> pl.DataFrame:
        """Completeness of key fields by period and board (all periods; the boards of the
        selection's region, or the one board): period, board_code, board_name, field, label,
        items (what is counted), recorded, not_stated, missing, total, share (recorded).

        Read from ``mart_data_quality`` when the snapshot has it; otherwise (an older
        warehouse, or a restricted scope, which hides national marts) the mart's own SQL runs
        on the rows in scope, so both ways give the same figures.
        """
        from warehouse.marts import DATA_QUALITY_TABLE, data_quality_sql

        with self.connect() as con:
            source = (
                DATA_QUALITY_TABLE
                if self._has_table(con, DATA_QUALITY_TABLE) and not self.scope.restricted
                else f"({data_quality_sql().strip().rstrip(';')})"
            )
            # The mart splits a board by the region each review states; join them up again.
            long = con.sql(
                "SELECT period, board_code, field, any_value(items) AS items, "
                "sum(recorded)::BIGINT AS recorded, sum(not_stated)::BIGINT AS not_stated, "
                f"sum(missing)::BIGINT AS missing, sum(n)::BIGINT AS total FROM {source} "
                "GROUP BY period, board_code, field"
            ).pl()
        boards = self.boards()
        if sel.board is not None:
            long = long.filter(pl.col("board_code") == sel.board)
        elif sel.region is not None:
            keep = boards.filter(pl.col("region") == sel.region)["board_code"]
            long = long.filter(pl.col("board_code").is_in(keep.implode()))
        order = {k: i for i, k in enumerate(QUALITY_FIELDS)}
        return (
            long.filter(pl.col("field").is_in(list(QUALITY_FIELDS)))
            .with_columns(
                pl.col("field").replace_strict(QUALITY_FIELDS).alias("label"),
                pl.col("field").replace_strict(order).cast(pl.Int64).alias("field_order"),
            )
            .join(boards.select("board_code", "board_name"), on="board_code", how="left")
            .with_columns(
                pl.when(pl.col("total") > 0)
                .then(pl.col("recorded") / pl.col("total"))
                .alias("share")
            )
            .select(
                "period",
                "board_code",
                "board_name",
                "field",
                "label",
                "field_order",
                "items",
                "recorded",
                "not_stated",
                "missing",
                "total",
                "share",
            )
            .sort("period", "board_name", "field_order")
        )

    def submissions(self) -> pl.DataFrame:
        """The submission ledger, newest first (empty when the warehouse has none)."""
        with self.connect() as con:
            if not self._has_table(con, "submissions"):
                return pl.DataFrame()
            return con.sql(
                "SELECT submission_id, received_at, original_name, submitted_by, status, "
                "n_reviews, n_children, n_recommendations, n_reviews_new, n_reviews_replaced, "
                "n_errors, n_warnings FROM submissions ORDER BY received_at DESC"
            ).pl()


def _label(df: pl.DataFrame, column: str, code_list: str) -> pl.DataFrame:
    """Add ``<column>_label`` and ``<column>_order`` from the coding frame's code list."""
    codes = frame().codes(code_list)
    labels = frame().labels(code_list)
    return df.with_columns(
        pl.col(column).replace_strict(labels, default=pl.col(column)).alias(f"{column}_label"),
        pl.col(column)
        .replace_strict({c: i for i, c in enumerate(codes)}, default=len(codes))
        .cast(pl.Int64)
        .alias(f"{column}_order"),
    )


# --- exports: the same files as `scr tables` ------------------------------------------------


def tables_json(result: dict[str, Any]) -> str:
    """The tables JSON text, as ``scr tables`` prints it (without the final newline)."""
    from warehouse.exports import tables_json as to_json

    return to_json(result)


def tables_csv_bytes(result: dict[str, Any]) -> bytes:
    """The CSV that ``scr tables --format csv --out FILE`` writes, as bytes."""
    from warehouse.exports import write_tables_csv

    return _via_file(result, write_tables_csv, ".csv")


def tables_xlsx_bytes(result: dict[str, Any]) -> bytes:
    """The workbook that ``scr tables --format xlsx --out FILE`` writes, as bytes."""
    from warehouse.exports import write_tables_xlsx

    return _via_file(result, write_tables_xlsx, ".xlsx")


def _via_file(result: dict[str, Any], writer: Any, suffix: str) -> bytes:
    fd, name = tempfile.mkstemp(suffix=suffix)
    os.close(fd)
    try:
        writer(result, name)
        return Path(name).read_bytes()
    finally:
        Path(name).unlink(missing_ok=True)


def published_tables() -> pl.DataFrame:
    """The published 2001-03 figures (Appendix 2) in long form, one row per table, section,
    row and (crosstab) column: published_n, published_count, published_percent, and the
    2002 report's percentage (``comparison_2002``; for Table 16 a count) where printed."""
    from warehouse.replication import published
    from warehouse.study_tables import long_from_result

    pub = published()
    long = long_from_result(pub, percent_key="percent_published").select(
        "table_id",
        "section",
        "row_code",
        pl.col("column_code").fill_null(""),
        pl.col("n").alias("published_n"),
        pl.col("count").alias("published_count"),
        pl.col("percent").alias("published_percent"),
    )
    rows: list[tuple[str, str, str, int]] = []
    for table_id, values in pub.get("comparison_2002", {}).items():
        if not isinstance(values, dict):
            continue
        if table_id.endswith("_counts"):  # t16: counts per item and answer
            for item, answers in values.items():
                for answer, count in answers.items():
                    rows.append((table_id.removesuffix("_counts"), item, answer, int(count)))
        else:
            for code, value in values.items():
                if isinstance(value, int | float):
                    rows.append((table_id, code, "", int(value)))
    comparison = pl.DataFrame(
        rows,
        schema={
            "table_id": pl.String(),
            "row_code": pl.String(),
            "column_code": pl.String(),
            "comparison_2002": pl.Int64(),
        },
        orient="row",
    )
    return long.join(
        comparison, on=["table_id", "row_code", "column_code"], how="full", coalesce=True
    ).with_columns(pl.col("section").fill_null("rows"))


def comparison_2002_notes() -> dict[str, str]:
    """Notes printed with the 2002 comparison, by table id."""
    from warehouse.replication import published

    return {
        table_id: values["note"]
        for table_id, values in published().get("comparison_2002", {}).items()
        if isinstance(values, dict) and "note" in values
    }

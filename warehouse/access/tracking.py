"""Tracking for the dashboard (issue 11), within each principal's scope.

The figures are :mod:`warehouse.tracking`'s, read through the access layer:

- national: everything;
- regional: its region's boards in full (board rows and overdue rows of those boards only);
  England and the regions as aggregates under disclosure control;
- board: its own board in full; its region and England as aggregates under disclosure
  control; other boards never named;
- public: England and regional aggregates only, under disclosure control: no board rows,
  no overdue rows (the overdue counts by kind instead).

Board rows and overdue rows are computed on the principal's own scoped connection, so they
hold nothing else. England and regional rows are computed on the whole snapshot through
:meth:`AccessCore.controlled` for every region at once (whatever region the selection
shows), and protected together with :func:`warehouse.disclosure.protect`: counts of 1 to
the threshold, after taking out the principal's own part (the remainder rule), are hidden,
and enough others that none can be worked out from what is shown, knowing that the regions
add up to England, n = k + (n - k), and how the stages of the funnel add up
(:data:`warehouse.tracking.STAGE_IDENTITIES`). A row with a hidden figure has
``suppressed`` True; shares and intervals computed from a hidden count are null.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

import duckdb
import polars as pl

from warehouse import tracking
from warehouse.access.catalog import CatalogReads
from warehouse.access.connection import reads
from warehouse.access.selection import Selection
from warehouse.disclosure import Constraint, protect
from warehouse.tracking import TrackingFilter

NO_OVERDUE_ROWS_FOR_THE_PUBLIC = (
    "the overdue list names boards and cases: it is shown only to signed-in users "
    "(the public sees the overdue counts for England and the regions)"
)
Identities = Sequence[tuple[str, tuple[str, ...]]]
_AREA = ("level", "region")


def tracking_filter(sel: Selection, as_of: date) -> TrackingFilter:
    """The selection as of a date; a board's notifications are taken whatever region they
    state (as :meth:`Selection.params`)."""
    region = sel.region if sel.board is None else None
    return TrackingFilter(as_of=as_of, period=sel.period, region=region, board=sel.board)


def protect_areas(
    full: pl.DataFrame,
    known: pl.DataFrame | None,
    cells: Sequence[str],
    identities: Identities,
    threshold: int,
    keys: Sequence[str] = (),
) -> pl.DataFrame:
    """England and region rows (``level``, ``region``, ``*keys``, ``*cells``) with the
    hidden counts null and ``suppressed`` set, each group of ``keys`` protected on its own.

    ``known`` holds the principal's own part of each row (the same rows computed on its
    scoped connection; None for the public): what is protected is the remainder.
    """
    own: dict[tuple, dict[str, int]] = {}
    if known is not None:
        for row in known.iter_rows(named=True):
            key = tuple(row[k] for k in (*_AREA, *keys))
            own[key] = {c: int(row[c] or 0) for c in cells}
    hidden_rows: list[dict[str, object]] = []
    groups = full.partition_by(list(keys), as_dict=True) if keys else {(): full}
    for group_key, group in groups.items():
        values: dict[tuple[str, str], int] = {}
        areas: list[str] = []
        for row in group.iter_rows(named=True):
            area = "England" if row["level"] == "england" else str(row["region"])
            areas.append(area)
            mine = own.get(tuple(row[k] for k in (*_AREA, *keys)), {})
            for c in cells:
                values[(c, area)] = int(row[c] or 0) - mine.get(c, 0)
        regions = [a for a in areas if a != "England"]
        constraints = [
            Constraint((total, area), tuple((part, area) for part in parts))
            for area in areas
            for total, parts in identities
        ]
        if "England" in areas:
            constraints += [
                Constraint((c, "England"), tuple((c, r) for r in regions)) for c in cells
            ]
        hidden = protect(values, constraints, threshold)
        for c, area in hidden:
            hidden_rows.append(
                {"_area": area, "_cell": c} | dict(zip(keys, group_key, strict=True))
            )
    area = pl.when(pl.col("level") == "england").then(pl.lit("England")).otherwise(pl.col("region"))
    out = full.with_columns(area.alias("_area"))
    hide = pl.DataFrame(
        hidden_rows,
        schema={"_area": pl.String, "_cell": pl.String} | {k: full.schema[k] for k in keys},
    )
    flags = []
    for c in cells:
        mask = hide.filter(pl.col("_cell") == c).drop("_cell").with_columns(_hide=pl.lit(True))
        out = out.join(mask, on=["_area", *keys], how="left").with_columns(
            pl.col("_hide").fill_null(False).alias(f"_hide_{c}")
        )
        out = out.drop("_hide")
        flags.append(f"_hide_{c}")
    return out.with_columns(
        *(pl.when(pl.col(f"_hide_{c}")).then(None).otherwise(pl.col(c)).alias(c) for c in cells),
        pl.any_horizontal(*flags).alias("suppressed") if flags else pl.lit(False),
    ).drop("_area", *flags)


class TrackingReads(CatalogReads):
    """The Tracking page: funnel, overdue list, timeliness, actions against due dates and
    the implementation curve, as of a date, within the principal's scope."""

    # -- the two halves of every leveled result -------------------------------------------

    def _boards_in_full(
        self,
        compute: Callable[[duckdb.DuckDBPyConnection, TrackingFilter], pl.DataFrame],
        f: TrackingFilter,
    ) -> pl.DataFrame:
        """Board rows, read on the principal's own connection (none for the public)."""
        with self.connect() as con:
            rows = compute(con, f).filter(pl.col("level") == "board")
        return rows.head(0) if self.principal.is_public else rows

    def _aggregates(
        self,
        compute: Callable[[duckdb.DuckDBPyConnection, TrackingFilter], pl.DataFrame],
        f: TrackingFilter,
        cells: Sequence[str],
        identities: Identities,
        keys: Sequence[str] = (),
    ) -> pl.DataFrame:
        """England and every region for the date and period, under disclosure control
        outside the principal's full view (all regions protected together), then the rows
        the selection shows: England, and the selected region (or the board's)."""
        widest = f.widest()

        def areas() -> pl.DataFrame:
            with self.connect() as con:
                return compute(con, widest).filter(pl.col("level") != "board")

        def control(full: pl.DataFrame, known: pl.DataFrame) -> pl.DataFrame:
            own = None if self.principal.is_public else known
            return protect_areas(full, own, cells, identities, self.threshold, keys)

        rows = self.controlled(
            areas, control, shown_whole=lambda k: k.with_columns(suppressed=pl.lit(False))
        )
        if f.region is not None:
            rows = rows.filter((pl.col("level") == "england") | (pl.col("region") == f.region))
        elif f.board is not None:
            with self.connect() as con:
                mine = compute(con, f).filter(pl.col("level") == "region")["region"]
            rows = rows.filter(
                (pl.col("level") == "england") | pl.col("region").is_in(mine.implode())
            )
        return rows

    def _leveled(
        self,
        compute: Callable[[duckdb.DuckDBPyConnection, TrackingFilter], pl.DataFrame],
        f: TrackingFilter,
        cells: Sequence[str],
        identities: Identities,
        keys: Sequence[str] = (),
    ) -> pl.DataFrame:
        aggregates = self._aggregates(compute, f, cells, identities, keys)
        boards = self._boards_in_full(compute, f).with_columns(suppressed=pl.lit(False))
        return pl.concat([aggregates, boards.select(aggregates.columns)], how="vertical_relaxed")

    # -- the page's reads ------------------------------------------------------------------

    @reads
    def tracking_stages(self, sel: Selection, as_of: date) -> pl.DataFrame:
        """The funnel (:func:`warehouse.tracking.stage_counts`' columns and
        ``suppressed``): England and the selected region (or the board's) as aggregates,
        the boards in scope in full."""
        wide = self._leveled(
            tracking.stage_counts_wide,
            tracking_filter(sel, as_of),
            tracking.STAGE_COUNTS,
            tracking.STAGE_IDENTITIES,
        )
        long = tracking.stages_long(wide)
        hidden = pl.col("reached").is_null() | (
            pl.col("now_label").is_not_null() & pl.col("now_at").is_null()
        )
        return long.with_columns(hidden.alias("suppressed"))

    @reads
    def tracking_overdue(self, sel: Selection, as_of: date) -> pl.DataFrame:
        """The overdue rows of the boards in scope (:data:`warehouse.tracking.OVERDUE_SCHEMA`).
        OutOfScope for the public."""
        self.refuse_public(NO_OVERDUE_ROWS_FOR_THE_PUBLIC)
        with self.connect() as con:
            return tracking.overdue(con, tracking_filter(sel, as_of))

    @reads
    def tracking_overdue_counts(self, sel: Selection, as_of: date) -> pl.DataFrame:
        """How many items are overdue, by kind, for England and the selected region (or
        the board's) under disclosure control, and for each board in scope in full.
        Columns: level, region, board_code, decision, review, action_plan, action, total,
        suppressed."""
        kinds = list(tracking.OVERDUE_KINDS)

        def counts(con: duckdb.DuckDBPyConnection, f: TrackingFilter) -> pl.DataFrame:
            rows = tracking.overdue(con, f)
            per_board = (
                rows.group_by("region", "board_code")
                .agg(*((pl.col("kind") == k).sum().cast(pl.Int64).alias(k) for k in kinds))
                .with_columns(pl.sum_horizontal(kinds).alias("total"))
            )
            return _sum_levels(per_board, f, [*kinds, "total"])

        return self._leveled(
            counts, tracking_filter(sel, as_of), [*kinds, "total"], [("total", tuple(kinds))]
        )

    @reads
    def tracking_actions(self, sel: Selection, as_of: date) -> pl.DataFrame:
        """Action points against their due dates
        (:func:`warehouse.tracking.actions_by_due_date`' columns and ``suppressed``)."""
        rows = self._leveled(
            tracking.actions_by_due_date,
            tracking_filter(sel, as_of),
            tracking.ACTION_COUNTS,
            [("due", ("completed_by_due", "completed_late", "dropped", "open"))],
        )
        return tracking.with_shares(rows.drop(_SHARE_COLUMNS), "completed_by_due", "due")

    @reads
    def tracking_timeliness(self, sel: Selection, as_of: date) -> pl.DataFrame:
        """Timeliness (:data:`warehouse.tracking.TIMELINESS_COLUMNS` and ``suppressed``):
        decision within one month, completion on time, actions by their due date."""
        f = tracking_filter(sel, as_of)
        frames = []
        for measure, label, name in tracking.MEASURES:
            if name == "actions_by_due_date":
                # The same cells as the actions table, hidden alike.
                rows = self.tracking_actions(sel, as_of).select(
                    "level",
                    "region",
                    "board_code",
                    pl.col("completed_by_due").alias("k"),
                    pl.col("due").alias("n"),
                    "suppressed",
                )
            else:
                rows = self._leveled(
                    _with_rest(name), f, ["k", "rest", "n"], [("n", ("k", "rest"))]
                ).drop("rest")
            frames.append(rows.with_columns(measure=pl.lit(measure), label=pl.lit(label)))
        out = pl.concat(frames, how="vertical_relaxed")
        return tracking.with_shares(out).select(*tracking.TIMELINESS_COLUMNS, "suppressed")

    @reads
    def tracking_curve(self, sel: Selection, as_of: date) -> pl.DataFrame:
        """The implementation curve
        (:func:`warehouse.tracking.implementation_curve`' columns and ``suppressed``),
        each month protected on its own."""
        rows = self._leveled(
            _curve_with_rest,
            tracking_filter(sel, as_of),
            ["k", "rest", "n"],
            [("n", ("k", "rest"))],
            keys=["months"],
        ).drop("rest")
        return tracking.with_shares(rows).sort("level", "region", "board_code", "months")


_SHARE_COLUMNS = ["share", "ci_low", "ci_high", "percent", "ci_low_percent", "ci_high_percent"]


def _with_rest(
    name: str,
) -> Callable[[duckdb.DuckDBPyConnection, TrackingFilter], pl.DataFrame]:
    def compute(con: duckdb.DuckDBPyConnection, f: TrackingFilter) -> pl.DataFrame:
        rows = tracking._levels(con, name, f, ["k", "n"])
        return rows.with_columns((pl.col("n") - pl.col("k")).alias("rest"))

    return compute


def _curve_with_rest(con: duckdb.DuckDBPyConnection, f: TrackingFilter) -> pl.DataFrame:
    rows = tracking.implementation_curve(con, f).select(
        "level", "region", "board_code", "months", "k", "n"
    )
    return rows.with_columns((pl.col("n") - pl.col("k")).alias("rest"))


def _sum_levels(per_board: pl.DataFrame, f: TrackingFilter, counts: list[str]) -> pl.DataFrame:
    """England, region and board rows of per-region-and-board counts already filtered by
    ``f`` (the overdue list's)."""
    sums = [pl.col(c).sum().cast(pl.Int64) for c in counts]
    england = per_board.select(sums).with_columns(
        level=pl.lit("england"), region=pl.lit(None, pl.String), board_code=pl.lit(None, pl.String)
    )
    regions = per_board.group_by("region").agg(*sums)
    if f.region is not None:
        regions = regions.filter(pl.col("region") == f.region)
    regions = regions.with_columns(level=pl.lit("region"), board_code=pl.lit(None, pl.String))
    boards = (
        per_board.group_by("board_code")
        .agg(pl.col("region").min(), *sums)
        .with_columns(level=pl.lit("board"))
    )
    columns = ["level", "region", "board_code", *counts]
    return pl.concat([england.select(columns), regions.select(columns), boards.select(columns)])

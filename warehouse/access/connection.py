"""The snapshot, its connections and the scope: the one place that decides what is read.

Reads only the *published snapshot* of the warehouse (``scr.snapshot.duckdb``), on
short-lived read-only connections, so the dashboard keeps serving while an ingest or build
writes the live file and swaps a new snapshot in.

Scope (what a role may see) is enforced in exactly one place, :meth:`AccessCore.connect`:
under a restricted :class:`Scope` every connection shadows the core tables with temporary
views holding only the rows of the boards in scope, so every query of the package, the study
tables included, sees nothing else. :meth:`AccessCore.select` refuses a selection outside it.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import duckdb
import polars as pl

from warehouse.db import snapshot_path, snapshot_version, warehouse_path

ENGLAND = "England"
CORE_TABLES = ("reviews", "children", "recommendations", "actions")
# Tables that hold aggregates over every board: hidden under a restricted scope.
NATIONAL_MARTS = ("mart_study_tables", "mart_data_quality")


class NoSnapshot(FileNotFoundError):
    """No published snapshot yet: run ``scr build`` (or ``scr ingest``)."""


class OutOfScope(PermissionError):
    """A selection names a region or board outside the caller's scope."""


@dataclass(frozen=True)
class Scope:
    """The regions and boards a role may see; None means no restriction on that axis.

    A board is visible when it is named in ``boards`` or its region is in ``regions``.
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
    """What the user chose: None means all periods / England / all boards.

    ``period`` None pools every period; ``region`` None means England (every region); a
    region counts the reviews *coded* to it, as the study's tables do; a board takes all of
    its reviews (its region is context only).
    """

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


# Board catalog: a board's name and its region from its most recent review stating one
# (lists of boards place each board there, as a review may have its region `not_stated`).
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


def selection_ctes(region_by: Literal["review", "board"] = "review") -> str:
    """``WITH board_catalog, sel_reviews``: the reviews of a selection ($period, $region,
    $board), each with its board's catalog region and name."""
    column = "r.region" if region_by == "review" else "b.region"
    return f"WITH board_catalog AS ({BOARDS_SQL}),\n{_SEL_REVIEWS.format(region_column=column)}"


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


Method = TypeVar("Method", bound=Callable[..., Any])


def one_connection(method: Method) -> Method:
    """Run a data function that makes several queries on one connection (one snapshot)."""

    @functools.wraps(method)
    def wrapper(self: AccessCore, *args: Any, **kwargs: Any) -> Any:
        with self.connect():
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


class AccessCore:
    """Read-only access to the published snapshot for one scope: connections and selection.

    The data functions live in the mixins of :class:`warehouse.access.Access`; each reads
    through :meth:`connect`.
    """

    def __init__(self, warehouse: Path | str | None = None, scope: Scope = FULL_SCOPE) -> None:
        self.warehouse = warehouse_path(warehouse)
        self.snapshot = snapshot_path(self.warehouse)
        self.scope = scope
        # The connection (and board catalog) of the call in progress, per thread.
        self._local = threading.local()

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

    def select(
        self, period: str | None = None, region: str | None = None, board: str | None = None
    ) -> Selection:
        """Build the selection, refusing a region or board outside the scope."""
        if self.scope.restricted:
            visible = self.frame(BOARDS_SQL)
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

    def frame(self, sql: str, params: dict[str, Any] | list[Any] | None = None) -> pl.DataFrame:
        """One query's result on this call's connection."""
        with self.connect() as con:
            return con.sql(sql, params=params).pl()

    @staticmethod
    def has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
        rows = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND database_name = 'wh'",
            [table],
        ).fetchall()
        return bool(rows[0][0])

"""The snapshot, its connections and the principal's scope: the one place that decides what
is read.

Reads only the *published snapshot* of the warehouse (``scr.snapshot.duckdb``), on
short-lived read-only connections, so the dashboard keeps serving while an ingest or build
writes the live file and swaps a new snapshot in.

What a principal may see is enforced here and nowhere else:

- :meth:`AccessCore.connect` gives every read a connection to what the principal sees in full
  (national: the snapshot; anyone else: a closed copy cut to the boards in scope, see
  ``snapshot.py``), so any query, the study tables included, sees nothing else;
- :meth:`AccessCore.controlled` is the only way past that scope: it runs a computation on the
  whole snapshot and lets out only what a disclosure control function makes of it (England
  and regional aggregates, unnamed funnel points);
- :func:`reads` wraps every data function: one connection per call, and any selection naming
  a board or region outside the scope refused with :class:`OutOfScope`.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import polars as pl

from warehouse.access.selection import BOARDS_SQL, ENGLAND, NoSnapshot, OutOfScope, Selection
from warehouse.access.snapshot import scoped_cursor, snapshot_cursor
from warehouse.db import snapshot_path, snapshot_version, warehouse_path
from warehouse.disclosure import note, threshold_from_env
from warehouse.frame import frame
from warehouse.principal import ANALYST, Principal

T = TypeVar("T")
R = TypeVar("R")


Method = TypeVar("Method", bound=Callable[..., Any])


def reads(method: Method) -> Method:
    """A data function: one connection (one snapshot) for all its queries, and every
    selection it is given checked against the principal's scope first."""

    @functools.wraps(method)
    def wrapper(self: AccessCore, *args: Any, **kwargs: Any) -> Any:
        with self.connect():
            for value in (*args, *kwargs.values()):
                if isinstance(value, Selection):
                    self.check(value)
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _short(text: object) -> str:
    """A user-supplied code, as quoted back in a message."""
    value = str(text)
    return value if len(value) <= 40 else value[:37] + "..."


class AccessCore:
    """Read-only access to the published snapshot for one principal: connections, scope and
    selection. The data functions live in the mixins of :class:`warehouse.access.Access`."""

    def __init__(
        self,
        warehouse: Path | str | None = None,
        principal: Principal = ANALYST,
        *,
        threshold: int | None = None,
    ) -> None:
        self.warehouse = warehouse_path(warehouse)
        self.snapshot = snapshot_path(self.warehouse)
        self.principal = principal
        # Counts from 1 to the threshold are hidden outside the principal's full view.
        self.threshold = threshold_from_env() if threshold is None else int(threshold)
        # The connection of the call in progress (and what was read on it), per thread.
        self._local = threading.local()

    def version(self) -> str:
        """The snapshot's version: caches key on it, so a new snapshot means fresh data."""
        return snapshot_version(self.warehouse)

    def has_snapshot(self) -> bool:
        return self.snapshot.exists()

    def disclosure_note(self) -> str | None:
        """What ``c`` means, for every principal whose figures may be suppressed."""
        return None if self.principal.sees_everything else note(self.threshold)

    @property
    def comparator_label(self) -> str:
        return ENGLAND

    # -- connections: the one place scope is enforced ---------------------------------------

    @contextlib.contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived read-only connection to what the principal sees in full.

        National: a cursor on the snapshot (see ``snapshot.py``). Anyone else: a cursor
        on the principal's closed copy of the snapshot cut to its scope (``snapshot.py``).
        Nested uses share the outermost connection, so one data function makes one
        connection and sees one snapshot throughout.
        """
        active = getattr(self._local, "con", None)
        if active is not None:
            yield active
            return
        if not self.snapshot.exists():
            raise NoSnapshot("no published warehouse snapshot yet: run `scr build` first")
        version = self.version()
        if self.principal.sees_everything:
            con = snapshot_cursor(self.snapshot, version)
        else:
            key = (str(self.snapshot), version, self.principal.role, self.principal.scope_code)
            con = scoped_cursor(
                key, lambda: snapshot_cursor(self.snapshot, version), self.principal
            )
        try:
            self._local.con, self._local.version, self._local.memo = con, version, {}
            self._local.whole = False
            yield con
        finally:
            self._local.con = self._local.memo = None
            con.close()

    def controlled(
        self,
        compute: Callable[[], T],
        control: Callable[[T, T], R],
        *,
        shown_whole: Callable[[T], R] | None = None,
    ) -> R:
        """The only way past the principal's scope.

        ``compute`` (reading through :meth:`connect`) runs on what the principal sees in full,
        giving ``known``; for anyone but a national principal it runs again on the whole
        snapshot, giving ``full``, and only ``control(full, known)`` (the disclosure-controlled
        result) leaves. When the two are the same nothing outside the scope contributes, and
        ``shown_whole(known)`` (``known`` itself by default) is returned.
        """
        with self.connect():  # the control reads the same connection (the same snapshot)
            if self._local.whole:
                raise RuntimeError("controlled() cannot nest: compute reads one connection")
            known = compute()
            if self.principal.sees_everything:
                return shown_whole(known) if shown_whole is not None else known  # type: ignore[return-value]
            with self._whole_snapshot():
                full = compute()
            if isinstance(full, pl.DataFrame) and isinstance(known, pl.DataFrame):
                same = full.equals(known)
            else:
                same = full == known
            if same:
                return shown_whole(known) if shown_whole is not None else known  # type: ignore[return-value]
            return control(full, known)

    @contextlib.contextmanager
    def _whole_snapshot(self) -> Iterator[None]:
        """Within a call: read the whole snapshot (same version) until the block ends."""
        scoped, memo = self._local.con, self._local.memo
        whole = snapshot_cursor(self.snapshot, self._local.version)
        self._local.con, self._local.memo, self._local.whole = whole, {}, True
        try:
            yield
        finally:
            self._local.con, self._local.memo, self._local.whole = scoped, memo, False
            whole.close()

    def memo(self, key: str, read: Callable[[], T]) -> T:
        """``read()`` once per connection (a call and the connection it reads)."""
        store = getattr(self._local, "memo", None)
        if store is None:
            return read()
        if key not in store:
            store[key] = read()
        return store[key]

    def frame(self, sql: str, params: dict[str, Any] | list[Any] | None = None) -> pl.DataFrame:
        """One query's result on this call's connection."""
        with self.connect() as con:
            return con.sql(sql, params=params).pl()

    @staticmethod
    def has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
        rows = con.execute(
            "SELECT count(*) FROM duckdb_tables() "
            "WHERE table_name = ? AND database_name = current_database()",
            [table],
        ).fetchall()
        return bool(rows[0][0])

    # -- scope and selection --------------------------------------------------------------

    def scope_boards(self) -> frozenset[str]:
        """The boards the principal sees in full (every board for national, none for the
        public): those of the scoped connection, whatever connection is active."""
        with self.connect():
            if self._local.whole:
                raise RuntimeError("scope_boards() is read on the scoped connection")
            return self.memo(
                "scope_boards",
                lambda: frozenset(
                    self.frame(  # a board may have notifications before any review
                        "SELECT board_code FROM reviews UNION SELECT board_code FROM notifications"
                    )["board_code"].to_list()
                ),
            )

    def home_region(self) -> str | None:
        """The region a scoped principal belongs to: the regional office's, or the catalog
        region of a board (None for national, the public, or a board stating none)."""
        if self.principal.region is not None:
            return self.principal.region
        if self.principal.board is None:
            return None
        with self.connect():
            return self.memo("home_region", lambda: self._catalog_region(self.principal.board))

    def _catalog_region(self, board: str | None) -> str | None:
        rows = self.frame(
            f"SELECT region FROM ({BOARDS_SQL}) WHERE board_code = $board", {"board": board}
        )
        region = rows["region"][0] if rows.height else None
        return None if region in (None, "not_stated") else str(region)

    def check(self, sel: Selection) -> None:
        """Refuse a selection naming a board or region outside the principal's scope."""
        who = self.principal
        if who.sees_everything:
            return
        if sel.board is not None:
            if who.is_public:
                raise OutOfScope(
                    f"board {_short(sel.board)} is not in your scope: figures for single "
                    "boards are shown only to signed-in users"
                )
            if sel.board not in self.scope_boards():
                raise OutOfScope(f"board {_short(sel.board)} is not in your scope")
        if sel.region is not None:
            regions = set(frame().codes("region")) - {"not_stated"}
            if sel.region not in regions:
                raise OutOfScope(f"region {_short(sel.region)} is not in your scope")
            if who.board is not None and sel.region != self.home_region():
                raise OutOfScope(
                    f"region {_short(sel.region)} is not in your scope: you can see your "
                    "board's region and England"
                )

    def select(
        self, period: str | None = None, region: str | None = None, board: str | None = None
    ) -> Selection:
        """Build the selection, refusing a region or board outside the scope."""
        sel = Selection(period=period or None, region=region or None, board=board or None)
        with self.connect():
            self.check(sel)
        return sel

    def refuse_public(self, message: str) -> None:
        """Features the public never sees (free text, the ledger, board-level rows)."""
        if self.principal.is_public:
            raise OutOfScope(message)

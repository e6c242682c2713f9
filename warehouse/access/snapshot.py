"""The databases every connection is a cursor on: the snapshot itself (a national principal,
and the controlled reads beyond a scope), and each other principal's copy cut to its scope.

A national principal reads the snapshot itself. Every other principal reads an in-memory
database built once per snapshot version and scope, holding a copy of every table of the
snapshot cut to the boards in scope and then closed to the outside world (no file access, no
ATTACH, configuration locked). So nothing out of scope can be reached from it, whatever the
query: not by a qualified table name, not through ``duckdb_tables()``, not by attaching the
snapshot again. Deny by default: a table not named here is copied empty.

- core tables and their ``*_history``: the rows of reviews of boards in scope;
  ``notifications`` (and history): those of boards in scope; ``action_updates`` (and
  history): those of actions of reviews of boards in scope;
- the ledger (``submissions``, ``submission_issues``): a submission whose published items
  (reviews, notifications, action updates; current or replaced) all belong to boards in
  scope, whole; one that also holds other boards' items, only as a row with its id, time,
  status and the counts in scope (no file name, submitter, hash, report or issues);
  rejected submissions, which hold nothing published, not at all;
- ``ref_codes``, ``ref_columns``, ``warehouse_meta`` (the coding frame): whole;
- ``published_national_series`` (real published national figures, public): whole;
- ``stg_*``, the marts and anything else: empty (same columns, no rows).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import duckdb

from warehouse.migrations import require_current
from warehouse.principal import Principal

CORE_TABLES = ("reviews", "children", "recommendations", "actions")
# Public information, whole for everyone: the coding frame, and the real published national
# figures (published_national_series; their ledger, published_submissions, is not).
PASS_THROUGH = frozenset(
    {"ref_codes", "ref_columns", "warehouse_meta", "published_national_series"}
)
LEDGER_COUNTS = {
    "n_reviews": "reviews",
    "n_children": "children",
    "n_recommendations": "recommendations",
    "n_actions": "actions",
    "n_notifications": "notifications",
    "n_action_updates": "action_updates",
}
TRACKING_TABLES = ("notifications", "action_updates")
# What a submission that also holds other boards' items shows of itself: its id, time,
# status and the counts in scope; nothing that describes the file or the other boards.
HIDDEN_IN_PART = (
    "sha256",
    "original_name",
    "source_kind",
    "archive_path",
    "submitted_by",
    "run_id",
    "decided_at",
    "n_reviews_new",
    "n_reviews_replaced",
    "n_reviews_unchanged",
    "n_notifications_new",
    "n_notifications_replaced",
    "n_notifications_unchanged",
    "n_action_updates_new",
    "n_action_updates_replaced",
    "n_action_updates_unchanged",
    "n_errors",
    "n_warnings",
    "report",
)

# Boards in scope, from the catalog region (most recent stated) of each board; a board with
# notifications but no review yet, from its latest notification stating a region.
SCOPE_BOARDS_SQL = """
SELECT board_code FROM (
    SELECT board_code, coalesce(
        arg_max(region, period || coalesce(incident_date::VARCHAR, ''))
            FILTER (WHERE region <> 'not_stated'), 'not_stated') AS region
    FROM reviews GROUP BY board_code
    UNION ALL
    SELECT board_code, coalesce(
        arg_max(region, notification_date) FILTER (WHERE region <> 'not_stated'),
        'not_stated') AS region
    FROM notifications WHERE board_code NOT IN (SELECT board_code FROM reviews)
    GROUP BY board_code)
WHERE ($role = 'board' AND board_code = $code) OR ($role = 'regional' AND region = $code)
ORDER BY board_code
"""


def scope_boards(con: duckdb.DuckDBPyConnection, principal: Principal) -> list[str]:
    """The boards a principal sees in full, read on an unrestricted connection."""
    if principal.sees_everything:
        rows = con.execute("SELECT DISTINCT board_code FROM reviews ORDER BY 1").fetchall()
    elif principal.is_public:
        return []
    else:
        params = {"role": principal.role, "code": principal.scope_code}
        rows = con.execute(SCOPE_BOARDS_SQL, params).fetchall()
    return [row[0] for row in rows]


def _in_scope_reviews(table: str) -> str:
    return f"SELECT review_id FROM {table} WHERE list_contains($boards, board_code)"


def _tally_sql(tables: set[str]) -> str:
    """Per submission: its published items (reviews, notifications and action updates, current
    or replaced), those in scope, and the rows of each sheet that came with items in scope
    ($boards). A review's children, recommendations and actions follow their review."""
    by_review = [(t, t) for t in CORE_TABLES] + [
        (t, f"{t}_history") for t in CORE_TABLES if f"{t}_history" in tables
    ]
    reviews_in_scope = " UNION ".join(
        _in_scope_reviews(table) for sheet, table in by_review if sheet == "reviews"
    )
    sources = [
        f"SELECT '{sheet}' AS sheet, submission_id, review_id IN ({reviews_in_scope}) AS mine "
        f"FROM {table}"
        for sheet, table in by_review
    ]
    for sheet in TRACKING_TABLES:
        for table in (sheet, f"{sheet}_history"):
            if table not in tables:
                continue
            mine = (
                "list_contains($boards, board_code)"
                if sheet == "notifications"
                else f"review_id IN ({reviews_in_scope})"
            )
            sources.append(f"SELECT '{sheet}' AS sheet, submission_id, {mine} AS mine FROM {table}")
    owning = ", ".join(f"'{sheet}'" for sheet in ("reviews", *TRACKING_TABLES))
    counts = ", ".join(
        f"count(*) FILTER (WHERE sheet = '{sheet}' AND mine) AS {column}"
        for column, sheet in LEDGER_COUNTS.items()
    )
    return f"""
SELECT submission_id, count(*) FILTER (WHERE sheet IN ({owning})) AS published,
    count(*) FILTER (WHERE sheet IN ({owning}) AND mine) AS published_in_scope, {counts}
FROM ({" UNION ALL ".join(sources)})
GROUP BY submission_id HAVING count(*) FILTER (WHERE sheet IN ({owning}) AND mine) > 0
"""


def _ledger_sql(tables: set[str]) -> str:
    """The ledger rows a scoped principal may see (see the module docstring)."""
    counts = ", ".join(f"t.{c}::INTEGER AS {c}" for c in LEDGER_COUNTS)
    hidden = ", ".join(f"NULL AS {c}" for c in HIDDEN_IN_PART)
    return f"""
WITH tally AS ({_tally_sql(tables)})
SELECT s.* FROM submissions s JOIN tally t USING (submission_id)
WHERE t.published_in_scope = t.published
UNION ALL BY NAME
SELECT s.* REPLACE ({counts}, {hidden})
FROM submissions s JOIN tally t USING (submission_id)
WHERE t.published_in_scope < t.published
"""


def table_rows_sql(table: str, tables: set[str]) -> str:
    """The SELECT whose rows a scoped principal's copy of ``table`` holds ($boards)."""
    if table in PASS_THROUGH:
        return f"SELECT * FROM {table}"
    if table in ("reviews", "reviews_history"):
        return f"SELECT * FROM {table} WHERE list_contains($boards, board_code)"
    if table in ("notifications", "notifications_history"):
        return f"SELECT * FROM {table} WHERE list_contains($boards, board_code)"
    if table in ("action_updates", "action_updates_history"):  # through their review
        return f"SELECT * FROM {table} WHERE review_id IN ({_in_scope_reviews('reviews')})"
    for core in CORE_TABLES[1:]:
        if table in (core, f"{core}_history"):
            reviews = "reviews_history" if table.endswith("_history") else "reviews"
            return f"SELECT * FROM {table} WHERE review_id IN ({_in_scope_reviews(reviews)})"
    if table == "submissions" and "reviews" in tables:
        return _ledger_sql(tables)
    if table == "submission_issues" and "submissions" in tables and "reviews" in tables:
        whole = (
            f"SELECT submission_id FROM ({_tally_sql(tables)}) WHERE published_in_scope = published"
        )
        return f"SELECT * FROM {table} WHERE submission_id IN ({whole})"
    return f"SELECT * FROM {table} LIMIT 0"


def build_scoped_database(
    source: duckdb.DuckDBPyConnection, principal: Principal
) -> duckdb.DuckDBPyConnection:
    """A closed in-memory database holding what ``source`` (the snapshot) holds in scope."""
    boards = scope_boards(source, principal)
    tables = {
        row[0]
        for row in source.execute(
            "SELECT table_name FROM duckdb_tables() "
            "WHERE database_name = current_database() AND schema_name = 'main'"
        ).fetchall()
    }
    database = duckdb.connect(":memory:")
    try:
        for table in sorted(tables):
            sql = table_rows_sql(table, tables)
            params = {"boards": boards} if "$boards" in sql else None
            rows = source.sql(sql, params=params).arrow().read_all()
            database.register("incoming", rows)
            database.execute(f'CREATE TABLE "{table}" AS SELECT * FROM incoming')
            database.unregister("incoming")
        # Closed: no file can be read or attached from now on, and that cannot be undone.
        database.execute("SET enable_external_access = false")
        database.execute("SET lock_configuration = true")
    except BaseException:
        database.close()
        raise
    return database


# One in-memory database per published snapshot version, with the snapshot ATTACHed read-only;
# every connection is a cursor on it. ATTACH rather than duckdb.connect(path): DuckDB shares one
# instance per path within a process, so while any connection is open a new one would go on
# reading the file an ingest has since replaced. Keyed on the version, a swapped-in snapshot
# gets a new database at once; the previous version's stays for queries still running on it.
_ATTACHED: dict[str, list[tuple[str, duckdb.DuckDBPyConnection]]] = {}
_ATTACHED_LOCK = threading.Lock()
_VERSIONS_KEPT = 2


def snapshot_cursor(snapshot: Path, version: str) -> duckdb.DuckDBPyConnection:
    """A new connection (cursor) reading the whole of snapshot ``version``."""
    with _ATTACHED_LOCK:
        held = _ATTACHED.setdefault(str(snapshot), [])
        found = [database for held_version, database in held if held_version == version]
        if found:
            database = found[0]
        else:
            database = duckdb.connect(":memory:")
            database.execute("ATTACH ? AS wh (READ_ONLY)", [str(snapshot)])  # bound: o'q
            try:  # a snapshot of another schema version is refused, not misread
                require_current(database, "wh", "the published snapshot")
            except BaseException:
                database.close()
                raise
            held.append((version, database))
            while len(held) > _VERSIONS_KEPT:
                held.pop(0)[1].close()
        cursor = database.cursor()
    cursor.execute("USE wh")  # each connection has its own default catalog
    return cursor


ScopeKey = tuple[str, str, str, str | None]  # snapshot, version, role, scope code
# Scoped databases, least recently used first.
_SCOPED: OrderedDict[ScopeKey, duckdb.DuckDBPyConnection] = OrderedDict()
_SCOPED_LOCK = threading.Lock()
_SCOPED_KEPT = 32


def scoped_cursor(
    key: ScopeKey, source: Callable[[], duckdb.DuckDBPyConnection], principal: Principal
) -> duckdb.DuckDBPyConnection:
    """A new connection (cursor) on the principal's scoped database for one snapshot
    version, built from ``source()`` (an unrestricted cursor on that version) on first use."""
    with _SCOPED_LOCK:
        database = _SCOPED.get(key)
        if database is None:
            reader = source()
            try:
                database = build_scoped_database(reader, principal)
            finally:
                reader.close()
            _SCOPED[key] = database
            while len(_SCOPED) > _SCOPED_KEPT:
                # Not closed: a query still running on it keeps it until its cursor closes.
                _SCOPED.popitem(last=False)
        _SCOPED.move_to_end(key)
        return database.cursor()

"""Schema versions and numbered migrations: every release opens every earlier warehouse.

A migration is a SQL file ``NNNN_name.sql`` in this folder, run once, in order, and recorded
in ``schema_migrations`` (version, name, checksum, when, by which release). Migration 1 is
the schema as released before versions existed; a warehouse built by that release has no
``schema_migrations`` table and is *adopted* at version 1 once its tables are checked to be
exactly the baseline's. A migration file is never edited once released: a schema change is a
new file, and ``tests/test_migrations.py`` fails when the live DDL (``warehouse.schema``, derived
from the coding frame) differs from the DDL the migrations produce.

Writers (``scr build``, ``scr ingest``, ``scr upgrade``, the Dagster assets) call
:func:`upgrade`: it copies the file aside as a backup, then applies every pending migration
in one transaction, so a failure or a kill leaves the file as it was. Readers call
:func:`require_current` and refuse an out-of-date or a newer warehouse with a message.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import shutil
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path

import duckdb

from warehouse.db import WarehouseError, connect, fault_point

MIGRATIONS_DIR = Path(__file__).resolve().parent
_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
BASELINE = 1
ADOPTED_NOTE = "adopted: built by a release before schema versions"


class SchemaOutdated(WarehouseError):
    """The warehouse is older than this release: `scr upgrade` brings it up to date."""


class SchemaTooNew(WarehouseError):
    """The warehouse was written by a newer release than this one."""


class SchemaUnknown(WarehouseError):
    """Not a warehouse this product built, or one whose tables are not any released schema."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    @property
    def title(self) -> str:
        return f"{self.version:04d} {self.name.replace('_', ' ')}"

    def statements(self) -> list[str]:
        """The file's statements, comments dropped (no statement here holds a ';' inside)."""
        text = "\n".join(
            line for line in self.sql.splitlines() if not line.lstrip().startswith("--")
        )
        return [s.strip() for s in text.split(";") if s.strip()]


@cache
def migrations() -> tuple[Migration, ...]:
    found = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if not match:
            raise SchemaUnknown(f"migration file {path.name} is not named NNNN_name.sql")
        found.append(Migration(int(match[1]), match[2], path.read_text(encoding="utf-8")))
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise SchemaUnknown(f"migrations must be numbered 1, 2, 3 ... without gaps: {versions}")
    return tuple(found)


def latest() -> int:
    return migrations()[-1].version


def release() -> str:
    """This release, as recorded beside each migration it applies."""
    try:
        return f"scr-observatory {metadata.version('scr-observatory')}"
    except metadata.PackageNotFoundError:
        return "scr-observatory (source tree)"


# -- where a warehouse stands ------------------------------------------------------------


def _tables(con: duckdb.DuckDBPyConnection, catalog: str | None = None) -> set[str]:
    where = "database_name = ?" if catalog else "database_name = current_database()"
    rows = con.execute(
        f"SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' AND {where}",
        [catalog] if catalog else [],
    ).fetchall()
    return {r[0] for r in rows}


def schema_version(con: duckdb.DuckDBPyConnection, catalog: str | None = None) -> int:
    """The version of the connection's database (or of ``catalog``): 0 for an empty
    database, 1 for an un-versioned one built by the baseline release."""
    tables = _tables(con, catalog)
    if "schema_migrations" in tables:
        prefix = f'"{catalog}".main.' if catalog else ""
        found = con.execute(f"SELECT max(version) FROM {prefix}schema_migrations").fetchall()
        return int(found[0][0] or 0)
    if "submissions" in tables:
        return BASELINE
    if tables:
        raise SchemaUnknown(
            "this database is not an SCR Observatory warehouse (it has tables, but no ledger)"
        )
    return 0


def require_current(
    con: duckdb.DuckDBPyConnection, catalog: str | None = None, what: str = "the warehouse"
) -> None:
    """Refuse to read a warehouse of another schema version (readers change nothing)."""
    version = schema_version(con, catalog)
    if version < latest():
        raise SchemaOutdated(
            f"{what} has schema version {version}; this release needs version {latest()}: "
            "run `scr upgrade` (it keeps a backup copy) and try again"
        )
    _refuse_newer(version, what)


def _refuse_newer(version: int, what: str) -> None:
    if version > latest():
        raise SchemaTooNew(
            f"{what} has schema version {version}, written by a newer release of SCR "
            f"Observatory than this one (which knows versions up to {latest()}): "
            "use that release or a later one; nothing was changed"
        )


def pending(con: duckdb.DuckDBPyConnection) -> list[Migration]:
    version = schema_version(con)
    _refuse_newer(version, "the warehouse")
    return [m for m in migrations() if m.version > version]


# -- applying migrations -----------------------------------------------------------------


def _columns(con: duckdb.DuckDBPyConnection, catalog: str) -> set[tuple[str, str, str, bool]]:
    rows = con.execute(
        "SELECT table_name, column_name, data_type, is_nullable FROM duckdb_columns() "
        "WHERE database_name = ? AND schema_name = 'main'",
        [catalog],
    ).fetchall()
    return {(t, c, d, bool(n)) for t, c, d, n in rows}


def schema_of(versions: int) -> duckdb.DuckDBPyConnection:
    """An empty in-memory database with the first ``versions`` migrations applied."""
    con = duckdb.connect(":memory:")
    for migration in migrations()[:versions]:
        for statement in migration.statements():
            con.execute(statement)
    return con


def _check_adoptable(con: duckdb.DuckDBPyConnection) -> None:
    """An un-versioned warehouse is adopted only if its tables are the baseline's, exactly
    (mart tables, rebuilt from the core tables on every refresh, aside)."""
    expected = _columns(schema_of(BASELINE), "memory")
    database = con.execute("SELECT current_database()").fetchall()[0][0]
    found = {c for c in _columns(con, database) if not c[0].startswith("mart_")}
    if found != expected:
        missing = sorted({f"{t}.{c}" for t, c, *_ in expected - found})[:5]
        extra = sorted({f"{t}.{c}" for t, c, *_ in found - expected})[:5]
        raise SchemaUnknown(
            "this warehouse has no schema version and its tables are not those of the "
            f"baseline release (missing: {missing or 'none'}; unexpected: {extra or 'none'}): "
            "it cannot be upgraded automatically; nothing was changed"
        )


def apply_pending(con: duckdb.DuckDBPyConnection) -> list[Migration]:
    """Apply every pending migration on ``con`` in one transaction and record each; the
    migrations applied. On any failure nothing is applied."""
    todo = pending(con)
    if not todo:
        return []
    adopting = schema_version(con) == BASELINE and todo[0].version == BASELINE + 1
    now, by = dt.datetime.now(), release()
    con.begin()
    try:
        if adopting:
            _check_adoptable(con)
        for migration in todo:
            for statement in migration.statements():
                con.execute(statement)
                fault_point("migration")
        records = ([(migrations()[0], ADOPTED_NOTE)] if adopting else []) + [
            (m, None) for m in todo
        ]
        for migration, note in records:
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?, ?, ?, ?)",
                [migration.version, migration.name, migration.checksum, now, by, note],
            )
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return todo


@dataclass
class UpgradeResult:
    path: Path
    from_version: int
    to_version: int
    applied: list[Migration] = field(default_factory=list)
    backup: Path | None = None
    dry_run: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.applied) and not self.dry_run

    def lines(self) -> list[str]:
        """What was done (or would be), in words."""
        if not self.applied:
            return [f"{self.path}: schema version {self.from_version} is current; nothing to do"]
        verb = "would apply" if self.dry_run else "applied"
        head = (
            f"{self.path}: schema version {self.from_version} -> {self.to_version}; "
            f"{verb} {len(self.applied)} migration{'s' if len(self.applied) != 1 else ''}:"
        )
        body = [f"  {m.title}" for m in self.applied]
        tail = [f"backup of the previous file: {self.backup}"] if self.backup else []
        return [head, *body, *tail]


def backup_path(path: Path, version: int, when: dt.datetime) -> Path:
    return path.with_name(f"{path.stem}.backup-v{version}-{when:%Y%m%dT%H%M%S}{path.suffix}")


def upgrade(path: Path, *, dry_run: bool = False) -> UpgradeResult:
    """Bring the warehouse file at ``path`` to the latest schema version: copy it aside as
    a backup, then migrate it in one transaction. A new or absent file is simply created at
    the latest version (nothing to back up). The caller holds the writer lock."""
    path = Path(path)
    existed = path.exists()
    con = connect(path, read_only=dry_run and existed) if existed or not dry_run else None
    if con is None:  # a dry run on no file: everything would be applied
        return UpgradeResult(path, 0, latest(), list(migrations()), dry_run=True)
    try:
        version = schema_version(con)
        todo = pending(con)
        if dry_run or not todo:
            return UpgradeResult(path, version, latest(), todo, dry_run=dry_run)
        if version == 0:  # nothing in it yet: no backup needed
            apply_pending(con)
            return UpgradeResult(path, 0, latest(), todo)
        con.execute("CHECKPOINT")  # the backup copy is the whole database, WAL included
    finally:
        con.close()
    backup = backup_path(path, version, dt.datetime.now())
    shutil.copy2(path, backup)
    con = connect(path)
    try:
        applied = apply_pending(con)
    finally:
        con.close()
    return UpgradeResult(path, version, latest(), applied, backup)


def snapshot_problem(snapshot: Path) -> str | None:
    """Why the published snapshot at ``snapshot`` cannot be read by this release (an older
    or a newer schema version), in words; None when it can. Looked at once per published
    file (a new snapshot is a new file: the swap is an atomic rename)."""
    try:
        stat = snapshot.stat()
    except FileNotFoundError:
        return None
    return _snapshot_problem(snapshot, stat.st_ino, stat.st_mtime_ns)


@cache
def _snapshot_problem(snapshot: Path, _inode: int, _mtime_ns: int) -> str | None:
    from warehouse.db import WarehouseBusy

    try:
        con = connect(snapshot, read_only=True, wait_seconds=5)
    except WarehouseBusy:
        return None  # being replaced just now: the next read finds the new one
    try:
        require_current(con, what="the published snapshot")
    except (SchemaOutdated, SchemaTooNew, SchemaUnknown) as problem:
        return str(problem)
    finally:
        con.close()
    return None

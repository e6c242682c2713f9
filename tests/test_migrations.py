"""Schema versions and migrations (issue 12): every release opens every earlier warehouse.

The fixture ``tests/fixtures/baseline-v1.tar.gz`` is a warehouse built by the baseline release
itself (``tests/fixtures/make_baseline_warehouse.py`` checks that release out and runs its own
`scr build` and a corrected resubmission): it has no schema version at all.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import tarfile
from pathlib import Path

import duckdb
import polars as pl
import pytest

from warehouse import migrations
from warehouse.db import InjectedFault, query_frame, snapshot_path
from warehouse.frame import TRACKING_SHEETS
from warehouse.migrations import (
    SchemaOutdated,
    SchemaTooNew,
    SchemaUnknown,
    apply_pending,
    latest,
    require_current,
    schema_of,
    schema_version,
    upgrade,
)
from warehouse.schema import CORE_SHEETS, ddl_statements
from warehouse.study_tables import study_tables_long

REPO = Path(__file__).resolve().parent.parent
FIXTURE = REPO / "tests" / "fixtures" / "baseline-v1.tar.gz"
ENV = {**os.environ, "GX_ANALYTICS_ENABLED": "false", "PYTHONPATH": str(REPO)}
ENV.pop("SCR_WAREHOUSE", None)
ENV.pop("DAGSTER_HOME", None)
SELECTIONS = [(None, None, None), ("2003-05", None, None), ("2003-05", "london", None)]


@pytest.fixture
def baseline(tmp_path: Path) -> Path:
    """The baseline release's warehouse, unpacked: <tmp>/warehouse/scr.duckdb."""
    with tarfile.open(FIXTURE) as tar:
        tar.extractall(tmp_path, filter="data")
    return tmp_path / "warehouse" / "scr.duckdb"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def contents(path: Path) -> dict[str, pl.DataFrame]:
    """Every table of the baseline's schema, rows sorted, plus the study tables for a few
    selections: what must survive an upgrade unchanged."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' "
                "AND table_name NOT IN ('schema_migrations', 'warehouse_meta')"
            ).fetchall()
        ]
        found = {t: query_frame(con, f"SELECT * FROM {t} ORDER BY ALL") for t in tables}
        for period, region, board in SELECTIONS:
            found[f"study {period} {region} {board}"] = study_tables_long(
                con, period, region, board
            ).sort(pl.all())
        return found
    finally:
        con.close()


def columns(con: duckdb.DuckDBPyConnection) -> set[tuple[object, ...]]:
    return set(
        con.execute(
            "SELECT table_name, column_name, column_index, data_type, is_nullable, "
            "column_default FROM duckdb_columns() WHERE schema_name = 'main'"
        ).fetchall()
    )


def constraints(con: duckdb.DuckDBPyConnection) -> set[tuple[object, ...]]:
    return {
        (t, kind, tuple(cols))
        for t, kind, cols in con.execute(
            "SELECT table_name, constraint_type, constraint_column_names FROM "
            "duckdb_constraints() WHERE schema_name = 'main'"
        ).fetchall()
    }


def scr(warehouse: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "--warehouse", str(warehouse), *args],
        cwd=REPO,
        env={**ENV, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_live_schema_is_what_the_migrations_build() -> None:
    """A schema change (in warehouse/schema.py or the coding frame's columns) without a new
    migration fails here."""
    migrated = schema_of(latest())
    live = duckdb.connect(":memory:")
    for statement in ddl_statements():
        live.execute(statement)
    assert columns(migrated) == columns(live), (
        "the warehouse schema changed without a migration: add warehouse/migrations/"
        f"{latest() + 1:04d}_<name>.sql"
    )
    assert constraints(migrated) == constraints(live)


def test_a_new_warehouse_records_every_migration() -> None:
    con = duckdb.connect(":memory:")
    assert schema_version(con) == 0
    applied = apply_pending(con)
    assert [m.version for m in applied] == list(range(1, latest() + 1))
    rows = con.execute("SELECT version, name, checksum, release FROM schema_migrations").fetchall()
    assert [(v, n, c) for v, n, c, _ in rows] == [
        (m.version, m.name, m.checksum) for m in migrations.migrations()
    ]
    assert all(r[3].startswith("scr-observatory") for r in rows)
    assert apply_pending(con) == []  # each runs once


def test_the_baseline_fixture_was_built_by_the_baseline_release(baseline: Path) -> None:
    con = duckdb.connect(str(baseline), read_only=True)
    try:
        assert schema_version(con) == 1
        assert "schema_migrations" not in {
            r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        }
        assert con.execute("SELECT count(*) FROM reviews_history").fetchall()[0][0] == 2
    finally:
        con.close()


def test_readers_refuse_an_old_warehouse_and_change_nothing(baseline: Path) -> None:
    before = {p.name: sha256(p) for p in baseline.parent.glob("*.duckdb")}
    done = scr(baseline, "tables", "--period", "2003-05")
    assert done.returncode != 0
    assert "scr upgrade" in done.stderr and "Traceback" not in done.stderr
    assert {p.name: sha256(p) for p in baseline.parent.glob("*.duckdb")} == before
    con = duckdb.connect(str(snapshot_path(baseline)), read_only=True)
    with pytest.raises(SchemaOutdated, match="scr upgrade"):
        require_current(con)


def test_upgrade_keeps_everything_and_a_backup(baseline: Path) -> None:
    before, original = contents(baseline), sha256(baseline)
    dry = upgrade(baseline, dry_run=True)
    assert [m.version for m in dry.applied] == list(range(2, latest() + 1))
    assert sha256(baseline) == original  # a dry run changes nothing

    result = upgrade(baseline)
    assert (result.from_version, result.to_version) == (1, latest())
    assert result.backup is not None and result.backup.exists()
    assert "backup" in "\n".join(result.lines())
    con = duckdb.connect(str(result.backup), read_only=True)
    assert schema_version(con) == 1  # the backup is the file as it was
    con.close()

    after = contents(baseline)
    # Tables later migrations add start empty (migration 3: the published national figures;
    # migration 4: the tracking sheets of coding frame version 2).
    added = {"published_national_series", "published_submissions"} | {
        f"{prefix}{sheet}{suffix}"
        for sheet in TRACKING_SHEETS
        for prefix, suffix in (("", ""), ("stg_", ""), ("", "_history"))
    }
    assert after.keys() == before.keys() | added
    assert all(after[name].is_empty() for name in added)
    for name, frame in before.items():
        # Columns later migrations append (migration 4) are blank on every earlier row.
        new_columns = [c for c in after[name].columns if c not in frame.columns]
        assert after[name].select(frame.columns).equals(frame), f"{name} changed in the upgrade"
        assert all(after[name].get_column(c).is_null().all() for c in new_columns), name
    con = duckdb.connect(str(baseline), read_only=True)
    rows = con.execute("SELECT version, note FROM schema_migrations ORDER BY 1").fetchall()
    assert rows[0] == (1, migrations.ADOPTED_NOTE) and rows[-1][0] == latest()
    con.close()
    assert upgrade(baseline).applied == []  # nothing left to do


def test_after_the_upgrade_a_corrected_resubmission_still_replaces(baseline: Path) -> None:
    """Through the real `scr ingest`: it upgrades (saying so), then replaces a review
    loaded before the upgrade, its earlier version kept in the history."""
    from data_samples.generate import write_xlsx_submission
    from warehouse.frame import frame

    con = duckdb.connect(str(baseline), read_only=True)
    # A version 1 workbook: the columns the baseline release had.
    sheets = {
        name: query_frame(
            con,
            f"SELECT {', '.join(c.name for c in frame().sheets[name].columns if c.since == 1)} "
            f"FROM {name} "
            "WHERE review_id = 'R2003-05-0003' ORDER BY ALL",
        )
        for name in CORE_SHEETS
    }
    con.close()
    sheets["reviews"] = sheets["reviews"].with_columns(report_pages=pl.lit(123))
    corrected = baseline.parent.parent / "corrected.xlsx"
    write_xlsx_submission(corrected, sheets)

    done = scr(baseline, "ingest", str(corrected))
    assert done.returncode == 0, done.stderr
    assert "schema version 1 ->" in done.stderr and "backup" in done.stderr
    assert "1 replaced" in done.stdout
    con = duckdb.connect(str(snapshot_path(baseline)), read_only=True)
    require_current(con)  # readers find the new version published
    assert con.execute(
        "SELECT report_pages FROM reviews WHERE review_id = 'R2003-05-0003'"
    ).fetchall() == [(123,)]
    assert con.execute(
        "SELECT count(*) FROM reviews_history WHERE review_id = 'R2003-05-0003'"
    ).fetchall() == [(1,)]
    con.close()
    assert scr(baseline, "tables", "--period", "2003-05").returncode == 0


def test_a_newer_warehouse_is_refused(baseline: Path) -> None:
    upgrade(baseline)
    con = duckdb.connect(str(baseline))
    con.execute(
        "INSERT INTO schema_migrations VALUES (?, 'from_the_future', 'x', now(), 'later', NULL)",
        [latest() + 1],
    )
    con.close()
    original = sha256(baseline)
    with pytest.raises(SchemaTooNew, match="newer release"):
        upgrade(baseline)
    con = duckdb.connect(str(baseline), read_only=True)
    with pytest.raises(SchemaTooNew):
        require_current(con)
    con.close()
    assert sha256(baseline) == original
    done = scr(baseline, "ingest", str(baseline))  # any writer refuses before touching it
    assert done.returncode != 0 and "newer release" in done.stderr
    assert sha256(baseline) == original


def test_a_failed_migration_leaves_the_file_as_it_was(
    baseline: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = contents(baseline)
    monkeypatch.setenv("SCR_FAULT_POINT", "migration")
    monkeypatch.setenv("SCR_FAULT_MODE", "raise")
    with pytest.raises(InjectedFault):
        upgrade(baseline)
    con = duckdb.connect(str(baseline), read_only=True)
    assert schema_version(con) == 1
    con.close()
    after = contents(baseline)
    assert all(after[name].equals(frame) for name, frame in before.items())


def test_killed_mid_migration_the_next_run_starts_from_the_untouched_file(
    baseline: Path, tmp_path: Path
) -> None:
    release = tmp_path / "release"
    release.mkdir()
    before = contents(baseline)
    code = "import sys, pathlib; from warehouse.migrations import upgrade; "
    code += "upgrade(pathlib.Path(sys.argv[1]))"
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(baseline)],
        cwd=REPO,
        env={**ENV, "SCR_FAULT_POINT": "migration", "SCR_FAULT_RELEASE": str(release)},
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stderr is not None
    assert "SCR_FAULT_POINT migration reached" in child.stderr.readline()
    os.kill(child.pid, signal.SIGKILL)  # mid-transaction, after the first statement
    child.wait(timeout=30)
    con = duckdb.connect(str(baseline), read_only=True)
    try:  # the killed transaction left nothing behind: still the baseline's version 1
        assert schema_version(con) == 1
        assert "schema_migrations" not in {
            r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        }
    finally:
        con.close()
    result = upgrade(baseline)
    assert (result.from_version, result.to_version) == (1, latest())
    after = contents(baseline)
    # Every earlier row kept (columns migration 4 appends aside: blank on every one).
    assert all(after[name].select(frame.columns).equals(frame) for name, frame in before.items())


def test_a_database_that_is_not_a_warehouse_is_not_adopted(tmp_path: Path) -> None:
    path = tmp_path / "other.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE something (x INTEGER)")
    con.close()
    with pytest.raises(SchemaUnknown):
        upgrade(path)


def test_the_dashboard_says_run_scr_upgrade_on_an_old_snapshot(
    baseline: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("SCR_WAREHOUSE", str(baseline))
    app = AppTest.from_file(str(REPO / "dashboard" / "app.py"), default_timeout=60).run()
    shown = " ".join(e.value for e in app.error)
    assert "scr upgrade" in shown
    assert not app.dataframe and not app.metric  # nothing read from the old snapshot

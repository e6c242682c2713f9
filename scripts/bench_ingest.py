"""Speed of validation and ingest (issue 8, section 5), each figure beside a bare floor
measured in the same run.

    .venv/bin/python scripts/bench_ingest.py [--reviews 100000] [--national 100000]

1. ``scr validate`` of a 20-review workbook (wall), beside a bare DuckDB load of the same rows;
2. ``scr ingest`` of a 10-review workbook into a warehouse holding the sample plus
   ``--reviews`` generated reviews, beside the same ingest into an empty warehouse, a bare
   ``python -c "import dagster, great_expectations, polars, duckdb"`` and a bare DuckDB
   insert of the same rows into a copy of the big warehouse;
3. ``scr ingest`` of a national-scale CSV submission (``--national`` reviews, 1.25 children,
   20 recommendations and 4 actions a review: 100k / 125k / 2M / 400k by default), beside a
   bare DuckDB ``read_csv`` load of the same files, with peak RSS;
4. ``scr build`` of the sample (wall), beside a bare DuckDB load of the sample's rows.

Every generated review is SYNTHETIC: made by DuckDB from the rows of the synthetic sample
(new ids, the sample's codes and dates), so it passes every check. Each command runs under a
small launcher process that reports its wall time and, from getrusage(RUSAGE_CHILDREN), its
peak RSS (a child forked from this big process would count our pages). This is a report,
not a test: it prints the figures and the issue's aims, and never fails on time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import duckdb  # noqa: E402

from warehouse.db import snapshot_path  # noqa: E402
from warehouse.frame import frame  # noqa: E402
from warehouse.schema import CORE_SHEETS  # noqa: E402

PY = sys.executable
ENV = {
    **os.environ,
    "GX_ANALYTICS_ENABLED": "false",
    "DAGSTER_DISABLE_TELEMETRY": "1",
    "PYTHONPATH": str(REPO),
}
ENV.pop("SCR_WAREHOUSE", None)
ENV.pop("DAGSTER_HOME", None)

# Runs one command and prints {"wall": seconds, "rss": peak bytes, "tree": peak bytes, "rc":
# exit code}: a small process, so RUSAGE_CHILDREN is the peak of the command's largest process
# (Linux reports ru_maxrss in KiB, and keeps the largest, not the sum, of a process tree);
# "tree" is the peak of the command and all its processes together (`scr ingest` validates
# in a GX process of its own), read from /proc every 20 ms.
LAUNCHER = """
import json, os, resource, subprocess, sys, threading, time
PAGE = os.sysconf("SC_PAGE_SIZE")
def tree_rss(root):
    parents, rss = {}, {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                parents[int(pid)] = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{pid}/statm") as f:
                rss[int(pid)] = int(f.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
    members, grew = {root}, True
    while grew:
        more = {p for p, parent in parents.items() if parent in members} - members
        members |= more
        grew = bool(more)
    return sum(rss.get(p, 0) for p in members)
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
peak = [0]
def sample():
    while proc.poll() is None:
        peak[0] = max(peak[0], tree_rss(proc.pid))
        time.sleep(0.02)
threading.Thread(target=sample, daemon=True).start()
out = proc.communicate()[0]
wall = time.perf_counter() - start
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
print(json.dumps({"wall": wall, "rss": rss, "tree": max(peak[0], rss), "rc": proc.returncode,
                  "tail": out[-3000:]}))
"""

# A bare DuckDB load: every CSV in a folder into a table of a (new or existing) database file.
BARE_LOAD = """
import sys, pathlib, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("BEGIN")
for f in sorted(pathlib.Path(sys.argv[2]).glob("*.csv")):
    table = sys.argv[3] + f.stem
    con.execute(f"CREATE TABLE IF NOT EXISTS {table} AS SELECT * FROM read_csv(?) LIMIT 0",
                [str(f)])
    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM read_csv(?)", [str(f)])
con.execute("COMMIT")
con.close()
"""

try:
    from rich.console import Console

    _console: Console | None = Console(highlight=False, soft_wrap=True)
except ImportError:  # plain prints without rich
    _console = None


def say(text: str, style: str | None = None) -> None:
    if _console is not None:
        _console.print(text, style=style)
    else:
        print(text, flush=True)


def step(text: str):
    """A spinner while a step runs (rich), or a plain line."""
    if _console is not None:
        return _console.status(text)
    print(text, flush=True)
    return _Null()


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def run(*args: str) -> dict[str, float]:
    """Wall seconds and peak RSS bytes of one command, measured by the launcher."""
    out = subprocess.run(
        [PY, "-c", LAUNCHER, *args], cwd=REPO, env=ENV, capture_output=True, text=True
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def scr(warehouse: Path, *args: str, expect: int = 0) -> dict[str, float]:
    result = run(PY, "-m", "pipelines.cli", "--warehouse", str(warehouse), *args)
    if result["rc"] != expect:
        raise RuntimeError(f"scr {' '.join(args)} exited {result['rc']}:\n{result['tail']}")
    return result


def bare_load(database: Path, folder: Path, prefix: str = "bare_") -> dict[str, float]:
    return run(PY, "-c", BARE_LOAD, str(database), str(folder), prefix)


# --- synthetic data -------------------------------------------------------------------------


def _columns(sheet: str) -> list[str]:
    return frame().sheets[sheet].column_names


def _templates(con: duckdb.DuckDBPyConnection, source: Path) -> None:
    """Numbered template rows of each core sheet of the sample (``tpl_<sheet>``, k from 0)."""
    con.execute("ATTACH ? AS src (READ_ONLY)", [str(source)])
    for sheet in CORE_SHEETS:
        columns = ", ".join(f'"{c}"' for c in _columns(sheet))
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE tpl_{sheet} AS SELECT {columns}, "
            f"row_number() OVER (ORDER BY {', '.join(frame().sheets[sheet].key)}) - 1 AS k "
            f"FROM src.main.{sheet}"
        )
    con.execute("DETACH src")


def synthesize(con: duckdb.DuckDBPyConnection, prefix: str, n: int) -> None:
    """Tables syn_<sheet> with ``n`` SYNTHETIC reviews (ids ``<prefix>-i``): 1.25 children,
    20 recommendations and 4 actions a review, their values taken in turn from the
    templates. Needs ``_templates`` first."""
    size = {s: con.execute(f"SELECT count(*) FROM tpl_{s}").fetchall()[0][0] for s in CORE_SHEETS}
    rid = f"'{prefix}-' || i"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE syn_reviews AS SELECT t.* EXCLUDE (k) REPLACE "
        f"({rid} AS review_id, 20 AS recommendations_total, 4 AS action_points_total) "
        f"FROM range({n}) r(i) JOIN tpl_reviews t ON t.k = i % {size['reviews']}"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE syn_children AS SELECT t.* EXCLUDE (k) REPLACE "
        f"({rid} || '-c' || j AS child_id, {rid} AS review_id) "
        f"FROM range({n}) r(i) JOIN range(2) c(j) ON j = 0 OR i % 4 = 0 "
        f"JOIN tpl_children t ON t.k = (2 * i + j) % {size['children']}"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE syn_recommendations AS SELECT t.* EXCLUDE (k) REPLACE "
        f"({rid} AS review_id, j AS rec_no) "
        f"FROM range({n}) r(i) CROSS JOIN range(1, 21) c(j) "
        f"JOIN tpl_recommendations t ON t.k = (20 * i + j) % {size['recommendations']}"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE syn_actions AS SELECT t.* EXCLUDE (k) REPLACE "
        f"({rid} AS review_id, j AS action_no, 5 * j AS rec_no, "
        "CASE WHEN t.due_date IS NOT NULL "
        "THEN v.incident_date + (150 + 30 * j)::INTEGER END AS due_date, "
        "CASE WHEN t.status_date IS NOT NULL "
        "THEN v.incident_date + (120 + 30 * j)::INTEGER END AS status_date) "
        f"FROM range({n}) r(i) CROSS JOIN range(1, 5) c(j) "
        f"JOIN syn_reviews v ON v.review_id = {rid} "
        f"JOIN tpl_actions t ON t.k = (4 * i + j) % {size['actions']}"
    )


def write_csv_folder(con: duckdb.DuckDBPyConnection, folder: Path) -> dict[str, int]:
    folder.mkdir(parents=True)
    counts = {}
    for sheet in CORE_SHEETS:
        columns = ", ".join(f'"{c}"' for c in _columns(sheet))
        con.execute(
            f"COPY (SELECT {columns} FROM syn_{sheet} ORDER BY ALL) TO ? "
            "(HEADER, DELIMITER ',', DATEFORMAT '%Y-%m-%d')",
            [str(folder / f"{sheet}.csv")],
        )
        counts[sheet] = con.execute(f"SELECT count(*) FROM syn_{sheet}").fetchall()[0][0]
    return counts


def write_workbook(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    from data_samples.generate import write_xlsx_submission

    sheets = {
        s: con.sql(f"SELECT {', '.join(_columns(s))} FROM syn_{s} ORDER BY ALL").pl()
        for s in CORE_SHEETS
    }
    write_xlsx_submission(path, sheets)


def grow(warehouse: Path, con: duckdb.DuckDBPyConnection, n: int) -> None:
    """Add ``n`` SYNTHETIC reviews to a built warehouse as one accepted submission, then
    refresh its marts and snapshot (as after an ingest)."""
    from warehouse.db import publish_snapshot
    from warehouse.marts import materialise_data_quality
    from warehouse.study_tables import materialise_study_tables

    synthesize(con, "BULK", n)
    target = duckdb.connect(str(warehouse))
    try:
        target.execute(
            "INSERT INTO submissions BY NAME SELECT * REPLACE ('SBULK' AS submission_id, "
            "'synthetic bulk' AS original_name) FROM submissions LIMIT 1"
        )
        for sheet in CORE_SHEETS:
            target.register("bulk_rows", con.sql(f"SELECT * FROM syn_{sheet}").pl())
            target.execute(
                f"INSERT INTO {sheet} BY NAME SELECT *, 'SBULK' AS submission_id FROM bulk_rows"
            )
            target.unregister("bulk_rows")
        materialise_study_tables(target)
        materialise_data_quality(target)
        publish_snapshot(target, warehouse)
    finally:
        target.close()


def copy_warehouse(source: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)
    shutil.copy2(snapshot_path(source), snapshot_path(target))
    return target


# --- report ---------------------------------------------------------------------------------


def line(label: str, value: float, floor: float, floor_label: str, aim: str = "") -> None:
    ratio = f"{value / floor:5.1f}x" if floor > 0 else "  -  "
    say(f"  {label:<44} {value:7.2f} s   {floor_label} {floor:6.2f} s  ({ratio}){aim}")


def gib(nbytes: float) -> str:
    return f"{nbytes / 2**30:.2f} GB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--reviews",
        type=int,
        default=100_000,
        help="generated reviews in the big warehouse (default 100k)",
    )
    parser.add_argument(
        "--national",
        type=int,
        default=None,
        help="reviews in the national CSV submission (default: --reviews)",
    )
    parser.add_argument(
        "--skip", action="append", default=[], choices=["validate", "ingest", "national", "build"]
    )
    args = parser.parse_args()
    national = args.national if args.national is not None else args.reviews
    tmp = Path(tempfile.mkdtemp(prefix="scr-bench-ingest-"))
    try:
        return _bench(tmp, args.reviews, national, set(args.skip))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _bench(tmp: Path, n_big: int, n_national: int, skip: set[str]) -> int:
    say(f"scr ingest/validate benchmark (synthetic data, in {tmp})", style="bold")
    sample = tmp / "sample" / "scr.duckdb"
    with step("scr build of the sample ..."):
        build = scr(sample, "build")
    with step("a bare DuckDB load of the sample's rows ..."):
        con = duckdb.connect()
        _templates(con, snapshot_path(sample))
        sample_csv = tmp / "sample-csv"
        sample_csv.mkdir()
        for sheet in CORE_SHEETS:
            con.execute(
                f"COPY (SELECT * EXCLUDE (k) FROM tpl_{sheet}) TO ? (HEADER)",
                [str(sample_csv / f"{sheet}.csv")],
            )
        build_floor = bare_load(tmp / "bare-sample.duckdb", sample_csv)
        imports = run(PY, "-c", "import dagster, great_expectations, polars, duckdb")
        bare_duckdb = run(PY, "-c", "import duckdb; duckdb.connect().execute('SELECT 1')")

    say(
        f"\nfloors: python + import duckdb {bare_duckdb['wall']:.2f} s; "
        f"import dagster, great_expectations, polars, duckdb {imports['wall']:.2f} s"
    )

    if "validate" not in skip:
        synthesize(con, "VAL", 20)
        book = tmp / "validate-20.xlsx"
        write_workbook(con, book)
        write_csv_folder(con, tmp / "validate-20-csv")
        with step("scr validate of a 20-review workbook ..."):
            validate = scr(tmp / "unused" / "scr.duckdb", "validate", str(book))
            floor = bare_load(tmp / "bare-validate.duckdb", tmp / "validate-20-csv")
        say("\n1. scr validate, 20-review workbook (aim: at most 1.0 s)", style="bold")
        line("scr validate", validate["wall"], floor["wall"], "bare DuckDB load")
        say(f"  {'':<44} peak RSS {gib(validate['rss'])}")

    if "ingest" not in skip:
        big = tmp / "big" / "scr.duckdb"
        with step(f"the sample plus {n_big:,} generated reviews ..."):
            copy_warehouse(sample, big)
            grow(big, con, n_big)
        synthesize(con, "TEN", 10)
        book = tmp / "ingest-10.xlsx"
        write_workbook(con, book)
        write_csv_folder(con, tmp / "ingest-10-csv")
        with step("scr ingest of a 10-review workbook ..."):
            into_big = scr(big, "ingest", str(book))
            empty = scr(tmp / "empty" / "scr.duckdb", "ingest", str(book))
            floor_db = tmp / "bare-big.duckdb"
            shutil.copy2(big, floor_db)
            floor = bare_load(floor_db, tmp / "ingest-10-csv")
        say(
            f"\n2. scr ingest, 10-review workbook into the sample + {n_big:,} reviews "
            "(aims: at most 1.5 s beyond the imports, 1.2x the empty warehouse)",
            style="bold",
        )
        line("into the big warehouse", into_big["wall"], floor["wall"], "bare DuckDB insert")
        line("into an empty warehouse", empty["wall"], floor["wall"], "bare DuckDB insert")
        say(
            f"  beyond the bare imports: {into_big['wall'] - imports['wall']:.2f} s; "
            f"big / empty: {into_big['wall'] / empty['wall']:.2f}x"
        )

    if "national" not in skip:
        folder = tmp / "national-csv"
        with step(f"generating a national CSV submission ({n_national:,} reviews) ..."):
            synthesize(con, "NAT", n_national)
            counts = write_csv_folder(con, folder)
        for sheet in CORE_SHEETS:
            con.execute(f"DROP TABLE syn_{sheet}")
        size = sum(f.stat().st_size for f in folder.iterdir())
        with step("scr ingest of the national submission ..."):
            national = scr(tmp / "national" / "scr.duckdb", "ingest", str(folder))
            floor = bare_load(tmp / "bare-national.duckdb", folder)
        say(
            "\n3. scr ingest, national CSV submission, SYNTHETIC: "
            + ", ".join(f"{v:,} {k}" for k, v in counts.items())
            + f" ({size / 2**20:.0f} MB) (aims: 8x a bare load, peak RSS 1.5 GB)",
            style="bold",
        )
        line("scr ingest", national["wall"], floor["wall"], "bare DuckDB read_csv")
        say(
            f"  {'peak RSS, all its processes together':<44} {gib(national['tree'])}   "
            f"bare DuckDB read_csv {gib(floor['rss'])}"
        )
        say(f"  {'peak RSS, its largest process':<44} {gib(national['rss'])}")

    if "build" not in skip:
        say("\n4. scr build of the sample (aim: at most 10 s)", style="bold")
        line("scr build", build["wall"], build_floor["wall"], "bare DuckDB load")
    con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

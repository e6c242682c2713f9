"""The Great Expectations suites, generated from the check registry, and their GX 1.x runner.

The suites in ``expectations/`` are the published contract on what may be published: one
suite per coding-frame sheet, each expectation one check of ``warehouse.checks`` (its name
in the expectation's meta). ``python -m warehouse.expectations`` rewrites them; a test fails
if they drift. The pipeline's blocking check runs them on the staged rows (pandas batches
holding only the columns each suite reads; a large sheet a slice of rows at a time), as the
suite of record; ``scr validate`` runs the registry's fast checker instead, and a
differential test shows the two agree.

GX says which expectations failed (BOOLEAN_ONLY results: SUMMARY and COMPLETE are far slower
on large failures); the failing rows are then found by the same check's fast evaluator, so
the report names sheet, row, column and value in the same words. great_expectations is
imported lazily, and one ephemeral context serves the whole process.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import duckdb
import polars as pl

from warehouse.checks import (
    Params,
    check_frames,
    checks_for,
    evaluate,
    expectation,
    failures_to_issues,
    registry,
)
from warehouse.frame import CodingFrame, frame
from warehouse.issues import combine, empty_issues, issue

SUITE_DIR = Path(__file__).resolve().parent.parent / "expectations"


def build_suites(cf: CodingFrame | None = None) -> dict[str, dict[str, Any]]:
    """One suite per sheet: the registry's checks that GX can express, in registry order."""
    cf = cf or frame()
    suites: dict[str, dict[str, Any]] = {
        name: {"name": name, "expectations": [], "meta": {"coding_frame_version": cf.version}}
        for name in cf.sheets
    }
    for check in checks_for(cf):
        item = expectation(check)
        if item is not None:
            suites[check.sheet]["expectations"].append(item)
    return suites


def write_suites(directory: Path = SUITE_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    suites = build_suites()
    for stale in directory.glob("*.json"):
        if stale.stem not in suites:
            stale.unlink()
    written = []
    for name, suite in suites.items():
        path = directory / f"{name}.json"
        path.write_text(json.dumps(suite, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written


def load_suites(directory: Path = SUITE_DIR) -> dict[str, dict[str, Any]]:
    return {
        p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(directory.glob("*.json"))
    }


def suite_columns(suite: dict[str, Any]) -> list[str]:
    """The columns a suite's expectations read: all a batch needs to hold."""
    columns: dict[str, None] = {}
    for item in suite["expectations"]:
        kwargs = item["kwargs"]
        for name in (kwargs.get("column"), kwargs.get("column_A"), kwargs.get("column_B")):
            if name:
                columns[name] = None
        for name in kwargs.get("column_list", ()):
            columns[name] = None
    return list(columns)


class _GX:
    """One ephemeral GX context per process: importing GX and building a context is the
    slow part, so suites and batch definitions are registered once and reused."""

    def __init__(self) -> None:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig
        from great_expectations.execution_engine import pandas_execution_engine

        # GX fingerprints every pandas batch under 1 GB (a hash of every cell) as a marker
        # on the batch, which is let go after validating: 40% of judging a national
        # submission's recommendations. No batch here is told apart by it (each batch's
        # results and metrics are released once read).
        pandas_execution_engine.HASH_THRESHOLD = 0

        self.gx = gx
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(
            globally=False, metric_calculations=False
        )
        self.source = self.context.data_sources.add_pandas("submission")
        self.registered: dict[str, tuple[Any, Any]] = {}
        self.lock = threading.Lock()

    def suite(self, suite: dict[str, Any]) -> tuple[Any, Any]:
        """The GX suite and batch definition for a suite dict (keyed by its content)."""
        digest = hashlib.sha256(json.dumps(suite, sort_keys=True).encode()).hexdigest()[:12]
        key = f"{suite['name']}-{digest}"
        if key not in self.registered:
            gx_suite = self.context.suites.add(
                self.gx.ExpectationSuite(name=key, expectations=suite["expectations"])
            )
            batch_definition = self.source.add_dataframe_asset(
                key
            ).add_batch_definition_whole_dataframe(key)
            self.registered[key] = (gx_suite, batch_definition)
        return self.registered[key]


_CONTEXT: list[_GX] = []
_CONTEXT_LOCK = threading.Lock()


def _gx() -> _GX:
    with _CONTEXT_LOCK:
        if not _CONTEXT:
            _CONTEXT.append(_GX())
        return _CONTEXT[0]


def serve(requests: BinaryIO, answers: BinaryIO) -> None:
    """The GX process's loop (``python -m warehouse.gx_process``): import GX, then validate
    each sheet it is sent, until told to stop or its command is gone (end of input)."""
    with contextlib.suppress(Exception):  # raised again, where it shows, by the first sheet
        _gx()
    while True:
        try:
            request = pickle.load(requests)
        except EOFError:
            return
        if request is None:
            return
        path, suite, parameters = request
        try:
            answer = (True, _gx_verdict(suite, _pandas_batch(pl.read_ipc(path)), parameters))
        except Exception as error:  # noqa: BLE001 - the command raises it as its own
            answer = (False, f"{type(error).__name__}: {error}")
        _return_free_memory()
        pickle.dump(answer, answers)
        answers.flush()


def _return_free_memory() -> None:
    """Give the memory of the batch just validated back to the system: pandas' and Arrow's
    allocators otherwise keep it (about 50 MB after a national submission's recommendations)
    while the command publishes."""
    import ctypes

    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    with contextlib.suppress(OSError, AttributeError):  # glibc only
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class GXProcessError(RuntimeError):
    """GX failed on a sheet in the GX process (the message is GX's)."""


def _remove_stale_folders() -> None:
    """Sheets' folders left by commands killed together with their GX process (a whole
    process group killed): each is named for its command's process id."""
    for folder in Path(tempfile.gettempdir()).glob("scr-gx-*-*"):
        pid = folder.name.split("-")[2]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(folder, ignore_errors=True)


class _GXProcess:
    """GX in a second process, started as a command begins: importing GX is about 3.4 s of
    Python, which a thread could only interleave with the command's own Python, while a
    process runs it on another core beside Dagster's import and the first submission's
    reading. Sheets go to it as Arrow IPC files and it answers with the failed checks."""

    def __init__(self) -> None:
        # The sheets' files: removed by whichever of the two ends last (a killed command's
        # GX process still removes them).
        _remove_stale_folders()
        self.folder = Path(tempfile.mkdtemp(prefix=f"scr-gx-{os.getpid()}-"))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "warehouse.gx_process", str(self.folder)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "GX_ANALYTICS_ENABLED": "false"},
        )
        self.used = False
        self.sent = 0

    def send(self, suite: dict[str, Any], columns: pl.DataFrame, parameters: Any) -> Path:
        """Hand one sheet's columns over (the caller may then let its frame go)."""
        path = self.folder / f"{self.sent:05d}-{suite['name']}.arrow"
        self.sent += 1
        self.used = True
        columns.write_ipc(path)
        assert self.process.stdin is not None
        try:
            pickle.dump((str(path), suite, parameters), self.process.stdin)
            self.process.stdin.flush()
        except OSError:
            path.unlink(missing_ok=True)
            raise self._ended() from None
        return path

    def _ended(self) -> GXProcessError:
        return GXProcessError(
            "the Great Expectations suites could not be run: their process ended "
            f"(exit {self.process.wait()})"
        )

    def verdict(self, path: Path) -> list[str]:
        """The failed checks of the sheet sent as ``path``."""
        assert self.process.stdout is not None
        try:
            ok, answer = pickle.load(self.process.stdout)
        except EOFError:
            raise self._ended() from None
        finally:
            path.unlink(missing_ok=True)
        if not ok:
            raise GXProcessError(answer)
        return answer

    def verdicts(self, paths: list[Path]) -> list[list[str]]:
        """The failed checks of each batch sent, in turn: every answer is read (so later
        answers are not mistaken for these) before the first failure is raised."""
        answers: list[list[str]] = []
        errors: list[GXProcessError] = []
        for path in paths:
            try:
                answers.append(self.verdict(path))
            except GXProcessError as error:
                errors.append(error)
                if self.process.poll() is not None:
                    break  # no more answers will come
        if errors:
            raise errors[0]
        return answers

    def close(self) -> None:
        """Stop the process: told to, when it has validated (it then ends at once), killed
        when never needed (it may still be importing GX: a rejected submission's command
        should not wait for that)."""
        assert self.process.stdin is not None
        if self.used:
            with contextlib.suppress(OSError):
                pickle.dump(None, self.process.stdin)
                self.process.stdin.close()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
        else:
            self.process.kill()
        self.process.wait()
        with contextlib.suppress(OSError):
            self.process.stdin.close()
        if self.process.stdout is not None:
            self.process.stdout.close()
        shutil.rmtree(self.folder, ignore_errors=True)


_PROCESS: list[_GXProcess] = []


def _gx_is_here() -> bool:
    return bool(_CONTEXT) or "great_expectations" in sys.modules


@contextlib.contextmanager
def gx_process() -> Iterator[None]:
    """Validate in a GX process while the block runs (`scr ingest` and `scr build` start it
    first thing). Not when this process has GX already (a long-lived process that has
    validated before: its own context is ready), nor inside another such block."""
    if _PROCESS or _gx_is_here():
        yield
        return
    worker = _GXProcess()
    _PROCESS.append(worker)
    try:
        yield
    finally:
        _PROCESS.remove(worker)
        worker.close()


def _pandas_batch(df: pl.DataFrame) -> Any:
    """The frame as pandas in the dtypes GX compares vectorised: int64/float64 numbers,
    datetime64[ns] dates and Arrow-backed text (an int32 or datetime64[ms] column makes GX's
    between-expectation call a Python function per row). A date beyond datetime64[ns]'s
    range (years 1678-2261) keeps the exact, slower per-row path."""
    import pandas as pd
    import polars.selectors as cs
    import pyarrow as pa

    df = df.with_columns(cs.integer().cast(pl.Int64))
    try:
        df = df.with_columns(cs.date().cast(pl.Datetime("ns")))
    except pl.exceptions.InvalidOperationError:
        df = df.with_columns(cs.date().cast(pl.Datetime("ms")))
    text = pd.StringDtype("pyarrow")

    def dtype(arrow_type: pa.DataType) -> Any:
        is_text = pa.types.is_large_string(arrow_type) or pa.types.is_string(arrow_type)
        return text if is_text else None

    return df.to_arrow().to_pandas(types_mapper=dtype)


@contextlib.contextmanager
def _configurations_built_once() -> Iterator[None]:
    """While GX validates, each expectation's ``configuration`` is built once, not each time
    GX reads it.

    GX 1.x rebuilds ``Expectation.configuration`` (a pydantic ``dict()`` with deep copies)
    on every access, and reads it about 75 times per expectation while planning and judging
    its metrics: over half of a validation's time on a small submission. The expectations
    GX builds from a suite are not changed while it validates, so the first configuration
    built is the one every later access would build. Held under the context's lock (only
    this module runs GX), and the property is restored afterwards.
    """
    from great_expectations.expectations.expectation import Expectation

    built = Expectation.__dict__["configuration"]
    cache: dict[int, tuple[Any, Any]] = {}  # id -> (expectation, configuration): kept alive

    def configuration(self: Any) -> Any:
        hit = cache.get(id(self))
        if hit is None or hit[0] is not self:
            hit = (self, built.fget(self))
            cache[id(self)] = hit
        return hit[1]

    Expectation.configuration = property(configuration)  # type: ignore[method-assign]
    try:
        yield
    finally:
        Expectation.configuration = built  # type: ignore[method-assign]
        cache.clear()


# Expectations judged row by row (column, column-pair and multicolumn map expectations):
# GX passes each of them on a batch with no rows ("vacuously true": nothing is unexpected).
VACUOUS_ON_NO_ROWS = frozenset(
    {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_be_between",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_not_match_regex",
        "expect_column_values_to_be_unique",
        "expect_column_value_lengths_to_be_between",
        "expect_column_pair_values_a_to_be_greater_than_b",
        "expect_column_pair_values_to_be_equal",
        "expect_compound_columns_to_be_unique",
    }
)


def passes_with_no_rows(frame: pl.DataFrame, suite: dict[str, Any]) -> bool:
    """True when GX's verdict on ``frame`` is known without running it: the sheet has no
    rows and every expectation of the suite is one GX passes on no rows. A submission
    without tracking sheets then skips two validations (about 0.1 s); a suite gaining any
    other kind of expectation (a row count, say) is validated as before."""
    return frame.height == 0 and all(
        item["type"] in VACUOUS_ON_NO_ROWS for item in suite["expectations"]
    )


def _release(batch: Any) -> None:
    """Let go of a validated batch's data. GX's execution engine is shared by the context's
    datasource and keeps every batch it has loaded, and the metrics computed on it, until
    the process ends: on a national submission the four sheets' pandas frames (about 700
    MB) would stay resident through the rest of the run."""
    engine = batch.data.execution_engine
    engine.batch_manager.reset_batch_cache()
    engine.batch_manager.batch_data_cache.clear()
    engine._metric_cache.clear()


# Rows GX judges at a time. Its row-by-row expectations are validated a slice of rows at a
# time, because GX copies a batch's rows for each expectation's domain: on a national
# submission's two million recommendations, whole, the GX process reached 1.2 GB.
GX_SLICE_ROWS = 250_000
# Expectations judged on every row together (a repeat may be in any two slices): these see
# the whole sheet, holding only their key columns.
WHOLE_SHEET = frozenset(
    {"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"}
)


def _check_name(item: dict[str, Any]) -> str:
    return (item.get("meta") or {}).get("check", item["type"])


def _parts(
    suite: dict[str, Any], sheet: pl.DataFrame, slice_rows: int
) -> Iterator[tuple[dict[str, Any], pl.DataFrame]]:
    """The batches GX judges a sheet in, each with the part of the suite judged on it. A
    sheet of at most ``slice_rows`` rows is one batch, judged by the whole suite (each GX
    validation costs some 50 ms however small). A larger one: the key expectations on the
    whole sheet's key columns, every other expectation (each judges a row on its own) on
    one slice of rows at a time, with only the columns they read."""
    if sheet.height <= slice_rows:
        yield suite, sheet.select(suite_columns(suite))
        return
    for part, keep in (("keys", True), ("rows", False)):
        expectations = [e for e in suite["expectations"] if (e["type"] in WHOLE_SHEET) == keep]
        if not expectations:
            continue
        sub_suite = {**suite, "name": f"{suite['name']}-{part}", "expectations": expectations}
        columns = sheet.select(suite_columns(sub_suite))
        step = max(columns.height if keep else slice_rows, 1)
        for start in range(0, columns.height, step):
            yield sub_suite, columns.slice(start, step)


def _in_suite_order(suite: dict[str, Any], failed: Iterable[str]) -> list[str]:
    found = set(failed)
    return [_check_name(e) for e in suite["expectations"] if _check_name(e) in found]


def sheet_verdict(
    suite: dict[str, Any],
    sheet: pl.DataFrame,
    parameters: dict[str, Any],
    slice_rows: int = GX_SLICE_ROWS,
) -> list[str]:
    """GX's failed checks on one sheet, in suite order (a check fails if it fails on any of
    the sheet's batches), judged in this process."""
    failed: list[str] = []
    for sub_suite, part in _parts(suite, sheet, slice_rows):
        failed += _gx_verdict(sub_suite, _pandas_batch(part), parameters)
    return _in_suite_order(suite, failed)


def _gx_verdict(suite: dict[str, Any], data: Any, parameters: dict[str, Any]) -> list[str]:
    """GX's failed checks (each failed expectation's ``meta.check``) on one sheet's pandas
    batch, in this process."""
    runner = _gx()
    # One validation at a time through the shared context.
    with runner.lock, _configurations_built_once():
        gx_suite, batch_definition = runner.suite(suite)
        batch = batch_definition.get_batch(batch_parameters={"dataframe": data})
        try:
            result = batch.validate(
                gx_suite, expectation_parameters=parameters, result_format="BOOLEAN_ONLY"
            )
        finally:
            _release(batch)
            del batch
    return [
        (item.expectation_config.meta or {}).get("check", item.expectation_config.type)
        for item in result.results
        if not item.success
    ]


def run_gx(
    frames: dict[str, pl.DataFrame],
    suites: dict[str, dict[str, Any]],
    params: Params,
    release: bool = False,
) -> dict[str, list[str]]:
    """Validate each sheet's frame against its suite with GX; the failed checks by suite
    (each failed expectation's ``meta.check``). In the GX process when one runs
    (``gx_process``), else in this one.

    With ``release``, each sheet's frame is taken out of ``frames`` once GX has it, so the
    sheets GX has judged are not held while it judges the next (on a national submission
    the recommendations alone are some 300 MB)."""
    parameters = params.for_gx()
    failed: dict[str, list[str]] = {}
    sent: dict[str, list[Path]] = {}
    for name, suite in suites.items():
        # No rows, nothing to fail (the fast checker skips them too): a version 1
        # submission pays nothing for the tracking sheets' suites.
        failed[name] = []
        if not suite["expectations"] or name not in frames or frames[name].height == 0:
            continue
        if passes_with_no_rows(frames[name], suite):
            continue
        # No reference kept here: with ``release`` the sheet is let go once written out for
        # the GX process, which judges it while the next is written.
        sheet = (frames.pop(name) if release else frames[name]).select(suite_columns(suite))
        if _PROCESS:
            parts = _parts(suite, sheet, GX_SLICE_ROWS)
            del sheet
            sent[name] = [_PROCESS[0].send(sub, part, parameters) for sub, part in parts]
        else:
            failed[name] = sheet_verdict(suite, sheet, parameters)
            del sheet
    if sent:
        answers = iter(_PROCESS[0].verdicts([path for paths in sent.values() for path in paths]))
        for name, paths in sent.items():
            failed[name] = _in_suite_order(
                suites[name], (check for _ in paths for check in next(answers))
            )
    return failed


def expectation_issues(
    sheets: Mapping[str, pl.DataFrame] | Callable[[], Mapping[str, pl.DataFrame]],
    con: duckdb.DuckDBPyConnection | None,
    suites: dict[str, dict[str, Any]] | None = None,
) -> pl.DataFrame:
    """Run every suite on a typed submission; one issue per failing row of each failed
    expectation, found by its check's fast evaluator.

    ``sheets`` may be a function that reads them (the staged rows): GX is then given each
    sheet in turn and the frames are let go as it goes, and they are read again only when
    an expectation failed, to find its rows."""
    suites = suites or load_suites()
    load = sheets if callable(sheets) else lambda: sheets
    frames, params = check_frames(load(), con)
    failed = run_gx(frames, suites, params, release=callable(sheets))
    if not any(failed.values()):
        return empty_issues()
    if callable(sheets):
        del frames
        frames, _ = check_frames(load(), con, today=params.today)
    by_name = {c.name: c for c in registry()}
    parts = [empty_issues()]
    for suite_name, names in failed.items():
        checks = [by_name[n] for n in names if n in by_name]
        failing = evaluate(frames, checks, params)
        parts += failures_to_issues(checks, failing)
        for name in names:
            if name not in failing:
                # GX and the fast checker disagree (or the suite names an unknown check):
                # still an error, said plainly, so nothing is published on a doubt.
                check = by_name.get(name)
                parts.append(
                    issue(
                        check.rule if check else "expectation",
                        (check.message if check else name)
                        + " (found by the Great Expectations suite; no row identified)",
                        sheet=suite_name,
                        column_name=check.column if check else None,
                    )
                )
    return combine(parts)


if __name__ == "__main__":
    for written in write_suites():
        print(f"wrote {written}")

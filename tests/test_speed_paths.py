"""The GX process that `scr ingest` and `scr build` validate in (issue 8, section 5): its
verdicts are the ones GX gives in the command's own process, it ends with the command (also
when the command is killed), and it leaves no files behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import polars as pl
import pytest

from tests.conftest import csv_folder, small_submission
from tests.test_validation import CASES, mutate
from warehouse import expectations
from warehouse.checks import Params, check_frames
from warehouse.coerce import coerce_submission
from warehouse.reader import read_submission

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def gx_process(monkeypatch: pytest.MonkeyPatch):
    """A GX process even when this test process has imported GX already."""
    monkeypatch.setattr(expectations, "_gx_is_here", lambda: False)
    return expectations.gx_process


def _frames(tmp_path: Path, case: str) -> tuple[dict[str, pl.DataFrame], Params]:
    change = dict((c[0], c[1]) for c in CASES).get(case)
    sheets = mutate(change) if change else small_submission()
    typed = coerce_submission(read_submission(csv_folder(tmp_path, case, sheets)))
    return check_frames(typed.sheets, None)


def test_the_gx_process_reaches_the_verdicts_gx_reaches_here(
    tmp_path: Path, gx_process, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Judged there a slice of two rows at a time (as a national sheet is, by 250,000), each
    sheet gets the verdict GX reaches here on the whole sheet."""
    suites = expectations.load_suites()
    cases = ["clean", *[c[0] for c in CASES][::12]]
    prepared = {case: _frames(tmp_path, case) for case in cases}
    with gx_process(), monkeypatch.context() as sliced:
        sliced.setattr(expectations, "GX_SLICE_ROWS", 2)
        assert expectations._PROCESS, "a GX process was started"
        there = {c: expectations.run_gx(dict(f), suites, p) for c, (f, p) in prepared.items()}
        assert expectations._PROCESS[0].sent > len(cases) * 4, "sheets went in slices"
        assert expectations._PROCESS[0].used, "the sheets went to it"
        # GX imports scipy.stats for expectations the suites never use: deferred there, its
        # compiled modules are never loaded (pandas', which GX does use, are).
        maps = Path(f"/proc/{expectations._PROCESS[0].process.pid}/maps").read_text()
        assert "pandas/_libs" in maps
        assert "scipy/stats/" not in maps
    assert not expectations._PROCESS
    here = {c: expectations.run_gx(dict(f), suites, p) for c, (f, p) in prepared.items()}
    assert there == here
    assert not any(there["clean"].values())
    assert sum(bool(any(v.values())) for v in there.values()) >= 3  # bad cases fail in GX


def test_the_gx_process_ends_with_the_block_and_leaves_no_files(gx_process) -> None:
    with gx_process():
        worker = expectations._PROCESS[0]
        assert worker.process.poll() is None
        assert worker.folder.is_dir()
    assert worker.process.poll() is not None
    assert not worker.folder.exists()


def test_a_batch_gx_fails_on_leaves_no_answer_behind_for_the_next(
    tmp_path: Path, gx_process
) -> None:
    """GX failing on one batch is an error; the answers to the other batches sent with it are
    read too, so the next sheet gets its own verdict, not one left over."""
    frames, params = _frames(tmp_path, "clean")
    bad, _ = _frames(tmp_path, "unknown_code")  # an unknown ethnicity code in children
    suites = expectations.load_suites()
    suite = suites["reviews"]
    with gx_process():
        worker = expectations._PROCESS[0]
        sheet = frames["reviews"].select(expectations.suite_columns(suite))
        parameters = params.for_gx()
        broken = worker.send(suite, sheet, parameters)
        broken.unlink()  # GX's process cannot read it: its answer is an error
        sent = [broken, *(worker.send(suite, sheet, parameters) for _ in range(2))]
        with pytest.raises(expectations.GXProcessError, match="No such file"):
            worker.verdicts(sent)
        assert worker.process.poll() is None
        there = expectations.run_gx(dict(bad), suites, params)
    here = expectations.run_gx(dict(bad), suites, params)
    assert there == here
    assert "children.ethnicity.unknown_code" in there["children"]


def test_a_gx_process_that_died_is_an_error_not_a_pass(tmp_path: Path, gx_process) -> None:
    frames, params = _frames(tmp_path, "clean")
    with gx_process():
        expectations._PROCESS[0].process.kill()
        with pytest.raises(expectations.GXProcessError, match="their process ended"):
            expectations.run_gx(frames, expectations.load_suites(), params)


def test_the_gx_process_ends_when_its_command_is_killed() -> None:
    command = (
        "import os, sys, time\n"
        "from warehouse.expectations import gx_process, _PROCESS\n"
        "with gx_process():\n"
        "    print(_PROCESS[0].process.pid, flush=True)\n"
        "    time.sleep(120)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", command], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    worker = int(parent.stdout.readline())
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 60  # it finishes importing GX, then finds no one to answer
    while time.monotonic() < deadline:
        try:
            os.waitpid(worker, os.WNOHANG)
        except ChildProcessError:
            pass  # not our child: reaped by init once it exits
        if not Path(f"/proc/{worker}").exists() or "Z" in _state(worker):
            return
        time.sleep(0.2)
    os.kill(worker, signal.SIGKILL)
    pytest.fail("the GX process outlived its command by a minute")


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def test_a_folder_left_by_a_killed_command_is_removed_by_the_next(gx_process) -> None:
    import tempfile

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    left = Path(tempfile.gettempdir()) / f"scr-gx-{int(dead.stdout)}-abc123"
    left.mkdir()
    (left / "reviews.arrow").write_bytes(b"x")
    mine = Path(tempfile.mkdtemp(prefix=f"scr-gx-{os.getpid()}-"))
    with gx_process():
        pass
    assert not left.exists()
    assert mine.exists()  # a running command's folder is left alone
    mine.rmdir()


def test_scr_ingest_validates_in_its_gx_process(
    make_submission: Callable[..., Path], tmp_path: Path
) -> None:
    """The `scr` command has validated in a GX process of its own by the time it publishes."""
    from tests.test_faults import kill, paused_at, reach, scr

    ingest = scr(
        tmp_path / "w" / "scr.duckdb", "ingest", str(make_submission()), env=paused_at("publish")
    )
    try:
        reach(ingest, "publish")
        children = Path(f"/proc/{ingest.pid}/task/{ingest.pid}/children").read_text().split()
        commands = [Path(f"/proc/{c}/cmdline").read_bytes().split(b"\0") for c in children]
        assert [b"-m", b"warehouse.gx_process"] in [c[1:3] for c in commands], commands
    finally:
        kill(ingest)


@pytest.fixture
def one_command(monkeypatch: pytest.MonkeyPatch, gx_process) -> list[str]:
    """`scr` as the console script runs it (one command, then the process ends), in this
    process, where running GX is made an error: every verdict must come from the GX process.
    Yields the names of the sheets the GX process judged."""
    from pipelines import cli

    monkeypatch.setattr(cli, "_ONE_COMMAND", True)

    def not_here(*_: object) -> list[str]:
        raise AssertionError("GX ran in the command's own process")

    monkeypatch.setattr(expectations, "_gx_verdict", not_here)
    judged: list[str] = []
    send = expectations._GXProcess.send

    def spy(self: expectations._GXProcess, suite: dict, *args: object) -> Path:
        judged.append(suite["name"].removesuffix("-keys").removesuffix("-rows"))
        return send(self, suite, *args)

    monkeypatch.setattr(expectations._GXProcess, "send", spy)
    return judged


def test_scr_ingest_judges_every_sheet_in_the_gx_process(
    one_command: list[str], make_submission: Callable[..., Path], warehouse_file: Path
) -> None:
    from pipelines.cli import main

    assert main(["ingest", str(make_submission())]) == 0
    assert {"reviews", "children", "recommendations", "actions"} <= set(one_command)
    con = duckdb.connect(str(warehouse_file), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM reviews").fetchall() == [(2,)]
    finally:
        con.close()


def test_a_gx_process_lost_mid_ingest_rejects_it_plainly_and_loads_nothing(
    one_command: list[str],
    make_submission: Callable[..., Path],
    warehouse_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pipelines.cli import main

    assert main(["ingest", str(make_submission("first"))]) == 0
    sheets = small_submission()
    sheets["reviews"][0]["board_name"] = "Synthetic Board renamed"
    send = expectations._GXProcess.send

    def lost(self: expectations._GXProcess, *args: object) -> Path:
        self.process.kill()  # the GX process killed from outside (out of memory, say)
        self.process.wait()
        return send(self, *args)

    monkeypatch.setattr(expectations._GXProcess, "send", lost)
    capsys.readouterr()
    assert main(["ingest", str(make_submission("second", sheets))]) == 1
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    assert "could not be run: their process ended" in out.out + out.err
    con = duckdb.connect(str(warehouse_file), read_only=True)
    try:
        names = con.execute("SELECT DISTINCT board_name FROM reviews").fetchall()
        statuses = con.execute("SELECT status FROM submissions ORDER BY received_at").fetchall()
    finally:
        con.close()
    assert "Synthetic Board renamed" not in {n for (n,) in names}
    assert statuses == [("accepted",), ("rejected",)]


def test_a_deferred_module_is_loaded_when_first_used() -> None:
    script = (
        "import sys\n"
        "from warehouse.gx_process import defer_import\n"
        "defer_import('colorsys')\n"
        "print(type(sys.modules['colorsys']).__name__)\n"
        "import colorsys\n"
        "print(colorsys.rgb_to_hsv(1.0, 0.0, 0.0), type(sys.modules['colorsys']).__name__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert done.stdout.split("\n")[:2] == ["_LazyModule", "(0.0, 1.0, 1.0) module"]

"""End-to-end fixtures: the sample warehouse, `scr dashboard` on a free port, and Debian's
headless Chromium driven by Playwright."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pytest

from tests.sample_warehouses import copy_warehouse, sample_warehouse_once

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
SCR = Path(sys.executable).with_name("scr")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_dashboard(warehouse: Path, log_dir: Path) -> Iterator[str]:
    """`scr dashboard --port N` in a subprocess, as a user starts it; yields its base URL."""
    port = free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"dashboard-{port}.log"
    env = {**os.environ, "SCR_WAREHOUSE": str(warehouse)}
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [str(SCR), "dashboard", "--port", str(port), "--address", "127.0.0.1"],
            env=env,
            cwd=log_dir,  # the app must not depend on the working directory
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"scr dashboard exited: {log_path.read_text()}")
                try:
                    with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as resp:
                        if resp.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"scr dashboard did not start: {log_path.read_text()}")
                time.sleep(0.3)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample_warehouse_once(tmp_path_factory.getbasetemp())


def small_submission(folder: Path, pages: int) -> Path:
    """A small synthetic CSV submission (one board, two reviews of 2009-11); a second one
    with other ``pages`` is a corrected resubmission that replaces both reviews."""
    base = {
        "period": "2009-11",
        "board_code": "SYN900",
        "board_name": "Synthetic Board 900",
        "region": "south_east",
        "author_status": "independent",
        "parent_ethnicity": "white_british",
        "incident_date": "2010-01-10",
        "report_date": "2010-09-01",
        "report_pages": pages,
    }
    child = {
        "gender": "female",
        "ethnicity": "white_british",
        "disability": "no",
        "incident_type": "death",
        "cp_register": "not_on_register",
        "legal_status": "none",
    }
    sheets = {
        "reviews": [base | {"review_id": f"E2E-R{i}"} for i in (1, 2)],
        "children": [
            child | {"child_id": f"E2E-C{i}", "review_id": f"E2E-R{i}", "age_months": 5 + i}
            for i in (1, 2)
        ],
    }
    folder.mkdir(parents=True)
    for sheet, rows in sheets.items():
        pl.DataFrame(rows).write_csv(folder / f"{sheet}.csv")
    return folder


@dataclass
class Ingests:
    """`scr ingest` run again and again in the background, as an office would."""

    warehouse: Path
    paths: list[Path]
    results: list[subprocess.CompletedProcess[str]] = field(default_factory=list)
    thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        env = {**os.environ, "SCR_WAREHOUSE": str(self.warehouse)}
        for path in self.paths:
            self.results.append(
                subprocess.run(
                    [str(SCR), "ingest", str(path), "--submitted-by", "e2e"],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=300,
                )
            )

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


@dataclass(frozen=True)
class Account:
    name: str
    role: str
    scope: str | None
    password: str


# One account per signed-in role: a london office and a london board (the sample's busiest).
ACCOUNT_SPECS = (
    ("e2e-national", "national", None),
    ("e2e-regional", "regional", "london"),
    ("e2e-board", "board", "SYN001"),
)


def add_accounts(warehouse: Path) -> dict[str, Account]:
    """Accounts made as an administrator makes them: `scr users add`, password on stdin."""
    env = {**os.environ, "SCR_WAREHOUSE": str(warehouse)}
    accounts = {}
    for name, role, scope in ACCOUNT_SPECS:
        password = f"pw-{secrets.token_hex(8)}"
        command = [str(SCR), "users", "add", name, "--role", role]
        if scope:
            command += ["--scope", scope]
        subprocess.run(
            command, input=password + "\n", env=env, check=True, capture_output=True, text=True
        )
        accounts[role] = Account(name, role, scope, password)
    return accounts


@dataclass
class LiveApp:
    base: str
    warehouse: Path
    ingests: Ingests
    accounts: dict[str, Account]


@pytest.fixture(scope="session")
def live_app(sample_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """`scr dashboard` on a copy of the sample warehouse, with `scr ingest` writing to it in
    the background from the start: every browser test runs while the pipeline works."""
    root = tmp_path_factory.mktemp("live")
    warehouse = copy_warehouse(sample_warehouse, root / "wh" / "scr.duckdb")
    paths = [small_submission(root / f"submission{i}", pages=20 + i) for i in range(2)]
    accounts = add_accounts(warehouse)
    with running_dashboard(warehouse, root / "server") as base:
        ingests = Ingests(warehouse, paths)
        ingests.start()
        yield LiveApp(base, warehouse, ingests, accounts)
        if ingests.thread is not None:
            ingests.thread.join(timeout=300)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Debian's chromium is not installed at {CHROMIUM}: apt-get install chromium "
            "(.ci/run installs it)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": 1440, "height": 1800}, accept_downloads=True
    )
    context.set_default_timeout(30_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS

"""The dashboard keeps serving while the pipeline runs: `scr ingest` (subprocesses, one after
another, started with the live app) writes the warehouse and swaps in new snapshots while the
browser keeps loading pages; no page fails, and the new submissions are served without a
restart."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from e2e.conftest import LiveApp
from e2e.pages import MAIN, assert_no_error, open_page, shot, sign_in
from pipelines.samples import sample_paths

TARGETS = [
    ("/", "England · 2009-11"),
    ("/data-quality", "Data quality"),
    ("/study-tables?table=t02_age", "Study tables"),
]


def test_pages_keep_working_while_scr_ingest_runs(
    live_app: LiveApp, page: Page, artifacts: Path
) -> None:
    analyst = live_app.accounts["national"]
    sign_in(page, live_app.base, analyst.name, analyst.password)
    ingests, loads = live_app.ingests, 0
    # The other browser tests ran during the ingests too; keep querying until they end.
    while ingests.running or loads == 0:
        path, title = TARGETS[loads % len(TARGETS)]
        open_page(page, live_app.base + path, title)
        assert_no_error(page)
        loads += 1
    assert ingests.thread is not None
    ingests.thread.join()
    assert len(ingests.results) == len(ingests.paths)
    for result in ingests.results:
        assert result.returncode == 0, result.stdout + result.stderr
    assert "2 new" in ingests.results[0].stdout
    assert "2 replaced" in ingests.results[1].stdout  # a corrected resubmission

    # The new snapshot is served without a restart: the ledger lists both submissions.
    open_page(page, f"{live_app.base}/data-quality", "Data quality")
    expected = len(sample_paths()) + len(ingests.paths)
    expect(page.locator(MAIN)).to_contain_text(f"newest first: {expected} accepted")
    assert_no_error(page)
    shot(page, artifacts, "after-ingest-data-quality")

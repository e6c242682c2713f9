"""The dashboard as a new user meets it: `scr dashboard` on a free port, every page in headless
Chromium, a filter change, a shared link and a download. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import polars as pl
import pytest
from playwright.sync_api import Locator, Page, expect

from e2e.conftest import SCR, LiveApp
from e2e.pages import (
    MAIN,
    assert_at_least,
    assert_no_error,
    choose,
    main_text,
    open_page,
    params,
    shot,
    sign_in,
    wait_idle,
)
from warehouse.access import Access

# path, heading, [(data-testid, at least), ...], text that must show
PAGES = [
    # The title names the selection (the sample's latest period is 2009-11).
    ("/", "England · 2009-11", [("stMetric", 13), ("stVegaLiteChart", 1)], "Headline figures"),
    (
        "/study-tables",
        "Study tables",
        # Tables 16 and 20 and their published grids are static tables (labels wrap whole).
        [("stDataFrame", 18), ("stTable", 4), ("stDownloadButton", 5)],
        "Table 20:",
    ),
    (
        "/region?region=london",
        "Region",
        [("stVegaLiteChart", 1), ("stDataFrame", 1)],
        "Boards in London",
    ),
    (
        "/benchmark?period=all&board={board}",
        "{name} ({board}) · all periods",
        [("stDataFrame", 1), ("stVegaLiteChart", 2)],
        "not a measure of a board's performance",
    ),
    ("/themes", "Themes", [("stMetric", 4), ("stVegaLiteChart", 3)], "How often together"),
    (
        "/recommendations?q=domestic+violence",
        "Recommendations",
        [("stVegaLiteChart", 2), ("stDataFrame", 1), ("stDownloadButton", 1)],
        "recommendations match",
    ),
    (
        "/tracking?as_of=2011-06-30",
        "England · 2009-11 · as of 30 June 2011",
        [("stVegaLiteChart", 2), ("stDataFrame", 7), ("stDownloadButton", 1)],
        "Overdue as of 30 June 2011",
    ),
    (
        "/data-quality",
        "Data quality",
        [("stVegaLiteChart", 1), ("stDataFrame", 2)],
        "Submissions ledger",
    ),
]


def download_button(page: Page, label: str) -> Locator:
    return page.locator(f'{MAIN} [data-testid="stDownloadButton"]').get_by_role(
        "button", name=re.compile(rf"\b{label}$")
    )


@pytest.fixture(scope="module")
def server(live_app: LiveApp) -> str:
    return live_app.base


@pytest.fixture
def page(page: Page, live_app: LiveApp) -> Page:
    """These tests look at everything: a national analyst, signed in through the form."""
    analyst = live_app.accounts["national"]
    sign_in(page, live_app.base, analyst.name, analyst.password)
    return page


@pytest.fixture(scope="module")
def busiest_board(sample_warehouse: Path) -> str:
    return str(Access(sample_warehouse).boards().sort("reviews", descending=True)["board_code"][0])


def test_every_page_renders_in_chromium(
    server: str, page: Page, busiest_board: str, sample_warehouse: Path, artifacts: Path
) -> None:
    boards = Access(sample_warehouse).boards()
    name = boards.filter(pl.col("board_code") == busiest_board)["board_name"][0]
    for path, heading, elements, text in PAGES:
        title = heading.format(board=busiest_board, name=name)
        open_page(page, server + path.format(board=busiest_board), title)
        for testid, count in elements:
            assert_at_least(page, testid, count)
        expect(page.locator(MAIN)).to_contain_text(text)
        expect(page.locator('[data-testid="stAlertContentWarning"]').first).to_contain_text(
            "Synthetic sample data"
        )
        assert_no_error(page)
        shot(page, artifacts, f"page-{heading}")


def test_a_filter_change_updates_the_view_and_the_link(
    server: str, page: Page, artifacts: Path
) -> None:
    open_page(page, server + "/", "England · 2009-11")
    assert_at_least(page, "stMetric", 13)
    before = page.locator(f'{MAIN} [data-testid="stMetricValue"]').all_inner_texts()
    choose(page, "Region", "London")
    page.wait_for_url("**region=london**")
    wait_idle(page)
    expect(page.locator(f"{MAIN} h1").first).to_have_text("London · 2009-11")
    assert page.locator(f'{MAIN} [data-testid="stMetricValue"]').all_inner_texts() != before
    assert_no_error(page)
    shot(page, artifacts, "filter-london-overview")

    # The filters follow the user to another page, and stay in its link.
    page.locator('[data-testid="stSidebarNav"]').get_by_text("Region").click()
    expect(page.locator(f"{MAIN} h1").first).to_have_text("Region")
    wait_idle(page)
    assert params(page.url).get("region") == "london"
    expect(page.locator(MAIN)).to_contain_text("Boards in London")
    assert_at_least(page, "stDataFrame", 1)
    assert_no_error(page)
    shot(page, artifacts, "filter-london-region")


def test_a_shared_link_opens_the_same_view(
    server: str, page: Page, busiest_board: str, sample_warehouse: Path, artifacts: Path
) -> None:
    name = (
        Access(sample_warehouse)
        .boards()
        .filter(pl.col("board_code") == busiest_board)["board_name"][0]
    )
    open_page(
        page,
        f"{server}/benchmark?period=all&board={busiest_board}",
        f"{name} ({busiest_board}) · all periods",
    )
    expect(page.get_by_role("combobox", name="Period")).to_have_value("All periods")
    expect(page.get_by_role("combobox", name="Board")).to_have_value(f"{name} ({busiest_board})")
    expect(page.locator(f"{MAIN} h3").first).to_contain_text(name)
    assert params(page.url) == {"period": "all", "board": busiest_board}  # defaults stay out
    choose(page, "Proportion", "Deaths")
    page.wait_for_url("**indicator=deaths**")
    wait_idle(page)
    assert_no_error(page)
    shot(page, artifacts, "shared-link-benchmark")


def test_downloads_are_what_scr_tables_writes(
    server: str, page: Page, live_app: LiveApp, tmp_path: Path
) -> None:
    open_page(page, f"{server}/study-tables?period=2001-03", "Study tables")
    assert "2001-03" in main_text(page)
    with page.expect_download() as download:
        download_button(page, "CSV").click()
    got = tmp_path / download.value.suggested_filename
    download.value.save_as(got)
    expected = subprocess.run(
        [
            str(SCR),
            "--warehouse",
            str(live_app.warehouse),
            "tables",
            "--period",
            "2001-03",
            "--format",
            "csv",
        ],
        check=True,
        capture_output=True,
    ).stdout
    assert got.read_bytes() == expected
    with page.expect_download() as workbook:
        download_button(page, "Excel").click()
    assert workbook.value.suggested_filename.endswith(".xlsx")
    xlsx = tmp_path / "tables.xlsx"
    workbook.value.save_as(xlsx)
    assert xlsx.read_bytes()[:2] == b"PK"  # a zip: an xlsx workbook

"""Who sees what, in Chromium, for every role: sign in through the form (or continue without
signing in), visit every page with its filters, take every download, and check that nothing
outside the role's scope reached the browser: not in the page, not in the downloads, not in
any websocket frame the server sent (chart data, select options and hidden columns travel
there). For the public view, no count from 1 to 5 anywhere it shows counts. Shared links
outside the scope get "not in your scope" and no data."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pytest
from playwright.sync_api import Page, expect

from e2e.conftest import Account, add_accounts, running_dashboard
from e2e.pages import MAIN, SIDEBAR, continue_as_public, shot, sign_in, wait_idle
from tests.sample_warehouses import copy_warehouse
from warehouse.access import Access

BOARD_CODE = re.compile(r"SYN\d{3}")
BOARD_NAME = re.compile(r"Synthetic Board \d{3}")
# Where the sample shows counts: the columns of the study-table and other CSV downloads.
COUNT_COLUMNS = {"count", "n", "numerator", "denominator", "k", "children", "reviews"}

# Every page, with the filters that change what it shows (each URL costs a few seconds).
COMMON = [
    "/",
    "/?region=london",
    "/study-tables",
    "/study-tables?region=london&period=all",
    "/region?region=north_west",
    "/benchmark",
    "/themes?region=london",
    "/recommendations?q=domestic+violence",
    "/data-quality",
    "/tracking?as_of=2011-06-30",
]
OWN = {
    "national": ["/?board=SYN034", "/benchmark?board=SYN034&period=all"],
    "regional": [
        "/benchmark?board=SYN034&period=all",
        "/study-tables?board=SYN034",
        "/data-quality?region=london",
        "/tracking?board=SYN034&as_of=2011-06-30",
    ],
    "board": [
        "/?board=SYN001",
        "/benchmark?board=SYN001&period=all",
        "/study-tables?board=SYN001",
        "/recommendations?board=SYN001&q=review",
        "/tracking?board=SYN001&as_of=2011-06-30",
    ],
    "public": [],
}
# Shared links naming what the role may not see.
TAMPERED = {
    "regional": [
        "/?board=SYN002",
        "/benchmark?board=SYN002",
        "/study-tables?board=SYN002",
        "/tracking?board=SYN002",
    ],
    "board": [
        "/?board=SYN034",
        "/benchmark?board=SYN034",
        "/themes?board=SYN002",
        "/tracking?board=SYN034",
    ],
    "public": [
        "/?board=SYN001",
        "/benchmark?board=SYN001",
        "/study-tables?board=SYN001",
        "/tracking?board=SYN001",
    ],
}


@dataclass
class Crawl:
    """Everything the server sent one browser session."""

    texts: list[str] = field(default_factory=list)
    frames: list[bytes] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)

    def everything(self) -> str:
        sent = b"\n".join(self.frames).decode("latin-1")
        files = "\n".join(_file_text(name, data) for name, data in self.files.items())
        return "\n".join([*self.texts, sent, files])


def _file_text(name: str, data: bytes) -> str:
    if name.endswith(".xlsx"):
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(data), read_only=True)
        return "\n".join(
            str(cell)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
            for cell in row
            if cell is not None
        )
    return data.decode("utf-8", errors="replace")


def _listen(page: Page, crawl: Crawl) -> None:
    def on_socket(socket: object) -> None:
        socket.on(  # type: ignore[attr-defined]
            "framereceived",
            lambda payload: crawl.frames.append(
                payload if isinstance(payload, bytes) else payload.encode()
            ),
        )

    page.on("websocket", on_socket)


def _visit(page: Page, url: str, crawl: Crawl, tmp_path: Path, load: bool = True) -> None:
    """Everything one page sends (``load=False``: the page already shown)."""
    if load:
        page.goto(url)
        wait_idle(page)
        public = page.get_by_role("button", name="Continue without signing in")
        if public.count():  # the public's choice lasts a browser session: a new load asks again
            public.click()
            wait_idle(page, timeout=120)
    page.wait_for_timeout(250)  # charts and tables render after the run
    crawl.texts.append(page.locator(MAIN).inner_text())
    crawl.texts.append(page.locator(SIDEBAR).inner_text())
    buttons = page.locator(f'{MAIN} [data-testid="stDownloadButton"] button')
    for i in range(buttons.count()):
        if not buttons.nth(i).is_visible():
            continue  # Streamlit renders a hidden twin beside each deferred download button
        if buttons.nth(i).inner_text().strip().endswith("(PDF)"):
            continue  # the board report's PDF prints its HTML twin, which is downloaded and read
        with page.expect_download() as download:
            buttons.nth(i).click()
        target = tmp_path / f"{len(crawl.files)}-{download.value.suggested_filename}"
        download.value.save_as(target)
        # No wait for a run: downloads are on_click="ignore", so taking one starts none.
        crawl.files[f"{url} {download.value.suggested_filename}"] = target.read_bytes()


@dataclass(frozen=True)
class App:
    base: str
    warehouse: Path
    accounts: dict[str, Account]


@pytest.fixture(scope="module")
def app(sample_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """`scr dashboard` on its own copy of the sample, with one account per role. No ingest
    runs beside it (test_ingest_while_serving covers that), so each role's view of what to
    hide is worked out once, as on a quiet day."""
    root = tmp_path_factory.mktemp("roles")
    warehouse = copy_warehouse(sample_warehouse, root / "wh" / "scr.duckdb")
    accounts = add_accounts(warehouse)
    with running_dashboard(warehouse, root / "server") as base:
        yield App(base, warehouse, accounts)


@pytest.fixture(scope="module")
def catalog(app: App) -> pl.DataFrame:
    """Every board (code, name, region) as a national analyst sees them."""
    return Access(app.warehouse).boards().select("board_code", "board_name", "region")


def _forbidden(catalog: pl.DataFrame, role: str) -> pl.DataFrame:
    if role == "national":
        return catalog.clear()
    if role == "regional":
        return catalog.filter(pl.col("region") != "london")
    if role == "board":
        return catalog.filter(pl.col("board_code") != "SYN001")
    return catalog


def _leaks(text: str, forbidden: pl.DataFrame) -> set[str]:
    codes = set(forbidden["board_code"]) & set(BOARD_CODE.findall(text))
    names = set(forbidden["board_name"]) & set(BOARD_NAME.findall(text))
    return codes | names


def _count_cells(files: dict[str, bytes]) -> pl.Series:
    """Every cell of the CSV downloads' count columns, as text."""
    cells = [pl.Series("cell", [], dtype=pl.String)]
    for name, data in files.items():
        if name.endswith(".csv"):
            table = pl.read_csv(io.BytesIO(data), infer_schema=False)
            cells += [
                table[c].drop_nulls().rename("cell") for c in set(table.columns) & COUNT_COLUMNS
            ]
    return pl.concat(cells)


@pytest.fixture
def crawl(page: Page) -> Iterator[Crawl]:
    seen = Crawl()
    _listen(page, seen)
    yield seen


def _enter(page: Page, app: App, role: str) -> None:
    if role == "public":
        continue_as_public(page, app.base)
    else:
        account = app.accounts[role]
        sign_in(page, app.base, account.name, account.password)


@pytest.mark.parametrize("role", ["public", "board", "regional", "national"])
def test_every_page_and_download_stays_in_scope(
    role: str,
    app: App,
    page: Page,
    crawl: Crawl,
    catalog: pl.DataFrame,
    tmp_path: Path,
    artifacts: Path,
) -> None:
    _enter(page, app, role)
    # National sees everything (test_browser covers its pages): a few, to show the scan works.
    paths = [*COMMON, *OWN[role]] if role != "national" else [COMMON[0], COMMON[2], *OWN[role]]
    for i, path in enumerate(paths):
        # Signing in (or choosing the public view) ends on the home page: shown already.
        _visit(page, app.base + path, crawl, tmp_path, load=not (i == 0 and path == "/"))
        expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    shot(page, artifacts, f"role-{role}-last-page")
    assert crawl.files, "every role has downloads to check"
    leaks = _leaks(crawl.everything(), _forbidden(catalog, role))
    assert not leaks, f"{role} was sent boards outside its scope: {sorted(leaks)[:10]}"
    if role == "national":  # the check can see boards at all
        assert _leaks(crawl.everything(), catalog)
    if role == "public":
        cells = _count_cells(crawl.files)
        assert cells.len() > 100  # the study tables were downloaded
        assert not cells.is_in(["1", "2", "3", "4", "5"]).any()
        assert (cells == "c").any()  # small counts were there, and hidden


@pytest.mark.parametrize("role", sorted(TAMPERED))
def test_a_link_outside_the_scope_says_so_and_sends_no_data(
    role: str, app: App, page: Page, crawl: Crawl, catalog: pl.DataFrame
) -> None:
    _enter(page, app, role)
    for path in TAMPERED[role]:
        crawl.frames.clear()
        page.goto(app.base + path)
        wait_idle(page)
        public = page.get_by_role("button", name="Continue without signing in")
        if public.count():
            public.click()
            wait_idle(page, timeout=120)
        expect(page.locator(MAIN)).to_contain_text("not in your scope")
        named = re.search(r"board=(SYN\d{3})", path)
        assert named is not None
        sent = b"\n".join(crawl.frames).decode("latin-1")
        # The refused board's data never left the server (its name is not even echoed back).
        assert "Synthetic Board " + named.group(1)[3:] not in sent
        assert not _leaks(sent, _forbidden(catalog, role))


def test_a_signed_in_user_stays_signed_in_on_reload_until_signing_out(app: App, page: Page) -> None:
    account = app.accounts["board"]
    sign_in(page, app.base, account.name, account.password)
    page.reload()
    wait_idle(page)
    expect(page.locator(SIDEBAR)).to_contain_text(account.name)
    page.get_by_role("button", name="Sign out").click()
    wait_idle(page)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.reload()
    wait_idle(page)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def test_a_wrong_password_is_refused(app: App, page: Page) -> None:
    account = app.accounts["national"]
    page.goto(app.base + "/")
    page.get_by_label("Username").fill(account.name)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    wait_idle(page)
    expect(page.locator("body")).to_contain_text("not right")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()  # still the form
    expect(page.locator("body")).not_to_contain_text("Sign out")

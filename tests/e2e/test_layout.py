"""Every page at 1280x800 in Chromium, as a national analyst: nothing is wider than the
window (no horizontal scrolling, no chart past the right edge), and the trend panels wrap
onto more rows in a narrower window instead of being cut off. One browser context."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from e2e.conftest import LiveApp
from e2e.pages import (
    MAIN,
    SIDEBAR,
    assert_at_least,
    assert_no_error,
    shot,
    sign_in,
    wait_idle,
)

# Each page by its sidebar link (one session: no reload), with how many charts it draws at
# least (they render after the script run). London and one of its boards are chosen first,
# so the Region and Board benchmark pages show everything they can.
PAGES = [
    ("National overview", 1),
    ("Study tables", 0),
    ("Region", 9),
    ("Board benchmark", 2),
    ("Themes", 3),
    ("Recommendations", 2),
    ("Data quality", 1),
    ("Tracking", 2),
]
WIDTH, HEIGHT = 1280, 800

# How far past the window (and past the main column) anything reaches, in px; the charts'
# own boxes (vega-embed, its svg or canvas) and the tables' frames are checked one by one.
OVERFLOW_JS = """() => {
  const W = window.innerWidth;
  const main = document.querySelector('[data-testid="stMain"]');
  const column = document.querySelector('[data-testid="stMainBlockContainer"]');
  const right = column.getBoundingClientRect().right;
  const boxes = document.querySelectorAll(
    '[data-testid="stVegaLiteChart"], .vega-embed, .vega-embed > svg, .vega-embed > canvas, '
    + '[data-testid="stDataFrame"], [data-testid="stMetric"]');
  const past = [];
  for (const el of boxes) {
    const r = el.getBoundingClientRect();
    if (r.width && r.right > Math.min(W, right) + 1) {
      past.push(`${el.getAttribute('data-testid') || el.tagName} ends at ${Math.round(r.right)}`);
    }
  }
  return {
    document: document.documentElement.scrollWidth,
    main: main.scrollWidth - main.clientWidth,
    past: past,
  };
}"""


@pytest.fixture
def tab(browser: object, live_app: LiveApp) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})  # type: ignore[attr-defined]
    context.set_default_timeout(30_000)
    page = context.new_page()
    analyst = live_app.accounts["national"]
    sign_in(page, live_app.base, analyst.name, analyst.password)
    yield page
    context.close()


def charts_drawn(page: Page, count: int) -> None:
    """Wait until ``count`` charts have drawn their svg or canvas."""
    if count:
        assert_at_least(page, "stVegaLiteChart", count)
        drawn = f'{MAIN} [data-testid="stVegaLiteChart"] :is(svg, canvas)'
        page.locator(drawn).nth(count - 1).wait_for(state="attached")
    page.wait_for_timeout(300)  # vega sizes itself once more after the first draw


def test_every_page_fits_1280_and_trends_wrap(tab: Page, live_app: LiveApp, artifacts) -> None:  # type: ignore[no-untyped-def]
    tab.goto(live_app.base + "/?region=london&board=SYN001")
    wait_idle(tab)
    for name, count in PAGES:
        tab.locator(f'{SIDEBAR} [data-testid="stSidebarNav"]').get_by_text(name).click()
        expect(tab.locator(f"{MAIN} h1").first).to_be_visible()
        wait_idle(tab)
        assert_no_error(tab)
        charts_drawn(tab, count)
        found = tab.evaluate(OVERFLOW_JS)
        if found["past"] or found["document"] > WIDTH or found["main"] > 0:
            shot(tab, artifacts, f"layout-overflow-{name}")
        assert found["document"] <= WIDTH, (name, found)
        assert found["main"] <= 0, (name, found)  # no horizontal scroll in the main column
        assert not found["past"], (name, found)

    # Narrower: the Region page's nine trend panels wrap onto more rows, none cut off.
    tab.set_viewport_size({"width": 1000, "height": HEIGHT})
    tab.locator(f'{SIDEBAR} [data-testid="stSidebarNav"]').get_by_text("Region").click()
    wait_idle(tab)
    charts_drawn(tab, 9)
    found = tab.evaluate(OVERFLOW_JS)
    assert found["document"] <= 1000 and found["main"] <= 0 and not found["past"], found
    tops = tab.evaluate(
        """() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')]
        .map(el => Math.round(el.getBoundingClientRect().top))"""
    )
    assert len(tops) == 9 and len(set(tops)) > 3, tops  # more than three rows of panels

"""In Chromium: /overview opens the overview (not Streamlit's "Page not found"), and a
shared link with a period the data does not hold says so and what it shows instead."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from e2e.conftest import LiveApp
from e2e.pages import MAIN, assert_no_error, sign_in, wait_idle


def test_overview_path_and_a_link_with_an_unknown_period(page: Page, live_app: LiveApp) -> None:
    analyst = live_app.accounts["national"]
    sign_in(page, live_app.base, analyst.name, analyst.password)  # lands on "/"
    title = page.locator(f"{MAIN} h1").first.inner_text()
    page.goto(f"{live_app.base}/overview?period=1999-01")
    wait_idle(page)
    expect(page.get_by_text("Page not found")).to_have_count(0)
    expect(page.locator(f"{MAIN} h1").first).to_be_visible()
    assert page.locator(f"{MAIN} h1").first.inner_text() == title
    note = page.locator('[data-testid="stAlertContentWarning"]').filter(
        has_text="This link asks for period 1999-01"
    )
    expect(note).to_contain_text("showing the latest period")
    assert_no_error(page)

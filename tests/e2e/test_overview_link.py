"""In Chromium: /overview opens the overview (not Streamlit's "Page not found" dialog), and a
shared link with a period the data does not hold says so and what it shows instead."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from e2e.conftest import LiveApp
from e2e.pages import MAIN, SIDEBAR


def test_overview_path_and_a_link_with_an_unknown_period(page: Page, live_app: LiveApp) -> None:
    analyst = live_app.accounts["national"]
    # Signing in on the link itself: the link's page and parameters are kept.
    page.goto(f"{live_app.base}/overview?period=1999-01")
    page.get_by_label("Username").fill(analyst.name)
    page.get_by_label("Password").fill(analyst.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(SIDEBAR)).to_contain_text(analyst.name)
    # The note is written before the page runs, the overview's title as it starts: no need
    # to wait for all its charts.
    note = page.locator('[data-testid="stAlertContentWarning"]').filter(
        has_text="This link asks for period 1999-01"
    )
    expect(note).to_contain_text("showing the latest period")
    expect(page.locator(f"{MAIN} h1").first).to_be_visible()
    expect(page.get_by_text("Page not found")).to_have_count(0)
    expect(page.get_by_role("combobox", name="Period")).not_to_have_value("1999-01")
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)

"""Helpers to drive the dashboard in the browser: wait for a run to finish, pick options."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

APP = '[data-testid="stApp"]'
MAIN = '[data-testid="stMain"]'


def wait_idle(page: Page, timeout: float = 45.0) -> None:
    """Wait until the app's script run has finished and stayed finished for a moment."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while quiet < 4:
        state = (
            page.locator(APP).first.get_attribute("data-test-script-state")
            if page.locator(APP).count()
            else None
        )
        busy = state in (None, "initial", "running", "rerunRequested")
        quiet = 0 if busy else quiet + 1
        if time.monotonic() > deadline:
            raise TimeoutError(f"the app was still running after {timeout}s ({state})")
        page.wait_for_timeout(100)


def open_page(page: Page, url: str, title: str) -> None:
    page.goto(url)
    expect(page.locator(f"{MAIN} h1").first).to_have_text(title)
    wait_idle(page)


def assert_no_error(page: Page) -> None:
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    expect(page.locator('[data-testid="stAlertContentError"]')).to_have_count(0)


def assert_at_least(page: Page, testid: str, count: int) -> None:
    """At least ``count`` elements with this data-testid are rendered (charts and tables
    render in the browser after the script run, so this waits for them)."""
    expect(page.locator(f'{MAIN} [data-testid="{testid}"]').nth(count - 1)).to_be_visible()


def choose(page: Page, label: str, option: str) -> None:
    """Pick an option of the selectbox labelled ``label`` (sidebar or page)."""
    page.get_by_role("combobox", name=label).click()
    page.get_by_role("option", name=option, exact=True).click()


def main_text(page: Page) -> str:
    return page.locator(MAIN).inner_text()


def shot(page: Page, folder: Path, name: str) -> Path:
    path = folder / f"{re.sub(r'[^a-z0-9-]+', '-', name.lower())}.png"
    page.screenshot(path=str(path))
    return path


def params(url: str) -> dict[str, Any]:
    from urllib.parse import parse_qs, urlparse

    return {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}


SIDEBAR = '[data-testid="stSidebar"]'


def sign_in(page: Page, base: str, name: str, password: str) -> None:
    """Sign in through the form, as a person does; the sidebar then names the user."""
    page.goto(base + "/")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(SIDEBAR)).to_contain_text(name)
    # A principal's first page after a new snapshot works out what to hide: give it time.
    wait_idle(page, timeout=120)


def continue_as_public(page: Page, base: str) -> None:
    page.goto(base + "/")
    page.get_by_role("button", name="Continue without signing in").click()
    wait_idle(page, timeout=120)

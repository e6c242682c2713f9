"""Shared links: a value the data does not hold is named, with what is shown instead (never
a silent reset), and the overview opens at /overview as at /."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.auth import PRINCIPAL_KEY
from tests.sample_warehouses import sample_warehouse_once
from warehouse.access import Access
from warehouse.principal import Principal

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
NATIONAL = Principal("test-analyst", "national")


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample_warehouse_once(tmp_path_factory.getbasetemp())


@pytest.fixture
def warehouse(sample_warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("SCR_WAREHOUSE", str(sample_warehouse))
    yield sample_warehouse


@pytest.fixture(scope="session")
def access(sample_warehouse: Path) -> Access:
    return Access(sample_warehouse)


def opened(**params: str) -> AppTest:
    """The app opened from a link with these query parameters, by a national analyst."""
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state[PRINCIPAL_KEY] = NATIONAL
    at.query_params.update(params)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def link_notes(at: AppTest, *, source: bool = False) -> list[str]:
    """The link's notes as shown (Markdown escapes removed), or as sent (``source``)."""
    notes = [str(w.value) for w in at.warning if str(w.value).startswith("This link asks")]
    return notes if source else [re.sub(r"\\(.)", r"\1", n) for n in notes]


def test_an_unknown_period_region_or_board_is_named(warehouse: Path, access: Access) -> None:
    latest = access.periods()[-1]
    at = opened(period="1999-01", region="atlantis", board="nope")
    notes = link_notes(at)
    assert len(notes) == 3, notes
    assert "period 1999-01, which has no reviews" in notes[0]
    assert f"showing the latest period, {latest} instead" in notes[0]
    assert "region atlantis" in notes[1] and "showing England (all regions) instead" in notes[1]
    assert "board nope, which is not in the data: showing all boards instead" in notes[2]
    # What was shown instead is what the notes say.
    assert at.selectbox(key="period").value == latest
    assert at.selectbox(key="region").value == "all"
    assert at.selectbox(key="board").value == "all"
    # The notes stay while that selection is shown, and go once the visitor chooses.
    at.run()
    assert len(link_notes(at)) == 3
    at.selectbox(key="period").set_value("2005-07").run()
    assert link_notes(at) == []


def test_a_board_outside_the_links_region_is_named_with_its_region(
    warehouse: Path, access: Access
) -> None:
    boards = access.boards()
    board = boards.filter(pl.col("region") == "london").row(0, named=True)
    at = opened(region="north_west", board=board["board_code"])
    (note,) = link_notes(at)
    assert f"board {board['board_code']} ({board['board_name']}) in North West" in note
    assert "but the board is in London: showing all boards in North West instead" in note
    assert at.selectbox(key="region").value == "north_west"
    assert at.selectbox(key="board").value == "all"


def test_a_good_link_has_no_note_and_a_value_is_never_markdown(
    warehouse: Path, access: Access
) -> None:
    board = access.boards().filter(pl.col("region") == "london")["board_code"][0]
    assert link_notes(opened(period="2005-07", region="london", board=board)) == []
    (note,) = link_notes(opened(board="[click](https://example.org)"), source=True)
    assert "\\[click\\]" in note and "](https" not in note


def test_overview_opens_at_its_own_path(warehouse: Path) -> None:
    at = opened()
    title = at.title[0].value
    # /overview is the hidden alias of the default page: the same script, the same view.
    at.switch_page("views/overview.py").run()
    assert not at.exception and not at.error
    assert at.title[0].value == title
    assert at.selectbox(key="period").value == at.query_params["period"]


def test_a_pages_own_unknown_choice_is_named(warehouse: Path) -> None:
    at = opened()
    at.query_params.update({"table": "t99_nope"})
    at.switch_page("views/study_tables.py").run()
    assert not at.exception and not at.error
    (note,) = link_notes(at)
    assert "table t99_nope, which is not one of the choices here: showing All tables" in note
    assert at.selectbox(key="table").value == "all"
    at.selectbox(key="table").set_value("t02_age").run()
    assert link_notes(at) == []

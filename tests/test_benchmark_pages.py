"""The Board benchmark and overview pages through Streamlit's AppTest (issue 9, sections 1, 4
and 9): titles name the selection, pooled periods are said, small changes come with their
counts, two boards side by side only for a viewer of more than one, no Better or Worse."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.auth import PRINCIPAL_KEY
from tests.sample_warehouses import sample_warehouse_once
from warehouse.access import Access, Selection
from warehouse.numbers import percent_of
from warehouse.principal import Principal
from warehouse.stats import MIN_CASES_FOR_CHANGE

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
NATIONAL = Principal("test-analyst", "national")


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample_warehouse_once(tmp_path_factory.getbasetemp())


@pytest.fixture
def warehouse(sample_warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("SCR_WAREHOUSE", str(sample_warehouse))
    yield sample_warehouse


def open_page(page: str | None, principal: Principal = NATIONAL, **params: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.session_state[PRINCIPAL_KEY] = principal
    at.query_params.update(params)
    at.run()
    if page is not None:
        at.query_params.update(params)
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def everything(at: AppTest) -> str:
    parts = [*at.title, *at.subheader, *at.caption, *at.markdown, *at.info]
    text = [str(p.value) for p in parts]
    text += [str(v) for df in at.dataframe for col in df.value.columns for v in df.value[col]]
    text += [str(c) for df in at.dataframe for c in df.value.columns]
    return "\n".join(text)


def test_overview_names_the_selection_and_shows_small_changes_as_counts(warehouse: Path) -> None:
    access = Access(warehouse)
    headline = access.headline(Selection(period="2009-11", board="SYN001"))
    at = open_page(None, period="2009-11", board="SYN001")
    name = access.describe(Selection(board="SYN001"))
    assert at.title[0].value == f"{name} (SYN001) · 2009-11"
    deltas = {m.label: m.proto.delta for m in at.metric}
    small = headline.filter(
        (pl.col("kind") == "share")
        & (pl.min_horizontal("denominator", "previous_denominator") < MIN_CASES_FOR_CHANGE)
    )
    assert small.height  # a board's shares rest on a handful of cases
    labels = {"under_one": "Under one", "deaths": "Deaths", "genogram": "Genogram"}
    for row in small.filter(pl.col("indicator").is_in(list(labels))).iter_rows(named=True):
        delta = deltas[labels[row["indicator"]]]
        assert "pts" not in delta  # no 50-point swing on 5 cases
        expected = (
            f"{row['previous_numerator']:.0f}/{row['previous_denominator']} → "
            f"{row['numerator']:.0f}/{row['denominator']}"
        )
        assert delta == expected
    england = open_page(None, period="2009-11")
    assert england.title[0].value == "England · 2009-11"
    assert any(m.proto.delta.endswith(" pts") for m in england.metric)  # enough cases


def test_board_benchmark_pools_three_periods_and_sets_two_boards_side_by_side(
    warehouse: Path,
) -> None:
    access = Access(warehouse)
    board = access.boards().sort("reviews", descending=True)["board_code"][0]
    name = access.describe(Selection(board=board))
    at = open_page("views/benchmark.py", period="2009-11", board=board)
    assert at.title[0].value == f"{name} ({board}) · 2005-07 to 2009-11"
    assert "pool the latest three periods up to 2009-11 (2005-07, 2007-09, 2009-11)" in (
        everything(at)
    )
    assert at.selectbox(key="pool").value == "3" and "pool" not in at.query_params
    table = at.dataframe[0].value
    pooled = access.benchmark(Selection(period="2009-11", board=board))
    expected = [
        f"{percent_of(int(k), n)}% ({int(k)} of {n})"
        for k, n in zip(pooled["board_k"], pooled["board_n"], strict=True)
    ]
    assert table["Board"].tolist() == expected  # counts beside every percent, half up
    assert table["Compared with England"].tolist() == pooled["comparison"].to_list()

    other = access.boards().filter(pl.col("board_code") != board)["board_code"][0]
    at.selectbox(key="compare").set_value(other).run()
    assert not at.exception and at.query_params["compare"] == other
    pair = at.dataframe[1].value
    assert any(other in c for c in pair.columns) and any(board in c for c in pair.columns)

    at.selectbox(key="pool").set_value("1").run()
    assert at.title[0].value == f"{name} ({board}) · 2009-11"
    assert at.query_params["pool"] == "1"
    text = everything(at)
    assert "better" not in text.lower() and "worse" not in text.lower()
    assert "about 1 in 20" not in text  # the claim the exact limits do not support


def test_a_board_user_gets_no_second_board_to_choose(warehouse: Path) -> None:
    at = open_page(
        "views/benchmark.py", Principal("coder", "board", "SYN001"), board="SYN001", period="all"
    )
    assert "compare" not in {s.key for s in at.selectbox}
    assert "pool" not in {s.key for s in at.selectbox}  # all periods are pooled already
    assert at.title[0].value.endswith("(SYN001) · all periods")

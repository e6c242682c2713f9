"""The Tracking page through Streamlit's AppTest (issue 11, section 4), per role: the funnel's
counts are warehouse.tracking's; national sees every board's overdue rows, a regional office
only its boards (in the table and in every select), a board only itself, and the public no
board at all (the overdue counts for England and the regions, under disclosure control).
Everything the server puts in the page (tables, chart data, select options, text) is read
back from the element protos."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.auth import PRINCIPAL_KEY
from tests.sample_warehouses import sample_warehouse_once
from warehouse import stats, tracking
from warehouse.access import Access
from warehouse.access.snapshot import scope_boards
from warehouse.db import snapshot_path
from warehouse.principal import PUBLIC, Principal
from warehouse.tracking import TrackingFilter

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
PAGE = "views/tracking.py"
AS_OF = date(2011, 6, 30)
PERIOD = "2009-11"
NATIONAL = Principal("test-analyst", "national")
REGIONAL = Principal("test-office", "regional", "london")
BOARD = Principal("test-board", "board", "SYN001")
BOARD_CODE = re.compile(r"SYN\d{3}")


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample_warehouse_once(tmp_path_factory.getbasetemp())


@pytest.fixture
def warehouse(sample_warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("SCR_WAREHOUSE", str(sample_warehouse))
    yield sample_warehouse


@pytest.fixture(scope="module")
def con(sample_warehouse: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The published snapshot, read-only: what warehouse.tracking says, unscoped."""
    connection = duckdb.connect(str(snapshot_path(sample_warehouse)), read_only=True)
    yield connection
    connection.close()


def open_tracking(principal: Principal, **params: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state[PRINCIPAL_KEY] = principal
    at.query_params.update(params)
    at.run()
    at.query_params.update(params)
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def _nodes(node: Any) -> Iterator[Any]:
    yield node
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for child in children.values():
            yield from _nodes(child)


def sent(at: AppTest) -> str:
    """Every element the page and sidebar hold, as the bytes of its proto: text, table
    data (Arrow), chart specs and their datasets, select options, help texts."""
    parts = []
    for node in _nodes(at._tree):
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "SerializeToString"):
            parts.append(proto.SerializeToString())
    return b"\n".join(parts).decode("latin-1")


def table(at: AppTest, first_column: str, containing: str | None = None) -> Any:
    """The first dataframe whose first column is ``first_column`` (and that has a column
    ``containing``)."""
    for df in at.dataframe:
        columns = list(df.value.columns)
        if columns[0] == first_column and (containing is None or containing in columns):
            return df.value
    raise AssertionError(
        f"no table starting {first_column}: {[d.value.columns for d in at.dataframe]}"
    )


def chart_specs(at: AppTest) -> list[dict[str, Any]]:
    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


def stage_table(at: AppTest) -> dict[str, str]:
    stages = table(at, "Stage")
    return dict(zip(stages["Stage"], stages["Reached (so far)"], strict=True))


def test_national_funnel_is_warehouse_tracking_and_every_overdue_row_is_listed(
    warehouse: Path, con: duckdb.DuckDBPyConnection
) -> None:
    at = open_tracking(NATIONAL, period=PERIOD, as_of=AS_OF.isoformat())
    assert at.title[0].value == f"England · {PERIOD} · as of 30 June 2011"
    assert at.date_input(key="as_of").value == AS_OF
    assert at.query_params["as_of"] == AS_OF.isoformat()

    f = TrackingFilter(as_of=AS_OF, period=PERIOD)
    england = tracking.selection_rows(tracking.stage_counts(con, f), f)
    expected = dict(zip(england["label"], england["reached"].cast(pl.String), strict=True))
    assert stage_table(at) == expected
    assert expected["Notified"] != "0" and int(expected["Decided"]) < int(expected["Notified"])
    # The funnel chart: titled, horizontal bars of the same counts, named in its text
    # alternative.
    funnel = chart_specs(at)[0]
    assert funnel["title"]["text"].startswith("Stages reached by 30 June 2011")
    for label, count in expected.items():
        assert f"{label}: {count}" in funnel["description"]

    overdue = tracking.overdue(con, f)
    listed = table(at, "What", "Days overdue")
    assert len(listed) == overdue.height
    codes = {BOARD_CODE.findall(b)[-1] for b in listed["Board"]}
    assert codes == set(overdue["board_code"])
    assert listed["Days overdue"].tolist() == overdue["days_overdue"].to_list()
    assert {"Decision", "Review report", "Action plan", "Action"} <= set(listed["What"])
    assert "Yes" in set(listed["Proceedings ongoing"])  # proceedings holding cases up
    assert len(at.get("vega_lite_chart")) == 2  # the funnel and the implementation curve
    assert all(spec.get("title") and spec.get("description") for spec in chart_specs(at))


def test_a_board_selection_shows_its_own_funnel_and_curve(
    warehouse: Path, con: duckdb.DuckDBPyConnection
) -> None:
    at = open_tracking(NATIONAL, period=PERIOD, board="SYN001", as_of=AS_OF.isoformat())
    name = Access(warehouse).describe(Access(warehouse).select(board="SYN001"))
    assert at.title[0].value == f"{name} (SYN001) · {PERIOD} · as of 30 June 2011"
    f = TrackingFilter(as_of=AS_OF, period=PERIOD, board="SYN001")
    own = tracking.selection_rows(tracking.stage_counts(con, f), f)
    assert stage_table(at) == dict(zip(own["label"], own["reached"].cast(pl.String), strict=True))
    # Timeliness: the board's k of n, exact interval and comparison with England as
    # warehouse.tracking and warehouse.stats give them.
    rates = tracking.timeliness(con, f)
    shown = [d.value for d in at.dataframe if "Compared with England" in d.value.columns]
    assert len(shown) == len(tracking.MEASURES)
    for (measure, _, _), frame in zip(tracking.MEASURES, shown, strict=True):
        england = rates.filter((pl.col("measure") == measure) & (pl.col("level") == "england"))
        board = rates.filter((pl.col("measure") == measure) & (pl.col("board_code") == "SYN001"))
        k, n = int(board["k"][0]), int(board["n"][0])
        row = frame[frame["Area"] == f"{name} (SYN001)"].iloc[0]
        if n:
            assert row["On time"] == f"{board['percent'][0]}% ({k} of {n})"
            low, high = board["ci_low_percent"][0], board["ci_high_percent"][0]
            assert row["95% interval"] == f"{low}% to {high}%"
        assert row["Compared with England"] == stats.compare(k, n, england["share"][0])
        assert frame[frame["Area"] == "England"].iloc[0]["Compared with England"] == "–"
    curve = chart_specs(at)[1]
    assert "Action points completed by months since the report" in curve["title"]["text"]
    # Three lines: the board, its region, England.
    assert "Synthetic Board 001, London, England" in curve["description"]


def test_a_regional_office_sees_only_its_boards(
    warehouse: Path, con: duckdb.DuckDBPyConnection
) -> None:
    at = open_tracking(REGIONAL, period=PERIOD, as_of=AS_OF.isoformat())
    # Its boards: the catalog's in London, and boards with notifications only (no review
    # yet) that state London.
    mine = set(scope_boards(con, REGIONAL))
    catalog = set(Access(warehouse, REGIONAL).boards()["board_code"])
    assert catalog <= mine and mine - catalog  # the sample has London boards of both kinds
    everyone = set(tracking.board_choices(con)["code"])
    assert everyone - mine
    f = TrackingFilter(as_of=AS_OF, period=PERIOD)
    expected = tracking.overdue(con, f).filter(pl.col("board_code").is_in(sorted(mine)))
    listed = table(at, "What", "Days overdue")
    assert len(listed) == expected.height > 0
    codes = {BOARD_CODE.findall(b)[-1] for b in listed["Board"]}
    assert codes == set(expected["board_code"]) and codes <= mine
    offered = {
        BOARD_CODE.findall(o)[-1] for o in at.selectbox(key="board").options if BOARD_CODE.search(o)
    }
    assert offered and offered <= mine
    assert mine - catalog <= offered  # a board that has only notified can be chosen
    leaked = set(BOARD_CODE.findall(sent(at))) - mine
    assert not leaked, sorted(leaked)[:10]
    # Other regions appear as aggregates only.
    counts = table(at, "Area", "Total")
    assert {"England", "North West"} <= set(counts["Area"])


def test_a_board_sees_only_itself(warehouse: Path, con: duckdb.DuckDBPyConnection) -> None:
    at = open_tracking(BOARD, period=PERIOD, board="SYN001", as_of=AS_OF.isoformat())
    f = TrackingFilter(as_of=AS_OF, period=PERIOD, board="SYN001")
    expected = tracking.overdue(con, f)
    listed = table(at, "What", "Days overdue")
    assert len(listed) == expected.height > 0
    assert set(listed["Board"]) == {"Synthetic Board 001 (SYN001)"}
    assert set(at.selectbox(key="board").options) <= {"All boards", "Synthetic Board 001 (SYN001)"}
    assert set(BOARD_CODE.findall(sent(at))) == {"SYN001"}
    own = tracking.selection_rows(tracking.stage_counts(con, f), f)
    assert stage_table(at) == dict(zip(own["label"], own["reached"].cast(pl.String), strict=True))


def test_the_public_sees_no_board_and_small_counts_hidden(
    warehouse: Path, con: duckdb.DuckDBPyConnection
) -> None:
    at = open_tracking(PUBLIC, period=PERIOD, as_of=AS_OF.isoformat())
    everything = sent(at)
    assert not BOARD_CODE.search(everything)
    assert "Synthetic Board" not in everything
    assert not any(list(df.value.columns)[0] == "What" for df in at.dataframe)  # no list
    assert any("shown only to signed-in users" in str(i.value) for i in at.info)
    counts = table(at, "Area", "Total")
    regions = set(Access(warehouse, PUBLIC).regions()["label"])
    assert set(counts["Area"]) <= regions | {"England"} and "England" in set(counts["Area"])
    threshold = Access(warehouse, PUBLIC).threshold
    cells = {str(v) for c in counts.columns[1:] for v in counts[c]}
    assert not cells & {str(k) for k in range(1, threshold + 1)}
    assert "c" in cells  # some were small, and are hidden
    # Every count the public sees in the funnel is England's (hidden ones as c).
    f = TrackingFilter(as_of=AS_OF, period=PERIOD)
    england = tracking.selection_rows(tracking.stage_counts(con, f), f)
    shown = stage_table(at)
    for label, reached in zip(england["label"], england["reached"], strict=True):
        assert shown[label] in (str(reached), "c")


def test_the_date_lives_in_the_url(warehouse: Path) -> None:
    at = open_tracking(NATIONAL, period=PERIOD, as_of="2011-02-30")
    today = date.today()
    assert at.date_input(key="as_of").value == today
    assert any(
        "2011-02-30" in str(w.value).replace("\\", "") for w in at.warning
    )  # the link's date is named
    assert "as_of" not in at.query_params  # today stays out of the URL
    at.date_input(key="as_of").set_value(date(2010, 3, 31)).run()
    assert not at.exception
    assert at.query_params["as_of"] == "2010-03-31"
    assert at.title[0].value.endswith("as of 31 March 2010")
    assert not any("2011-02-30" in str(w.value).replace("\\", "") for w in at.warning)


def test_a_board_that_has_only_notified_can_be_chosen(
    warehouse: Path, con: duckdb.DuckDBPyConnection
) -> None:
    """A board with notifications but no review yet is offered and shows its own funnel."""
    reviewed = set(Access(warehouse, REGIONAL).boards()["board_code"])
    notified_only = sorted(set(scope_boards(con, REGIONAL)) - reviewed)[0]
    at = open_tracking(REGIONAL, board=notified_only, as_of=AS_OF.isoformat())
    assert at.selectbox(key="board").value == notified_only
    assert at.title[0].value.startswith(f"{notified_only} ")
    period = at.selectbox(key="period").value  # the latest period unless the link names one
    f = TrackingFilter(as_of=AS_OF, period=period, board=notified_only)
    own = tracking.selection_rows(tracking.stage_counts(con, f), f)
    assert int(own["reached"][0]) > 0
    assert stage_table(at) == dict(zip(own["label"], own["reached"].cast(pl.String), strict=True))

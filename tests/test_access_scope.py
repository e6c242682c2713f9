"""What each role reads through warehouse.access, on the sample warehouse: refused
selections, no board outside the scope in any output, no small count shown to the public,
the remainder rule, the tables a scoped connection holds, and national reading everything.
"""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from tests.sample_warehouses import copy_warehouse, sample_warehouse_once
from warehouse.access import Access, OutOfScope, Selection
from warehouse.access.cube import cube_tables
from warehouse.access.definitions import ALL_PERIODS, INDICATORS
from warehouse.db import publish_snapshot, snapshot_path
from warehouse.principal import ANALYST, PUBLIC, Principal

THRESHOLD = 5
REGION = "london"
ROLES = ("national", "regional", "board", "public")


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample_warehouse_once(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def analyst(sample_warehouse: Path) -> Access:
    return Access(sample_warehouse, ANALYST, threshold=THRESHOLD)


@pytest.fixture(scope="module")
def board_code(analyst: Access) -> str:
    """The London board with the most reviews (every review of it coded London)."""
    boards = analyst.boards().filter(pl.col("region") == REGION)
    return str(boards.sort("reviews", descending=True)["board_code"][0])


@pytest.fixture(scope="module")
def principals(board_code: str) -> dict[str, Principal]:
    return {
        "national": ANALYST,
        "regional": Principal("london office", "regional", REGION),
        "board": Principal("board coder", "board", board_code),
        "public": PUBLIC,
    }


@pytest.fixture(scope="module")
def accesses(sample_warehouse: Path, principals: dict[str, Principal]) -> dict[str, Access]:
    return {
        role: Access(sample_warehouse, principal, threshold=THRESHOLD)
        for role, principal in principals.items()
    }


@pytest.fixture(scope="module")
def in_scope(analyst: Access, board_code: str) -> dict[str, set[str]]:
    """The board codes each role sees in full."""
    boards = analyst.boards()
    return {
        "national": set(boards["board_code"]),
        "regional": set(boards.filter(pl.col("region") == REGION)["board_code"]),
        "board": {board_code},
        "public": set(),
    }


# --- selections -------------------------------------------------------------------------


def test_selections_outside_the_scope_are_refused(
    accesses: dict[str, Access], analyst: Access, board_code: str, sample_warehouse: Path
) -> None:
    other_region = analyst.boards().filter(pl.col("region") != REGION)
    elsewhere = str(other_region["board_code"][0])
    neighbour = str(
        analyst.boards().filter(
            (pl.col("region") == REGION) & (pl.col("board_code") != board_code)
        )["board_code"][0]
    )
    allowed: dict[str, list[dict[str, str]]] = {
        "national": [{"board": elsewhere}, {"region": "north_east"}, {"board": neighbour}],
        "regional": [{"region": "north_east"}, {"board": neighbour}, {"region": REGION}],
        "board": [{"board": board_code}, {"region": REGION}, {}],
        "public": [{"region": "north_east"}, {"region": REGION}, {}],
    }
    refused: dict[str, list[dict[str, str]]] = {
        "national": [],
        "regional": [{"board": elsewhere}, {"region": "not_a_region"}],
        "board": [{"board": neighbour}, {"board": elsewhere}, {"region": "north_east"}],
        "public": [{"board": board_code}, {"region": "not_stated"}, {"region": "x" * 200}],
    }
    for role, access in accesses.items():
        for kwargs in allowed[role]:
            assert access.select("2009-11", **kwargs) == Selection("2009-11", **kwargs)
        for kwargs in refused[role]:
            with pytest.raises(OutOfScope, match="not in your scope") as refusal:
                access.select("2009-11", **kwargs)
            message = str(refusal.value)
            assert str(sample_warehouse.parent) not in message and "/" not in message
            assert len(message) < 200
            # A Selection made without select() is refused by every data function too.
            with pytest.raises(OutOfScope):
                access.headline(Selection("2009-11", **kwargs))


def test_the_public_gets_no_board_level_rows_no_text_and_no_ledger(
    accesses: dict[str, Access],
) -> None:
    public = accesses["public"]
    assert public.boards().is_empty()
    sel = Selection("2009-11", REGION)
    refusals: list[Callable[[], Any]] = [
        lambda: public.board_indicators(sel),
        lambda: public.boards_side_by_side(sel),
        lambda: public.indicators(sel, ("board_code",)),
        lambda: public.funnel(sel, "deaths"),
        lambda: public.completeness(sel),
        lambda: public.submissions(),
    ]
    for refuse in refusals:
        with pytest.raises(OutOfScope, match="without signing in"):
            refuse()
    with pytest.raises(OutOfScope, match="recommendation text is not shown without signing in"):
        public.search_recommendations(sel, "domestic violence")
    assert public.disclosure_note() is not None and "c" in public.disclosure_note()
    assert accesses["national"].disclosure_note() is None


# --- every output, scanned ----------------------------------------------------------------


def selections(role: str, board_code: str) -> list[Selection]:
    base = [Selection(), Selection("2009-11"), Selection("2005-07", REGION)]
    if role in ("national", "regional"):
        base.append(Selection("2003-05", "north_east"))
    if role != "public":
        base += [Selection(board=board_code), Selection("2009-11", board=board_code)]
    return base


def outputs(access: Access, role: str, board_code: str) -> Iterator[tuple[str, Any]]:
    """(name, result) of every data function of Access for the selections the role may
    make; the functions refused to the role are left out (tested above)."""
    yield "periods", access.periods()
    yield "boards", access.boards()
    yield "regions", access.regions()
    yield "provenance", access.provenance()
    for sel in selections(role, board_code):
        calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
            ("describe", (sel,), {}),
            ("indicators", (sel,), {}),
            ("indicators", (sel, ("period",)), {"all_periods": True}),
            ("headline", (sel,), {}),
            ("trends", (sel,), {}),
            ("study_tables", (sel,), {}),
            ("tables_csv", (sel,), {}),
            ("tables_xlsx", (sel,), {}),
            ("themes", (sel,), {}),
            ("theme_pairs", (sel,), {}),
            ("theme_combinations", (sel,), {}),
            ("theme_numbers", (sel,), {}),
            ("recommendation_focus", (sel,), {}),
            ("recommendation_agency_focus", (sel,), {}),
        ]
        if sel.board is None:
            calls.append(("indicators", (sel.national(), ("region",)), {}))
        if role != "public":
            calls += [
                ("indicators", (sel, ("board_code",)), {"region_by": "board"}),
                ("board_indicators", (sel,), {}),
                ("boards_side_by_side", (sel,), {}),
                ("funnel", (sel, "under_one"), {}),
                ("search_recommendations", (sel, "the"), {}),
                ("completeness", (sel,), {}),
            ]
            if sel.board is not None:
                calls.append(("benchmark", (sel,), {}))
        for name, args, kwargs in calls:
            yield f"{name} {args} {kwargs}", getattr(access, name)(*args, **kwargs)
    if role != "public":
        yield "submissions", access.submissions()


def strings(result: Any) -> Iterator[str]:
    """Every piece of text in a result: frame cells, dict keys and values, file contents."""
    if isinstance(result, pl.DataFrame):
        for column in result.columns:
            yield column
            if result[column].dtype == pl.String:
                yield from (v for v in result[column].to_list() if v is not None)
    elif isinstance(result, dict):
        for key, value in result.items():
            yield str(key)
            yield from strings(value)
    elif isinstance(result, list | tuple):
        for item in result:
            yield from strings(item)
    elif isinstance(result, bytes):
        if result.startswith(b"PK"):  # an xlsx: every XML part of the workbook
            with zipfile.ZipFile(io.BytesIO(result)) as book:
                yield from (book.read(n).decode() for n in book.namelist() if n.endswith(".xml"))
        else:
            yield result.decode("utf-8-sig")
    elif isinstance(result, str):
        yield result


@pytest.fixture(scope="module")
def every_output(accesses: dict[str, Access], board_code: str) -> dict[str, list[tuple[str, Any]]]:
    return {role: list(outputs(accesses[role], role, board_code)) for role in ROLES}


@pytest.mark.parametrize("role", ROLES)
def test_no_output_names_a_board_outside_the_scope(
    role: str,
    every_output: dict[str, list[tuple[str, Any]]],
    analyst: Access,
    in_scope: dict[str, set[str]],
) -> None:
    boards = analyst.boards()
    codes = set(boards["board_code"])
    outside_names = {
        name
        for code, name in zip(boards["board_code"], boards["board_name"], strict=True)
        if code not in in_scope[role]
    }
    code_pattern = re.compile("|".join(sorted(map(re.escape, codes), key=len, reverse=True)))
    for name, result in every_output[role]:
        for text in strings(result):
            seen = set(code_pattern.findall(text))
            assert seen <= in_scope[role], (name, sorted(seen - in_scope[role])[:5])
            leaked = [n for n in outside_names if n in text]
            assert not leaked, (name, leaked[:5])


# Columns holding counts (of children, reviews, recommendations or answers).
COUNT_COLUMNS = {
    "numerator",
    "denominator",
    "reviews",
    "children",
    "yes",
    "no",
    "not_stated",
    "blank",
    "both",
    "recommendations",
    "agency_total",
    "k",
    "n",
    "region_k",
    "region_n",
    "england_k",
    "england_n",
}


def shown_counts(result: Any) -> Iterator[tuple[str, int]]:
    """(column, value) of every count shown (not null) in a frame or the tables JSON."""
    if isinstance(result, pl.DataFrame):
        rows = result
        if "kind" in rows.columns:  # a median's numerator is months, not a count
            rows = rows.with_columns(
                pl.when(pl.col("kind") != "median").then(pl.col("numerator")).alias("numerator")
            )
        for column in COUNT_COLUMNS & set(rows.columns):
            for value in rows[column].drop_nulls().to_list():
                yield column, int(value)
        if "kind" in rows.columns and "value" in rows.columns:
            counted = rows.filter(pl.col("kind") == "count")
            for column in ("value", "previous"):
                if column in counted.columns:
                    yield from ((column, int(v)) for v in counted[column].drop_nulls().to_list())
    elif isinstance(result, dict) and "tables" in result:
        for table in result["tables"]:
            cells = [table["n"]]
            for row in table["rows"] + table.get("summaries", []):
                cells += list(row["counts"].values()) if "counts" in row else [row["count"]]
            yield from ((table["id"], c) for c in cells if isinstance(c, int))
    elif isinstance(result, dict):
        yield from ((k, v) for k, v in result.items() if isinstance(v, int))


def test_the_public_sees_no_count_from_1_to_5(
    every_output: dict[str, list[tuple[str, Any]]],
) -> None:
    checked = 0
    for name, result in every_output["public"]:
        for column, value in shown_counts(result):
            checked += 1
            assert not 1 <= value <= THRESHOLD, (name, column, value)
    assert checked > 1000  # the scan did read the figures


def test_the_board_principal_cannot_subtract_its_own_figures(
    accesses: dict[str, Access], board_code: str, analyst: Access
) -> None:
    """A region or England figure minus the board's own part of it is never 1 to 5."""
    board = accesses["board"]
    own_regions = analyst.frame(
        "SELECT DISTINCT region FROM reviews WHERE board_code = $b", {"b": board_code}
    )
    assert own_regions["region"].to_list() == [REGION]  # so its own part of London is all of it
    compared = 0
    for period in [None, *board.periods()]:
        own = board.indicators(Selection(period, board=board_code))
        for aggregate in (Selection(period, REGION), Selection(period)):
            shown = board.indicators(aggregate).join(own, on="indicator", suffix="_own")
            for row in shown.filter(pl.col("kind") != "median").iter_rows(named=True):
                for term in ("numerator", "denominator"):
                    if row[term] is not None:
                        compared += 1
                        rest = row[term] - row[f"{term}_own"]
                        assert not 1 <= rest <= THRESHOLD, (aggregate, row["indicator"], term)
        own_themes = board.themes(Selection(board=board_code))
        for aggregate in (Selection(region=REGION), Selection()):
            joined = board.themes(aggregate).join(
                own_themes, on=["period", "theme"], how="left", suffix="_own"
            )
            for answer in ("yes", "no", "not_stated", "blank", "children"):
                rest = joined[answer] - joined[f"{answer}_own"].fill_null(0)
                assert not rest.is_between(1, THRESHOLD).any(), (aggregate, answer)
    assert compared > 100


def test_regions_add_up_to_england_without_giving_a_hidden_region_away(
    accesses: dict[str, Access], analyst: Access
) -> None:
    """For the public, one indicator and period: the regions (the region not stated among
    them) add up to England, and the hidden ones are never one cell alone, nor cells that
    must each be 1."""
    public = accesses["public"]
    periods = analyst.periods()
    for period in periods:
        true = analyst.indicators(Selection(period), ("region",))
        shown = public.indicators(Selection(period), ("region",))
        england = public.indicators(Selection(period))
        for ind in (i.key for i in INDICATORS if i.kind in ("count", "share")):
            total = england.filter(pl.col("indicator") == ind)["numerator"][0]
            if total is None:
                continue
            mine = shown.filter(pl.col("indicator") == ind)
            hidden = mine.filter(pl.col("numerator").is_null())["region"].to_list()
            truth = dict(
                true.filter(pl.col("indicator") == ind).select("region", "numerator").iter_rows()
            )
            assert "not_stated" in truth or total == sum(truth.values())
            unknown = [truth[r] for r in hidden]
            assert all(u >= 1 for u in unknown)  # zeros are shown
            assert sum(unknown) == total - mine["numerator"].drop_nulls().sum()
            if unknown:  # more than one, and not each of them 1
                assert len(unknown) > 1 and sum(unknown) > len(unknown), (period, ind, unknown)


def test_a_count_is_hidden_alike_wherever_it_is_shown(accesses: dict[str, Access]) -> None:
    """Children of England in a period: the headline, the trends and the themes agree."""
    public = accesses["public"]
    trend = public.trends(Selection(region=REGION)).filter(pl.col("indicator") == "children")
    for period in public.periods():
        headline = public.headline(Selection(period, REGION))
        children = headline.filter(pl.col("indicator") == "children")["numerator"][0]
        themes = public.themes(Selection(region=REGION)).filter(pl.col("period") == period)
        in_trend = trend.filter((pl.col("period") == period) & (pl.col("series_order") == 0))
        assert in_trend["numerator"][0] == children
        if themes.height:
            assert set(themes["children"].to_list()) == {children}


def test_the_cube_protects_regions_and_periods_together(accesses: dict[str, Access]) -> None:
    """Every margin of the public's cube (regions to England, periods to all periods): never
    exactly one hidden cell, which the others would give away."""
    hidden = accesses["public"].hidden_cells()
    assert any(c[1] != "England" and c[2] != ALL_PERIODS for c in hidden)
    for table in cube_tables():
        for measure in table.measures:
            cells = [c for c in hidden if c[0] == measure]
            for period in {c[2] for c in cells}:
                assert len([c for c in cells if c[2] == period]) != 1, (measure, period)
            for region in {c[1] for c in cells}:
                assert len([c for c in cells if c[1] == region]) != 1, (measure, region)


# --- what a scoped connection holds ------------------------------------------------------


@pytest.fixture(scope="module")
def busy_warehouse(
    sample_warehouse: Path, tmp_path_factory: pytest.TempPathFactory, board_code: str
) -> Iterator[Path]:
    """The sample warehouse with replaced review versions (*_history), a staged submission
    (stg_*), a submission holding only the board's reviews and issues on the ledger."""
    path = copy_warehouse(sample_warehouse, tmp_path_factory.mktemp("busy") / "scr.duckdb")
    con = duckdb.connect(str(path))
    try:
        other = con.execute(
            "SELECT board_code FROM reviews WHERE board_code <> ? ORDER BY board_code LIMIT 1",
            [board_code],
        ).fetchall()[0][0]
        con.execute(
            "INSERT INTO reviews_history BY NAME SELECT *, now() AS replaced_at, "
            "'S-replacing' AS replaced_by FROM reviews "
            "WHERE board_code IN (?, ?)",
            [board_code, other],
        )
        for sheet in ("children", "recommendations", "actions"):
            con.execute(
                f"INSERT INTO {sheet}_history BY NAME SELECT *, now() AS replaced_at, "
                f"'S-replacing' AS replaced_by FROM {sheet} "
                "WHERE review_id IN (SELECT review_id FROM reviews_history)"
            )
            con.execute(
                f"INSERT INTO stg_{sheet} BY NAME SELECT *, 1 AS row_number FROM {sheet} LIMIT 3"
            )
        con.execute(
            "INSERT INTO stg_reviews BY NAME SELECT *, 1 AS row_number FROM reviews LIMIT 3"
        )
        con.execute(
            "INSERT INTO stg_issues VALUES ('S-staged', 'error', 'reviews', 2, 'region', "
            "'x', 'code', 'not a code', NULL)"
        )
        # The board's latest reviews came in a submission of their own.
        con.execute(
            "INSERT INTO submissions SELECT * REPLACE ('S-own' AS submission_id, "
            "'own-board.xlsx' AS original_name, 'board coder' AS submitted_by) "
            "FROM submissions LIMIT 1"
        )
        latest = "(SELECT review_id FROM reviews WHERE board_code = ? AND period = '2009-11')"
        for sheet in ("reviews", "children", "recommendations", "actions"):
            con.execute(
                f"UPDATE {sheet} SET submission_id = 'S-own' WHERE review_id IN {latest}",
                [board_code],
            )
        con.execute(
            "INSERT INTO submission_issues SELECT submission_id, 'warning', 'reviews', 3, "
            "'report_date', NULL, 'dated', 'report not dated', NULL FROM submissions"
        )
        publish_snapshot(con, path)
    finally:
        con.close()
    yield path
    shutil.rmtree(path.parent, ignore_errors=True)


def table_rows(access: Access) -> dict[str, pl.DataFrame]:
    with access.connect() as con:
        names = [
            row[0]
            for row in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
            ).fetchall()
        ]
        return {name: con.sql(f'SELECT * FROM "{name}"').pl() for name in names}


@pytest.mark.parametrize("role", ["regional", "board", "public"])
def test_a_scoped_connection_holds_only_rows_in_scope(
    role: str, busy_warehouse: Path, principals: dict[str, Principal], board_code: str
) -> None:
    whole = table_rows(Access(busy_warehouse, ANALYST))
    scoped = Access(busy_warehouse, principals[role])
    mine = set(scoped.boards()["board_code"])
    tables = table_rows(scoped)
    assert set(tables) == set(whole)  # every table there, same columns, cut to the scope
    for name, rows in tables.items():
        assert rows.columns == whole[name].columns, name
    my_reviews = set(
        pl.concat(
            [whole["reviews"], whole["reviews_history"].drop("replaced_at", "replaced_by")]
        ).filter(pl.col("board_code").is_in(list(mine)))["review_id"]
    )
    assert set(tables["reviews"]["board_code"]) == mine
    for name in ("reviews", "reviews_history"):
        expected = whole[name].filter(pl.col("board_code").is_in(list(mine)))
        assert tables[name].sort("review_id").equals(expected.sort("review_id")), name
    for sheet in ("children", "recommendations", "actions"):
        for name in (sheet, f"{sheet}_history"):
            assert set(tables[name]["review_id"]) <= my_reviews, name
            expected = whole[name].filter(pl.col("review_id").is_in(list(my_reviews)))
            assert tables[name].height == expected.height, name
    assert tables["reviews_history"].height > 0 or role != "board"
    for name in tables:
        if name.startswith(("stg_", "mart_")):
            assert tables[name].is_empty(), name
    for name in ("ref_codes", "ref_columns", "warehouse_meta"):
        assert tables[name].equals(whole[name]), name

    ledger = tables["submissions"]
    if role == "public":
        assert ledger.is_empty() and tables["submission_issues"].is_empty()
        return
    published = pl.concat(
        [
            whole["reviews"].select("submission_id", "review_id", "board_code"),
            whole["reviews_history"].select("submission_id", "review_id", "board_code"),
        ]
    )
    holding = published.group_by("submission_id").agg(
        pl.col("board_code").is_in(list(mine)).sum().alias("mine"), pl.len().alias("all")
    )
    expected_whole = set(holding.filter(pl.col("mine") == pl.col("all"))["submission_id"])
    expected_part = set(
        holding.filter((pl.col("mine") > 0) & (pl.col("mine") < pl.col("all")))["submission_id"]
    )
    assert set(ledger["submission_id"]) == expected_whole | expected_part
    whole_rows = ledger.filter(pl.col("submission_id").is_in(list(expected_whole)))
    assert whole_rows["original_name"].null_count() == 0
    part_rows = ledger.filter(pl.col("submission_id").is_in(list(expected_part)))
    for column in ("original_name", "submitted_by", "sha256", "report", "archive_path"):
        assert part_rows[column].null_count() == part_rows.height, column
    counts = dict(holding.select("submission_id", "mine").iter_rows())
    for row in part_rows.iter_rows(named=True):
        assert row["n_reviews"] == counts[row["submission_id"]]
    assert set(tables["submission_issues"]["submission_id"]) == expected_whole
    if role == "board":
        assert expected_whole == {"S-own"}


def test_a_scoped_connection_cannot_reach_the_snapshot(
    busy_warehouse: Path, principals: dict[str, Principal]
) -> None:
    scoped = Access(busy_warehouse, principals["board"])
    with scoped.connect() as con:
        rows = con.execute("SELECT database_name FROM duckdb_databases()").fetchall()
        databases = {row[0] for row in rows}
        assert "wh" not in databases
        with pytest.raises(duckdb.Error):
            con.execute(f"ATTACH '{snapshot_path(busy_warehouse)}' AS again (READ_ONLY)")
        with pytest.raises(duckdb.Error):
            con.execute(f"SELECT * FROM read_csv('{snapshot_path(busy_warehouse)}')")
        with pytest.raises(duckdb.Error):
            con.execute("SET enable_external_access = true")


def test_national_reads_the_whole_snapshot(busy_warehouse: Path) -> None:
    national = table_rows(Access(busy_warehouse, ANALYST))
    with duckdb.connect(str(snapshot_path(busy_warehouse)), read_only=True) as con:
        for name, rows in national.items():
            assert rows.height == con.execute(f'SELECT count(*) FROM "{name}"').fetchall()[0][0]


def test_national_figures_are_never_suppressed(
    every_output: dict[str, list[tuple[str, Any]]], analyst: Access
) -> None:
    for name, result in every_output["national"]:
        if isinstance(result, pl.DataFrame) and "suppressed" in result.columns:
            assert not result["suppressed"].any(), name
        if isinstance(result, dict):
            assert "disclosure" not in result, name
    ledger = analyst.submissions()
    assert ledger["original_name"].null_count() == 0

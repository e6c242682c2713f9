"""`scr report`: the biennial report and the board report (warehouse/report).

One sample warehouse per session (``sample_warehouse_once``), the analyst's and the public's
reports built once per module; one PDF (the board report, printed by Chromium)."""

from __future__ import annotations

import argparse
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.report_cli import add_report_parser
from tests.sample_warehouses import sample_warehouse_once
from warehouse.access import ANALYST, PUBLIC, Access, OutOfScope, Principal, Selection
from warehouse.db import snapshot_path
from warehouse.frame import frame
from warehouse.report import board_report_html, board_report_pdf, build_report
from warehouse.report.pdf import page_count
from warehouse.study_tables import TABLES_BY_ID

REPO = Path(__file__).resolve().parent.parent
DOUBLE_CODED = REPO / "data_samples" / "double-coded"
PERIOD = "2009-11"
# A region whose public tables have many hidden cells in the sample.
SMALL_REGION = "north_east"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample_warehouse_once(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def analyst_html(warehouse: Path) -> str:
    pair = (DOUBLE_CODED / "coder_a", DOUBLE_CODED / "coder_b")
    return build_report(Access(warehouse, ANALYST), PERIOD, agreement=pair)


@pytest.fixture(scope="module")
def public_html(warehouse: Path) -> str:
    return build_report(Access(warehouse, PUBLIC), PERIOD, region=SMALL_REGION)


class _Tables(HTMLParser):
    """Each study table's rows (cell texts), keyed by the id of its ``div``."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "div" and "study-table" in (found.get("class") or ""):
            self._table = found.get("id")
            self.tables[self._table or ""] = []
        elif tag == "tr" and self._table:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def study_tables_of(html: str) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def test_every_table_2_to_20_with_the_published_comparison(analyst_html: str) -> None:
    tables = study_tables_of(analyst_html)
    assert list(tables) == list(TABLES_BY_ID)  # Tables 2, 2b, 3 ... 20, in order
    for table_id, spec in TABLES_BY_ID.items():
        assert f"Table {spec.number}: " in analyst_html
        rows = tables[table_id]
        assert len(rows) > 2, table_id
    # Table 7 beside the published 2001-03 figures: deaths 33 of 45 (73%), and its erratum.
    deaths = next(r for r in tables["t07_incident_type"] if r[0] == "Death")
    assert deaths[3:5] == ["33", "73"]
    assert "printed 23% and 5% for 10 and 2 of 45 children" in analyst_html
    # Table 16 (a grid): this selection, the published figures and the 2002 report.
    grid = [r for r in tables["t16_chapter8_compliance"] if "2002 report" in r]
    assert grid, "the 2002 report's Table 16 counts"


def test_figures_are_inline_svg_with_titles_and_text_alternatives(analyst_html: str) -> None:
    figures = re.findall(r"<figure id=\"(fig-[a-z-]+)\".*?</figure>", analyst_html, re.S)
    assert set(figures) >= {
        "fig-trend-reviews",
        "fig-trend-shares",
        "fig-trend-recommendations",
        "fig-themes",
        "fig-recommendations",
        "fig-recommendations-total",
        "fig-action-plans",
    }
    svgs = re.findall(r"<svg\b.*?</svg>", analyst_html, re.S)
    assert len(svgs) >= 6
    for svg in svgs:
        assert re.search(r'<svg [^>]*role="img"', svg)
        assert re.search(r"<title id=\"[^\"]+\">[^<]+</title><desc id=\"[^\"]+\">[^<]+</desc>", svg)
        assert "<script" not in svg
    assert analyst_html.count("<figcaption") == len(figures)
    assert "Review period" in analyst_html and "Reviews (number)" in analyst_html  # axes


def test_one_self_contained_file(analyst_html: str) -> None:
    # No stylesheet, script, image or font fetched: only links for a reader to follow.
    assert not re.search(r"<(link|script|img|iframe)\b", analyst_html)
    assert not re.search(r"\bsrc=|url\(\s*['\"]?https?:", analyst_html)
    assert re.search(r"@page\s*\{\s*size: A4", analyst_html)
    assert "break-before: page" in analyst_html


def test_cover_methods_errata_rules_and_ledger(analyst_html: str, warehouse: Path) -> None:
    from warehouse.replication import published

    assert "SYNTHETIC DATA" in analyst_html  # the sample is synthetic
    assert "Coding frame" in analyst_html and f"version {frame().version}" in analyst_html
    assert "Reviews counted" in analyst_html and "Completeness of the key fields" in analyst_html
    for erratum in published()["errata"]:
        assert erratum.split(":", 1)[1].strip().replace("'", "&#39;") in analyst_html
    assert "Analyst report: full figures" in analyst_html
    with duckdb.connect(str(snapshot_path(warehouse)), read_only=True) as con:
        ledger = con.execute(
            "SELECT submission_id, sha256 FROM submissions WHERE status = 'accepted'"
        ).fetchall()
    assert ledger
    for submission_id, sha in ledger:
        assert submission_id in analyst_html and sha in analyst_html
    # Double-coding agreement, when given: a kappa per coded column.
    assert "Double-coding agreement" in analyst_html and "Cohen's kappa" in analyst_html
    assert "author_status" in analyst_html


def test_public_report_shows_no_count_the_dashboard_hides(
    public_html: str, warehouse: Path
) -> None:
    sel = Selection(period=PERIOD, region=SMALL_REGION)
    shown = Access(warehouse, PUBLIC).study_tables(sel)
    full = Access(warehouse, ANALYST).study_tables(sel)
    assert shown["disclosure"]["hidden_cells"] > 0
    tables = study_tables_of(public_html)
    checked = 0
    for public_table, full_table in zip(shown["tables"], full["tables"], strict=True):
        if "columns" in public_table:
            continue
        rendered = {r[0]: r for r in tables[public_table["id"]]}
        for public_row, full_row in zip(public_table["rows"], full_table["rows"], strict=True):
            cells = rendered[public_row["label"]]
            number = cells[1]
            if public_row["count"] == "c":
                assert number == "c", (public_table["id"], public_row["label"])
                checked += 1
            if 1 <= full_row["count"] <= 5:  # a small count is never shown
                assert number == "c", (public_table["id"], public_row["label"])
    assert checked > 10
    assert '<th scope="col">SHA-256' not in public_html  # no ledger for the public
    assert "Public report: national and regional figures only" in public_html
    assert "c</strong> — a count from 1 to 5" in public_html


def test_board_report_has_the_board_its_region_and_england(warehouse: Path) -> None:
    board = Access(warehouse, ANALYST).boards().row(0, named=True)
    # (The analyst's: a board principal's cube of hidden cells would take seconds more.)
    html = board_report_html(Access(warehouse, ANALYST), board["board_code"], PERIOD).decode()
    assert f"{board['board_name']} beside {board['region_label']} and England" in html
    assert "3 pooled periods: 2005-07, 2007-09, 2009-11" in html
    assert "Exact 95% interval" in html and "Against England" in html
    for series in (board["board_name"], board["region_label"], "England"):
        assert re.search(rf">{re.escape(series)}</text>", html), series  # the trends' legend
    assert re.search(r"<td>(Higher|Similar|Lower|Too few to compare)</td>", html)
    # Never for the public, and never another board's for a board user.
    with pytest.raises(OutOfScope):
        board_report_html(Access(warehouse, PUBLIC), board["board_code"], PERIOD)
    other = Principal("board-user", "board", "NOT-" + board["board_code"])
    with pytest.raises(OutOfScope):
        board_report_html(Access(warehouse, other), board["board_code"], PERIOD)


def test_board_report_pdf_is_a_valid_multi_page_pdf(warehouse: Path) -> None:
    board = Access(warehouse, ANALYST).boards().row(0, named=True)["board_code"]
    pdf = board_report_pdf(Access(warehouse, ANALYST), board, PERIOD)
    assert pdf.startswith(b"%PDF-")
    assert 2 <= page_count(pdf) <= 4  # a board report: two to four pages


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="scr")
    add_report_parser(parser.add_subparsers(dest="command"))
    args: Any = parser.parse_args(argv)
    return args.func(args)


def test_cli_writes_html_quietly_and_names_valid_choices(
    warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    monkeypatch.setenv("SCR_WAREHOUSE", str(warehouse))
    out = tmp_path / "board.html"
    board = Access(warehouse, ANALYST).boards()["board_code"][0]
    code = _run(
        ["report", "--period", PERIOD, "--board", board, "--kind", "board", "--out", str(out)]
    )
    assert code == 0 and out.read_text().startswith("<!DOCTYPE html>")
    # Piped (not a terminal): no progress bar, only the line saying what was written.
    assert capsys.readouterr().err.strip() == f"wrote {out}"
    assert _run(["report", "--period", "1999-01", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--period '1999-01'" in err and "choose one of: 2001-03" in err
    assert _run(["report", "--out", str(tmp_path / "r.docx")]) == 2
    assert _run(["report", "--audience", "public", "--board", board, "--out", str(out)]) == 2
    assert "no board-level figures" in capsys.readouterr().err
    assert _run(["report", "--audience", "board", "--scope", "NOPE", "--out", str(out)]) == 2
    assert "--scope 'NOPE' is not a board in the warehouse" in capsys.readouterr().err


def test_no_chromium_is_a_plain_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    from warehouse.report.pdf import PdfError, chromium_path

    monkeypatch.delenv("SCR_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(PdfError, match="needs Chromium"):
        chromium_path()


def test_the_board_benchmark_page_offers_the_board_report(
    warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The board report a board takes to its meeting: on the Board benchmark page, for the
    chosen board, as PDF (Chromium is installed for the tests) and HTML."""
    from tests.test_dashboard import change, open_page

    monkeypatch.setenv("SCR_WAREHOUSE", str(warehouse))
    at = open_page("benchmark", period="2009-11")
    assert not [b for b in at.get("download_button") if "Board report" in str(b.proto.label)]
    board = Access(warehouse).boards().sort("reviews", descending=True)["board_code"][0]
    change(at, "board", board)
    labels = [str(b.proto.label) for b in at.get("download_button")]
    assert "Board report for a meeting (PDF)" in labels
    assert "Board report (HTML, prints the same)" in labels

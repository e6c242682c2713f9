"""Recommendations search: the whole text shown as safe Markdown with the words found
highlighted, the number of matches stated (plural-correct), and a download of every match
within the viewer's scope."""

from __future__ import annotations

import io
import re
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import search, ui
from dashboard.auth import PRINCIPAL_KEY
from tests.sample_warehouses import sample_warehouse_once
from warehouse.access import Access, OutOfScope, Selection
from warehouse.access.recommendations import search_words
from warehouse.exports import RECOMMENDATION_COLUMNS, recommendations_csv_bytes
from warehouse.principal import Principal

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
OPEN = ":orange-background["

TRICKY = [
    ("Share [domestic](http://evil.example) violence", ["domestic", "http"]),
    ("a\\b ] [ back\\slash \\\\", ["\\", "]", "["]),
    ("Mail a@b.example or www.evil.example", ["@", ".", "www"]),
    ("Training: **bold** _it_ $x$ :red[no] <img src=x>", ["training", ":", "*", "<"]),
    ("line one\nline two", ["one\nline"[:3], "two"]),
    ("no match here", ["zzz"]),
]


def _unwrap(markdown: str) -> tuple[str, list[str]]:
    """The Markdown without highlights (and their word joiners), and the highlighted pieces.
    A highlight's label ends at the first ``]`` not escaped by a backslash."""
    label = r"((?:\\.|[^\\\]])*)"
    pieces = [m.group(1) for m in re.finditer(re.escape(OPEN) + label + r"\]", markdown)]
    bare = re.sub(re.escape(OPEN) + label + r"\]", r"\1", markdown)
    return bare.replace(ui.WORD_JOINER, ""), pieces


@pytest.mark.parametrize(("text", "words"), TRICKY)
def test_highlight_is_the_escaped_text_with_only_highlights_added(
    text: str, words: list[str]
) -> None:
    shown = search.highlight(text, words)
    bare, pieces = _unwrap(shown)
    # Remove the highlights and what is left is exactly the text as ui.plain escapes it.
    assert bare == ui.plain(text).replace(ui.WORD_JOINER, "")
    # One highlight per (merged) match, each holding the matched text escaped.
    spans = search.match_spans(text, words)
    assert [p.replace(ui.WORD_JOINER, "") for p in pieces] == [
        ui.plain(text[s:e]).replace(ui.WORD_JOINER, "") for s, e in spans
    ]
    # Outside the highlight syntax every Markdown special is escaped.
    outside = re.sub(re.escape(OPEN) + r"((?:\\.|[^\\\]])*)\]", r"\1", shown)
    assert not re.search(r"(?<!\\)(?:\\\\)*[\[\]()<>*_`$!]", outside.replace("\\\\", ""))


def test_a_match_inside_an_escape_cannot_break_it() -> None:
    # A search for a backslash or a bracket matches the raw text, never the escapes.
    shown = search.highlight("x ] y", ["]"])
    assert shown == f"x {ui.WORD_JOINER}{OPEN}\\]]{ui.WORD_JOINER} y"
    assert search.highlight("a [b]", ["\\"]) == ui.plain("a [b]")  # no backslash in the text
    assert search.highlight("a\\b", ["\\"]).count(OPEN) == 1


def test_matches_any_case_and_merges_touching_words() -> None:
    assert search.match_spans("Domestic violence, DOMESTIC", ["domestic"]) == [(0, 8), (19, 27)]
    assert search.match_spans("pre-birth", ["pre", "-birth"]) == [(0, 9)]
    assert search.match_spans("abc", []) == []


def test_the_number_of_matches_is_stated_in_good_english() -> None:
    assert search.matches_sentence(1, "training") == "1 recommendation matches “training”"
    assert search.matches_sentence(0, "x") == "0 recommendations match “x”"
    assert search.matches_sentence(1234, "a[b]") == "1,234 recommendations match “a\\[b\\]”"
    assert ui.plural(1, "match", "matches") == "1 match"
    assert ui.plural(2, "match", "matches") == "2 matches"


def test_words_searched_are_the_words_highlighted() -> None:
    assert search_words("  domestic   violence ") == ["domestic", "violence"]
    assert len(search_words(" ".join("abcdefghij"))) == 8


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample_warehouse_once(tmp_path_factory.getbasetemp())


def test_the_download_holds_every_match_within_scope(sample: Path) -> None:
    national = Access(sample)
    every = national.search_recommendations(Selection(), "should", limit=None)
    listed = national.search_recommendations(Selection(), "should")
    assert every.height == every["matches"][0] > listed.height == 200
    csv = pl.read_csv(io.BytesIO(recommendations_csv_bytes(every)), infer_schema=False)
    assert csv.columns == list(RECOMMENDATION_COLUMNS.values())
    assert csv.height == every.height
    assert csv["Recommendation"].to_list()[:5] == every["text"].to_list()[:5]

    board = every["board_code"][0]
    mine = Access(sample, Principal("coder", "board", board))
    own = mine.search_recommendations(Selection(), "should", limit=None)
    assert 0 < own.height < every.height and set(own["board_code"]) == {board}
    with pytest.raises(OutOfScope):
        Access(sample, Principal("anyone", "public")).search_recommendations(
            Selection(), "should", limit=None
        )


def test_submitted_text_is_neutralised_in_the_download() -> None:
    hits = pl.DataFrame({k: ["x"] for k in RECOMMENDATION_COLUMNS}).with_columns(
        pl.lit("=HYPERLINK(1)").alias("text"), pl.lit(1).alias("rec_no")
    )
    csv = pl.read_csv(io.BytesIO(recommendations_csv_bytes(hits)), infer_schema=False)
    assert csv["Recommendation"][0] == "'=HYPERLINK(1)"


def test_the_page_lists_whole_highlighted_texts_and_offers_all(
    sample: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCR_WAREHOUSE", str(sample))
    access = Access(sample)
    period = access.periods()[-1]
    expected = access.search_recommendations(access.select(period), "training")
    matches = int(expected["matches"][0])

    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state[PRINCIPAL_KEY] = Principal("analyst", "national")
    at.run()
    at.query_params.update({"q": "training"})
    at.switch_page("views/recommendations.py").run()
    assert not at.exception and not at.error
    sources = [m.value for m in at.markdown]
    assert any(s.startswith(f"**{matches:,} recommendations match “training”**") for s in sources)
    listed = next(s for s in sources if OPEN in s)
    for text in expected["text"].to_list():
        assert search.highlight(text, ["training"]) in listed  # whole, never cut short
    labels = [b.label for b in at.get("download_button")]
    assert f"Download all {matches:,} matches (CSV)" in labels

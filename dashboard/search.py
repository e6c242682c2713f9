"""Search results as safe Markdown: the whole text, the words found highlighted.

The text is split at the matches on the raw text and each piece escaped with ``ui.plain``
on its own; only then is a matched piece wrapped in a highlight. Matching never looks at
escaped text, so a search for a backslash, a bracket or a colon cannot cut an escape in two
or close the highlight: whatever the text and the words, the result shows the text exactly
as written.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from dashboard import ui

# Streamlit's Markdown highlight (a text directive); its label is escaped text, so a "]" in
# the text is "\]" and cannot end it early.
HIGHLIGHT = ":orange-background[{}]"


def match_spans(text: str, words: Sequence[str]) -> list[tuple[int, int]]:
    """Where ``words`` occur in ``text`` (any case), as sorted (start, end) spans, overlapping
    or touching ones merged (so "domestic violence" on "domestic" and "violence" is one)."""
    found = [
        (m.start(), m.end())
        for word in words
        if word
        for m in re.finditer(re.escape(word), text, flags=re.IGNORECASE)
    ]
    merged: list[tuple[int, int]] = []
    for start, end in sorted(found):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def highlight(text: str, words: Sequence[str]) -> str:
    """``text`` as safe Markdown (``ui.plain``), every occurrence of ``words`` highlighted."""
    pieces: list[str] = []
    position = 0
    for start, end in match_spans(text, words):
        if start > position:
            pieces.append(ui.plain(text[position:start]))
        # A word joiner on each side: an escaped ":" just before the highlight cannot pair
        # with it, and no bare link can be formed across its edge.
        pieces.append(ui.WORD_JOINER + HIGHLIGHT.format(ui.plain(text[start:end])) + ui.WORD_JOINER)
        position = end
    if position < len(text):
        pieces.append(ui.plain(text[position:]))
    return "".join(pieces)


def matches_sentence(count: int, query: str) -> str:
    """ "12 recommendations match “training”" / "1 recommendation matches ...", the query
    escaped for Markdown."""
    verb = "matches" if count == 1 else "match"
    return f"{ui.plural(count, 'recommendation')} {verb} “{ui.plain(query)}”"

"""The dashboard's state: the cached data-access layer and the selection kept in the URL.

Every read goes through :class:`CachedAccess`, which caches each call of
``warehouse.access.Access`` on the snapshot version, so a newly published snapshot is picked
up on the next rerun. The sidebar filters (period, region, board) and each page's own
controls are mirrored in ``st.query_params``, so any view can be shared as a link.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from dashboard import auth
from warehouse.access import Access, OutOfScope, Selection
from warehouse.principal import Principal

ALL = "all"
GLOBAL_KEYS = ("period", "region", "board")
# Each page's own query parameters (kept in the URL while that page is open), and their
# defaults (left out of the URL, and out of the audit trail's record of a view).
PAGE_KEYS: dict[str, tuple[str, ...]] = {
    "study-tables": ("table",),
    "benchmark": ("indicator", "pool", "compare"),
    "recommendations": ("q",),
    "tracking": ("as_of",),  # the date, ISO; today is left out of the URL
}
PAGE_DEFAULTS: dict[str, str] = {
    "table": "all",
    "indicator": "under_one",
    "q": "",
    "pool": "3",  # Board benchmark: the latest three periods pooled
    "compare": "",  # Board benchmark: no second board
}
_SELECTION_KEY = "_scr_selection"
# What a shared link asked for that could not be shown, and the selection shown instead.
_LINK_NOTES_KEY = "_scr_link_notes"


@st.cache_data(show_spinner=False, max_entries=2000)
def _cached_call(
    method: str,
    warehouse: str,
    principal: Principal,
    threshold: int,
    version: str,
    args: tuple[Any, ...],
    kwargs: tuple[tuple[str, Any], ...],
) -> Any:
    # `version` is part of the cache key only: a new snapshot has a new version. The
    # principal (a frozen dataclass) is part of it too: each principal's figures are its own.
    access = Access(warehouse, principal, threshold=threshold)
    return getattr(access, method)(*args, **dict(kwargs))


class CachedAccess:
    """An Access whose data functions are cached per snapshot version.

    The version is read once per script run, so one page shows one snapshot throughout.
    """

    _UNCACHED = frozenset({"version", "has_snapshot", "connect", "select", "disclosure_note"})

    def __init__(self, access: Access) -> None:
        self.access = access
        self.version = access.version()

    @property
    def principal(self) -> Principal:
        return self.access.principal

    def disclosure_note(self) -> str | None:
        return self.access.disclosure_note()

    @property
    def comparator_label(self) -> str:
        return self.access.comparator_label

    def has_snapshot(self) -> bool:
        return self.access.has_snapshot()

    def select(
        self, period: str | None = None, region: str | None = None, board: str | None = None
    ) -> Selection:
        return self.access.select(period, region, board)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        attr = getattr(self.access, name)
        if name.startswith("_") or name in self._UNCACHED or not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            return _cached_call(
                name,
                str(self.access.warehouse),
                self.access.principal,
                self.access.threshold,
                self.version,
                args,
                tuple(sorted(kwargs.items())),
            )

        return call


_ACCESS_KEY = "_scr_access"


def get_access(*, fresh: bool = False) -> CachedAccess:
    """This run's data access. The entry script asks for a fresh one at the start of every
    run; the page then gets the same one, so sidebar and page read the same snapshot."""
    if fresh or _ACCESS_KEY not in st.session_state:
        st.session_state[_ACCESS_KEY] = CachedAccess(Access(principal=auth.current_principal()))
    return st.session_state[_ACCESS_KEY]


# --- URL-synced controls ------------------------------------------------------------------

# A shared link naming a region or board the principal may not see gets this, never data.
# The value itself is not echoed back: the link is the visitor's own, and repeating it would
# only confirm or deny what exists outside the scope.
REFUSED_LINK = {
    "region": "The region named in this link is not in your scope.",
    "board": "The board named in this link is not in your scope.",
}


def _refuse_out_of_scope(access: CachedAccess, key: str) -> Callable[[str], None]:
    """A check for a URL value the sidebar does not offer: OutOfScope when the read layer
    refuses it for this principal; otherwise the value is simply not in the data."""

    def check(value: str) -> None:
        try:
            access.select(**{key: value})
        except OutOfScope:
            raise OutOfScope(REFUSED_LINK[key]) from None

    return check


def _seed(
    key: str,
    options: Sequence[str],
    default: str,
    *,
    refuse: Callable[[str], None] | None = None,
) -> str | None:
    """Give a widget its first value from the URL, and repair a value no longer offered.

    A URL value that is not offered is replaced by the default, and returned so the caller
    can say so (an old link, a typo); ``refuse`` raises OutOfScope when it is something this
    principal may not see, so the visitor is told instead of shown another view.
    """
    if key not in st.session_state:
        wanted = st.query_params.get(key)
        if wanted is not None and wanted not in options and refuse is not None:
            refuse(wanted)
        st.session_state[key] = wanted if wanted in options else default
        return wanted if wanted is not None and wanted not in options else None
    if st.session_state[key] not in options:
        st.session_state[key] = default
    return None


def page_select(
    label: str,
    key: str,
    options: Sequence[str],
    labels: dict[str, str],
    default: str | None = None,
    *,
    where: Any = None,
    help: str | None = None,
) -> str:
    """A page's own selectbox, seeded from and written back to the URL under ``key``. A
    link's value that is not one of the options is named, with the option shown instead,
    until the visitor chooses."""
    default = default if default is not None else options[0]
    rejected = _seed(key, options, default)
    note_key = f"_scr_link_note_{key}"
    if rejected is not None:
        st.session_state[note_key] = (
            f"This link asks for {label.lower()} {_shown(rejected)}, which is not one of the "
            f"choices here: showing {_shown(labels.get(default, default))} instead."
        )
    container = where if where is not None else st
    if note_key in st.session_state:
        if st.session_state[key] == default:
            container.warning(st.session_state[note_key], icon=":material/link_off:")
        else:
            del st.session_state[note_key]
    value = container.selectbox(
        label, list(options), key=key, format_func=lambda c: labels.get(c, c), help=help
    )
    _set_param(key, value, default=default)
    return str(value)


def page_text(label: str, key: str, *, placeholder: str = "", help: str | None = None) -> str:
    """A page's own text box, seeded from and written back to the URL under ``key``."""
    if key not in st.session_state:
        st.session_state[key] = st.query_params.get(key, "")
    value = st.text_input(label, key=key, placeholder=placeholder, help=help) or ""
    _set_param(key, value.strip(), default="")
    return value.strip()


def page_params(page_path: str) -> dict[str, str]:
    """The page's own controls as they stand for this run (for the audit trail): the
    widget's value once it has one, else what the URL asks for."""
    values = {}
    for key in PAGE_KEYS.get(page_path, ()):
        value = str(st.session_state.get(key, st.query_params.get(key)) or "").strip()
        if value and value != PAGE_DEFAULTS.get(key):
            values[key] = value
    return values


def _set_param(key: str, value: str, default: str | None) -> None:
    if value == default:
        if key in st.query_params:
            del st.query_params[key]
    elif st.query_params.get(key) != value:
        st.query_params[key] = value


def _shown(value: str, limit: int = 40) -> str:
    """A value from a link as a message quotes it: short, and Markdown-safe (``ui.plain``)."""
    from dashboard.ui import plain

    text = value if len(value) <= limit else value[: limit - 3] + "..."
    return plain(text)


def _link_notes(access: CachedAccess, periods: list[str], regions: Any, boards: Any) -> list[str]:
    """What the link asks for that cannot be shown, each with what is shown instead: an
    unknown period, a region with no reviews (or no region code), an unknown board, or a
    board with no review in the link's region. Read before the widgets are seeded, from the
    URL only (never on later runs). Values outside the principal's scope never get here:
    they are refused (OutOfScope) without being named."""
    notes: list[str] = []
    wanted = {k: st.query_params.get(k) for k in GLOBAL_KEYS if k not in st.session_state}
    period, region, board = (wanted.get(k) for k in GLOBAL_KEYS)
    if period not in (None, ALL) and period not in periods:
        instead = f"the latest period, {periods[-1]}" if periods else "all periods"
        notes.append(
            f"This link asks for period {_shown(period)}, which has no reviews "
            f"(periods: {', '.join(periods) or 'none'}): showing {instead} instead."
        )
    region_labels = dict(zip(regions["region"], regions["label"], strict=True))
    if region not in (None, ALL) and region not in region_labels:
        notes.append(
            f"This link asks for region {_shown(region)}, which has no reviews or is not a "
            f"region code: showing {access.comparator_label} (all regions) instead."
        )
        region = ALL
    if board not in (None, ALL):
        names = dict(zip(boards["board_code"], boards["board_name"], strict=True))
        region_of = dict(zip(boards["board_code"], boards["region"], strict=True))
        if board not in names:
            notes.append(
                f"This link asks for board {_shown(board)}, which is not in the data: "
                "showing all boards instead."
            )
        elif region not in (None, ALL) and region_of.get(board) != region:
            home = region_labels.get(region_of.get(board), "no stated region")
            notes.append(
                f"This link asks for board {_shown(board)} ({_shown(names[board])}) in "
                f"{region_labels[region]}, but the board is in {home}: showing all boards in "
                f"{region_labels[region]} instead."
            )
    return notes


def link_notes() -> list[str]:
    """The notes on this session's shared link, while the selection is still the one shown
    in its place (they go once the visitor chooses something else)."""
    kept = st.session_state.get(_LINK_NOTES_KEY)
    if not kept:
        return []
    notes, shown = kept
    if shown != selection():
        del st.session_state[_LINK_NOTES_KEY]
        return []
    return list(notes)


def _reset_board_if_elsewhere(region_of: dict[str, str]) -> None:
    board, region = st.session_state.get("board", ALL), st.session_state.get("region", ALL)
    if board != ALL and region != ALL and region_of.get(board) != region:
        st.session_state["board"] = ALL


def board_option(name: str | None, code: str) -> str:
    """ "Name (CODE)", or the code alone for a board known only by its code (notified, no
    review loaded yet)."""
    return code if name in (None, code) else f"{name} ({code})"


def _board_options(boards: Any, region: str) -> list[str]:
    in_region = boards if region == ALL else boards.filter(boards["region"] == region)
    return [ALL, *in_region["board_code"].to_list()]


def resolve_selection(access: CachedAccess) -> Selection:
    """This run's period, region and board, from the widgets or the URL, before anything is
    drawn: the catalogs the read layer offers this principal decide what may be chosen, and
    a link naming something outside the scope raises OutOfScope (shown, with no data)."""
    # A link's region and board are checked first: refusing them reads nothing else.
    for key in ("region", "board"):
        wanted = st.query_params.get(key)
        if key not in st.session_state and wanted not in (None, ALL):
            _refuse_out_of_scope(access, key)(wanted)
    periods = access.periods()
    regions = access.regions()
    boards = access.choosable_boards()
    notes = _link_notes(access, periods, regions, boards)
    _seed("period", [*reversed(periods), ALL], periods[-1] if periods else ALL)
    region_options = [ALL, *regions["region"].to_list()]
    _seed("region", region_options, ALL, refuse=_refuse_out_of_scope(access, "region"))
    _seed(
        "board",
        _board_options(boards, st.session_state["region"]),
        ALL,
        refuse=_refuse_out_of_scope(access, "board"),
    )
    period, region, board = (st.session_state[k] for k in GLOBAL_KEYS)
    selection = access.select(
        None if period == ALL else period,
        None if region == ALL else region,
        None if board == ALL else board,
    )
    st.session_state[_SELECTION_KEY] = selection
    if notes:
        st.session_state[_LINK_NOTES_KEY] = (notes, selection)
    return selection


def sidebar_filters(access: CachedAccess, page_path: str) -> Selection:
    """The period, region and board selectors (seeded by :func:`resolve_selection`), synced
    both ways with the URL."""
    periods = access.periods()
    regions = access.regions()
    boards = access.choosable_boards()
    region_labels = dict(zip(regions["region"], regions["label"], strict=True))
    region_of = dict(zip(boards["board_code"], boards["region"], strict=True))
    board_names = dict(zip(boards["board_code"], boards["board_name"], strict=True))

    # Option labels are plain text in a selectbox: a board name is never read as Markdown.
    st.sidebar.selectbox(
        "Period",
        [*reversed(periods), ALL],
        key="period",
        format_func=lambda p: "All periods" if p == ALL else p,
        help="Two-year analysis period, April to March (2001-03 = April 2001 to March 2003).",
    )
    st.sidebar.selectbox(
        "Region",
        [ALL, *regions["region"].to_list()],
        key="region",
        format_func=lambda r: (
            f"{access.comparator_label} (all regions)" if r == ALL else region_labels.get(r, r)
        ),
        on_change=_reset_board_if_elsewhere,
        args=(region_of,),
        help="Government office region (Central is the former SSI region, 2001-03 only).",
    )
    st.sidebar.selectbox(
        "Board",
        _board_options(boards, st.session_state["region"]),
        key="board",
        format_func=lambda b: "All boards" if b == ALL else board_option(board_names.get(b), b),
        help="Local safeguarding board (ACPC/LSCB). Type to search.",
    )
    period, region, board = (st.session_state[k] for k in GLOBAL_KEYS)
    wanted = {"period": period}
    if region != ALL:
        wanted["region"] = region
    if board != ALL:
        wanted["board"] = board
    for key in PAGE_KEYS.get(page_path, ()):
        if key in st.query_params:
            wanted[key] = st.query_params[key]
    if dict(st.query_params.to_dict()) != wanted:
        st.query_params.from_dict(wanted)
    return selection()


def selection() -> Selection:
    """The selection the sidebar built in this run (every page reads it from here)."""
    return st.session_state.get(_SELECTION_KEY, Selection())


def selection_detail() -> dict[str, str | None]:
    """The selection as the audit trail records it (views and downloads alike)."""
    sel = selection()
    return {"period": sel.period, "region": sel.region, "board": sel.board}

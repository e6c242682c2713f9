"""Small presentation helpers shared by the pages: plain text, banner, headers, number
formats."""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import streamlit as st

from dashboard import auth, state
from dashboard.state import CachedAccess
from warehouse import audit, numbers
from warehouse.access import INDICATORS, INDICATORS_BY_KEY, OutOfScope, Selection
from warehouse.disclosure import SYMBOL
from warehouse.numbers import DASH
from warehouse.principal import Principal

# Every ASCII punctuation character may be backslash-escaped in CommonMark, and escaped it is
# only itself: no link, image, emphasis, heading, HTML tag or entity, LaTeX ($) or Streamlit
# directive (:red[...], :material/...:) can start from it.
_MARKDOWN_SPECIALS = re.compile(r"([!-/:-@\\[-`{-~])")
# GFM also turns bare URLs and e-mail addresses into links, escaped or not ("http\\:\\/\\/x"
# still becomes one): a word joiner (invisible) inside "://", "www." and before "@" stops it.
_AUTOLINK_TRIGGERS = re.compile(r"(?i)(?<=:)(?=//)|(?<=www)(?=\.)|(?=@)")
WORD_JOINER = "\u2060"
_LINE_BREAKS = re.compile(r"[\r\n\t\v\f\u2028\u2029]+")


def plain(text: object) -> str:
    """``text`` made safe to put inside Markdown (a title, caption, message, label): shown
    exactly as written, on one line, never as a link, image, HTML or formatting.

    Use it for anything that came from a submission or a URL: board names, recommendation
    text, review ids, file names, submitters, the search words, any selected value.
    """
    one_line = _LINE_BREAKS.sub(" ", str(text))
    unlinked = _AUTOLINK_TRIGGERS.sub(WORD_JOINER, one_line)
    return _MARKDOWN_SPECIALS.sub(r"\\\1", unlinked)


@contextlib.contextmanager
def unless_refused() -> Iterator[None]:
    """Run a section; if the read layer refuses it for this viewer, say so plainly instead.

    The read layer decides (it raises OutOfScope); the view only explains.
    """
    try:
        yield
    except OutOfScope as refusal:
        st.info(plain(str(refusal)), icon=":material/lock:")


def recorded_download(
    make: Callable[[], bytes | str],
    warehouse: Path,
    principal: Principal,
    detail: dict[str, Any],
) -> Callable[[], bytes | str]:
    """``make``, preceded by writing the download to the audit trail: Streamlit calls it
    when the button is clicked, so the file is recorded before its bytes leave the server
    (and is not sent at all if the trail cannot be written)."""

    def data() -> bytes | str:
        audit.record(warehouse, principal, "download", detail)
        return make()

    return data


def download_button(
    where: Any,
    label: str,
    make: Callable[[], bytes | str],
    *,
    file_name: str,
    mime: str,
    **kwargs: Any,
) -> None:
    """A download button whose file is built on click and recorded in the audit trail
    (who, which file, for which selection). ``make`` must return bytes from
    ``warehouse.safe_output`` or the read layer's exporters, which neutralise formulas."""
    detail = {"file": file_name, **state.selection_detail()}
    access = state.get_access()
    data = recorded_download(make, access.access.warehouse, auth.current_principal(), detail)
    # "ignore": a download needs no rerun, and a rerun racing the deferred file can lose it.
    where.download_button(label, data, file_name=file_name, mime=mime, on_click="ignore", **kwargs)


def synthetic_banner(access: CachedAccess) -> None:
    """Say plainly, on every page, when what is shown is synthetic sample data."""
    info = access.provenance()
    if info["reviews"] and info["synthetic"] == info["reviews"]:
        st.warning(
            "**Synthetic sample data.** Every review, child, board and recommendation shown "
            "here is invented by the project's sample generator (`data_samples/`): "
            "none of it describes a real serious case review.",
            icon=":material/science:",
        )
    elif info["synthetic"] or info["synthetic"] is None:
        # (a count the viewer may not see is None: the warning stays, without it)
        counts = (
            f"{info['synthetic']} of {info['reviews']} reviews come"
            if info["synthetic"] is not None and info["reviews"] is not None
            else "Some reviews come"
        )
        st.warning(
            f"**Includes synthetic sample data:** {counts} from the synthetic sample boards "
            "(codes SYN...), not real reviews.",
            icon=":material/science:",
        )


def snapshot_caption(access: CachedAccess) -> None:
    info = access.provenance()
    reviews = f", {info['reviews']:,} reviews" if info["reviews"] is not None else ""
    st.sidebar.caption(
        f"Published snapshot of {info['published']:%d %b %Y %H:%M} UTC{reviews}. "
        "Figures refresh when a new snapshot is published."
    )


def page_header(title: str, access: CachedAccess, sel: Selection, what: str = "") -> None:
    st.title(title)
    period = sel.period or "all periods"
    st.caption(f"{plain(access.describe(sel))} · {plain(period)}" + (f" · {what}" if what else ""))


# Tile labels short enough for a narrow metric; the full label and definition go in its help.
SHORT_LABELS = {
    "reviews": "Reviews",
    "children": "Children",
    "under_one": "Under one",
    "age_11_plus": "Aged 11+",
    "deaths": "Deaths",
    "on_register": "On register/plan",
    "ethnicity_not_recorded": "Ethnicity n/k",
    "independent_author": "Indep. author",
    "median_months": "Median months",
    "genogram": "Genogram",
    "chronology": "Chronology",
    "recs_per_review": "Per review",
    "procedures": "On procedures",
}


def pct(value: float | None, digits: int = 0) -> str:
    """A proportion as a percent, rounded half up (the one rounding rule): 0.625 is 63%."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return DASH
    if digits == 0:
        return numbers.percent_text(value)
    return f"{numbers.round_half_up(100 * value, digits):.{digits}f}%"


def plural(count: int | None, word: str, many: str | None = None) -> str:
    """ "1 board", "2 boards", "1,234 reviews" (``many`` for an irregular plural)."""
    if count is None:
        return f"{SYMBOL} {many or word + 's'}"
    return f"{count:,} {word if count == 1 else many or word + 's'}"


def _decimal(value: float, digits: int) -> float:
    rounded = numbers.round_half_up(value, digits)
    return 0.0 if rounded is None else rounded


def fmt_indicator(key: str, value: float | None, suppressed: bool = False) -> str:
    """An indicator's value as people read it: 29%, 11 months, 16.3, 1,234; ``c`` when the
    read layer hid it (a suppressed row's missing value), a dash when there is none. Every
    figure rounds half up (warehouse.numbers)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return SYMBOL if suppressed else DASH
    kind = INDICATORS_BY_KEY[key].kind
    if kind == "share":
        return pct(value)
    if kind == "median":
        return f"{_decimal(value, 1):.1f} months".replace(".0 months", " months")
    if kind == "mean":
        return f"{_decimal(value, 1):.1f}"
    return f"{int(_decimal(value, 0)):,}"


def display_value(key: str, value: float | None) -> float | None:
    """Shares in percent, everything else as is (what charts plot)."""
    if value is None:
        return None
    return 100 * value if INDICATORS_BY_KEY[key].kind == "share" else value


def delta_text(key: str, value: float | None, previous: float | None) -> str | None:
    """The change since the previous period, in percentage points for shares (half up)."""
    if value is None or previous is None:
        return None
    kind = INDICATORS_BY_KEY[key].kind
    if kind == "share":
        return numbers.points_text(value - previous)
    if kind == "count":
        return f"{int(_decimal(value - previous, 0)):+,}"
    return f"{_decimal(value - previous, 1):+.1f}"


# Each indicator's kind and the unit its chart axis is titled with.
_KINDS = {i.key: i.kind for i in INDICATORS}
_UNITS = {
    i.key: {
        "share": f"% of {getattr(i, 'unit', '') or 'cases'}",
        "count": (getattr(i, "unit", "") or "cases").capitalize(),
        "median": "Months",
    }.get(i.kind, i.label)
    for i in INDICATORS
}


def thousands(value: pl.Expr) -> pl.Expr:
    """A whole-number column as text with thousands separators (1,234,567), vectorised."""
    v = value.cast(pl.Int64)
    sign = pl.when(v < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    a = v.abs()
    millions, thousands_, units = a // 1_000_000, (a // 1000) % 1000, a % 1000
    pad = lambda e: e.cast(pl.String).str.zfill(3)  # noqa: E731
    return pl.concat_str(
        sign,
        pl.when(a >= 1_000_000)
        .then(pl.format("{},{},{}", millions, pad(thousands_), pad(units)))
        .when(a >= 1000)
        .then(pl.format("{},{}", thousands_, pad(units)))
        .otherwise(units.cast(pl.String)),
    )


def one_decimal(value: pl.Expr) -> pl.Expr:
    """A column to one decimal place (half up) as text, built from whole tenths so that no
    binary tail shows (2.3, never 2.3000000000000003)."""
    tenths = numbers.round_half_up_expr(value * 10, 0).cast(pl.Int64)
    sign = pl.when(tenths < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.format("{}{}.{}", sign, tenths.abs() // 10, tenths.abs() % 10)


def indicator_text(
    value: str = "value", indicator: str = "indicator", flag: str = "suppressed"
) -> pl.Expr:
    """``fmt_indicator`` in polars, for a long frame of indicators (one per row)."""
    v = pl.col(value)
    kind = pl.col(indicator).replace_strict(_KINDS, default="count")
    # One decimal place from whole tenths (integers), so no binary tail (2.3000000000000003).
    tenths = numbers.round_half_up_expr(v * 10, 0).cast(pl.Int64)
    sign = pl.when(tenths < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    units, tenth = tenths.abs() // 10, tenths.abs() % 10
    decimal = pl.format("{}{}.{}", sign, units, tenth)
    text = (
        pl.when(kind == "share")
        .then(pl.format("{}%", numbers.percent_expr(v)))
        .when(kind == "median")
        .then(
            pl.when(tenth == 0)
            .then(pl.format("{}{} months", sign, units))
            .otherwise(pl.format("{} months", decimal))
        )
        .when(kind == "mean")
        .then(decimal)
        .otherwise(thousands(numbers.round_half_up_expr(v, 0)))
    )
    hidden = pl.col(flag).fill_null(False) if flag else pl.lit(False)
    return (
        pl.when(v.is_null() & hidden)
        .then(pl.lit(SYMBOL))
        .when(v.is_null())
        .then(pl.lit(DASH))
        .otherwise(text)
    )


def indicator_shown(value: str = "value", indicator: str = "indicator") -> pl.Expr:
    """``display_value`` in polars: shares in percent (as plotted), the rest as they are."""
    kind = pl.col(indicator).replace_strict(_KINDS, default="count")
    return pl.when(kind == "share").then(pl.col(value) * 100).otherwise(pl.col(value))


def indicator_number(value: str = "value", indicator: str = "indicator") -> pl.Expr:
    """An indicator's value as the number a table shows: shares as whole percents (half
    up, shown with "%d%%"), means and medians to one decimal place, counts whole."""
    kind = pl.col(indicator).replace_strict(_KINDS, default="count")
    v = pl.col(value)
    return (
        pl.when(kind == "share")
        .then(numbers.percent_expr(v).cast(pl.Float64))
        .when(kind == "count")
        .then(numbers.round_half_up_expr(v, 0))
        .otherwise(numbers.round_half_up_expr(v, 1))
    )


def indicator_column(key: str, label: str | None = None) -> Any:
    """The column_config of one indicator as ``indicator_number`` gives it."""
    ind = INDICATORS_BY_KEY[key]
    formats = {"share": "%d%%", "count": "%d"}
    return st.column_config.NumberColumn(
        (label or ind.label) + (" %" if ind.kind == "share" else ""),
        format=formats.get(ind.kind, "%.1f"),
        help=ind.definition,
    )


# --- hidden figures (disclosure control) ------------------------------------------------
# The read layer returns a hidden figure as null on a row whose ``suppressed`` is True. It is
# shown as c, never as a blank (which reads as zero or as missing), and the note explaining c
# is shown wherever one appears.


def any_hidden(*frames: pl.DataFrame) -> bool:
    """Whether any of these frames has a figure hidden by disclosure control."""
    return any(
        "suppressed" in f.columns and bool(f["suppressed"].fill_null(False).any()) for f in frames
    )


def disclosure_note(access: CachedAccess, *frames: pl.DataFrame) -> None:
    """The note explaining c, under a table or chart whose frames hide a figure."""
    note = access.disclosure_note()
    if note and any_hidden(*frames):
        st.caption(note)


def figure_text(column: str, kind: str, flag: str = "suppressed") -> pl.Expr:
    """``column`` as text: c where hidden (null on a row whose ``flag`` is True), a dash where
    there is no figure, else formatted by ``kind`` (pct: a proportion as 29%; int; dec)."""
    value = pl.col(column)
    if kind == "pct":
        text = pl.format("{}%", numbers.percent_expr(value))
    elif kind == "dec":
        text = one_decimal(value)
    else:
        text = numbers.round_half_up_expr(value, 0).cast(pl.Int64).cast(pl.String)
    hidden = value.is_null() & pl.col(flag).fill_null(False)
    return (
        pl.when(hidden)
        .then(pl.lit(SYMBOL))
        .when(value.is_null())
        .then(pl.lit(DASH))
        .otherwise(text)
        .alias(column)
    )


def figure_columns(
    df: pl.DataFrame, specs: dict[str, tuple[str, str, str | None]]
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """The frame and its column_config for the figure columns ``specs`` (name: label, kind
    pct/int/dec, help). Numbers as they are when nothing is hidden; otherwise every figure
    column as text, so a hidden one shows c. ``pct`` columns hold proportions; they are
    shown as whole percents rounded half up here (never by a "%.0f" format)."""
    if not any_hidden(df):
        formats = {"pct": "%d%%", "int": "%d", "dec": "%.1f"}
        rounding = {
            "pct": lambda c: numbers.percent_expr(pl.col(c)),
            "int": lambda c: numbers.round_half_up_expr(pl.col(c), 0).cast(pl.Int64),
            "dec": lambda c: numbers.round_half_up_expr(pl.col(c), 1),
        }
        shown = df.with_columns(rounding[kind](c).alias(c) for c, (_, kind, _) in specs.items())
        config = {
            c: st.column_config.NumberColumn(label, format=formats[kind], help=help)
            for c, (label, kind, help) in specs.items()
        }
        return shown, config
    shown = df.with_columns(figure_text(c, kind) for c, (_, kind, _) in specs.items())
    config = {
        c: st.column_config.TextColumn(label, help=help) for c, (label, kind, help) in specs.items()
    }
    return shown, config


def empty_note(what: str = "reviews") -> None:
    st.info(f"No {what} in this selection. Choose another period, region or board.")


def table(
    df: Any, column_config: dict[str, Any] | None = None, *, max_rows: int = 25, **kwargs: Any
) -> None:
    """A tidy table: no index, full width, a dash for blanks, tall enough for its rows
    (scrolling only past ``max_rows``)."""
    # (a pandas Styler, for shaded rows, holds its frame in ``data``)
    rows = getattr(df, "height", None) or len(getattr(df, "data", df))
    st.dataframe(
        df,
        hide_index=True,
        width="stretch",
        height="content" if rows <= max_rows else 36 * max_rows,
        placeholder="–",
        column_config=column_config,
        **kwargs,
    )


def column_formats(**formats: Any) -> dict[str, Any]:
    """st.dataframe column_config from name=(label, kind) pairs. A ``pct`` column must hold
    whole percents already rounded half up (``numbers.percent_expr``): it is shown "%d%%"."""
    config: dict[str, Any] = {}
    for name, (label, kind) in formats.items():
        if kind == "pct":
            config[name] = st.column_config.NumberColumn(label, format="%d%%")
        elif kind == "int":
            config[name] = st.column_config.NumberColumn(label, format="%d")
        elif kind == "dec":
            config[name] = st.column_config.NumberColumn(label, format="%.1f")
        else:
            config[name] = st.column_config.TextColumn(label)
    return config


def trend_frame(trends: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """The trends of ``keys`` (in that order) ready for ``charts.trend_grid``: the value as
    plotted (shares in %), as read (``text``), and each panel's title. Counts (reviews,
    children) are kept for the selection only."""
    order = {k: i for i, k in enumerate(keys)}
    titles = {
        k: INDICATORS_BY_KEY[k].label + (" (%)" if INDICATORS_BY_KEY[k].kind == "share" else "")
        for k in keys
    }
    # A region's or board's count beside England's says nothing: counts show the selection alone.
    wanted = pl.col("indicator").is_in(keys) & (
        (pl.col("kind") != "count") | (pl.col("series_order") == 0)
    )
    return trends.filter(wanted).with_columns(
        indicator_shown().alias("shown"),
        indicator_text().alias("text"),
        pl.col("indicator").replace_strict(order).alias("order"),
        pl.col("indicator").replace_strict(titles).alias("title"),
        pl.col("indicator").replace_strict(_UNITS, default="Value").alias("unit"),
    )


def chart(figure: Any, *, where: Any = None, width: Any = "stretch") -> None:
    """Show an Altair chart; its spec's ``description`` (every chart of ``charts`` has one)
    is its text alternative, the accessible name Streamlit gives it."""
    (where or st).altair_chart(figure, width=width)


def trend_grid(plot: pl.DataFrame, panel_width: int = 250, height: int = 120) -> None:
    """``trend_frame``'s panels as small charts side by side that wrap onto new rows when
    the window is narrow: three fit the page at 1280 px, fewer on a narrower one. A line
    says once which colour and shape is which series, for every panel."""
    from dashboard import charts

    series, colours, shapes = charts.series_scales(plot)
    marks = {"circle": "●", "triangle-up": "▲", "square": "■"}
    names = dict(zip(charts.SERIES_COLOURS, ("blue", "orange", "grey"), strict=True))
    if len(series) > 1:
        st.caption(
            "Lines: "
            + " · ".join(
                f"{marks[shape]} {plain(name)} ({names[colour]})"
                for name, colour, shape in zip(series, colours, shapes, strict=True)
            )
        )
    with st.container(horizontal=True, gap="small"):
        for _, panel in plot.sort("order").group_by("order", maintain_order=True):
            figure = charts.trend_panel(panel, height=height, width=panel_width - 70)
            st.altair_chart(figure, width="content")

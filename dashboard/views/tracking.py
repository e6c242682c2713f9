"""Tracking: every notification from notification to implemented action plan, as of a date
(issue 11). The funnel of stages reached, the overdue list (signed-in users, boards in scope
only; the public sees the overdue counts for England and the regions), timeliness with exact
intervals, action points against their due dates and the implementation curve.

Every figure comes from ``warehouse.access.tracking`` (``warehouse.tracking``'s definitions,
within the viewer's scope and under disclosure control); this page only lays them out. The
date lives in the URL (``as_of``, ISO) unless it is today."""

from __future__ import annotations

from datetime import date

import polars as pl
import streamlit as st

from dashboard import charts, state, ui
from warehouse import stats
from warehouse.disclosure import SYMBOL
from warehouse.frame import frame
from warehouse.numbers import DASH
from warehouse.safe_output import csv_bytes
from warehouse.tracking import OVERDUE_KINDS, OVERDUE_LABELS, period_range

AS_OF = "as_of"
EARLIEST = date(2000, 1, 1)
_NOTE_KEY = "_scr_link_note_as_of"

access = state.get_access()
sel = state.selection()
comparator = access.comparator_label
today = date.today()


def as_of_control() -> date:
    """The "as of" date: seeded from the URL (a date that is not one, or is outside
    EARLIEST..today, is named and today shown instead), written back unless it is today."""
    if AS_OF not in st.session_state:
        wanted = st.query_params.get(AS_OF)
        value = today
        if wanted:
            try:
                parsed: date | None = date.fromisoformat(wanted)
            except ValueError:
                parsed = None
            if parsed is not None and EARLIEST <= parsed <= today:
                value = parsed
            else:
                shown = ui.plain(wanted if len(wanted) <= 40 else wanted[:37] + "...")
                st.session_state[_NOTE_KEY] = (
                    f"This link asks for the date {shown}, which is not a date from "
                    f"{EARLIEST.isoformat()} to today: showing today instead."
                )
        st.session_state[AS_OF] = value
    if _NOTE_KEY in st.session_state:
        if st.session_state[AS_OF] == today:
            st.warning(st.session_state[_NOTE_KEY], icon=":material/link_off:")
        else:
            del st.session_state[_NOTE_KEY]
    chosen = st.date_input(
        "As of",
        key=AS_OF,
        min_value=EARLIEST,
        max_value=today,
        format="YYYY-MM-DD",
        help="Only what was dated on or before this day counts: the state of every case "
        "on that day, reproducible later.",
    )
    value = chosen if isinstance(chosen, date) else today
    if value == today:
        if AS_OF in st.query_params:
            del st.query_params[AS_OF]
    elif st.query_params.get(AS_OF) != value.isoformat():
        st.query_params[AS_OF] = value.isoformat()
    return value


def day_text(d: date) -> str:
    return f"{d.day} {d:%B %Y}"


# The title and the caption go first, though they follow from the date chosen below them.
top = st.container()
as_of = as_of_control()
name = ui.plain(access.describe(sel)) + (f" ({ui.plain(sel.board)})" if sel.board else "")
top.title(f"{name} · {sel.period or 'all periods'} · as of {day_text(as_of)}")
if sel.period:
    start, end = period_range(sel.period)
    notified = f"notifications dated {day_text(start)} to {day_text(end)}"
else:
    notified = "every notification"
top.caption(
    f"Tracking: {notified}, from notification to implemented action plan, as of "
    f"{day_text(as_of)}. The board decides within one month of the notification whether to "
    "hold a review; the review is completed within four months of the decision unless "
    "another date is agreed; the action plan is due one month after the report."
)

regions = access.regions()
boards = access.boards()  # boards named by a review (a board only notified is shown by its code)
REGION_LABELS = dict(zip(regions["region"], regions["label"], strict=True))
BOARD_NAMES = dict(zip(boards["board_code"], boards["board_name"], strict=True))


def area_label() -> pl.Expr:
    """England, the region's name, or the board's name with its code (boards in scope)."""
    region = pl.col("region").replace_strict(REGION_LABELS, default=pl.col("region"))
    return (
        pl.when(pl.col("level") == "england")
        .then(pl.lit(comparator))
        .when(pl.col("level") == "region")
        .then(region)
        .otherwise(board_label())
        .alias("Area")
    )


def board_label() -> pl.Expr:
    """A board's name with its code; its code alone when it has no review naming it yet
    (a board with notifications only)."""
    name = pl.col("board_code").replace_strict(BOARD_NAMES, default=None, return_dtype=pl.String)
    return (
        pl.when(name.is_not_null())
        .then(pl.format("{} ({})", name, pl.col("board_code")))
        .otherwise(pl.col("board_code"))
    )


def in_order(df: pl.DataFrame) -> pl.DataFrame:
    """England first, then the regions, then the boards, each by name (with ``Area``)."""
    rank = pl.col("level").replace_strict({"england": 0, "region": 1}, default=2)
    return df.with_columns(area_label()).sort(rank, "Area", maintain_order=True)


def own_rows(df: pl.DataFrame) -> pl.DataFrame:
    """The selection's own rows: the board's, the region's, or England's."""
    if sel.board is not None:
        return df.filter((pl.col("level") == "board") & (pl.col("board_code") == sel.board))
    if sel.region is not None:
        return df.filter((pl.col("level") == "region") & (pl.col("region") == sel.region))
    return df.filter(pl.col("level") == "england")


def count_text(column: str) -> pl.Expr:
    """A count as text: c where hidden, a dash where there is none."""
    value = pl.col(column)
    return (
        pl.when(value.is_null() & pl.col("suppressed").fill_null(False))
        .then(pl.lit(SYMBOL))
        .when(value.is_null())
        .then(pl.lit(DASH))
        .otherwise(value.cast(pl.Int64).cast(pl.String))
    )


def share_text(k: str = "k", n: str = "n") -> pl.Expr:
    """'81% (382 of 469)' (the percent as the read layer rounded it, half up); c where a
    count is hidden; "no cases" when there are none."""
    hidden = (pl.col(k).is_null() | pl.col(n).is_null()) & pl.col("suppressed").fill_null(False)
    return (
        pl.when(hidden)
        .then(pl.lit(SYMBOL))
        .when(pl.col(n).fill_null(0) == 0)
        .then(pl.lit("no cases"))
        .otherwise(pl.format("{}% ({} of {})", pl.col("percent"), pl.col(k), pl.col(n)))
    )


def interval_text() -> pl.Expr:
    """The exact 95% interval as '78% to 85%'; c where hidden, a dash where there is none."""
    return (
        pl.when(pl.col("ci_low").is_null() & pl.col("suppressed").fill_null(False))
        .then(pl.lit(SYMBOL))
        .when(pl.col("ci_low").is_null())
        .then(pl.lit(DASH))
        .otherwise(pl.format("{}% to {}%", pl.col("ci_low_percent"), pl.col("ci_high_percent")))
    )


def with_comparison(df: pl.DataFrame) -> pl.DataFrame:
    """Each region's and board's k of n against England's share, as the Board benchmark
    compares (exact funnel limits: Higher, Similar, Lower, or too few to compare)."""
    england = df.filter(pl.col("level") == "england")["share"].drop_nulls()
    p0 = float(england[0]) if england.len() else None
    compared = stats.compare_arrays(
        df["k"].cast(pl.Float64).fill_null(float("nan")).to_numpy(),
        df["n"].cast(pl.Float64).fill_null(float("nan")).to_numpy(),
        p0,
    )
    return df.with_columns(
        pl.when(pl.col("level") == "england")
        .then(pl.lit(DASH))
        .otherwise(pl.Series(compared.astype(str).tolist(), dtype=pl.String))
        .alias(f"Compared with {comparator}")
    )


def level_name() -> pl.Expr:
    return pl.col("level").replace_strict(
        {"england": "Country", "region": "Region", "board": "Board"}, default=pl.col("level")
    )


# --- the funnel -----------------------------------------------------------------------------

st.subheader("Stages reached")
stages = access.tracking_stages(sel, as_of)
mine = own_rows(stages)
notified_row = mine.filter(pl.col("stage") == "notified")
notified_count = notified_row["reached"][0] if notified_row.height else 0
if mine.is_empty() or notified_count == 0:
    st.info(
        f"No notifications in this selection as of {day_text(as_of)}. Choose another "
        "period, region, board or date (notifications are recorded from coding frame "
        "version 2, in the later periods)."
    )
else:
    plot = mine.with_columns(count_text("reached").alias("text"))
    ui.chart(
        charts.hbar(
            plot.select("label", "reached", "text"),
            "label",
            "reached",
            "text",
            "Notifications",
            y_title="Stage",
            title=f"Stages reached by {day_text(as_of)}: {access.describe(sel)}",
        )
    )
    now = mine.select(
        pl.col("label").alias("Stage"),
        count_text("reached").alias("Reached (so far)"),
        pl.col("now_label").fill_null(DASH).alias("Now at"),
        pl.when(pl.col("now_label").is_null())
        .then(pl.lit(DASH))
        .otherwise(count_text("now_at"))
        .alias("Number now there"),
    )
    ui.table(
        now,
        column_config={
            "Reached (so far)": st.column_config.TextColumn(
                "Reached (so far)",
                help="Notifications that have reached the stage, including those gone "
                "further: each bar includes the ones below it.",
            ),
            "Number now there": st.column_config.TextColumn(
                "Number now there",
                help="Notifications whose furthest stage this is: they add up to those notified.",
            ),
        },
    )
    st.caption(
        "Reached: decided means a decision (review or no review) dated on or before the "
        "date; review under way, a decision to hold a review; report completed, the "
        "review's report dated by then; actions implemented, every action point not "
        "dropped completed."
    )
    ui.disclosure_note(access, mine)

# --- the overdue list -----------------------------------------------------------------------

st.subheader(f"Overdue as of {day_text(as_of)}")
counts = access.tracking_overdue_counts(sel, as_of)
count_columns = {k: OVERDUE_LABELS[k] for k in OVERDUE_KINDS} | {"total": "Total"}
counts_shown = in_order(counts).select(
    "Area",
    *(count_text(c).alias(label) for c, label in count_columns.items()),
)
st.markdown("**Overdue items by kind**")
ui.table(counts_shown)
ui.disclosure_note(access, counts)

if access.principal.is_public:
    st.info(
        "The list of overdue cases names boards and cases, so it is shown only to signed-in "
        f"users. Above: how many items are overdue, for {comparator} and the regions, under "
        "disclosure control.",
        icon=":material/lock:",
    )
else:
    overdue = access.tracking_overdue(sel, as_of)
    if overdue.is_empty():
        st.info(f"Nothing overdue in this selection as of {day_text(as_of)}.")
    else:
        proceedings = frame().labels("parallel_proceedings")
        listed = overdue.select(
            pl.col("kind").replace_strict(OVERDUE_LABELS, default=pl.col("kind")).alias("What"),
            board_label().alias("Board"),
            pl.col("region")
            .replace_strict(REGION_LABELS, default=pl.col("region"))
            .alias("Region"),
            pl.col("notification_id").alias("Notification"),
            pl.col("review_id").alias("Review"),
            pl.col("action_no").alias("Action"),
            pl.col("due_date").alias("Due"),
            pl.col("days_overdue").alias("Days overdue"),
            pl.col("parallel_proceedings")
            .replace_strict(proceedings, default=pl.col("parallel_proceedings"))
            .alias("Parallel proceedings"),
            pl.when(pl.col("proceedings_ongoing"))
            .then(pl.lit("Yes"))
            .otherwise(pl.lit("No"))
            .alias("Proceedings ongoing"),
        )
        st.markdown(
            f"**{ui.plural(overdue.height, 'item')} overdue** in the boards you may see, "
            "longest overdue first within each kind"
        )
        ui.table(
            listed,
            column_config={
                "Due": st.column_config.DateColumn("Due", format="YYYY-MM-DD"),
                "Days overdue": st.column_config.NumberColumn("Days overdue", format="%d"),
                "Action": st.column_config.NumberColumn("Action", format="%d"),
                "Proceedings ongoing": st.column_config.TextColumn(
                    "Proceedings ongoing",
                    help="Criminal proceedings or a coroner's inquest not concluded by the "
                    "date: they may be holding the review up.",
                ),
            },
        )
        scope = sel.board or sel.region or "england"
        ui.download_button(
            st,
            "Overdue list (CSV)",
            lambda: csv_bytes(listed),
            file_name=f"overdue-{scope}-{sel.period or 'all'}-{as_of.isoformat()}.csv",
            mime="text/csv",
            icon=":material/download:",
        )
st.caption(
    "Overdue: a decision more than one month after the notification; a review report after "
    "the agreed date, else four months after the decision; an action plan more than one "
    "month after the report; an action point past its due date, neither completed nor "
    "dropped. Days overdue are counted from the due date to the date chosen."
)

# --- timeliness -----------------------------------------------------------------------------

st.subheader("Timeliness")
timeliness = access.tracking_timeliness(sel, as_of)
for (_measure, label), rows in timeliness.group_by("measure", "label", maintain_order=True):
    rows = in_order(with_comparison(rows))
    st.markdown(f"**{label}**")
    ui.table(
        rows.select(
            "Area",
            level_name().alias("Level"),
            share_text().alias("On time"),
            interval_text().alias("95% interval"),
            f"Compared with {comparator}",
        ),
        column_config={
            "On time": st.column_config.TextColumn(
                "On time", help="The percent (half up), with its numerator and denominator."
            )
        },
        max_rows=15,
    )
    ui.disclosure_note(access, rows)
st.caption(
    "Decision within one month: of the notifications decided by the date or whose decision "
    "was due before it, those decided within a month. Completed on time: of the reviews "
    "whose report was in by the date or due before it, those in by the due date. Actions by "
    "their due date: of the action points due by the date, those completed by then. Each "
    "percent has an exact (Clopper-Pearson) 95% interval. "
    f"*Compared with {comparator}*: *Higher* or *Lower* when, were the area just like "
    f"{comparator}, a count as far from it would arise by chance less than 2.5% of the time "
    "(its exact 95% interval leaves out the value for "
    f"{comparator}), otherwise *Similar*; under {stats.MIN_CASES} cases it is *too few to "
    "compare*. Counts are small: these describe the cases recorded, not a board's "
    "performance."
)

# --- action points against their due dates --------------------------------------------------

st.subheader("Action points completed by their due date")
actions = access.tracking_actions(sel, as_of)
ui.table(
    in_order(actions).select(
        "Area",
        count_text("due").alias("Due by the date"),
        share_text("completed_by_due", "due").alias("Completed by the due date"),
        interval_text().alias("95% interval"),
        count_text("completed_late").alias("Completed late"),
        count_text("dropped").alias("Dropped"),
        count_text("open").alias("Still open"),
        count_text("not_yet_due").alias("Not yet due"),
        count_text("no_due_date").alias("No due date"),
    ),
    max_rows=15,
)
st.caption(
    "An action point's status on the date is its latest progress update dated by then; "
    "completed late, dropped and still open add up, with those completed by the due date, "
    "to those due."
)
ui.disclosure_note(access, actions)

# --- the implementation curve ---------------------------------------------------------------

st.subheader("Implementation curve")
curve = access.tracking_curve(sel, as_of)
series = [(own_rows(curve), access.describe(sel), 0)]
if sel.board is not None:
    region_rows = curve.filter(pl.col("level") == "region")
    if region_rows.height:
        # The board's own region (the catalog's), else the one its figures fall in.
        home = access.board_region(sel.board)
        code = home if home in set(region_rows["region"]) else region_rows["region"][0]
        series.append(
            (region_rows.filter(pl.col("region") == code), REGION_LABELS.get(code, code), 1)
        )
if sel.board is not None or sel.region is not None:
    series.append((curve.filter(pl.col("level") == "england"), comparator, 2))
lines = pl.concat(
    [
        rows.select(
            pl.lit(label).alias("series"),
            pl.lit(order).alias("series_order"),
            "months",
            (pl.col("share") * 100).alias("shown"),
            share_text().alias("text"),
            "suppressed",
        )
        for rows, label, order in series
    ],
    how="vertical_relaxed",
)
if lines.filter(pl.col("shown").is_not_null()).is_empty():
    st.info(
        f"No action points of reviews reported by {day_text(as_of)} in this selection "
        "(or their figures are hidden)."
    )
else:
    ui.chart(
        charts.implementation_curve(
            lines.select("series", "series_order", "months", "shown", "text"),
            f"Action points completed by months since the report: {access.describe(sel)}",
        )
    )
    st.caption(
        "At each month m: of the action points of reviews reported at least m months before "
        "the date, the percent completed within m months of the report. Later months rest "
        "on fewer, older reviews."
    )
    with st.expander("The curve as a table"):
        ui.table(
            lines.select(
                pl.col("series").alias("Series"),
                pl.col("months").alias("Months since the report"),
                pl.col("text").alias("Completed"),
            ),
            max_rows=20,
        )
    ui.disclosure_note(access, lines)

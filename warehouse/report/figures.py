"""The report's figures: Altair (Vega-Lite) specs rendered to SVG offline with vl-convert.

Every figure is drawn from what the read layer returns for the report's principal, so a
figure hidden by disclosure control is simply not drawn (and its caption says so). Shares are
whole percents from ``warehouse.numbers`` (half up) before they reach a chart: no axis or
tooltip format rounds a share. Each SVG carries a ``<title>`` and ``<desc>`` (its text
alternative, listing every value drawn and every value hidden); the report's visible caption
says what the chart shows and how many values are hidden.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import altair as alt
import polars as pl

from warehouse.access.definitions import INDICATORS_BY_KEY, THEME_SHORT
from warehouse.numbers import percent_expr

# AA-contrast colours (the dashboard's palette family): selection, region, England.
SERIES_COLOURS = ("#1d4f91", "#b35806", "#4d4d4d")
RESPONSE_COLOURS = {
    "yes": "#1d4f91",
    "partly": "#6a9fd4",
    "no": "#b35806",
    "not_clear": "#8c8c8c",
    "not_applicable": "#bdbdbd",
    "not_stated": "#d9d9d9",
    "missing": "#f0f0f0",
}
# The shares drawn in the trends figure: one panel each.
TREND_SHARES = ("under_one", "deaths", "on_register", "independent_author", "procedures")
WIDTH = 620


@dataclass(frozen=True)
class Figure:
    """One rendered figure: an id (its HTML anchor), title, the inline SVG (with its own
    ``<title>`` and ``<desc>``: the text alternative, listing every value drawn) and a short
    visible caption."""

    id: str
    title: str
    svg: str
    description: str  # the full text alternative, every value drawn (the SVG's <desc>)
    caption: str  # what the chart shows, in a sentence (the visible caption)


def render_svg(chart: alt.TopLevelMixin, title: str, description: str) -> str:
    """The chart as standalone SVG (no script, no external resource), with ``<title>`` and
    ``<desc>`` first inside the root element and ``role="img"``, so a screen reader and a
    PDF reader both have the text alternative."""
    import vl_convert as vlc

    svg = vlc.vegalite_to_svg(chart.to_dict())
    svg = re.sub(r"^<\?xml[^>]*>\s*", "", svg)
    head_end = svg.index(">") + 1
    head = svg[:head_end]
    ident = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40] or "figure"
    head = head.replace(
        "<svg ",
        f'<svg role="img" aria-labelledby="{ident}-t {ident}-d" ',
        1,
    )
    alt_text = (
        f'<title id="{ident}-t">{html.escape(title)}</title>'
        f'<desc id="{ident}-d">{html.escape(description)}</desc>'
    )
    return head + alt_text + svg[head_end:]


def _data(frame: pl.DataFrame) -> alt.Data:
    """Inline values (no pandas, nothing fetched)."""
    return alt.Data(values=frame.to_dicts())


def _count_axis(title: str) -> alt.Axis:
    return alt.Axis(title=title, format="d", tickMinStep=1)


def _percent_axis(title: str) -> alt.Axis:
    # The values are whole percents already (warehouse.numbers): "d" only prints them.
    return alt.Axis(title=title, format="d", values=[0, 25, 50, 75, 100])


def _figure(
    ident: str, chart: alt.TopLevelMixin, title: str, what: str, values: str, hidden: Sequence[str]
) -> Figure:
    """Render ``chart``: the caption says ``what`` it shows and how many points are hidden;
    the SVG's description adds every value drawn and which are hidden."""
    count = len(hidden)
    caption = what + (
        f" {count} {'value is' if count == 1 else 'values are'} not drawn: hidden by "
        f"disclosure control (c in the tables)."
        if count
        else ""
    )
    description = f"{what} {values}.{_hidden_text(hidden)}"
    return Figure(ident, title, render_svg(chart, title, description), description, caption)


def _groups(parts: dict[str, list[str]]) -> str:
    """ "A: x, y; B: z" for the groups with at least one value shown ("no value shown")."""
    text = "; ".join(f"{name}: {', '.join(items)}" for name, items in parts.items() if items)
    return text or "no value shown"


def _hidden_text(hidden: Sequence[str]) -> str:
    if not hidden:
        return ""
    return (
        " Not drawn (hidden by disclosure control, shown as c in the tables): "
        + "; ".join(hidden)
        + "."
    )


# --- trends across periods -------------------------------------------------------------


def trend_figures(
    trends: pl.DataFrame, selection_name: str, *, compact: bool = False
) -> list[Figure]:
    """Reviews by period, and the key shares by period, for the selection and its
    comparators (``Access.trends``: the selection, its region for a board, England).
    ``compact``: smaller panels, for the board report's few pages."""
    width, height = (WIDTH - 120, 150) if compact else (WIDTH, 220)
    panel_width, panel_height = (150, 95) if compact else (190, 130)
    if trends.is_empty():
        return []
    series = (
        trends.select("series", "series_order").unique().sort("series_order")["series"].to_list()
    )
    # Colour by role, whatever is hidden: the selection, its region (a board's), England.
    roles = trends.select("series", "series_order").unique().sort("series_order")
    scale = alt.Scale(
        domain=roles["series"].to_list(),
        range=[SERIES_COLOURS[min(int(o), 2)] for o in roles["series_order"]],
    )
    # Every period on the axis, even one whose every point is hidden.
    periods = sorted(trends["period"].drop_nulls().unique().to_list())
    period_axis = alt.X("period:O", title="Review period", scale=alt.Scale(domain=periods))
    counts = trends.filter(pl.col("indicator") == "reviews").select(
        "period",
        "series",
        pl.col("value").cast(pl.Int64).alias("reviews"),
        "suppressed",
    )
    figures: list[Figure] = []
    hidden = [
        f"{r['series']} {r['period']}"
        for r in counts.filter(pl.col("reviews").is_null()).iter_rows(named=True)
    ]
    shown = counts.filter(pl.col("reviews").is_not_null())
    title = "Serious case reviews by period"
    chart = (
        alt.Chart(_data(shown), title=title, width=width, height=height)
        .mark_line(point=True)
        .encode(
            x=period_axis,
            y=alt.Y("reviews:Q", axis=_count_axis("Reviews (number)")),
            color=alt.Color("series:N", title="Series", scale=scale),
            tooltip=["series:N", "period:O", "reviews:Q"],
        )
    )
    points = _groups(
        {
            s: [
                f"{r['period']} {r['reviews']}"
                for r in shown.filter(pl.col("series") == s).sort("period").iter_rows(named=True)
            ]
            for s in series
        }
    )
    what = (
        f"Line chart of the number of serious case reviews in each review period for "
        f"{' and '.join(series)}."
    )
    figures.append(_figure("fig-trend-reviews", chart, title, what, points, hidden))

    keys = [k for k in TREND_SHARES if k in INDICATORS_BY_KEY]
    shares = trends.filter(pl.col("indicator").is_in(keys)).with_columns(
        percent_expr(pl.col("value")).alias("percent"),
        pl.col("indicator")
        .replace_strict({k: INDICATORS_BY_KEY[k].label for k in keys})
        .alias("measure"),
    )
    hidden = [
        f"{r['measure']}, {r['series']} {r['period']}"
        for r in shares.filter(pl.col("percent").is_null()).iter_rows(named=True)
    ]
    shown = shares.filter(pl.col("percent").is_not_null()).select(
        "period", "series", "measure", "percent", "numerator", "denominator"
    )
    title = "Key shares by period"
    chart = (
        alt.Chart(_data(shown), width=panel_width, height=panel_height)
        .mark_line(point=True)
        .encode(
            x=period_axis,
            y=alt.Y("percent:Q", axis=_percent_axis("Percent"), scale=alt.Scale(domain=[0, 100])),
            color=alt.Color("series:N", title="Series", scale=scale),
            tooltip=["series:N", "period:O", "measure:N", "percent:Q"],
        )
        .facet(
            facet=alt.Facet(
                "measure:N", title=None, sort=[INDICATORS_BY_KEY[k].label for k in keys]
            ),
            columns=3,
            title=title,
        )
    )
    summary = _groups(
        {
            m: [
                f"{r['series']} {r['period']} {r['percent']}%"
                for r in shown.filter(pl.col("measure") == m)
                .sort("series", "period")
                .iter_rows(named=True)
            ]
            for m in [INDICATORS_BY_KEY[k].label for k in keys]
        }
    )
    what = (
        f"Small multiple line charts, one per measure, of the percent in each review period "
        f"for {' and '.join(series)} (y axis 0 to 100 percent; the measures are defined with "
        f"the board comparison and the tables)."
    )
    figures.append(_figure("fig-trend-shares", chart, title, what, summary, hidden))
    if not compact:
        figures.append(_recommendations_trend(trends, series, scale, period_axis, width, height))
    return figures


def _recommendations_trend(
    trends: pl.DataFrame,
    series: list[str],
    scale: alt.Scale,
    period_axis: alt.X,
    width: int,
    height: int,
) -> Figure:
    """Mean recommendations per review (of reviews with a known total) by period."""
    from warehouse.numbers import round_half_up_expr

    means = trends.filter(pl.col("indicator") == "recs_per_review").with_columns(
        round_half_up_expr(pl.col("value"), 1).alias("mean")
    )
    hidden = [
        f"{r['series']} {r['period']}"
        for r in means.filter(pl.col("mean").is_null()).iter_rows(named=True)
    ]
    shown = means.filter(pl.col("mean").is_not_null()).select("period", "series", "mean")
    title = "Recommendations per review by period"
    chart = (
        alt.Chart(_data(shown), title=title, width=width, height=height - 40)
        .mark_line(point=True)
        .encode(
            x=period_axis,
            y=alt.Y("mean:Q", axis=alt.Axis(title="Recommendations per review (mean)")),
            color=alt.Color("series:N", title="Series", scale=scale),
            tooltip=["series:N", "period:O", "mean:Q"],
        )
    )
    values = _groups(
        {
            s: [
                f"{r['period']} {r['mean']:.1f}"
                for r in shown.filter(pl.col("series") == s).sort("period").iter_rows(named=True)
            ]
            for s in series
        }
    )
    what = (
        "Line chart of the mean number of overview-report recommendations per review (of "
        f"reviews with a known total, one decimal place) by review period for "
        f"{' and '.join(series)}."
    )
    return _figure("fig-trend-recommendations", chart, title, what, values, hidden)


# --- family circumstances (themes) --------------------------------------------------------


def theme_figure(themes: pl.DataFrame, selection_name: str) -> Figure | None:
    """Children whose review codes each family circumstance 'yes', as a percent of all
    children, by period (``Access.themes``)."""
    if themes.is_empty():
        return None
    data = themes.with_columns(
        percent_expr(pl.col("share")).alias("percent"),
        pl.col("theme").replace_strict(THEME_SHORT, default=pl.col("label")).alias("circumstance"),
    )
    hidden = [
        f"{r['circumstance']} {r['period']}"
        for r in data.filter(pl.col("percent").is_null()).iter_rows(named=True)
    ]
    shown = data.filter(pl.col("percent").is_not_null()).select(
        "period", "circumstance", "percent", "yes", "children"
    )
    title = f"Family circumstances by period: {selection_name}"
    order = list(THEME_SHORT.values())
    chart = (
        alt.Chart(_data(shown), title=title, width=WIDTH, height=220)
        .mark_line(point=True)
        .encode(
            x=alt.X(
                "period:O",
                title="Review period",
                scale=alt.Scale(domain=sorted(themes["period"].drop_nulls().unique().to_list())),
            ),
            y=alt.Y(
                "percent:Q",
                axis=_percent_axis("Children with the circumstance coded yes (%)"),
                scale=alt.Scale(domain=[0, 100]),
            ),
            color=alt.Color(
                "circumstance:N",
                title="Circumstance",
                sort=order,
                scale=alt.Scale(domain=order, range=["#1d4f91", "#b35806", "#1b7837", "#762a83"]),
            ),
            tooltip=["circumstance:N", "period:O", "percent:Q", "yes:Q", "children:Q"],
        )
    )
    summary = _groups(
        {
            c: [
                f"{r['period']} {r['percent']}%"
                for r in shown.filter(pl.col("circumstance") == c)
                .sort("period")
                .iter_rows(named=True)
            ]
            for c in order
        }
    )
    what = (
        f"Line chart of the percent of children (of all children in the reviews) whose "
        f"review codes each family circumstance yes, by review period, for {selection_name}."
    )
    return _figure("fig-themes", chart, title, what, summary, hidden)


# --- recommendations and action plans (from the study tables) ---------------------------


def _table(result: dict[str, Any], table_id: str) -> dict[str, Any] | None:
    return next((t for t in result["tables"] if t["id"] == table_id), None)


def _shown(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def focus_figure(result: dict[str, Any], selection_name: str) -> Figure | None:
    """Table 18: recommendations by focus, commonest first."""
    table = _table(result, "t18_recommendation_focus")
    if table is None:
        return None
    rows = [r for r in table["rows"] if _shown(r.get("count"))]
    hidden = [r["label"] for r in table["rows"] if not _shown(r.get("count"))]
    data = pl.DataFrame(
        {"focus": [r["label"] for r in rows], "recommendations": [r["count"] for r in rows]},
        schema={"focus": pl.String(), "recommendations": pl.Int64()},
    )
    title = f"Focus of recommendations (Table 18): {selection_name}"
    chart = (
        alt.Chart(_data(data), title=title, width=WIDTH - 220, height=max(120, 18 * data.height))
        .mark_bar(color=SERIES_COLOURS[0])
        .encode(
            y=alt.Y(
                "focus:N",
                title="Focus of the recommendation",
                sort=data["focus"].to_list(),
                axis=alt.Axis(labelLimit=320),
            ),
            x=alt.X("recommendations:Q", axis=_count_axis("Recommendations (number)")),
            tooltip=["focus:N", "recommendations:Q"],
        )
    )
    listing = "; ".join(f"{r['label']} {r['count']}" for r in rows) or "no value shown"
    what = (
        f"Horizontal bar chart of the number of overview-report recommendations by focus, "
        f"commonest first, for {selection_name} (n = {table['n']} recommendations)."
    )
    return _figure("fig-recommendations", chart, title, what, listing, hidden)


def recommendations_total_figure(result: dict[str, Any], selection_name: str) -> Figure | None:
    """Table 17: reviews by their number of recommendations."""
    table = _table(result, "t17_recommendations_total")
    if table is None:
        return None
    rows = [r for r in table["rows"] if _shown(r.get("count"))]
    hidden = [r["label"] for r in table["rows"] if not _shown(r.get("count"))]
    data = pl.DataFrame(
        {"band": [r["label"] for r in rows], "reviews": [r["count"] for r in rows]},
        schema={"band": pl.String(), "reviews": pl.Int64()},
    )
    title = f"Recommendations per review (Table 17): {selection_name}"
    chart = (
        alt.Chart(_data(data), title=title, width=WIDTH - 120, height=200)
        .mark_bar(color=SERIES_COLOURS[0])
        .encode(
            x=alt.X("band:N", title="Number of recommendations in the report", sort=None),
            y=alt.Y("reviews:Q", axis=_count_axis("Reviews (number)")),
            tooltip=["band:N", "reviews:Q"],
        )
    )
    listing = "; ".join(f"{r['label']}: {r['count']}" for r in rows) or "no value shown"
    what = (
        f"Bar chart of the number of reviews by how many recommendations their overview report "
        f"made, for {selection_name} (n = {table['n']} reviews)."
    )
    return _figure("fig-recommendations-total", chart, title, what, listing, hidden)


def action_plan_figure(result: dict[str, Any], selection_name: str) -> Figure | None:
    """Table 20: each feature of the action plans, reviews by answer (stacked bars)."""
    table = _table(result, "t20_action_plans")
    if table is None:
        return None
    from warehouse.frame import frame

    labels = {"missing": "Missing", **frame().labels("compliance"), **frame().labels("action_plan")}
    records, hidden = [], []
    for row in table["rows"]:
        for answer in table["columns"]:
            count = row["counts"].get(answer)
            name = labels.get(answer, answer.replace("_", " ").capitalize())
            if _shown(count):
                records.append({"feature": row["label"], "answer": name, "reviews": count})
            else:
                hidden.append(f"{row['label']}: {name}")
    data = pl.DataFrame(
        records, schema={"feature": pl.String(), "answer": pl.String(), "reviews": pl.Int64()}
    )
    answers = [labels.get(a, a) for a in table["columns"]]
    title = f"Action plans (Table 20): {selection_name}"
    chart = (
        alt.Chart(_data(data), title=title, width=WIDTH - 240, height=170)
        .mark_bar()
        .encode(
            y=alt.Y(
                "feature:N",
                title="Feature of the action plan",
                sort=None,
                axis=alt.Axis(labelLimit=320),
            ),
            x=alt.X("reviews:Q", axis=_count_axis("Reviews (number)"), stack=True),
            color=alt.Color(
                "answer:N",
                title="Answer",
                sort=answers,
                scale=alt.Scale(
                    domain=answers,
                    range=[RESPONSE_COLOURS.get(a, "#999999") for a in table["columns"]],
                ),
            ),
            order=alt.Order("answer_order:Q"),
            tooltip=["feature:N", "answer:N", "reviews:Q"],
        )
        .transform_calculate(
            answer_order="indexof(" + repr(answers).replace("'", '"') + ", datum.answer)"
        )
    )
    listing = _groups(
        {
            row["label"]: [
                f"{labels.get(a, a)} {row['counts'].get(a)}"
                for a in table["columns"]
                if _shown(row["counts"].get(a))
            ]
            for row in table["rows"]
        }
    )
    what = (
        f"Stacked horizontal bar chart: for each feature of the action plans, the number of "
        f"reviews answering yes, no, partly or not clear, for {selection_name} "
        f"(n = {table['n']} reviews)."
    )
    return _figure("fig-action-plans", chart, title, what, listing, hidden)

"""The National overview's section of real published national figures (issue 10): Ofsted and
DfE serious incident notifications, deaths and serious harm, the biennial analyses' review
counts and headline percentages. Kept apart from the coded (synthetic) sample, labelled as
real, every point linking to its source. Public information: shown to every role."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from dashboard import charts, ui
from dashboard.state import CachedAccess

MEASURE_COLOURS = {"deaths": charts.SERIES_COLOURS[0], "serious_harm": charts.SERIES_COLOURS[1]}


def _points(df: pl.DataFrame, title: str, y_title: str, colour: str | None = None) -> alt.Chart:
    """A line of published figures by year; each point a link to its source."""
    data = df.select(
        "period",
        "period_start",
        "value",
        "value_text",
        "label",
        "source_title",
        "source_url",
        pl.format("{} {}: {} ({})", "label", "period", "value_text", "source_title").alias("_aria"),
    ).sort("period_start")
    colour_encoding = (
        alt.Color(
            "label:N",
            title="Measure",
            scale=alt.Scale(range=list(MEASURE_COLOURS.values())),
            legend=alt.Legend(orient="bottom"),
        )
        if colour
        else alt.value(charts.SERIES_COLOURS[0])
    )
    base = alt.Chart(data).encode(
        x=alt.X("period:N", title="Year (as published)", sort=None),
        y=alt.Y("value:Q", title=y_title, axis=alt.Axis(**charts.COUNT_AXIS)),
        color=colour_encoding,
    )
    return (
        base.mark_line()
        + base.mark_point(filled=True, size=70, cursor="pointer").encode(
            href="source_url:N",
            description=alt.Description("_aria:N"),
            tooltip=[
                alt.Tooltip("label:N", title="Measure"),
                alt.Tooltip("period:N", title="Year"),
                alt.Tooltip("value_text:N", title="Published figure"),
                alt.Tooltip("source_title:N", title="Source (click the point)"),
            ],
        )
    ).properties(
        title=title,
        height=220,
        description=f"{title}: "
        + "; ".join(f"{p} {t}" for p, t in zip(data["period"], data["value_text"], strict=True)),
    )


def render(access: CachedAccess) -> None:
    groups = access.published_charts()
    if not any(g.height for g in groups.values()):
        return
    st.divider()
    st.header("Real published national figures")
    st.info(
        "**Real, published figures**, not the synthetic sample above: Ofsted's and DfE's "
        "serious incident notifications, the Child Safeguarding Practice Review Panel, and "
        "the biennial analyses of serious case reviews. Each point links to its source "
        "(click it); every figure's source quotes it word for word. Bases differ between "
        "releases: read the notes before comparing years.",
        icon=":material/verified:",
    )
    left, right = st.columns(2)
    if groups["notifications"].height:
        ui.chart(
            _points(
                groups["notifications"], "Serious incident notifications a year", "Notifications"
            ),
            where=left,
        )
    if groups["deaths_and_harm"].height:
        ui.chart(
            _points(
                groups["deaths_and_harm"],
                "Notifications: deaths and serious harm",
                "Notifications",
                colour="label",
            ),
            where=right,
        )
    if groups["reviews"].height:
        ui.chart(
            _points(groups["reviews"], "Serious case reviews in each analysis", "Reviews"),
            where=left,
        )
    notes = groups["notifications"]["note"].drop_nulls().unique().to_list()
    if notes:
        right.caption(" ".join(ui.plain(n) for n in sorted(notes)))
    percents = groups["headline_percents"]
    if percents.height:
        st.subheader("Headline percentages from the analyses")
        ui.table(
            percents.sort("period_start").select(
                pl.col("period").alias("Period"),
                pl.col("label").alias("Figure"),
                pl.col("value_text").alias("Published"),
                pl.col("source_url").alias("Source"),
                pl.col("quote").alias("Quote"),
            ),
            {
                "Source": st.column_config.LinkColumn("Source", display_text="source"),
                "Quote": st.column_config.TextColumn("Quote", width="large"),
            },
        )

"""What is counted, defined once: the indicators, their denominators and the family
circumstances (themes), and the aggregate SQL generated from them.

An :class:`Indicator` names its numerator (an SQL aggregate over the rows of its source:
reviews, children or recommendations) and its denominator (one of :data:`DENOMINATORS`, shared
by the indicators of the same unit). :func:`aggregate_sql` turns the definitions into one pass
over each source for every group of a selection (what the funnel plot, the side-by-side
tables and the disclosure cube need); ``tests/test_dashboard_access.py`` checks each indicator
against the study table cells that define it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import polars as pl

from warehouse.access.selection import ENGLAND, selection_ctes

Source = Literal["reviews", "children", "recommendations"]
RegionBy = Literal["review", "board"]

# How each source's rows join the selected reviews (``r``); numerator SQL reads their columns.
SOURCE_ROWS: dict[Source, str] = {
    "reviews": "sel_reviews r",
    "children": "children c JOIN sel_reviews r USING (review_id)",
    "recommendations": "recommendations x JOIN sel_reviews r USING (review_id)",
}


@dataclass(frozen=True)
class Denominator:
    """What a share is of: an SQL aggregate over one source's rows of the selection.

    ``text`` says in words what is counted. ``of`` is set when the denominator leaves out
    rows of its source whose item is unanswered or not known (as the study's percentages
    do): the count indicator of all those rows, so the unanswered share can be shown as its
    own completeness figure instead of counting against the indicator.
    """

    key: str
    source: Source
    sql: str
    text: str
    of: str | None = None  # a count indicator (reviews, children) the denominator is part of


def _answered(item: str) -> str:
    # Chapter 8 items: a blank (unanswered) or 'not_stated' (not known) answer is left out.
    return f"count(*) FILTER (WHERE {item} IS NOT NULL AND {item} <> 'not_stated')"


DENOMINATORS: dict[str, Denominator] = {
    d.key: d
    for d in (
        Denominator("reviews", "reviews", "count(*)", "all reviews in the selection"),
        Denominator(
            "children", "children", "count(*)",
            "all children who are the subject of a review in the selection",
        ),
        Denominator(
            "recommendations", "recommendations", "count(*)",
            "all overview-report recommendations of the reviews in the selection",
        ),
        Denominator(
            "dated_reports", "reviews", "count(report_date)",
            "reviews whose report is dated (undated reports left out)", of="reviews",
        ),
        Denominator(
            "reviews_with_total", "reviews", "count(recommendations_total)",
            "reviews with a known number of recommendations (blank totals left out)",
            of="reviews",
        ),
        Denominator(
            "genogram_answered", "reviews", _answered("c8_genogram"),
            "reviews whose genogram item was answered (yes, partly, no or not applicable; "
            "blank or not stated left out)", of="reviews",
        ),
        Denominator(
            "chronology_answered", "reviews", _answered("c8_chronology"),
            "reviews whose integrated-chronology item was answered (yes, partly, no or not "
            "applicable; blank or not stated left out)", of="reviews",
        ),
    )
}  # fmt: skip


@dataclass(frozen=True)
class Indicator:
    """An indicator. No direction is better: these reviews are not a measure of a board's
    performance, so a comparison says only Higher, Similar or Lower."""

    key: str
    label: str
    kind: Literal["count", "share", "median", "mean"]
    unit: str  # what the denominator counts, in words
    about: str  # what the indicator is, in a sentence (its source table)
    numerator: str  # SQL aggregate over the rows of the denominator's source
    denominator: str  # a key of DENOMINATORS
    numerator_text: str = ""  # what the numerator counts, in words

    @property
    def source(self) -> Source:
        return DENOMINATORS[self.denominator].source

    @property
    def denominator_text(self) -> str:
        return DENOMINATORS[self.denominator].text

    @property
    def completeness_of(self) -> str | None:
        """The count indicator whose rows the denominator leaves some out of (unanswered or
        not known), or None when it counts them all."""
        return DENOMINATORS[self.denominator].of

    @property
    def definition(self) -> str:
        """What the indicator is and what it counts: numerator and denominator in words."""
        return f"{self.about} {self.counted}".strip()

    @property
    def counted(self) -> str:
        """Numerator and denominator in one sentence, for definitions and help texts."""
        if self.kind == "count":
            return ""  # a count has no denominator: its definition says what it counts
        if self.kind == "share":
            # Unless the denominator says otherwise, blank or not-known answers stay in it,
            # as in the study's tables (percent of n).
            kept = "" if self.completeness_of else ", a blank or not-known answer included"
            return f"Numerator: {self.numerator_text}. Denominator: {self.denominator_text}{kept}."
        return f"Of {self.denominator_text}."


# Completed calendar months from incident to report (a day earlier in the month than the
# incident's does not complete the month).
MONTHS_TO_REPORT = (
    "(12 * (year(report_date) - year(incident_date)) + month(report_date) "
    "- month(incident_date) - CASE WHEN day(report_date) < day(incident_date) THEN 1 ELSE 0 END)"
)


def _share(
    key: str,
    label: str,
    of: str,
    definition: str,
    where: str,
    counts: str,
    unit: str | None = None,
) -> Indicator:
    """A share: the rows of the denominator ``of`` meeting ``where`` (``counts`` says which in
    words), of all of them."""
    numerator = f"count(*) FILTER (WHERE {where})"
    unit = unit or of
    return Indicator(key, label, "share", unit, definition, numerator, of, counts)


INDICATORS: tuple[Indicator, ...] = (
    Indicator(
        "reviews", "Reviews", "count", "reviews", "Serious case reviews in the selection.",
        "count(*)", "reviews",
    ),
    Indicator(
        "children", "Children", "count", "children",
        "Children who are the subject of a review.", "count(*)", "children",
    ),
    _share(
        "under_one", "Under one", "children",
        "Children aged under one (age_months 0-11) as a share of all children (study Table 2).",
        "age_months BETWEEN 0 AND 11", "children aged under one (age_months 0-11)",
    ),
    _share(
        "age_11_plus", "Aged 11 or over", "children",
        "Children aged 11 or over (age_months 132-215) as a share of all children.",
        "age_months BETWEEN 132 AND 215", "children aged 11 or over (age_months 132-215)",
    ),
    _share(
        "deaths", "Deaths", "children",
        "Children whose incident was a death (suicides are counted apart) (Table 7).",
        "incident_type = 'death'", "children whose incident was a death (not suicide)",
    ),
    _share(
        "on_register", "On a register or plan", "children",
        "Children on a child protection register (later: plan) at the incident (Table 8).",
        "cp_register = 'on_register'",
        "children on a child protection register or plan at the incident",
    ),
    _share(
        "ethnicity_not_recorded", "Ethnicity not recorded", "children",
        "Children whose ethnicity is coded not known/stated (Table 4).",
        "ethnicity = 'not_stated'", "children whose ethnicity is coded not known/stated",
    ),
    _share(
        "independent_author", "Independent author", "reviews",
        "Reviews whose overview report had an independent author (Table 14).",
        "author_status = 'independent'", "reviews whose overview report had an independent "
        "author",
    ),
    Indicator(
        "median_months", "Median months to report", "median", "dated reports",
        "Median of completed calendar months from incident to report date, of dated "
        "reports (Table 13 bands the same interval).",
        f"median({MONTHS_TO_REPORT}) FILTER (WHERE report_date IS NOT NULL)", "dated_reports",
    ),
    _share(
        "genogram", "Report has a genogram", "genogram_answered",
        "Reviews whose report contains a genogram (Chapter 8 item answered 'yes', Table 16), "
        "of the reviews where the item was answered.",
        "c8_genogram = 'yes'", "reviews whose report contains a genogram (answered yes)",
        unit="reviews answering it",
    ),
    _share(
        "chronology", "Integrated chronology", "chronology_answered",
        "Reviews whose report contains an integrated chronology of agency involvement "
        "(answered 'yes', Table 16), of the reviews where the item was answered.",
        "c8_chronology = 'yes'",
        "reviews whose report contains an integrated chronology (answered yes)",
        unit="reviews answering it",
    ),
    Indicator(
        "recs_per_review", "Recommendations per review", "mean", "reviews with a known total",
        "Mean number of overview-report recommendations, of reviews with a known total "
        "(Table 17).",
        "coalesce(sum(recommendations_total), 0)", "reviews_with_total",
    ),
    _share(
        "procedures", "Recommendations about procedures", "recommendations",
        "Recommendations whose focus is existing procedures or the need for new procedures "
        "(Table 18).",
        "focus IN ('existing_procedures', 'new_procedures')",
        "recommendations whose focus is existing or new procedures",
    ),
)  # fmt: skip
INDICATORS_BY_KEY = {i.key: i for i in INDICATORS}
SHARE_INDICATORS = tuple(i.key for i in INDICATORS if i.kind == "share")
# The indicators shown for each board when boards are set side by side.
SIDE_BY_SIDE = (
    "under_one",
    "on_register",
    "independent_author",
    "genogram",
    "chronology",
    "recs_per_review",
)


def numerator_column(indicator: Indicator) -> str:
    return f"{indicator.key}__k"


ALL_PERIODS = "all"  # the period of a group pooling every period (a cube margin)


def aggregate_sql(
    keys: tuple[str, ...],
    region_by: RegionBy = "review",
    *,
    margins: bool = False,
    extra: Mapping[Source, Sequence[str]] | None = None,
) -> str:
    """One row per group of ``keys`` (period, board_code, region...) of the selection, with
    every denominator (named by its key) and every numerator (``<indicator>__k``).

    ``margins`` adds every margin of the keys (GROUPING SETS of each subset); a key pooled
    over is ``England`` for region and ``all`` for period. ``extra`` adds more aggregate
    terms (``expr AS name``) per source.
    """
    terms: dict[Source, list[str]] = {source: [] for source in SOURCE_ROWS}
    for d in DENOMINATORS.values():
        terms[d.source].append(f"{d.sql} AS {d.key}")
    for ind in INDICATORS:
        terms[ind.source].append(f"{ind.numerator} AS {numerator_column(ind)}")
    for source, more in (extra or {}).items():
        terms[source].extend(more)
    pooled = {"region": ENGLAND, "period": ALL_PERIODS}
    if margins:
        subsets = [
            tuple(k for i, k in enumerate(keys) if mask >> i & 1) for mask in range(2 ** len(keys))
        ]
        group = (
            "GROUP BY GROUPING SETS ("
            + ", ".join(
                "(" + ", ".join(f"r.{k}" for k in subset) + ")" for subset in reversed(subsets)
            )
            + ")"
        )
        select_keys = "".join(
            f"CASE WHEN grouping(r.{k}) = 1 THEN '{pooled[k]}' ELSE r.{k} END AS {k}, "
            for k in keys
        )
    else:
        group = f"GROUP BY {', '.join(f'r.{k}' for k in keys)}" if keys else ""
        select_keys = "".join(f"r.{k}, " for k in keys)
    parts = [
        f"src_{source} AS (SELECT {select_keys}{', '.join(terms[source])} FROM {rows} {group})"
        for source, rows in SOURCE_ROWS.items()
    ]
    join = f"USING ({', '.join(keys)})" if keys else "ON true"
    return (
        f"{selection_ctes(region_by)},\n" + ",\n".join(parts) + "\nSELECT * FROM src_reviews "
        f"LEFT JOIN src_children {join} LEFT JOIN src_recommendations {join}"
    )


def long_schema(keys: tuple[str, ...]) -> dict[str, pl.DataType]:
    return {
        **{k: pl.String() for k in keys},
        "indicator": pl.String(),
        "label": pl.String(),
        "kind": pl.String(),
        "numerator": pl.Float64(),
        "denominator": pl.Int64(),
        "value": pl.Float64(),
    }


def to_long(wide: pl.DataFrame, keys: tuple[str, ...]) -> pl.DataFrame:
    """The aggregate's columns as one row per group and indicator: numerator, denominator,
    value (a proportion for shares)."""
    schema = long_schema(keys)
    if wide.is_empty():
        return pl.DataFrame(schema=schema)
    parts = []
    for ind in INDICATORS:
        numerator = pl.col(numerator_column(ind)).cast(pl.Float64)
        if ind.kind != "median":  # no median of nothing; a count of nothing is 0
            numerator = numerator.fill_null(0)
        denominator = pl.col(ind.denominator).cast(pl.Int64).fill_null(0)
        if ind.kind == "count":
            value = numerator
        elif ind.kind == "median":
            value = pl.when(denominator > 0).then(numerator)
        else:
            value = pl.when(denominator > 0).then(numerator / denominator)
        parts.append(
            wide.select(
                *keys,
                pl.lit(ind.key).alias("indicator"),
                pl.lit(ind.label).alias("label"),
                pl.lit(ind.kind).alias("kind"),
                numerator.alias("numerator"),
                denominator.alias("denominator"),
                value.cast(pl.Float64).alias("value"),
            )
        )
    return pl.concat(parts).cast(schema)  # type: ignore[arg-type]


THEMES: tuple[tuple[str, str], ...] = (
    ("neglect", "Neglect"),
    ("domestic_violence", "Domestic violence"),
    ("parental_substance_misuse", "Parental substance misuse"),
    ("parental_mental_ill_health", "Parental mental ill health"),
)
# Short names for charts and combinations (substance misuse and mental ill health: parental).
THEME_SHORT = {
    "neglect": "Neglect",
    "domestic_violence": "Domestic violence",
    "parental_substance_misuse": "Substance misuse",
    "parental_mental_ill_health": "Mental ill health",
}
THEME_ANSWERS = ("yes", "no", "not_stated", "blank")

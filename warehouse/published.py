"""Real published national figures, kept apart from the synthetic coded data.

``warehouse/published/national_series.csv`` ships 122 figures copied from public pages (the
Ofsted and DfE serious incident notification releases, the biennial and triennial analyses
of serious case reviews, the Child Safeguarding Practice Review Panel), each with its source
title, URL and a verbatim quote containing the number. ``scr published add FILE`` takes more
in the same shape. Both go through :func:`check_figures` (write-audit-publish: check first,
then replace in one transaction) into ``published_national_series``.

**The value must appear in its quote** (:func:`quote_match_expr`):

- ``token``: the value's digits (a minus sign dropped: a published "down 51" is stored as
  -51), thousands optionally separated by commas (1234 matches "1,234"), the decimals as
  written, as a whole number in the quote: no digit, and no decimal point or comma followed
  by a digit, on either side (so 45 does not match "145", "45.6" or "1,045"). A number
  written in words ("one in five") never matches: the figure must be in digits.
- ``run_together_cells``: only for quotes from the "data set preview" tables of the EES data
  catalogue whose cells the page runs together (no "|" between them). There the count cell
  must directly follow the row's last text label ("Female13045.6": 130) and a percent cell
  must end the row after the count (45.6). This is weaker (a prefix of the cell would pass),
  so each row says which way its value was found (``quote_match``).

**Where sources disagree** (same series, period and measure, different values) every row is
kept and exactly one per (series, period, measure) is ``used``, by :func:`mark_used`:

1. an official release (gov.uk, explore-education-statistics, the National Archives' copy of
   a government page) over research pages, and research over secondary reporting (news,
   blogs, local procedure sites quoting a report): the official release is the source;
2. then the value more sources give, counting as one more source an official published change
   that implies it (2019-20: DfE says 2020-21 was "536 ... up 87 on 2019-20", so 449, not
   Social Work Today's 448, which its own "87 more" contradicts);
3. then the figure added later (a later release revises an earlier one; the shipped file
   counts as added when its content was first loaded);
4. then a quote stating the value plainly over run-together preview cells, then the
   source's address, only so that the choice is stable.

When the sources agree, the same rule picks which source is linked.
"""

from __future__ import annotations

import datetime as dt
import difflib
import getpass
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from warehouse.db import query_frame
from warehouse.issues import (
    ERROR,
    HIDDEN,
    cell_issues,
    combine,
    empty_issues,
    issue,
    shown,
)

SHIPPED = Path(__file__).with_name("published") / "national_series.csv"
TABLE = "published_national_series"
LEDGER = "published_submissions"
SHEET = "figures"  # the "sheet" issues name: a CSV has one
COLUMNS = (
    "series",
    "period",
    "measure",
    "value",
    "unit",
    "source_title",
    "source_url",
    "quote",
)
KEY = ("series", "period", "measure")
QUOTE_MAX_CHARS = 200  # the shipped README: a verbatim excerpt under 200 characters

# Every measure a figure may have, per series: its unit and what it is, in words. These are
# the measures of the shipped file; a new one is added here (reviewed), never by a file.
MEASURES: dict[str, dict[str, tuple[str, str]]] = {
    "notifications": {
        "notifications_total": ("count", "Serious incident notifications"),
        "deaths": ("count", "Notifications of a child's death"),
        "serious_harm": ("count", "Notifications of serious harm"),
        "other": ("count", "Other notifications"),
        "serious_harm_children": ("count", "Children in serious harm notifications"),
        "scr_count": ("count", "Serious case reviews started"),
        "scr_serious_harm_count": ("count", "Serious case reviews after serious harm"),
        "pct_scr": ("percent", "Notifications leading to a serious case review"),
        "pct_deaths": ("percent", "Notifications of a child's death"),
        "pct_deaths_killing_nai_parent_carer": (
            "percent",
            "Deaths from killing or non-accidental injury by a parent or carer",
        ),
        "pct_boys": ("percent", "Notifications about boys"),
        "pct_girls": ("percent", "Notifications about girls"),
        "male": ("count", "Notifications about boys"),
        "female": ("count", "Notifications about girls"),
        "pct_male": ("percent", "Notifications about boys"),
        "pct_female": ("percent", "Notifications about girls"),
        "age_under_1": ("count", "Notifications about children under 1"),
        "pct_under_1": ("percent", "Notifications about children under 1"),
        "pct_cpp": ("percent", "Children on a child protection plan"),
        "looked_after": ("count", "Notifications about looked-after children"),
        "change_total_vs_prev_year": ("count", "Change in notifications on the year before"),
        "change_total_vs_2018_19": ("count", "Change in notifications since 2018-19"),
        "change_under_1_vs_prev_year": ("count", "Change in under-1s on the year before"),
        "change_age_1_5_vs_prev_year": ("count", "Change in ages 1 to 5 on the year before"),
        "region_north_east": ("count", "Notifications, North East (rounded to 10)"),
        "region_north_west": ("count", "Notifications, North West (rounded to 10)"),
        "region_yorkshire_humber": (
            "count",
            "Notifications, Yorkshire and the Humber (rounded to 10)",
        ),
        "region_east_midlands": ("count", "Notifications, East Midlands (rounded to 10)"),
    },
    "biennial": {
        "reviews_total": ("count", "Serious case reviews analysed"),
        "children_total": ("count", "Children in the reviews"),
        "final_reports_analysed": ("count", "Final reports analysed in depth"),
        "pct_deaths": ("percent", "Incidents in which a child died"),
        "pct_serious_harm": ("percent", "Incidents of serious injury"),
        "pct_under_1": ("percent", "Children under 1"),
        "pct_over_11": ("percent", "Children over 11"),
        "pct_over_16": ("percent", "Children over 16"),
        "pct_cpp": ("percent", "Children who died while on a child protection plan"),
        "pct_receiving_csc_services": (
            "percent",
            "Children receiving children's social care services",
        ),
        "pct_not_known_csc": ("percent", "Children not known to children's social care"),
        "pct_parental_alcohol_misuse": ("percent", "Reviews with parental alcohol misuse"),
        "pct_parental_drug_misuse": ("percent", "Reviews with parental drug misuse"),
        "deaths_per_year_abuse_neglect_estimate": (
            "count",
            "Children dying each year from abuse or neglect (estimate)",
        ),
        "ofsted_eval_reviews_total": ("count", "Serious case reviews evaluated by Ofsted"),
        "ofsted_eval_children_total": ("count", "Children in reviews evaluated by Ofsted"),
        "ofsted_eval_deaths": ("count", "Ofsted-evaluated reviews after a death"),
        "ofsted_eval_serious_harm": ("count", "Ofsted-evaluated reviews after serious harm"),
        "ofsted_eval_known_csc": ("count", "Children known to children's social care (Ofsted)"),
        "ofsted_eval_cpp": ("count", "Children on a child protection plan (Ofsted)"),
        "ofsted_eval_pct_under_1": ("percent", "Children under 1 (Ofsted evaluations)"),
    },
    "panel": {
        "rapid_reviews_received": ("count", "Rapid reviews received by the Panel"),
    },
}

# Periods in each release's own format (see the shipped README's conventions).
_YEARS = r"(?P<start>\d{4})-(?P<end>\d{2})"
PERIOD_FORMATS: dict[str, tuple[str, str]] = {
    # (regex, what it looks like, in words)
    "notifications": (
        rf"^{_YEARS}(?: H1 \(Apr-Sep\)| H2 \(Oct-Mar\))?$",
        "a financial year such as 2023-24 (DfE's 'Reporting year 2024' is 2023-24), "
        "optionally with ' H1 (Apr-Sep)' or ' H2 (Oct-Mar)'",
    ),
    "biennial": (
        rf"^{_YEARS}$",
        "the reviews' notification window, such as 2001-03, 2009-10 or 2014-17",
    ),
    "panel": (
        rf"^(?:{_YEARS}(?: \([^()]+\))?|(?P<year>\d{{4}}))$",
        "a year such as 2021, or a reporting period such as 2018-19 with an optional "
        "note in brackets",
    ),
}
# The span a period may cover, in years (end - start), per series.
PERIOD_SPANS = {"notifications": (1, 1), "biennial": (1, 4), "panel": (1, 1)}
SPAN_WORDS = {
    "notifications": "a financial year, the second year the one after the first (2023-24)",
    "biennial": "a window of 1 to 4 years (2009-10, 2001-03, 2014-17)",
    "panel": "a year (2021) or one year to the next (2018-19)",
}
FIRST_YEAR, LAST_YEAR = 1990, 2100

# Who published a page, by its host: the official release over research, research over
# secondary reporting. Any other host is secondary.
OFFICIAL, RESEARCH, SECONDARY = "official", "research", "secondary"
SOURCE_HOSTS = {
    "explore-education-statistics.service.gov.uk": OFFICIAL,
    "www.gov.uk": OFFICIAL,
    "webarchive.nationalarchives.gov.uk": OFFICIAL,
    "www.uea.ac.uk": RESEARCH,
    "seriouscasereviews.rip.org.uk": RESEARCH,
}
SOURCE_RANK = {OFFICIAL: 1, RESEARCH: 2, SECONDARY: 3}
EES_CATALOGUE = "https://explore-education-statistics.service.gov.uk/data-catalogue/"
TOKEN, RUN_TOGETHER = "token", "run_together_cells"

RULES = {
    "columns": "the file must have exactly the columns " + ", ".join(COLUMNS),
    "required": "every column must have a value",
    "series": "series must be one of " + ", ".join(MEASURES),
    "known_measure": "the measure is not one of the known measures of this series",
    "unit": "the unit must be the measure's unit",
    "value_number": "the value must be a number written in digits, e.g. 536, -51 or 45.6",
    "value_sign": "only a change (change_* measures) may be negative",
    "percent_range": "a percent must be between 0 and 100",
    "period_format": "the period must be in the release's own format",
    "period_span": "the period's years do not fit the series",
    "source_url": "the source must be an http(s) address",
    "quote_length": f"the quote must be a verbatim excerpt of at most {QUOTE_MAX_CHARS} characters",
    "value_in_quote": "the value does not appear in its quote",
    "hidden_characters": "text must not hold control, zero-width or bidirectional characters",
    "duplicate_in_file": "the same source gives this series, period and measure twice",
    "already_loaded": "this source's figure for this series, period and measure is already loaded",
}


class PublishedRejected(Exception):
    """A file of figures failed its checks: nothing was changed."""

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines


# -- reading and checking ----------------------------------------------------------------


def read_figures(path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The file's rows as text (``_row``: its line number, the header being row 1), and any
    file-level problem (unreadable, wrong columns)."""
    try:
        rows = pl.read_csv(path, infer_schema=False, encoding="utf8")
    except Exception as exc:  # not a CSV, not UTF-8, ...: said in words, never a traceback
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return pl.DataFrame(), issue(
            "columns", f"the file cannot be read as a UTF-8 CSV ({first})", sheet=SHEET
        )
    # Excel writes a byte-order mark before the first name; spaces around names are noise.
    rows = rows.rename({c: c.lstrip("\ufeff").strip() for c in rows.columns})
    missing = [c for c in COLUMNS if c not in rows.columns]
    extra = [c for c in rows.columns if c not in COLUMNS]
    if missing or extra:
        detail = "; ".join(
            x
            for x in (
                missing and "missing: " + ", ".join(missing),
                extra and "unexpected: " + ", ".join(extra),
            )
            if x
        )
        return pl.DataFrame(), issue("columns", f"{RULES['columns']} ({detail})", sheet=SHEET)
    rows = rows.select(
        *[pl.col(c).str.strip_chars().replace("", None).alias(c) for c in COLUMNS],
        (pl.int_range(pl.len()) + 2).alias("_row"),
    )
    return rows, empty_issues()


def value_pattern(value: pl.Expr) -> pl.Expr:
    """A regex (no look-around: polars' engine has none) for the digits of ``value`` (text
    such as "1234", "-51", "45.6"): thousands optionally comma-separated, decimals as written."""
    digits = value.str.strip_prefix("-")
    whole = digits.str.extract(r"^(\d+)")
    decimals = digits.str.extract(r"^\d+(\.\d+)$").fill_null("")
    # Group the whole part in threes from the right: reverse, comma after each three, reverse.
    grouped = (
        whole.str.reverse().str.replace_all(r"(\d{3})", "${1},").str.strip_suffix(",")
    ).str.reverse()
    return grouped.str.replace_all(",", ",?", literal=True) + decimals.str.replace(
        ".", r"\.", literal=True
    )


# Around a whole number: no digit, and no "." or "," that is followed (or preceded) by a digit.
_BEFORE = r"(?:^|[^0-9.,]|[^0-9][.,]|^[.,])"
_AFTER = r"(?:$|[^0-9.,]|[.,](?:$|[^0-9]))"


def quote_match_expr(value: pl.Expr, quote: pl.Expr, source_url: pl.Expr) -> pl.Expr:
    """How the value was found in its quote: ``token``, ``run_together_cells`` (EES preview
    rows whose cells run together) or null (not found). See the module docstring."""
    body = value_pattern(value)
    token = quote.str.contains(pl.lit(_BEFORE) + body + pl.lit(_AFTER))
    run_together = (
        source_url.str.starts_with(EES_CATALOGUE)
        & ~quote.str.contains("|", literal=True)
        & quote.str.contains(
            pl.lit("[A-Za-z]{2}") + body + pl.lit("|[A-Za-z]{2}[0-9]+") + body + pl.lit("$")
        )
    )
    return (
        pl.when(token)
        .then(pl.lit(TOKEN))
        .when(run_together)
        .then(pl.lit(RUN_TOGETHER))
        .otherwise(pl.lit(None, pl.String))
    )


def _measure_table() -> pl.DataFrame:
    return pl.DataFrame(
        [
            (series, measure, unit, label)
            for series, measures in MEASURES.items()
            for measure, (unit, label) in measures.items()
        ],
        schema=["series", "measure", "_unit", "label"],
        orient="row",
    )


def _period_parts(rows: pl.DataFrame) -> pl.DataFrame:
    """_start and _end years of each row's period when it has the series' format (a bare
    year: start and end the same); null when it has not."""
    parts = []
    for series, (pattern, _) in PERIOD_FORMATS.items():
        mine = rows.filter(pl.col("series") == series)
        found = pl.col("period").str.extract_groups(pattern)
        names = found.struct.field
        start = names("start").cast(pl.Int64)
        end = names("end").cast(pl.Int64)
        year = names("year").cast(pl.Int64) if "(?P<year>" in pattern else pl.lit(None, pl.Int64)
        parts.append(
            mine.with_columns(
                pl.coalesce(start, year).alias("_start"),
                # the end year, from its last two digits (2009-10 -> 2010; 1999-00 -> 2000)
                pl.coalesce(start + (end - start % 100) % 100, year).alias("_end"),
            )
        )
    # every other row (an unknown or empty series too) stays, to be reported
    others = rows.filter(~pl.col("series").is_in(list(PERIOD_FORMATS)).fill_null(False))
    return pl.concat(
        [*parts, others.with_columns(_start=pl.lit(None, pl.Int64), _end=pl.lit(None, pl.Int64))]
    ).sort("_row")


def source_kind_expr(source_url: pl.Expr) -> pl.Expr:
    host = source_url.str.extract(r"^https?://([^/?#]+)").str.to_lowercase()
    return host.replace_strict(SOURCE_HOSTS, default=SECONDARY, return_dtype=pl.String)


def _text_value(value: pl.Expr) -> pl.Expr:
    """A DOUBLE value as the figure was written: 536, -51, 45.6 (never 536.0)."""
    return (
        pl.when(value == value.round(0))
        .then(value.cast(pl.Int64).cast(pl.String))
        .otherwise(value.cast(pl.String))
    )


def _closest_measures(cell: dict[str, str]) -> str:
    """The hint for an unknown measure (only ever run on the rows in error): the closest
    known ones, else where they are declared."""
    known = list(MEASURES[cell["series"]])
    near = difflib.get_close_matches(cell["measure"], known, n=3, cutoff=0.5)
    listed = f"the closest known measures of {cell['series']}: {', '.join(near)}; " if near else ""
    return listed + "every known measure is in warehouse/published.py (MEASURES)"


def check_figures(
    rows: pl.DataFrame, con: duckdb.DuckDBPyConnection | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Check rows read by :func:`read_figures`: the typed figures (value a float, plus
    source_kind, quote_match and label) and every problem, one per row, column and rule.
    With ``con``, a figure already loaded from the same source is a problem too."""
    if rows.height == 0:
        return rows, empty_issues()
    rows = _period_parts(rows.join(_measure_table(), on=["series", "measure"], how="left"))
    rows = rows.sort("_row").with_columns(
        pl.col("value").cast(pl.Float64, strict=False).alias("_number"),
        quote_match_expr(pl.col("value"), pl.col("quote"), pl.col("source_url")).alias(
            "quote_match"
        ),
        source_kind_expr(pl.col("source_url")).alias("source_kind"),
    )
    found: list[pl.DataFrame] = []

    def problem(where: pl.Expr, column: str, rule: str, hint: pl.Expr | None = None) -> None:
        found.append(
            cell_issues(
                rows.filter(where),
                sheet=SHEET,
                column_name=column,
                rule=rule,
                description=RULES[rule],
                value=pl.col(column),
                hint=hint,
            )
        )

    for column in COLUMNS:
        problem(pl.col(column).is_null(), column, "required")
    present = pl.all_horizontal(pl.col(c).is_not_null() for c in COLUMNS)
    problem(
        pl.col("series").is_not_null() & ~pl.col("series").is_in(list(MEASURES)),
        "series",
        "series",
    )
    known_series = pl.col("series").is_in(list(MEASURES))
    problem(
        known_series & pl.col("measure").is_not_null() & pl.col("label").is_null(),
        "measure",
        "known_measure",
        pl.struct("series", "measure").map_elements(_closest_measures, pl.String),
    )
    problem(
        pl.col("label").is_not_null()
        & pl.col("unit").is_not_null()
        & (pl.col("unit") != pl.col("_unit")),
        "unit",
        "unit",
        pl.lit("this measure's unit is ") + pl.col("_unit"),
    )
    is_number = pl.col("value").str.contains(r"^-?(?:0|[1-9]\d*)(?:\.\d+)?$")
    problem(pl.col("value").is_not_null() & ~is_number, "value", "value_number")
    number = is_number & pl.col("value").is_not_null()
    problem(
        number & (pl.col("_number") < 0) & ~pl.col("measure").str.starts_with("change_"),
        "value",
        "value_sign",
    )
    problem(
        number & (pl.col("_unit") == "percent") & (pl.col("_number") > 100),
        "value",
        "percent_range",
    )
    formats = pl.col("series").replace_strict(
        {s: words for s, (_, words) in PERIOD_FORMATS.items()}, default=None
    )
    problem(
        known_series & pl.col("period").is_not_null() & pl.col("_start").is_null(),
        "period",
        "period_format",
        pl.lit("for ") + pl.col("series") + pl.lit(": ") + formats,
    )
    low = pl.col("series").replace_strict(
        {s: lo for s, (lo, _) in PERIOD_SPANS.items()}, default=None
    )
    high = pl.col("series").replace_strict(
        {s: hi for s, (_, hi) in PERIOD_SPANS.items()}, default=None
    )
    span = pl.col("_end") - pl.col("_start")
    bare_year = pl.col("period").str.contains(r"^\d{4}$")
    problem(
        pl.col("_start").is_not_null()
        & (
            (~bare_year & ((span < low) | (span > high)))
            | (pl.col("_start") < FIRST_YEAR)
            | (pl.col("_end") > LAST_YEAR)
        ),
        "period",
        "period_span",
        pl.lit("for ")
        + pl.col("series")
        + pl.lit(": ")
        + pl.col("series").replace_strict(SPAN_WORDS, default="")
        + pl.lit(f", between {FIRST_YEAR} and {LAST_YEAR}"),
    )
    problem(
        pl.col("source_url").is_not_null()
        & ~pl.col("source_url").str.contains(r"^https?://[^\s/]+"),
        "source_url",
        "source_url",
    )
    for column in COLUMNS:  # a verbatim quote or title has no control characters
        problem(pl.col(column).str.contains(HIDDEN.pattern), column, "hidden_characters")
    problem(
        pl.col("quote").str.len_chars() > QUOTE_MAX_CHARS,
        "quote",
        "quote_length",
    )
    problem(
        number & pl.col("quote").is_not_null() & pl.col("quote_match").is_null(),
        "value",
        "value_in_quote",
        pl.lit("write the figure in the quote as the page does, in digits; the quote: ")
        + pl.col("quote"),
    )
    same_source = [*KEY, "source_url"]
    problem(
        present & pl.len().over(same_source).gt(1) & (pl.int_range(pl.len()).over(same_source) > 0),
        "source_url",
        "duplicate_in_file",
        pl.lit("first given in row ") + pl.col("_row").min().over(same_source).cast(pl.String),
    )
    if con is not None:
        loaded = query_frame(
            con,
            f"SELECT series, period, measure, source_url, any_value(submission_id) AS _loaded_by "
            f"FROM {TABLE} GROUP BY ALL",
        )
        again = rows.join(loaded, on=same_source, how="inner")
        found.append(
            cell_issues(
                again,
                sheet=SHEET,
                column_name="source_url",
                rule="already_loaded",
                description=RULES["already_loaded"],
                value=pl.col("source_url"),
                hint=pl.lit("loaded by ") + pl.col("_loaded_by"),
            )
        )
    figures = rows.select(
        *KEY,
        pl.col("_number").alias("value"),
        "unit",
        "source_title",
        "source_url",
        "quote",
        "source_kind",
        "quote_match",
        pl.col("_row").alias("row_number"),
    )
    return figures, combine(found)


def issue_lines(issues: pl.DataFrame) -> list[str]:
    """One line per problem, naming the row, the column and the rule broken."""
    if issues.height == 0:
        return []
    lines = issues.sort("row_number", "column_name", nulls_last=False).select(
        pl.format(
            "[ERROR] {}{}: {} ({}){}",
            pl.when(pl.col("row_number").is_not_null())
            .then(pl.format("row {}, ", pl.col("row_number")))
            .otherwise(pl.lit("file")),
            pl.when(pl.col("column_name").is_not_null())
            .then(pl.format("column {}", pl.col("column_name")))
            .otherwise(pl.lit("")),
            pl.col("description"),
            pl.col("rule"),
            pl.when(pl.col("value").is_not_null())
            .then(pl.lit(": ") + pl.col("value").str.slice(0, 60).map_elements(repr, pl.String))
            .otherwise(pl.lit(""))
            + pl.when(pl.col("hint").is_not_null())
            .then(pl.lit("; ") + pl.col("hint"))
            .otherwise(pl.lit("")),
        ).alias("line")
    )["line"]
    # Control and bidirectional characters from the file are shown escaped, never sent to
    # a terminal as they are (as a submission's report does).
    return [shown(line) for line in lines.to_list()]


def check_file(
    path: Path, con: duckdb.DuckDBPyConnection | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read and check a file of figures: the typed figures and every problem."""
    rows, problems = read_figures(Path(path))
    if problems.height:
        return rows, problems
    return check_figures(rows, con)


# -- which figure is used ----------------------------------------------------------------


def _previous_period(period: pl.Expr) -> pl.Expr:
    """The financial year before a 'YYYY-YY' period (2020-21 -> 2019-20)."""
    start = period.str.slice(0, 4).cast(pl.Int64, strict=False)
    return pl.format(
        "{}-{}", (start - 1).cast(pl.String), (start % 100).cast(pl.String).str.zfill(2)
    )


def implied_totals(figures: pl.DataFrame) -> pl.DataFrame:
    """Totals of notifications that an official published change implies: series, period,
    measure and the implied value (2020-21's official total 536 'up 87' implies 449 in
    2019-20; 2023-24's 405, 'down 93' since 2018-19, implies 498 then)."""
    official = figures.filter(
        (pl.col("series") == "notifications") & (pl.col("source_kind") == OFFICIAL)
    )
    totals = (
        official.filter(pl.col("measure") == "notifications_total")
        .group_by("period")
        .agg(pl.col("value").mode().first().alias("total"))
    )
    changes = official.filter(pl.col("measure").str.starts_with("change_total_vs_")).select(
        "period",
        pl.when(pl.col("measure") == "change_total_vs_prev_year")
        .then(_previous_period(pl.col("period")))
        .otherwise(
            pl.col("measure")
            .str.extract(r"^change_total_vs_(\d{4}_\d{2})$")
            .str.replace("_", "-", literal=True)
        )
        .alias("target"),
        pl.col("value").alias("change"),
    )
    return (
        changes.join(totals, on="period")
        .select(
            pl.lit("notifications").alias("series"),
            pl.col("target").alias("period"),
            pl.lit("notifications_total").alias("measure"),
            (pl.col("total") - pl.col("change")).alias("implied"),
        )
        .drop_nulls()
        # one implied value per total; official changes implying different ones imply none
        .group_by(KEY)
        .agg(pl.col("implied").unique())
        .filter(pl.col("implied").list.len() == 1)
        .with_columns(pl.col("implied").list.first())
    )


def mark_used(figures: pl.DataFrame) -> pl.DataFrame:
    """``figures`` with ``used`` (exactly one per series, period and measure) and
    ``used_reason``, by the rule in the module docstring. ``figures`` needs the table's
    columns, ``loaded_at`` and ``submission_id`` included (the later addition wins a tie)."""
    implied = implied_totals(figures)
    ranked = (
        figures.join(implied, on=[*KEY], how="left")
        .with_columns(
            pl.col("source_kind").replace_strict(SOURCE_RANK, default=3).alias("_rank"),
            (
                pl.len().over([*KEY, "value"])
                + (pl.col("implied") == pl.col("value")).fill_null(False).cast(pl.UInt32)
            ).alias("_support"),
            pl.col("value").n_unique().over(KEY).alias("_values"),
            pl.len().over(KEY).alias("_rows"),
            (pl.col("quote_match") != TOKEN).alias("_run_together"),
        )
        .sort(
            [
                *KEY,
                "_rank",
                "_support",
                "loaded_at",
                "submission_id",
                "_run_together",
                "source_url",
                "row_number",
            ],
            descending=[False, False, False, False, True, True, True, False, False, False],
        )
        .with_columns(
            (pl.int_range(pl.len()).over(KEY) == 0).alias("used"),
            # the best row against the best row giving another value: what decided it
            pl.col("_rank").first().over(KEY).alias("_best_rank"),
            pl.col("_support").first().over(KEY).alias("_best_support"),
            pl.col("value").first().over(KEY).alias("_best_value"),
        )
    )
    other = (
        ranked.filter(pl.col("value") != pl.col("_best_value"))
        .group_by(KEY, maintain_order=True)
        .agg(
            pl.col("_rank").first().alias("_other_rank"),
            pl.col("_support").first().alias("_other_support"),
        )
    )
    reason = (
        pl.when(pl.col("_rows") == 1)
        .then(pl.lit("the only source"))
        .when(pl.col("_values") == 1)
        .then(
            pl.lit("the sources agree; the ") + pl.col("source_kind") + pl.lit(" source is linked")
        )
        .when(pl.col("_rank") < pl.col("_other_rank"))
        .then(
            pl.lit("the sources disagree: the ")
            + pl.col("source_kind")
            + pl.lit(" source over ")
            + pl.col("_other_rank").replace_strict(
                {v: k for k, v in SOURCE_RANK.items()}, return_dtype=pl.String
            )
            + pl.lit(" reporting")
        )
        .when((pl.col("implied") == pl.col("value")).fill_null(False))
        .then(
            pl.lit("the sources disagree: an official published change implies ")
            + _text_value(pl.col("implied"))
        )
        .when(pl.col("_support") > pl.col("_other_support"))
        .then(pl.lit("the sources disagree: more sources give this value"))
        .otherwise(pl.lit("the sources disagree: the figure added later"))
    )
    return (
        ranked.join(other, on=KEY, how="left")
        .with_columns(
            pl.when(pl.col("used"))
            .then(reason)
            .when(pl.col("_values") == 1)
            .then(pl.lit("not used: the same figure as the used row, from another source"))
            .otherwise(
                pl.lit("not used: the sources disagree and the product uses ")
                + _text_value(pl.col("_best_value"))
            )
            .alias("used_reason")
        )
        .select(
            *[c for c in figures.columns if c not in ("used", "used_reason")], "used", "used_reason"
        )
        .sort("submission_id", "row_number")
    )


# -- loading -----------------------------------------------------------------------------

TABLE_COLUMNS = (
    *COLUMNS,
    "source_kind",
    "quote_match",
    "used",
    "used_reason",
    "origin",
    "submission_id",
    "row_number",
    "loaded_at",
)


def _loaded(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    return query_frame(con, f"SELECT * FROM {TABLE}")


def _replace_all(con: duckdb.DuckDBPyConnection, figures: pl.DataFrame) -> None:
    """Within the caller's transaction: the table becomes ``figures``, ``used`` marked."""
    marked = mark_used(figures).select(TABLE_COLUMNS)
    groups = marked.group_by(KEY).agg(pl.col("used").sum())
    if marked.height != figures.height or not (groups["used"] == 1).all():
        # never reached: choosing the used rows keeps every row and marks one per figure
        raise RuntimeError("choosing the used published figures lost or duplicated a row")
    con.execute(f"DELETE FROM {TABLE}")
    con.register("published_rows", marked)
    con.execute(f"INSERT INTO {TABLE} BY NAME SELECT * FROM published_rows")
    con.unregister("published_rows")


def _as_loaded(
    figures: pl.DataFrame, origin: str, submission_id: str, now: dt.datetime
) -> pl.DataFrame:
    return figures.with_columns(
        pl.lit(origin).alias("origin"),
        pl.lit(submission_id).alias("submission_id"),
        pl.lit(now).cast(pl.Datetime("us")).alias("loaded_at"),
        pl.col("row_number").cast(pl.Int32),
        pl.lit(False).alias("used"),
        pl.lit("").alias("used_reason"),
    ).select(TABLE_COLUMNS)


def _record(
    con: duckdb.DuckDBPyConnection,
    submission_id: str,
    sha: str,
    name: str,
    origin: str,
    archive_path: Path | None,
    submitted_by: str | None,
    figures: pl.DataFrame,
    now: dt.datetime,
) -> None:
    report = json.dumps(
        {
            "status": "accepted",
            "rows": figures.height,
            "measures": sorted(set(figures["measure"].to_list())),
        }
    )
    con.execute(
        f"INSERT INTO {LEDGER} (submission_id, sha256, original_name, origin, archive_path, "
        "received_at, submitted_by, n_rows, report) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        [
            submission_id,
            sha,
            name,
            origin,
            str(archive_path) if archive_path else None,
            now,
            submitted_by,
            figures.height,
            report,
        ],
    )


def _checked(path: Path, con: duckdb.DuckDBPyConnection | None) -> pl.DataFrame:
    figures, problems = check_file(path, con)
    errors = problems.filter(pl.col("severity") == ERROR)
    if errors.height:
        raise PublishedRejected(issue_lines(errors))
    return figures


@dataclass(frozen=True)
class LoadResult:
    submission_id: str
    rows: int
    used: int
    disagreements: int


def _result(con: duckdb.DuckDBPyConnection, submission_id: str, rows: int) -> LoadResult:
    used, disagreements = con.execute(
        f"SELECT count(*) FILTER (WHERE used), "
        f"(SELECT count(*) FROM (SELECT 1 FROM {TABLE} GROUP BY series, period, measure "
        "HAVING count(DISTINCT value) > 1)) FROM " + TABLE
    ).fetchall()[0]
    return LoadResult(submission_id, rows, int(used), int(disagreements))


def load_shipped(
    con: duckdb.DuckDBPyConnection, archive_root: Path | None = None, path: Path = SHIPPED
) -> LoadResult:
    """Check the shipped figures, then in one transaction replace the shipped rows with
    them (added figures stay), mark the used rows again and record the file in the ledger.
    A failed check raises PublishedRejected and changes nothing."""
    from warehouse.load import archive, content_sha256

    figures = _checked(path, None)
    sha = content_sha256(path)
    submission_id = f"P-shipped-{sha[:16]}"  # the same content is the same ledger entry
    stored = archive(path, archive_root, sha)[0] if archive_root is not None else None
    # loaded_at is when this content was first loaded, so reloading it on every refresh
    # never makes it "the later addition" over figures added since.
    first = con.execute(
        f"SELECT received_at FROM {LEDGER} WHERE submission_id = ?", [submission_id]
    ).fetchall()
    now = first[0][0] if first else dt.datetime.now()
    con.begin()
    try:
        kept = _loaded(con).filter(pl.col("origin") != "shipped")
        _replace_all(
            con,
            pl.concat(
                [kept.select(TABLE_COLUMNS), _as_loaded(figures, "shipped", submission_id, now)]
            ),
        )
        _record(con, submission_id, sha, path.name, "shipped", stored, "release", figures, now)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return _result(con, submission_id, figures.height)


def add_figures(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    archive_root: Path,
    submitted_by: str | None = None,
) -> LoadResult:
    """``scr published add``: check a file of figures like a submission (and against those
    loaded), then archive it, record it in the ledger and add its rows, ``used`` marked
    again, in one transaction. A failed check raises PublishedRejected: nothing changed,
    nothing archived."""
    from warehouse.load import archive, content_sha256

    path = Path(path)
    figures = _checked(path, con)
    if figures.height == 0:
        raise PublishedRejected([f"[ERROR] file: {path.name} has no figures"])
    sha = content_sha256(path)
    now = dt.datetime.now()
    submission_id = f"P{now:%Y%m%d%H%M%S%f}-{sha[:8]}"
    stored, _ = archive(path, archive_root, sha)
    con.begin()
    try:
        loaded = _loaded(con).select(TABLE_COLUMNS)
        _replace_all(con, pl.concat([loaded, _as_loaded(figures, "added", submission_id, now)]))
        _record(
            con,
            submission_id,
            sha,
            path.name,
            "added",
            stored,
            submitted_by or getpass.getuser(),
            figures,
            now,
        )
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return _result(con, submission_id, figures.height)


# -- reading -----------------------------------------------------------------------------

PERIOD_ORDER = pl.col("period").str.slice(0, 4).cast(pl.Int64, strict=False)


def published_series(con: duckdb.DuckDBPyConnection, *, every_source: bool = False) -> pl.DataFrame:
    """The figures the product uses (``every_source``: every row, disagreements included),
    labelled: series, period, measure, label, value, value_text (the figure as published,
    a percent with its %: a published figure is shown as published, never re-rounded),
    unit, source_title, source_url, quote, source_kind, used, used_reason, n_sources and
    disagreement (the sources give different values). Real figures: not synthetic."""
    figures = _with_counts(con)
    if not every_source:
        figures = figures.filter(pl.col("used"))
    return (
        figures.join(_measure_table().drop("_unit"), on=["series", "measure"], how="left")
        .with_columns(
            (
                _text_value(pl.col("value"))
                + pl.when(pl.col("unit") == "percent").then(pl.lit("%")).otherwise(pl.lit(""))
            ).alias("value_text"),
            PERIOD_ORDER.alias("period_start"),
            note_expr().alias("note"),
        )
        .select(
            "series",
            "period",
            "period_start",
            "measure",
            "label",
            "value",
            "value_text",
            "note",
            "unit",
            "source_title",
            "source_url",
            "quote",
            "source_kind",
            "quote_match",
            "used",
            "used_reason",
            "n_sources",
            "disagreement",
            "origin",
            "submission_id",
        )
        .sort("series", "period_start", "period", "measure", pl.col("used").not_())
    )


# What a reader must know about some figures (the shipped README's caveats), by rule.
WHOLE_YEAR = pl.col("period").str.contains(r"^\d{4}-\d{2}$")
CAVEATS: tuple[tuple[pl.Expr, str], ...] = (
    (
        (pl.col("series") == "notifications") & (PERIOD_ORDER < 2014),
        "first Ofsted releases, under wider criteria and patchy reporting: not comparable "
        "with 2014-15 onwards",
    ),
    (pl.col("measure").str.starts_with("region_"), "rounded to the nearest 10 by DfE"),
    (
        (pl.col("series") == "notifications") & (pl.col("period") == "2025-26"),
        "from a stored EES data-catalogue page (Reporting year 2026): check against the "
        "live release",
    ),
    (
        (pl.col("series") == "biennial")
        & (pl.col("period") == "2007-09")
        & (pl.col("measure") == "pct_cpp"),
        "the source does not name the period: 2007-09 (the previous biennial report) is inferred",
    ),
    (
        (pl.col("series") == "biennial")
        & (pl.col("period") == "2011-14")
        & pl.col("measure").str.starts_with("pct_parental_"),
        "of the 175 final reports analysed in depth, not all 293 reviews",
    ),
    (
        (pl.col("series") == "biennial") & (pl.col("period") == "2009-10"),
        "a single year (2009-10) of the 2009-11 analysis",
    ),
    (
        pl.col("measure").str.starts_with("ofsted_eval_"),
        "Ofsted's evaluations of reviews: another sample than the biennial analyses",
    ),
    (
        (pl.col("series") == "biennial")
        & (pl.col("period") == "2001-03")
        & pl.col("measure").str.starts_with("pct_"),
        "a percentage of incidents",
    ),
    (
        pl.col("measure").str.starts_with("change_"),
        "a published change on an earlier year (negative: down)",
    ),
)


def note_expr() -> pl.Expr:
    """Every caveat that applies to a figure, joined by '; ' (null when none does)."""
    notes = [pl.when(rule).then(pl.lit(text)) for rule, text in CAVEATS]
    return pl.concat_str(notes, separator="; ", ignore_nulls=True).replace("", None)


def _with_counts(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    rows = query_frame(con, f"SELECT * FROM {TABLE}")
    return rows.with_columns(
        pl.len().over(KEY).cast(pl.Int64).alias("n_sources"),
        (pl.col("value").n_unique().over(KEY) > 1).alias("disagreement"),
    )


# Financial years before 2014-15 came from the first Ofsted releases, under wider criteria
# and patchy reporting (the shipped README, caveat 4): not comparable with later years.
FIRST_COMPARABLE_YEAR = 2014
CHART_GROUPS = ("notifications", "deaths_and_harm", "reviews", "headline_percents")


def chart_groups(used: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """The used figures grouped for the National overview's charts, each row with its
    source_url (and title and quote) so every point links to its source:

    - ``notifications``: notifications per financial year (whole years), ``comparable``
      false before 2014-15;
    - ``deaths_and_harm``: deaths, serious harm and other notifications per year;
    - ``reviews``: the biennial and triennial analyses' review counts (Ofsted's evaluations,
      on another base, left out);
    - ``headline_percents``: those analyses' headline percentages.
    """
    whole_years = (pl.col("series") == "notifications") & pl.col("period").str.contains(
        r"^\d{4}-\d{2}$"
    )
    comparable = (pl.col("period_start") >= FIRST_COMPARABLE_YEAR).alias("comparable")
    analyses = (pl.col("series") == "biennial") & ~pl.col("measure").str.starts_with("ofsted_eval_")
    return {
        "notifications": used.filter(
            whole_years & (pl.col("measure") == "notifications_total")
        ).with_columns(comparable),
        "deaths_and_harm": used.filter(
            whole_years & pl.col("measure").is_in(["deaths", "serious_harm", "other"])
        ).with_columns(comparable),
        # whole analyses only: 2009-10's reviews are one year of the 2009-11 analysis
        "reviews": used.filter(
            analyses & (pl.col("measure") == "reviews_total") & (pl.col("period") != "2009-10")
        ),
        "headline_percents": used.filter(analyses & (pl.col("unit") == "percent")),
    }

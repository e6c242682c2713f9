"""The check registry: every rule a submission must meet, declared once, from the coding frame.

A ``Check`` has a name, the rule id the report shows, a severity, the sheet and column a
failure is reported under, its message, and a *kind* that says how it is evaluated. Three
things are derived from the registry and from nothing else:

- the fast checker (``check_submission``, ``evaluate``): one vectorised polars pass per sheet
  that finds the failing rows with their Excel row numbers, used by ``scr validate`` and by
  the pipeline's staging step;
- the Great Expectations suites in ``expectations/`` (``warehouse.expectations``): each check
  GX can express is one expectation in its sheet's suite, with the check's name in its meta,
  so a failed expectation is reported with the same rows and words as the fast checker's;
- the template's notes sheet (``warehouse.template``).

Each kind has a phase:

- ``text``: typing rules on the cells as read (a word in an integer column, 31/02/2010).
  The staged rows are typed, so GX cannot see these; they have no expectation.
- ``row``: rules on a sheet's typed rows plus columns derived from the rest of the
  submission and from the warehouse (the review's incident_date, the board a review is
  already loaded for ...); every blocking one is an expectation.
- ``sheet``: non-blocking notes on a whole sheet (an optional sheet left out, a high share
  of ethnicity not stated).

A check's scope says what it reads besides its own sheet: ``sheet`` nothing,
``submission`` the other sheets, ``warehouse`` what is already loaded.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from warehouse import coerce
from warehouse.coerce import TypedSubmission, coerce_submission, empty_sheet_frame
from warehouse.db import query_frame
from warehouse.frame import (
    REVIEW_SHEETS,
    TRACKING_SHEETS,
    CodingFrame,
    Column,
    frame,
    tracking_only,
)
from warehouse.issues import ERROR, WARNING, cell_issues, combine, issue
from warehouse.reader import read_submission

# Characters that are never part of a code, id or name: NUL, the bidirectional embeddings,
# overrides and isolates (they reorder what a reader sees) and the zero-width characters
# (invisible, so two values that look the same differ). Rust, Python and RE2 regex syntax
# alike: the characters themselves, not \u escapes, which RE2 lacks (GX's pandas batches would
# then match each value in Python, a second per 2 million rows, instead of in pyarrow).
FORBIDDEN = "[\\x00\u200b-\u200d\u202a-\u202e\u2066-\u2069\ufeff]"
FORBIDDEN_NAMES = {
    "\x00": "U+0000 NUL",
    "\u200b": "U+200B ZERO WIDTH SPACE",
    "\u200c": "U+200C ZERO WIDTH NON-JOINER",
    "\u200d": "U+200D ZERO WIDTH JOINER",
    "\u202a": "U+202A LEFT-TO-RIGHT EMBEDDING",
    "\u202b": "U+202B RIGHT-TO-LEFT EMBEDDING",
    "\u202c": "U+202C POP DIRECTIONAL FORMATTING",
    "\u202d": "U+202D LEFT-TO-RIGHT OVERRIDE",
    "\u202e": "U+202E RIGHT-TO-LEFT OVERRIDE",
    "\u2066": "U+2066 LEFT-TO-RIGHT ISOLATE",
    "\u2067": "U+2067 RIGHT-TO-LEFT ISOLATE",
    "\u2068": "U+2068 FIRST STRONG ISOLATE",
    "\u2069": "U+2069 POP DIRECTIONAL ISOLATE",
    "\ufeff": "U+FEFF ZERO WIDTH NO-BREAK SPACE",
}
NUL = r"\x00"

# Share of children with ethnicity not stated at or above which a submission gets a warning.
ETHNICITY_NOT_STATED_WARN = 0.5
# How long a value is shown in a report when the value itself is the problem (free text).
SHOWN_CHARACTERS = 40
# At most this many equally close codes are offered in a "did you mean".
MAX_SUGGESTIONS = 3
# Edit distance costs length x length per pair: a hostile file's million distinct values or
# a megabyte cell would take minutes. Beyond these, a value simply gets no hint.
MAX_HINTED_VALUES = 10_000
MAX_HINTED_LENGTH = 100

Hint = pl.Expr | Callable[[pl.DataFrame], pl.Series]


@dataclass(frozen=True, eq=False)
class Check:
    """One rule, declared once: where a failure is reported, what it says, how it is found."""

    name: str  # unique: sheet.column.rule, or sheet.rule for a whole-sheet check
    rule: str  # the report's rule id
    sheet: str
    column: str | None  # the column a failure is reported under
    message: str
    kind: str  # a key of KINDS
    args: Mapping[str, Any] = field(default_factory=dict)
    severity: str = ERROR
    scope: str = "sheet"  # sheet | submission | warehouse: what it reads besides the sheet
    note: str = ""  # a short wording for the template's notes ("" = not listed per column)
    gx: bool = True  # False: another expectation of the suite already rejects what it finds
    value: pl.Expr | None = None  # the value shown; default the column as text
    hint: Hint | None = None

    @property
    def phase(self) -> str:
        return KINDS[self.kind].phase

    @property
    def tested(self) -> str | None:
        """The column the kind tests (a derived one for some cross-sheet checks)."""
        return self.args.get("column", self.column)

    @property
    def reads(self) -> tuple[str, ...]:
        """The columns its test reads: what GX is given, and what must exist to run it."""
        cols = [self.tested, self.args.get("other"), *self.args.get("key", ())]
        return tuple(dict.fromkeys(c for c in cols if c))

    @property
    def in_suite(self) -> bool:
        """Part of the GX suite of record: blocking and expressible as an expectation."""
        return self.gx and self.severity == ERROR and KINDS[self.kind].expectation is not None


@dataclass(frozen=True)
class Params:
    """What row checks compare against besides the row: today. (Links between sheets are
    joined into the frames as flag columns, so no suite carries a submission-sized value set.)"""

    today: dt.date

    def for_gx(self) -> dict[str, Any]:
        # Midnight today as a timestamp: pandas holds dates as datetime64.
        return {"today": dt.datetime.combine(self.today, dt.time())}


# Kinds: how a check is evaluated (a polars condition that is true on failing rows) and, when
# GX can say the same, the expectation. Nulls pass every row kind except not_null, as in GX.


@dataclass(frozen=True)
class Kind:
    phase: str
    fails: Callable[[Check, Params | None], pl.Expr] | None  # None: a whole-sheet note
    expectation: Callable[[Check], tuple[str, dict[str, Any]]] | None = None


def _param(check: Check, params: Params | None, key: str) -> Any:
    value = check.args[key]
    if isinstance(value, str) and value.startswith("$"):
        assert params is not None, f"{check.name} needs the submission's parameters"
        return getattr(params, value[1:])
    return value


def _values(check: Check, params: Params | None) -> Any:
    values = _param(check, params, "values")
    return values.implode() if isinstance(values, pl.Series) else list(values)


def _gx_value(value: Any) -> Any:
    return {"$PARAMETER": value[1:]} if isinstance(value, str) and value.startswith("$") else value


def _python_regex(pattern: str) -> str:
    # Python's $ also matches before a final newline; Rust's (polars') does not. \Z is the
    # strict end in Python, so GX rejects 'TR-1\n' exactly as the fast checker does.
    return (
        pattern[:-1] + r"\Z" if pattern.endswith("$") and not pattern.endswith(r"\$") else pattern
    )


def _typing_fails(check: Check, _: Params | None) -> pl.Expr:
    name, rule = check.column, check.args["rule"]
    assert name is not None
    ok = coerce.usable(name)
    if rule == "excel_error":
        return coerce.excel_error(name)
    if rule == "code_is_number":
        return ok & coerce.is_number_text(name) & ~pl.col(name).is_in(check.args["codes"])
    number = coerce.integer_parse(name)
    if rule == "not_whole_number":
        return ok & number.is_null() & coerce.is_float(name)
    if rule == "not_a_number":
        return ok & number.is_null() & ~coerce.is_float(name)
    if rule == "integer_too_large":
        return ok & number.is_not_null() & ~coerce.in_int32(number)
    iso, serial = coerce.is_iso(name), coerce.is_serial(name)
    slashed, day_first, month_first = coerce.slashed_dates(name)
    not_calendar = slashed & day_first.is_null() & month_first.is_null()
    if rule == "invalid_date":
        return ok & ((iso & coerce.date_parse(name).is_null()) | (~iso & not_calendar))
    if rule == "date_serial":
        return ok & ~iso & serial
    if rule == "date_format":
        return ok & ~iso & ~serial & ~not_calendar
    raise ValueError(f"unknown typing rule {rule!r}")


def _col(check: Check) -> pl.Expr:
    assert check.tested is not None
    return pl.col(check.tested)


def _unique_fails(check: Check, _: Params | None) -> pl.Expr:
    key = list(check.args["key"])
    complete = pl.all_horizontal([pl.col(k).is_not_null() for k in key])
    # A compound key: its last column repeated among rows sharing the others. Same rows as
    # pl.struct(key).is_duplicated(), at a sixth of the memory (2M recommendations: 60 MB,
    # not 380 MB, the national check's high point) and faster.
    repeated = pl.col(key[-1]).is_duplicated()
    if len(key) > 1:
        repeated = repeated.over(key[:-1])
    return complete & repeated


def _unique_expectation(check: Check) -> tuple[str, dict[str, Any]]:
    key = list(check.args["key"])
    if len(key) == 1:
        return "expect_column_values_to_be_unique", {"column": key[0]}
    return "expect_compound_columns_to_be_unique", {
        "column_list": key,
        "ignore_row_if": "any_value_is_missing",
    }


def _before(check: Check, _: Params | None) -> pl.Expr:
    a, b = _col(check), pl.col(check.args["other"])
    return a.is_not_null() & b.is_not_null() & (a < b)


def _differs(check: Check, _: Params | None) -> pl.Expr:
    a, b = _col(check), pl.col(check.args["other"])
    return a.is_not_null() & b.is_not_null() & (a != b)


KINDS: dict[str, Kind] = {
    "typing": Kind("text", _typing_fails),
    "not_null": Kind(
        "row",
        lambda c, p: _col(c).is_null(),
        lambda c: ("expect_column_values_to_not_be_null", {"column": c.tested}),
    ),
    "in_set": Kind(
        "row",
        lambda c, p: _col(c).is_not_null() & ~_col(c).is_in(_values(c, p)),
        lambda c: (
            "expect_column_values_to_be_in_set",
            {"column": c.tested, "value_set": _gx_value(c.args["values"])},
        ),
    ),
    # A warning's test: the value is one of a few that say nothing (e.g. 'not_reported').
    "not_in_set": Kind("row", lambda c, p: _col(c).is_in(list(c.args["values"]))),
    "matches": Kind(
        "row",
        lambda c, p: _col(c).is_not_null() & ~_col(c).str.contains(c.args["pattern"]),
        lambda c: (
            "expect_column_values_to_match_regex",
            {"column": c.tested, "regex": _python_regex(c.args["pattern"])},
        ),
    ),
    "excludes": Kind(
        "row",
        lambda c, p: _col(c).is_not_null() & _col(c).str.contains(c.args["pattern"]),
        lambda c: (
            "expect_column_values_to_not_match_regex",
            {"column": c.tested, "regex": c.args["pattern"]},
        ),
    ),
    "at_least": Kind(
        "row",
        lambda c, p: _col(c) < _param(c, p, "min"),
        lambda c: (
            "expect_column_values_to_be_between",
            {"column": c.tested, "min_value": _gx_value(c.args["min"])},
        ),
    ),
    "at_most": Kind(
        "row",
        lambda c, p: _col(c) > _param(c, p, "max"),
        lambda c: (
            "expect_column_values_to_be_between",
            {"column": c.tested, "max_value": _gx_value(c.args["max"])},
        ),
    ),
    "max_length": Kind(
        "row",
        lambda c, p: _col(c).str.len_chars() > c.args["max"],
        lambda c: (
            "expect_column_value_lengths_to_be_between",
            {"column": c.tested, "max_value": c.args["max"]},
        ),
    ),
    "unique": Kind("row", _unique_fails, _unique_expectation),
    "on_or_after": Kind(
        "row",
        _before,
        lambda c: (
            "expect_column_pair_values_a_to_be_greater_than_b",
            {
                "column_A": c.tested,
                "column_B": c.args["other"],
                "or_equal": True,
                "ignore_row_if": "either_value_is_missing",
            },
        ),
    ),
    "equals": Kind(
        "row",
        _differs,
        lambda c: (
            "expect_column_pair_values_to_be_equal",
            {
                "column_A": c.tested,
                "column_B": c.args["other"],
                "ignore_row_if": "either_value_is_missing",
            },
        ),
    ),
    # Whole-sheet notes, evaluated by _sheet_notes.
    "sheet_present": Kind("sheet", None),
    "share_in_set": Kind("sheet", None),
}


# Hints: what the coder probably meant. Said, never applied.


def _normal(text: pl.Expr) -> pl.Expr:
    """Case, surrounding space and space/hyphen runs do not matter when looking for a code."""
    return text.str.strip_chars().str.to_lowercase().str.replace_all(r"[\s\-]+", "_")


def near_miss_codes(values: pl.Series, codes: Mapping[str, str]) -> pl.Series:
    """'did you mean ...?' for each value, from the closest codes (code or label) by
    Damerau-Levenshtein distance, computed in DuckDB over the distinct values only.

    A whole-word match within a length-scaled distance wins (Londn, Independant, Traning);
    else a value close to the start of codes (White, Wite -> white_british or white_other).
    Ties are all offered, up to MAX_SUGGESTIONS; values under 3 characters only match
    exactly after normalising case and spaces.
    """
    distinct = (
        pl.DataFrame({"value": values})
        .drop_nulls()
        .unique(maintain_order=True)
        .filter(pl.col("value").str.len_chars() <= MAX_HINTED_LENGTH)
        .head(MAX_HINTED_VALUES)
    )
    # Each code is matched by itself, its label, and each alternative a label lists with a
    # slash ("Black/Black British": "Black", "Black British").
    texts = [
        (position, code, text)
        for position, (code, label) in enumerate(codes.items())
        for text in dict.fromkeys([code, label, *(label.split("/") if "/" in label else [])])
    ]
    candidates = pl.DataFrame(
        texts, schema={"position": pl.Int64, "code": pl.String, "text": pl.String}, orient="row"
    ).with_columns(_normal(pl.col("text")).alias("candidate"))
    keyed = distinct.with_columns(_normal(pl.col("value")).alias("key"))
    con = duckdb.connect()
    try:
        con.register("v", keyed)
        con.register("c", candidates)
        scored = query_frame(
            con,
            """
            SELECT v.value, c.code, min(c.position) AS position, length(v.key) AS n,
                   min(damerau_levenshtein(v.key, c.candidate)) AS whole,
                   min(least(damerau_levenshtein(v.key, left(c.candidate, length(v.key))),
                             damerau_levenshtein(v.key, left(c.candidate, length(v.key) + 1))))
                       AS start
            FROM v CROSS JOIN c GROUP BY v.value, v.key, c.code
            """,
        )
    finally:
        con.close()
    limit = (
        pl.when(pl.col("n") < 3)
        .then(0)
        .when(pl.col("n") <= 5)
        .then(1)
        .when(pl.col("n") <= 11)
        .then(2)
        .otherwise(3)
    )
    best = scored.with_columns(
        whole_ok=pl.col("whole") <= limit,
        start_ok=(pl.col("n") >= 3) & (pl.col("start") <= 1),
    ).with_columns(
        any_whole=pl.col("whole_ok").any().over("value"),
        best_whole=pl.col("whole").min().over("value"),
        best_start=pl.col("start").min().over("value"),
    )
    chosen = (
        best.filter(
            pl.when(pl.col("any_whole"))
            .then(pl.col("whole_ok") & (pl.col("whole") == pl.col("best_whole")))
            .otherwise(pl.col("start_ok") & (pl.col("start") == pl.col("best_start")))
        )
        .sort("position")
        .group_by("value", maintain_order=True)
        .agg(pl.col("code").alias("codes"))
        .filter(pl.col("codes").list.len() <= MAX_SUGGESTIONS)
    )
    quoted = pl.col("codes").list.eval(pl.format("'{}'", pl.element()))
    said = chosen.select(
        "value",
        pl.format(
            "did you mean {}?",
            pl.when(quoted.list.len() == 1)
            .then(quoted.list.first())
            .otherwise(
                pl.format(
                    "{} or {}",
                    quoted.list.head(quoted.list.len() - 1).list.join(", "),
                    quoted.list.last(),
                )
            ),
        ).alias("hint"),
    )
    return (
        pl.DataFrame({"value": values})
        .join(said, on="value", how="left", maintain_order="left")
        .get_column("hint")
    )


def _code_hint(codes: Mapping[str, str], column: str, rows: pl.DataFrame) -> pl.Series:
    return near_miss_codes(rows.get_column(column), codes)


def _today_hint(rows: pl.DataFrame) -> pl.Series:
    # Computed when reported, not when the registry is built: a process may outlive a day.
    return pl.repeat(f"today is {dt.date.today():%Y-%m-%d}", rows.height, eager=True)


def _forbidden_hint(column: str) -> pl.Expr:
    found = pl.col(column).str.extract(f"({FORBIDDEN})")
    name = found.replace_strict(FORBIDDEN_NAMES, default="a control character")
    return pl.format("holds {}, which is invisible or reorders text; retype the value", name)


def _typing_hint(rule: str, name: str) -> pl.Expr | None:
    text = coerce.cell_text(name)
    if rule == "excel_error":
        return pl.lit("fix the formula or type the value")
    if rule == "date_serial":
        return pl.format(
            "{} as an Excel serial is {}; format the cell as a date",
            text,
            coerce.serial_date(name).dt.strftime("%Y-%m-%d"),
        )
    slashed, day_first, month_first = coerce.slashed_dates(name)
    if rule == "date_format":
        return (
            pl.when(slashed & day_first.is_not_null())
            .then(pl.format("if day/month/year, write {}", day_first.dt.strftime("%Y-%m-%d")))
            .when(slashed & month_first.is_not_null())
            .then(pl.format("if month/day/year, write {}", month_first.dt.strftime("%Y-%m-%d")))
        )
    if rule == "invalid_date":
        iso = coerce.date_day_text(name).str.extract_groups(r"^(\d{4})-(\d{2})-(\d{2})$")
        dmy = text.str.extract_groups(coerce.SLASHED_DATE)
        day = pl.coalesce(iso.struct.field("3"), dmy.struct.field("1"))
        month = pl.coalesce(iso.struct.field("2"), dmy.struct.field("2"))
        year = pl.coalesce(iso.struct.field("1"), dmy.struct.field("3"))
        return pl.format("there is no day {} of month {} in {}", day, month, year)
    return None


TYPING = {
    "integer": [
        ("not_whole_number", "value is not a whole number", "a whole number"),
        ("not_a_number", "value is not a number", ""),
        (
            "integer_too_large",
            f"value is outside the whole numbers a column can hold "
            f"({coerce.INT32[0]} to {coerce.INT32[1]})",
            "",
        ),
    ],
    "date": [
        ("invalid_date", "not a valid calendar date", "a calendar date, YYYY-MM-DD"),
        ("date_serial", "a number where a date is expected (an Excel date serial?)", ""),
        ("date_format", "date is not written as YYYY-MM-DD", ""),
    ],
    "code": [("code_is_number", "a number where a code of '{codes}' is expected", "")],
    "string": [],
}


def _column_checks(cf: CodingFrame, sheet: str, column: Column) -> list[Check]:
    """A column's own checks, in the order a cell reports its first error."""
    name = column.name
    at = f"{sheet}.{name}"
    checks = [
        Check(
            f"{at}.excel_error",
            "excel_error",
            sheet,
            name,
            "cell holds an Excel error value instead of data",
            "typing",
            {"rule": "excel_error"},
            value=pl.col(name),
            hint=_typing_hint("excel_error", name),
        )
    ]
    codes = cf.codes(column.codes) if column.codes else []
    allowed = ", ".join(codes)
    for rule, message, note in TYPING[column.type]:
        message = message.format(codes=column.codes)
        if rule == "code_is_number":
            message += f" (allowed: {allowed})"
        checks.append(
            Check(
                f"{at}.{rule}",
                rule,
                sheet,
                name,
                message,
                "typing",
                {"rule": rule, "codes": codes},
                note=note,
                value=pl.col(name),
                hint=_typing_hint(rule, name),
            )
        )
    if column.type in ("code", "string"):
        # Names and codes: nothing invisible or reordering; free text: no NUL.
        free_text = column.max_length is not None
        # A code list or an id pattern already excludes these characters in the GX suite;
        # this check only says which character it is, first.
        subsumed = bool(column.codes or column.pattern)
        checks.append(
            Check(
                f"{at}.forbidden_character",
                "forbidden_character",
                sheet,
                name,
                "value holds a NUL character"
                if free_text
                else "value holds a NUL, bidirectional-control or zero-width character",
                "excludes",
                {"pattern": NUL if free_text else FORBIDDEN},
                note="no NUL character"
                if free_text
                else "no NUL, bidirectional-control or zero-width characters",
                gx=not subsumed,
                hint=_forbidden_hint(name),
            )
        )
    if column.required:
        checks.append(
            Check(
                f"{at}.required",
                "required",
                sheet,
                name,
                "required value is blank",
                "not_null",
                note="required",
            )
        )
    if column.codes:
        labels = cf.labels(column.codes)
        checks.append(
            Check(
                f"{at}.unknown_code",
                "unknown_code",
                sheet,
                name,
                f"value is not a code of '{column.codes}' (allowed: {allowed})",
                "in_set",
                {"values": codes},
                note=f"one of the '{column.codes}' codes",
                hint=partial(_code_hint, labels, name),
            )
        )
    if column.pattern:
        checks.append(
            Check(
                f"{at}.pattern",
                "pattern",
                sheet,
                name,
                f"value does not match the required form {column.pattern}",
                "matches",
                {"pattern": column.pattern},
                note=f"of the form {column.pattern}",
                hint=pl.when(pl.col(name).str.strip_chars().str.contains(column.pattern)).then(
                    pl.lit("remove the spaces around it")
                ),
            )
        )
    if column.min is not None:
        checks.append(
            Check(
                f"{at}.below_minimum",
                "below_minimum",
                sheet,
                name,
                f"value is below the minimum {column.min}",
                "at_least",
                {"min": column.min},
                note=f"at least {column.min}",
            )
        )
    if column.max is not None:
        checks.append(
            Check(
                f"{at}.above_maximum",
                "above_maximum",
                sheet,
                name,
                f"value is above the maximum {column.max}",
                "at_most",
                {"max": column.max},
                note=f"at most {column.max}",
            )
        )
    if column.type == "date" and not column.future_allowed:
        checks.append(
            Check(
                f"{at}.future_date",
                "future_date",
                sheet,
                name,
                "date is in the future",
                "at_most",
                {"max": "$today"},
                note="not in the future",
                hint=_today_hint,
            )
        )
    if column.max_length is not None:
        checks.append(
            Check(
                f"{at}.max_length",
                "max_length",
                sheet,
                name,
                f"text is longer than {column.max_length} characters",
                "max_length",
                {"max": column.max_length},
                note=f"at most {column.max_length} characters",
                value=pl.col(name).str.slice(0, SHOWN_CHARACTERS) + pl.lit("…"),
                hint=pl.format("{} characters", pl.col(name).str.len_chars()),
            )
        )
    return checks


def _key_check(sheet: str, key: tuple[str, ...]) -> Check:
    label = " + ".join(key)
    return Check(
        f"{sheet}.duplicate_key",
        "duplicate_key",
        sheet,
        key[-1],
        f"{label} appears more than once in the sheet",
        "unique",
        {"key": key, "column": key[-1]},
        note=f"{label} is unique within the sheet",
        value=pl.concat_str([pl.col(k).cast(pl.String) for k in key], separator=" / "),
    )


def _cross_checks(cf: CodingFrame) -> list[Check]:
    """Links between sheets, date order, counts and ownership (the frame's `rules`)."""
    checks = []
    review_sheets = {n: s for n, s in cf.sheets.items() if n in REVIEW_SHEETS}
    for name, sheet in review_sheets.items():
        if name != "reviews" and "review_id" in sheet.column_names:
            checks.append(
                Check(
                    f"{name}.review_id.unknown_review",
                    "unknown_review",
                    name,
                    "review_id",
                    "review_id is not a review of this submission's reviews sheet",
                    "in_set",
                    {"values": [True], "column": "review_id_in_reviews"},
                    scope="submission",
                    note="a review_id of the reviews sheet",
                )
            )
    checks.append(
        Check(
            "actions.rec_no.unknown_recommendation",
            "unknown_recommendation",
            "actions",
            "rec_no",
            "rec_no does not name a recommendation of the same review",
            "in_set",
            {"values": [True], "column": "rec_no_in_recommendations"},
            scope="submission",
            note="a rec_no of the same review in the recommendations sheet",
            value=pl.col("rec_no").cast(pl.String),
            hint=pl.format("review {}", pl.col("review_id")),
        )
    )
    # Every date is on or after its review's incident_date.
    for name, sheet in review_sheets.items():
        incident = "incident_date" if name == "reviews" else "review_incident_date"
        if name != "reviews" and "review_id" not in sheet.column_names:
            continue
        for column in sheet.columns:
            if column.type != "date" or column.name == "incident_date":
                continue
            checks.append(
                Check(
                    f"{name}.{column.name}.date_before_incident",
                    "date_before_incident",
                    name,
                    column.name,
                    "date is before the review's incident_date",
                    "on_or_after",
                    {"other": incident},
                    scope="sheet" if name == "reviews" else "submission",
                    note="on or after the review's incident_date",
                    hint=pl.format("incident_date is {}", pl.col(incident)),
                )
            )
    checks += [
        Check(
            "reviews.recommendations_total.recommendation_count",
            "recommendation_count",
            "reviews",
            "recommendations_total",
            "recommendations_total differs from the number of rows in the recommendations "
            "sheet for this review",
            "equals",
            {"column": "declared_total", "other": "recommendation_rows"},
            scope="submission",
            note="equals the review's rows in the recommendations sheet, when any are given",
            value=pl.col("recommendations_total").cast(pl.String),
            hint=pl.format(
                "review {}: {} recommendation rows",
                pl.col("review_id"),
                pl.col("recommendation_rows"),
            ),
        ),
        Check(
            "reviews.review_id.review_of_other_board",
            "review_of_other_board",
            "reviews",
            "review_id",
            "review_id is already loaded for another board; only that board can resubmit it",
            "equals",
            {"column": "board_code", "other": "loaded_board_code"},
            scope="warehouse",
            note="not already loaded for another board",
            hint=pl.format(
                "loaded for board {}, this row says {}",
                pl.col("loaded_board_code"),
                pl.col("board_code"),
            ),
        ),
        Check(
            "children.child_id.child_of_other_review",
            "child_of_other_review",
            "children",
            "child_id",
            "child_id is already loaded under another review",
            "equals",
            {"column": "review_id", "other": "loaded_review_id"},
            scope="warehouse",
            note="not already loaded under another review",
            hint=pl.format("loaded under review {}", pl.col("loaded_review_id")),
        ),
    ]
    if "notifications" in cf.sheets:
        checks += _tracking_checks(cf)
    return checks


def _in_order(sheet: str, column: str, other: str, rule: str, scope: str = "sheet") -> Check:
    """``column`` is on or after ``other`` (same row, or a column joined in)."""
    return Check(
        f"{sheet}.{column}.{rule}",
        rule,
        sheet,
        column,
        f"{column} is before {other.removeprefix('review_')}"
        + (" of the review" if other.startswith("review_") else ""),
        "on_or_after",
        {"other": other},
        scope=scope,
        note=f"on or after {other.removeprefix('review_')}"
        + (" of the review" if other.startswith("review_") else ""),
        hint=pl.format(f"{other.removeprefix('review_')} is {{}}", pl.col(other)),
    )


def _flag(
    sheet: str,
    column: str,
    rule: str,
    flag: str,
    message: str,
    note: str,
    scope: str = "sheet",
    value: pl.Expr | None = None,
    hint: Hint | None = None,
) -> Check:
    """A rule on several columns, as a flag column ``check_frames`` derives: False fails,
    True and null (not applicable) pass."""
    return Check(
        f"{sheet}.{column}.{rule}",
        rule,
        sheet,
        column,
        message,
        "in_set",
        {"values": [True], "column": flag},
        scope=scope,
        note=note,
        value=value,
        hint=hint,
    )


def _tracking_checks(cf: CodingFrame) -> list[Check]:
    """The rules of coding frame version 2: dates in order, the decision and its date, the
    review a notification led to, and action updates naming a known action."""
    n, u = "notifications", "action_updates"
    return [
        _in_order("reviews", "published_date", "report_date", "published_before_report"),
        _in_order(n, "notification_date", "incident_date", "notified_before_incident"),
        _in_order(n, "decision_date", "notification_date", "decided_before_notification"),
        _in_order(n, "agreed_completion_date", "decision_date", "completion_before_decision"),
        _in_order(
            n, "agreed_completion_date", "notification_date", "completion_before_notification"
        ),
        _in_order(n, "proceedings_concluded_date", "incident_date", "concluded_before_incident"),
        _flag(
            n,
            "decision_date",
            "decision_without_date",
            "decided_with_date",
            "a decision of scr or no_scr needs its decision_date",
            "required when the decision is scr or no_scr",
            value=pl.col("decision"),
        ),
        _flag(
            n,
            "decision_date",
            "date_without_decision",
            "dated_with_decision",
            "a decision_date needs a decision of scr or no_scr (blank or pending has no date)",
            "blank while the decision is blank or pending",
            hint=pl.format("decision is {}", pl.col("decision").fill_null("blank")),
        ),
        _flag(
            n,
            "review_id",
            "review_without_scr",
            "review_with_scr",
            "a review_id needs a decision of scr",
            "only with a decision of scr",
            hint=pl.format("decision is {}", pl.col("decision").fill_null("blank")),
        ),
        _flag(
            n,
            "proceedings_concluded_date",
            "concluded_without_proceedings",
            "concluded_with_proceedings",
            "a proceedings_concluded_date needs parallel_proceedings criminal, coroner or both",
            "only with parallel_proceedings criminal, coroner or both",
            hint=pl.format(
                "parallel_proceedings is {}", pl.col("parallel_proceedings").fill_null("blank")
            ),
        ),
        _flag(
            n,
            "review_id",
            "scr_review_not_named",
            "names_linked_review",
            "review_id must name the review loaded for this notification (the review whose "
            "notification_id it is)",
            "the review whose notification_id it is, once that review is loaded",
            scope="warehouse",
            hint=pl.format("review {} names this notification", pl.col("linked_review_id")),
        ),
        Check(
            f"{n}.review_id.review_of_other_board",
            "review_of_other_board",
            n,
            "review_id",
            "review_id is a review of another board",
            "equals",
            {"column": "board_code", "other": "review_board_code"},
            scope="warehouse",
            note="a review of the same board, when loaded",
            value=pl.col("review_id"),
            hint=pl.format(
                "review of board {}, this row says {}",
                pl.col("review_board_code"),
                pl.col("board_code"),
            ),
        ),
        Check(
            f"{n}.notification_id.notification_of_other_board",
            "notification_of_other_board",
            n,
            "notification_id",
            "notification_id is already loaded for another board; only that board can send it "
            "again",
            "equals",
            {"column": "board_code", "other": "loaded_notification_board_code"},
            scope="warehouse",
            note="not already loaded for another board",
            value=pl.col("notification_id"),
            hint=pl.format(
                "loaded for board {}, this row says {}",
                pl.col("loaded_notification_board_code"),
                pl.col("board_code"),
            ),
        ),
        _flag(
            u,
            "action_no",
            "unknown_action",
            "action_known",
            "review_id and action_no do not name an action loaded or in this submission",
            "with review_id, an action loaded or in the same submission",
            scope="warehouse",
            value=pl.format("{} / {}", pl.col("review_id"), pl.col("action_no")),
        ),
        _in_order(u, "update_date", "review_report_date", "update_before_report", "warehouse"),
    ]


def _warnings(cf: CodingFrame) -> list[Check]:
    """Gaps the study cared about, and sheets left out: reported, never blocking."""
    checks = [
        Check(
            f"reviews.{column}.completeness",
            "completeness",
            "reviews",
            column,
            text,
            kind,
            args,
            severity=WARNING,
            value=pl.col("review_id"),
        )
        for column, text, kind, args in (
            (
                "author_status",
                "author status not reported",
                "not_in_set",
                {"values": ("not_reported",)},
            ),
            ("report_date", "report not dated", "not_null", {}),
            (
                "parent_ethnicity",
                "parents' ethnicity not stated",
                "not_in_set",
                {"values": ("not_stated",)},
            ),
        )
    ]
    checks += [
        Check(
            "reviews.review_id.review_without_children",
            "review_without_children",
            "reviews",
            "review_id",
            "review has no rows in the children sheet",
            "at_least",
            {"column": "children_rows", "min": 1},
            severity=WARNING,
            scope="submission",
        ),
        Check(
            "children.ethnicity.completeness",
            "completeness",
            "children",
            "ethnicity",
            "ethnicity not stated for {share:.0%} of children",
            "share_in_set",
            {"values": ("not_stated",), "at_least": ETHNICITY_NOT_STATED_WARN},
            severity=WARNING,
        ),
    ]
    checks += [
        Check(
            f"{name}.missing_optional_sheet",
            "missing_optional_sheet",
            name,
            None,
            f"optional sheet {name!r} is not in the submission; it is read as having no rows",
            "sheet_present",
            severity=WARNING,
        )
        for name, sheet in cf.sheets.items()
        if not sheet.required and name in REVIEW_SHEETS
    ]
    return checks


def build_registry(cf: CodingFrame) -> tuple[Check, ...]:
    """Every check, in report order: a cell shows the first error it breaks."""
    checks: list[Check] = []
    for name, sheet in cf.sheets.items():
        for column in sheet.columns:
            checks += _column_checks(cf, name, column)
        checks.append(_key_check(name, sheet.key))
    checks += _cross_checks(cf) + _warnings(cf)
    names = [c.name for c in checks]
    assert len(names) == len(set(names)), "check names must be unique"
    return tuple(checks)


@cache
def registry() -> tuple[Check, ...]:
    """The registry for the project's coding frame, built once per process."""
    return build_registry(frame())


def checks_for(cf: CodingFrame | None) -> tuple[Check, ...]:
    return registry() if cf is None or cf is frame() else build_registry(cf)


def expectation(check: Check) -> dict[str, Any] | None:
    """The check as a GX expectation (type, kwargs, meta naming the check), if it is one."""
    if not check.in_suite:
        return None
    build = KINDS[check.kind].expectation
    assert build is not None
    kind, kwargs = build(check)
    return {
        "type": kind,
        "kwargs": kwargs,
        "meta": {"check": check.name, "description": check.message},
    }


# Frames the row checks run on.


def loaded_owners(
    con: duckdb.DuckDBPyConnection | None, sheets: Mapping[str, pl.DataFrame]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Who already owns the submission's ids in the warehouse: (review_id, loaded_board_code)
    for its reviews and (child_id, loaded_review_id) for its children; empty without one."""
    boards = pl.DataFrame(schema={"review_id": pl.String, "loaded_board_code": pl.String})
    owners = pl.DataFrame(schema={"child_id": pl.String, "loaded_review_id": pl.String})
    if con is None:
        return boards, owners
    con.register("incoming_reviews", sheets["reviews"].select("review_id").drop_nulls())
    con.register("incoming_children", sheets["children"].select("child_id").drop_nulls())
    try:
        boards = query_frame(
            con,
            "SELECT review_id, any_value(board_code) AS loaded_board_code FROM reviews "
            "WHERE review_id IN (SELECT review_id FROM incoming_reviews) GROUP BY review_id",
        )
        owners = query_frame(
            con,
            "SELECT child_id, any_value(review_id) AS loaded_review_id FROM children "
            "WHERE child_id IN (SELECT child_id FROM incoming_children) GROUP BY child_id",
        )
    finally:
        con.unregister("incoming_reviews")
        con.unregister("incoming_children")
    return boards.cast({"loaded_board_code": pl.String}), owners.cast(
        {"loaded_review_id": pl.String}
    )


def loaded_tracking(
    con: duckdb.DuckDBPyConnection | None, sheets: Mapping[str, pl.DataFrame]
) -> dict[str, pl.DataFrame]:
    """What the tracking checks compare against in the warehouse, for the ids a submission
    names (empty frames without one):

    - ``owners``: (notification_id, loaded_notification_board_code) of its notifications;
    - ``linked``: (review_id, board_code, notification_id) of loaded reviews naming one of
      its notifications;
    - ``reviews``: (review_id, board_code, report_date) of loaded reviews its notifications
      or action updates name;
    - ``actions``: (review_id, action_no) of the loaded actions of those reviews.
    """
    found = {
        "owners": pl.DataFrame(
            schema={"notification_id": pl.String, "loaded_notification_board_code": pl.String}
        ),
        "linked": pl.DataFrame(
            schema={"review_id": pl.String, "board_code": pl.String, "notification_id": pl.String}
        ),
        "reviews": pl.DataFrame(
            schema={"review_id": pl.String, "board_code": pl.String, "report_date": pl.Date}
        ),
        "actions": pl.DataFrame(schema={"review_id": pl.String, "action_no": pl.Int64}),
    }
    notifications, updates = sheets["notifications"], sheets["action_updates"]
    if con is None or notifications.height + updates.height == 0:
        return found
    ids = notifications.select("notification_id").drop_nulls()
    named = pl.concat([notifications.select("review_id"), updates.select("review_id")]).drop_nulls()
    con.register("incoming_notifications", ids)
    con.register("incoming_review_ids", named)
    try:
        queries = {
            "owners": "SELECT notification_id, any_value(board_code) AS "
            "loaded_notification_board_code FROM notifications WHERE notification_id IN "
            "(SELECT notification_id FROM incoming_notifications) GROUP BY notification_id",
            "linked": "SELECT review_id, board_code, notification_id FROM reviews WHERE "
            "notification_id IN (SELECT notification_id FROM incoming_notifications)",
            "reviews": "SELECT review_id, board_code, report_date FROM reviews WHERE review_id "
            "IN (SELECT review_id FROM incoming_review_ids)",
            "actions": "SELECT DISTINCT review_id, action_no FROM actions WHERE review_id IN "
            "(SELECT review_id FROM incoming_review_ids)",
        }
        for key, sql in queries.items():
            found[key] = query_frame(con, sql).cast(dict(found[key].schema))
    finally:
        con.unregister("incoming_notifications")
        con.unregister("incoming_review_ids")
    return found


def _tracking_frames(
    full: Mapping[str, pl.DataFrame], con: duckdb.DuckDBPyConnection | None
) -> dict[str, pl.DataFrame]:
    """The notifications and action_updates frames with the flag and joined columns their
    checks read. A review of this submission stands for its loaded version (it replaces it)."""
    reviews, actions = full["reviews"], full["actions"]
    loaded = loaded_tracking(con, full)
    incoming = (
        reviews.select("review_id", "board_code", "report_date", "notification_id")
        .filter(pl.col("review_id").is_not_null())
        .unique("review_id", keep="first", maintain_order=True)
    )
    replaced = incoming.get_column("review_id").implode()
    # Every review as it will stand once the submission is published.
    standing = pl.concat(
        [
            incoming.select("review_id", "board_code", "report_date"),
            loaded["reviews"].filter(~pl.col("review_id").is_in(replaced)),
        ]
    ).unique("review_id", keep="first", maintain_order=True)
    linked = (
        pl.concat(
            [
                incoming.select("review_id", "notification_id"),
                loaded["linked"]
                .filter(~pl.col("review_id").is_in(replaced))
                .select("review_id", "notification_id"),
            ]
        )
        .filter(pl.col("notification_id").is_not_null())
        .group_by("notification_id")
        .agg(pl.col("review_id").min().alias("linked_review_id"))
    )
    decision = pl.col("decision")
    decided = decision.is_in(["scr", "no_scr"])
    notifications = (
        full["notifications"]
        .join(loaded["owners"], on="notification_id", how="left", maintain_order="left")
        .join(linked, on="notification_id", how="left", maintain_order="left")
        .join(
            standing.select("review_id", pl.col("board_code").alias("review_board_code")),
            on="review_id",
            how="left",
            maintain_order="left",
        )
        .with_columns(
            decided_with_date=pl.when(decided).then(pl.col("decision_date").is_not_null()),
            dated_with_decision=pl.when(pl.col("decision_date").is_not_null()).then(
                decision.is_not_null() & (decision != "pending")
            ),
            review_with_scr=pl.when(pl.col("review_id").is_not_null()).then(
                (decision == "scr").fill_null(False)
            ),
            concluded_with_proceedings=pl.when(
                pl.col("proceedings_concluded_date").is_not_null()
            ).then(
                pl.col("parallel_proceedings")
                .is_in(["criminal", "coroner", "both"])
                .fill_null(False)
            ),
            names_linked_review=pl.when(pl.col("linked_review_id").is_not_null()).then(
                (pl.col("review_id") == pl.col("linked_review_id")).fill_null(False)
            ),
        )
    )
    action_key = pl.concat_str(
        [pl.col("review_id"), pl.col("action_no").cast(pl.String)], separator="#"
    )
    # Only updates need the known actions' keys (a national submission's 400k actions,
    # as strings, with none to look up otherwise).
    known_actions = (
        pl.concat(
            [
                actions.select("review_id", pl.col("action_no").cast(pl.Int64)),
                loaded["actions"].filter(~pl.col("review_id").is_in(replaced)),
            ]
        )
        if full["action_updates"].height
        else loaded["actions"].clear()
    ).select(action_key.alias("key"))
    updates = (
        full["action_updates"]
        .join(
            standing.select("review_id", pl.col("report_date").alias("review_report_date")),
            on="review_id",
            how="left",
            maintain_order="left",
        )
        .with_columns(
            action_known=pl.when(
                pl.col("review_id").is_not_null() & pl.col("action_no").is_not_null()
            ).then(action_key.is_in(known_actions.get_column("key").drop_nulls().implode()))
        )
    )
    return {"notifications": notifications, "action_updates": updates}


def check_frames(
    sheets: Mapping[str, pl.DataFrame],
    con: duckdb.DuckDBPyConnection | None,
    cf: CodingFrame | None = None,
    today: dt.date | None = None,
) -> tuple[dict[str, pl.DataFrame], Params]:
    """Each sheet's typed rows plus the columns its cross-sheet checks compare, and the
    submission's parameters. Absent sheets are empty frames."""
    cf = cf or frame()
    full = {n: sheets.get(n, empty_sheet_frame(cf.sheets[n])) for n in cf.sheets}
    reviews, children = full["reviews"], full["children"]
    recs, actions = full["recommendations"], full["actions"]
    boards, owners = loaded_owners(con, full)

    def rows_per_review(df: pl.DataFrame, alias: str) -> pl.DataFrame:
        # Only the key is taken: filtering the whole sheet would copy every column (the
        # recommendations' text, on a national submission some 300 MB).
        return (
            df.select("review_id")
            .filter(pl.col("review_id").is_not_null())
            .group_by("review_id")
            .agg(pl.len().cast(pl.Int64).alias(alias))
        )

    rec_key = pl.concat_str([pl.col("review_id"), pl.col("rec_no").cast(pl.String)], separator="#")
    # One incident_date per review_id even when the review is repeated (itself an error).
    incident = (
        reviews.select("review_id", pl.col("incident_date").alias("review_incident_date"))
        .filter(pl.col("review_id").is_not_null())
        .unique("review_id", keep="first", maintain_order=True)
    )
    frames = {
        "reviews": reviews.join(boards, on="review_id", how="left", maintain_order="left")
        .join(
            rows_per_review(recs, "recommendation_rows"),
            on="review_id",
            how="left",
            maintain_order="left",
        )
        .join(
            rows_per_review(children, "children_rows"),
            on="review_id",
            how="left",
            maintain_order="left",
        )
        .with_columns(
            # Rows given with no total is a mismatch too: -1 never equals a row count.
            declared_total=pl.when(pl.col("recommendation_rows").is_not_null()).then(
                pl.col("recommendations_total").cast(pl.Int64).fill_null(-1)
            ),
            children_rows=pl.col("children_rows").fill_null(0),
        ),
        "children": children.join(owners, on="child_id", how="left", maintain_order="left"),
        "recommendations": recs,
        "actions": actions.join(
            incident, on="review_id", how="left", maintain_order="left"
        ).with_columns(
            rec_no_in_recommendations=_known(
                rec_key, recs.select(rec_key).to_series().drop_nulls().unique()
            )
        ),
    }
    if "notifications" in full:
        frames |= _tracking_frames(full, con)
    frames |= {n: df for n, df in full.items() if n not in frames}
    # Links as flag columns: GX then checks a boolean column, not a submission-sized value set.
    review_ids = reviews.get_column("review_id").drop_nulls().unique()
    for name, df in frames.items():
        if name in REVIEW_SHEETS and name != "reviews" and "review_id" in df.columns:
            frames[name] = df.with_columns(
                review_id_in_reviews=_known(pl.col("review_id"), review_ids)
            )
    return frames, Params(today=today or dt.date.today())


def _known(key: pl.Expr, known: pl.Series) -> pl.Expr:
    """True where the key is one of ``known``, False where it is not, null where it is blank."""
    return pl.when(key.is_not_null()).then(key.is_in(known.implode()))


# The fast checker.


def evaluate(
    frames: Mapping[str, pl.DataFrame], checks: Iterable[Check], params: Params | None = None
) -> dict[str, pl.DataFrame]:
    """The failing rows of every check that fails, by check name: one pass per sheet.

    A check whose columns are not in its sheet's frame is skipped (a text check on a column
    the header lacks; its missing_column error says so)."""
    by_sheet: dict[str, list[Check]] = defaultdict(list)
    for check in checks:
        if check.phase != "sheet":
            by_sheet[check.sheet].append(check)
    failing: dict[str, pl.DataFrame] = {}
    for sheet, group in by_sheet.items():
        df = frames.get(sheet)
        if df is None or df.height == 0:
            continue
        runnable = [c for c in group if all(col in df.columns for col in c.reads)]
        if not runnable:
            continue
        flags = df.select(
            _fails(c, params).fill_null(False).alias(str(i)) for i, c in enumerate(runnable)
        )
        counts = flags.sum().row(0)
        for i, check in enumerate(runnable):
            if counts[i]:
                failing[check.name] = df.filter(flags.get_column(str(i)))
    return failing


def _fails(check: Check, params: Params | None) -> pl.Expr:
    fails = KINDS[check.kind].fails
    assert fails is not None, f"{check.name} is a whole-sheet note"
    return fails(check, params)


def rows_to_issues(check: Check, rows: pl.DataFrame) -> pl.DataFrame:
    """One issue per failing row, with the check's words, value and hint."""
    value = check.value if check.value is not None else pl.col(check.column).cast(pl.String)
    hint = check.hint
    if hint is not None and not isinstance(hint, pl.Expr):
        rows = rows.with_columns(hint(rows).alias("_hint"))
        hint = pl.col("_hint")
    return cell_issues(
        rows,
        sheet=check.sheet,
        column_name=check.column,
        rule=check.rule,
        description=check.message,
        value=value,
        hint=hint,
        severity=check.severity,
    )


def failures_to_issues(
    checks: Iterable[Check], failing: Mapping[str, pl.DataFrame]
) -> list[pl.DataFrame]:
    return [rows_to_issues(c, failing[c.name]) for c in checks if c.name in failing]


def first_error_per_cell(issues: pl.DataFrame) -> pl.DataFrame:
    """Keep the first error at each cell (the earlier check is the clearer one), and no cell
    error under a column whose header is missing or misnamed (the header error says it)."""
    if issues.height == 0:
        return issues
    is_error = pl.col("severity") == ERROR
    headers = (
        issues.filter(is_error & pl.col("rule").is_in(["missing_column", "column_name"]))
        .select("sheet", "column_name", pl.lit(True).alias("_header_error"))
        .unique()
    )
    # Only errors compete for a cell: a warning there never hides one.
    cell = pl.when(is_error).then(
        pl.concat_str(
            [pl.col("sheet"), pl.col("row_number").cast(pl.String), pl.col("column_name")],
            separator="\x1f",
        )
    )
    first = cell.is_null() | cell.is_first_distinct()
    under_header = pl.col("_header_error").fill_null(False) & (pl.col("row_number") > 1)
    return (
        issues.filter(first)
        .join(headers, on=["sheet", "column_name"], how="left", maintain_order="left")
        .filter(~under_header.fill_null(False))
        .drop("_header_error")
    )


def _sheet_notes(
    checks: Iterable[Check],
    frames: Mapping[str, pl.DataFrame],
    read: set[str],
    reported: set[str],
) -> list[pl.DataFrame]:
    """Whole-sheet warnings: optional sheets left out, high shares of 'not stated'."""
    parts = []
    for check in checks:
        if check.kind == "sheet_present" and check.sheet not in read | reported:
            parts.append(
                issue(check.rule, check.message, severity=check.severity, sheet=check.sheet)
            )
        elif check.kind == "share_in_set":
            df = frames.get(check.sheet)
            if df is None or df.height == 0 or check.sheet not in read:
                continue
            share = df.get_column(check.column).is_in(list(check.args["values"])).mean()
            if share is not None and share >= check.args["at_least"]:
                parts.append(
                    issue(
                        check.rule,
                        check.message.format(share=share),
                        severity=check.severity,
                        sheet=check.sheet,
                        column_name=check.column,
                    )
                )
    return parts


def suspect_rows(typed: TypedSubmission, cf: CodingFrame) -> dict[str, pl.DataFrame]:
    """The rows of each sheet's text that a typing check can fail: a cell that is not blank
    but did not type, or a number in a code column. Usually none, so the typing checks (the
    costly string work) run on next to nothing; a property test pins typing to them.

    Rows are first narrowed by tests that build no strings (a cell read but not typed; a
    code cell holding a digit, NaN or inf, which a number needs), then judged exactly."""
    found = {}
    for name, text in typed.text.items():
        columns = [c for c in text.columns if c != "_row"]
        codes = [c for c in columns if cf.sheets[name].column(c).type == "code"]
        untyped = typed.sheets[name].select(
            pl.col(c).is_null().alias(f"{c}\x1funtyped") for c in columns
        )
        both = pl.concat([text, untyped], how="horizontal")
        maybe = [pl.col(c).is_not_null() & pl.col(f"{c}\x1funtyped") for c in columns] + [
            pl.col(c).str.contains(r"(?i)[0-9]|nan|inf") for c in codes
        ]
        if maybe:
            both = both.filter(pl.any_horizontal(maybe).fill_null(False))
        suspect = [
            (coerce.present(c) & pl.col(f"{c}\x1funtyped"))
            | (
                coerce.cell_text(c).cast(pl.Float64, strict=False).is_not_null()
                if c in codes
                else pl.lit(False)
            )
            for c in columns
        ]
        found[name] = (
            both.filter(pl.any_horizontal(suspect)).select(text.columns)
            if suspect
            else text.clear()
        )
    return found


def submission_issues(
    typed: TypedSubmission,
    con: duckdb.DuckDBPyConnection | None,
    cf: CodingFrame | None = None,
    today: dt.date | None = None,
    suspects: Mapping[str, pl.DataFrame] | None = None,
) -> pl.DataFrame:
    """Every problem of a typed submission, found by the registry's fast checker.
    ``suspects``: its ``suspect_rows``, when already found (and ``typed.text`` let go)."""
    checks = checks_for(cf)
    typing = [c for c in checks if c.phase == "text"]
    parts = [typed.issues]
    if suspects is None:
        suspects = suspect_rows(typed, cf or frame())
    parts += failures_to_issues(typing, evaluate(suspects, typing))
    if not typed.sheets:
        return combine(parts)
    # Without a reviews sheet there is nothing to link to: only each sheet's own checks run
    # (the tracking sheets' links are to what is loaded as well, so theirs always run).
    linked = "reviews" in typed.sheets
    frames, params = check_frames(typed.sheets, con, cf, today)
    present = {n: df for n, df in frames.items() if n in typed.sheets}
    blocking = [
        c
        for c in checks
        if c.phase == "row"
        and c.severity == ERROR
        and (linked or c.scope == "sheet" or c.sheet in TRACKING_SHEETS)
    ]
    parts += failures_to_issues(blocking, evaluate(present, blocking, params))
    found = first_error_per_cell(combine(parts))
    reported = set(typed.issues.get_column("sheet").drop_nulls().to_list())
    # A submission of tracking sheets alone leaves the review sheets out (or empty) on purpose.
    notes = (
        []
        if tracking_only(n for n, df in typed.sheets.items() if df.height)
        else _sheet_notes(
            (c for c in checks if c.phase == "sheet" and c.kind == "sheet_present"),
            frames,
            set(typed.sheets),
            reported,
        )
    )
    if linked and not (found.get_column("severity") == ERROR).any():
        # Completeness is only meaningful on data that typed and checked cleanly.
        warnings = [c for c in checks if c.phase == "row" and c.severity == WARNING]
        notes = failures_to_issues(warnings, evaluate(present, warnings, params)) + notes
        notes += _sheet_notes(
            (c for c in checks if c.kind == "share_in_set"), frames, set(typed.sheets), reported
        )
    return combine([found, *notes])


def check_submission(
    con: duckdb.DuckDBPyConnection | None,
    path: Path | str,
    cf: CodingFrame | None = None,
    today: dt.date | None = None,
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """Read, type and check a submission: typed frames (every sheet, absent ones empty) and
    every issue found. No Great Expectations here: that is the pipeline's suite of record."""
    cf = cf or frame()
    typed = coerce_submission(read_submission(path, cf), cf)
    # The cells as read matter only where a typing check can fail them: keep those rows and
    # let the rest go before the other checks run (a national submission's text is ~350 MB).
    suspects = suspect_rows(typed, cf)
    typed.text = {}
    sheets = {n: typed.sheets.get(n, empty_sheet_frame(cf.sheets[n])) for n in cf.sheets}
    return sheets, submission_issues(typed, con, cf, today, suspects)


def warehouse_issues(
    con: duckdb.DuckDBPyConnection, sheets: Mapping[str, pl.DataFrame]
) -> pl.DataFrame:
    """The checks against what is loaded (a review of another board, a moved child), on typed
    rows: publishing re-runs them inside its transaction, as another ingest may have landed."""
    checks = [c for c in registry() if c.scope == "warehouse"]
    frames, params = check_frames(sheets, con)
    return combine(failures_to_issues(checks, evaluate(frames, checks, params)))


def verdicts(
    frames: Mapping[str, pl.DataFrame], params: Params, checks: Iterable[Check] | None = None
) -> set[str]:
    """The names of the suite checks that fail: what GX must agree with."""
    suite = [c for c in (checks if checks is not None else registry()) if c.in_suite]
    return set(evaluate(frames, suite, params))

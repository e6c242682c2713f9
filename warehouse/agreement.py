"""Double-coding agreement: two submissions of the same reviews, coded independently.

Researchers code a sample of reviews twice. This module pairs the two codings item by item
(reviews on review_id, children on child_id, recommendations on (review_id, rec_no), actions
on (review_id, action_no): each sheet's key in the coding frame) and reports, per coded
column, the number of paired items, the share on which the coders agree and, for code
columns, Cohen's kappa with its 95% interval. Every disagreement is listed for adjudication.

Which columns are coded: every coding-frame column of type code, integer or date that is not
part of the sheet's key and not the review_id link. String columns are identifiers or free
text (review_id, period, board_code, board_name, child_id, text) and are not compared.

Conventions, stated so another computation can match them:

- A blank is a value of its own (the coding frame: a blank optional categorical is
  "missing", not the same as a coded "not stated"); blank against blank is agreement.
- Kappa (code columns only) is Cohen's unweighted kappa over the paired items. Its standard
  error is the large-sample one of Fleiss, Cohen & Everitt (1969), as
  ``statsmodels.stats.inter_rater.cohens_kappa`` computes it, and the interval is
  kappa +/- 1.96 SE, cut to [-1, 1]. When both coders use one and the same value throughout
  kappa is undefined (null), though agreement is 100%.
- Numbers and dates report exact agreement only (kappa null).
- An item in one submission only is not paired: it is listed as a disagreement with the
  column "(item)" and the values "present" / "missing in A|B".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import Any, TextIO

import polars as pl

from warehouse.frame import CodingFrame, Sheet, frame
from warehouse.numbers import DASH, percent_expr, round_half_up_expr

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
Z95 = NormalDist().inv_cdf(0.975)
BLANK = "\x00blank"  # a blank cell as a category of its own (no code can hold NUL)
ITEM = "(item)"  # the "column" of an item present in one submission only
CATEGORICAL = "code"
MAX_IDS_SHOWN = 20
BLANK_TEXT = "(blank)"

FIELD_SCHEMA: dict[str, Any] = {
    "sheet": pl.String,
    "column": pl.String,
    "n": pl.Int64,
    "agreement": pl.Float64,
    "kappa": pl.Float64,
    "kappa_low": pl.Float64,
    "kappa_high": pl.Float64,
}
DISAGREEMENT_SCHEMA: dict[str, Any] = {
    "sheet": pl.String,
    "key": pl.String,  # the key columns as a JSON object: {"review_id": "R1", "rec_no": 3}
    "key_text": pl.String,  # the same, as a reader scans it: review_id=R1, rec_no=3
    "column": pl.String,
    "a": pl.String,
    "b": pl.String,
}


class AgreementError(Exception):
    """Why two submissions cannot be compared, with the exit code it calls for and, for an
    invalid submission, the report lines naming sheet, row, column and rule."""

    def __init__(self, message: str, code: int, details: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.code = code
        self.details = details or []


@dataclass(frozen=True)
class Agreement:
    fields: pl.DataFrame  # FIELD_SCHEMA, in coding-frame order
    disagreements: pl.DataFrame  # DISAGREEMENT_SCHEMA, by sheet, key and column


def coded_columns(sheet: Sheet) -> list[tuple[str, str]]:
    """(column, type) of the columns coders fill in: not keys, links, ids or free text."""
    return [
        (c.name, c.type)
        for c in sheet.columns
        if c.type != "string" and c.name not in sheet.key and c.name != "review_id"
    ]


# --------------------------------------------------------------------------------------
# Kappa from contingency tables


def kappa_from_counts(cells: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """Cohen's kappa, its large-sample SE and 95% interval for every group ``by`` of a long
    contingency table (``by`` + ``a``, ``b``, ``count``: how many items coder A put in
    category a and coder B in b).

    With p_ij the cell shares, p_i. and p_.j the margins, p_o = sum p_ii, p_e = sum p_i. p_.i:
    kappa = (p_o - p_e) / (1 - p_e), and (Fleiss, Cohen & Everitt 1969)
    var = [sum_i p_ii (1 - (p_i. + p_.i)(1 - kappa))^2
           + (1 - kappa)^2 sum_{i != j} p_ij (p_.i + p_j.)^2
           - (kappa - p_e (1 - kappa))^2] / (n (1 - p_e)^2).
    """
    # Sorted, so every sum below adds in one order: the same input, the same last digit.
    cells = cells.sort(*by, "a", "b").with_columns(
        pl.col("count").cast(pl.Int64),
        pl.col("count").sum().over(by).cast(pl.Int64).alias("n"),
    )
    cells = cells.with_columns((pl.col("count") / pl.col("n")).alias("p"))
    rows = cells.group_by(*by, pl.col("a").alias("cat")).agg(pl.col("count").sum().alias("rn"))
    cols = cells.group_by(*by, pl.col("b").alias("cat")).agg(pl.col("count").sum().alias("cn"))
    margins = (
        rows.join(cols, on=[*by, "cat"], how="full", coalesce=True)
        .with_columns(pl.col("rn", "cn").fill_null(0))
        .join(cells.select(*by, "n").unique(), on=by)
        .with_columns(
            (pl.col("rn") / pl.col("n")).alias("row"), (pl.col("cn") / pl.col("n")).alias("col")
        )
        .sort(*by, "cat")
    )
    diagonal = pl.col("a") == pl.col("b")
    k, p_e = pl.col("kappa"), pl.col("p_e")
    # In whole numbers, kappa = (n * agreed - sum r_i c_i) / (n^2 - sum r_i c_i): exact up to
    # the one division, whatever the order of the cells.
    chance = margins.group_by(by).agg((pl.col("rn") * pl.col("cn")).sum().alias("rc"))
    n, agreed, rc = pl.col("n"), pl.col("agreed"), pl.col("rc")
    stats = (
        cells.group_by(by)
        .agg(n.first(), pl.col("count").filter(diagonal).sum().alias("agreed"))
        .join(chance, on=by, how="left")
        .with_columns(
            (rc / n.pow(2)).alias("p_e"),
            # One category used by both coders and nothing else: p_e = 1, kappa undefined.
            pl.when(rc < n.pow(2)).then((n * agreed - rc) / (n.pow(2) - rc)).alias("kappa"),
        )
    )
    terms = (
        cells.join(margins.select(*by, a="cat", col_a="col"), on=[*by, "a"])
        .join(margins.select(*by, b="cat", row_b="row"), on=[*by, "b"])
        .join(stats.select(*by, "kappa"), on=by)
        # p_.i + p_j. for the cell (i, j); on the diagonal that is p_i. + p_.i
        .with_columns((pl.col("col_a") + pl.col("row_b")).alias("w"))
        .sort(*by, "a", "b")
        .group_by(by)
        .agg(
            (pl.col("p") * (1 - pl.col("w") * (1 - k)) ** 2).filter(diagonal).sum().alias("on"),
            (pl.col("p") * pl.col("w") ** 2).filter(~diagonal).sum().alias("off"),
        )
    )
    variance = (pl.col("on") + (1 - k) ** 2 * pl.col("off") - (k - p_e * (1 - k)) ** 2) / (
        pl.col("n") * (1 - p_e) ** 2
    )
    # Perfect agreement has variance 0 exactly; floating point leaves it a hair either side.
    se = pl.when(agreed == n).then(0.0).otherwise(pl.max_horizontal(variance, pl.lit(0.0)).sqrt())
    return (
        stats.join(terms, on=by, how="left")
        .with_columns(pl.when(k.is_not_null()).then(se).alias("se"))
        .with_columns(
            pl.when(k.is_not_null())
            .then(pl.max_horizontal(k - Z95 * pl.col("se"), pl.lit(-1.0)))
            .alias("kappa_low"),
            pl.when(k.is_not_null())
            .then(pl.min_horizontal(k + Z95 * pl.col("se"), pl.lit(1.0)))
            .alias("kappa_high"),
        )
        .select(*by, "n", "kappa", "se", "kappa_low", "kappa_high")
    )


# --------------------------------------------------------------------------------------
# Pairing two codings


def _as_text(columns: list[str]) -> list[pl.Expr]:
    # One value type for every coded column, so a sheet unpivots into one long frame: a date
    # as ISO text, a number as its digits.
    return [pl.col(c).cast(pl.String) for c in columns]


def _key_columns(key: list[str]) -> list[pl.Expr]:
    text = pl.concat_str(
        [pl.format(f"{k}={{}}", pl.col(k).cast(pl.String)) for k in key], separator=", "
    )
    return [pl.struct(key).struct.json_encode().alias("key"), text.alias("key_text")]


def _one_side(rows: pl.DataFrame, key: list[str], side: str) -> pl.DataFrame:
    """Items of one submission only, as disagreements: ("present", "missing in B")."""
    missing = "missing in B" if side == "a" else "missing in A"
    return rows.select(
        *key,
        pl.lit(ITEM).alias("column"),
        pl.lit(-1, pl.Int64).alias("order"),  # an item's absence is listed before its values
        pl.lit("present" if side == "a" else missing).alias("a"),
        pl.lit(missing if side == "a" else "present").alias("b"),
    )


@dataclass(frozen=True)
class _Paired:
    values: pl.DataFrame  # sheet, column, kind, a, b: one row per paired item and column
    items: pl.DataFrame  # sheet, column, kind, n, order: every coded column of the sheet
    disagreements: pl.DataFrame


def _pair_sheet(sheet: Sheet, a: pl.DataFrame, b: pl.DataFrame, order: int) -> _Paired:
    key = list(sheet.key)
    # A column a later frame version added that neither coding fills in is not part of the
    # double coding (a version 1 pair reports as it always did).
    coded = [
        (name, kind)
        for name, kind in coded_columns(sheet)
        if sheet.column(name).since == 1
        or a.get_column(name).is_not_null().any()
        or b.get_column(name).is_not_null().any()
    ]
    names = [c for c, _ in coded]
    a = a.select(*key, *_as_text(names))
    b = b.select(*key, *_as_text(names))
    alone = pl.concat(
        [
            _one_side(a.join(b, on=key, how="anti"), key, "a"),
            _one_side(b.join(a, on=key, how="anti"), key, "b"),
        ]
    )
    long = [
        side.join(other, on=key, how="semi").unpivot(
            on=names, index=key, variable_name="column", value_name=name
        )
        for side, other, name in ((a, b, "a"), (b, a, "b"))
    ]
    kinds = pl.DataFrame(
        {"column": names, "kind": [t for _, t in coded]},
        schema={"column": pl.String, "kind": pl.String},
    ).with_row_index("order", offset=order)
    pairs = (
        long[0]
        .join(long[1], on=[*key, "column"], how="inner")
        .join(kinds, on="column", how="left")
        .with_columns(pl.lit(sheet.name).alias("sheet"))
    )
    columns = [*key, "column", "order", "a", "b"]
    differ = pairs.filter(pl.col("a").ne_missing(pl.col("b"))).select(columns)
    disagreements = (
        pl.concat(
            [alone.select(columns).cast({"order": pl.Int64}), differ.cast({"order": pl.Int64})]
        )
        # By key as typed (action 2 before action 10), then in frame column order.
        .sort([*key, "order"])
        .select(pl.lit(sheet.name).alias("sheet"), *_key_columns(key), "column", "a", "b")
    )
    n = a.join(b, on=key, how="semi").height
    return _Paired(
        values=pairs.select("sheet", "column", "kind", "a", "b"),
        items=kinds.with_columns(pl.lit(sheet.name).alias("sheet"), pl.lit(n).alias("n")),
        disagreements=disagreements.cast(DISAGREEMENT_SCHEMA),
    )


def compare(
    sheets_a: dict[str, pl.DataFrame],
    sheets_b: dict[str, pl.DataFrame],
    cf: CodingFrame | None = None,
) -> Agreement:
    """Agreement of two codings given as typed frames (as ``check_submission`` returns
    them). A sheet with no rows in either coding is left out."""
    cf = cf or frame()
    parts = [
        _pair_sheet(sheet, sheets_a[name], sheets_b[name], order=1000 * i)
        for i, (name, sheet) in enumerate(cf.sheets.items())
        if sheets_a[name].height or sheets_b[name].height
    ]
    if not parts:  # nothing coded on either side (a checked submission always has reviews)
        return Agreement(
            pl.DataFrame(schema=FIELD_SCHEMA), pl.DataFrame(schema=DISAGREEMENT_SCHEMA)
        )
    values = pl.concat([p.values for p in parts])
    items = pl.concat([p.items for p in parts])
    by = ["sheet", "column"]
    agreed = values.group_by(by).agg(pl.col("a").eq_missing(pl.col("b")).mean().alias("agreement"))
    cells = (
        values.filter(pl.col("kind") == CATEGORICAL)
        .with_columns(pl.col("a", "b").fill_null(BLANK))
        .group_by(*by, "a", "b")
        .agg(pl.len().cast(pl.Int64).alias("count"))
    )
    kappas = kappa_from_counts(cells, by).drop("n", "se")
    fields = (
        items.join(agreed, on=by, how="left")
        .join(kappas, on=by, how="left")
        .sort("order")
        .select(list(FIELD_SCHEMA))
        .cast(FIELD_SCHEMA)
    )
    disagreements = pl.concat([p.disagreements for p in parts])
    return Agreement(fields=fields, disagreements=disagreements)


# --------------------------------------------------------------------------------------
# Two submissions on disk


def _read(path: Path, label: str) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """A submission's typed frames and issues; one that cannot even be read is an issue."""
    from warehouse.checks import check_submission
    from warehouse.issues import issue

    try:
        return check_submission(None, path)
    except Exception as exc:  # a reader's surprise is reported, never a traceback
        return {}, issue("unreadable", f"{label} ({path}) could not be read: {exc}")


def _ids_text(ids: list[str]) -> str:
    shown = ", ".join(ids[:MAX_IDS_SHOWN])
    more = len(ids) - MAX_IDS_SHOWN
    return f"{shown} and {more} more" if more > 0 else shown


def load_pair(path_a: Path, path_b: Path) -> tuple[dict[str, pl.DataFrame], ...]:
    """Both submissions' typed frames, or AgreementError: code 1 (with each submission's
    error report) when either has an error, 2 when their review_ids differ."""
    from warehouse.issues import ERROR, issues_json, report_lines

    read = {label: (path, *_read(path, label)) for label, path in (("A", path_a), ("B", path_b))}
    failed = []
    for label, (path, _, issues) in read.items():
        errors = issues.filter(pl.col("severity") == ERROR)
        if errors.height:
            failed.append(
                {
                    "submission": label,
                    "path": str(path),
                    "errors": errors.height,
                    "lines": report_lines(errors),
                    "issues": issues_json(errors),
                }
            )
    if failed:
        which = " and ".join(f"{f['submission']} ({f['path']})" for f in failed)
        raise AgreementError(
            f"cannot compare: {which} {'has' if len(failed) == 1 else 'have'} errors; "
            "fix them (`scr validate PATH` shows the same report) and run again",
            EXIT_INVALID,
            failed,
        )
    sheets_a, sheets_b = read["A"][1], read["B"][1]
    ids = [s["reviews"].select("review_id").unique() for s in (sheets_a, sheets_b)]
    only_a = ids[0].join(ids[1], on="review_id", how="anti").sort("review_id")["review_id"]
    only_b = ids[1].join(ids[0], on="review_id", how="anti").sort("review_id")["review_id"]
    if only_a.len() or only_b.len():
        parts = [
            f"only in {label}: {_ids_text(only.to_list())}"
            for label, only in (("A", only_a), ("B", only_b))
            if only.len()
        ]
        raise AgreementError(
            "the two submissions must code the same reviews, but their review_ids differ ("
            + "; ".join(parts)
            + ")",
            EXIT_USAGE,
            [{"only_in_a": only_a.to_list(), "only_in_b": only_b.to_list()}],
        )
    return sheets_a, sheets_b


def agreement(path_a: Path | str, path_b: Path | str) -> Agreement:
    """Agreement of two submissions on disk; AgreementError when they cannot be compared."""
    sheets_a, sheets_b = load_pair(Path(path_a), Path(path_b))
    return compare(sheets_a, sheets_b)


def agreement_summary(path_a: Path | str, path_b: Path | str) -> pl.DataFrame:
    """Per coded column: sheet, column, n, agreement (0-1), kappa, kappa_low, kappa_high, and
    the number of disagreements; for a report's methods section. Raises AgreementError."""
    result = agreement(path_a, path_b)
    counts = result.disagreements.group_by("sheet", "column").agg(
        pl.len().cast(pl.Int64).alias("disagreements")
    )
    return result.fields.join(counts, on=["sheet", "column"], how="left").with_columns(
        pl.col("disagreements").fill_null(0)
    )


# --------------------------------------------------------------------------------------
# Output


def agreement_json(result: Agreement) -> dict[str, Any]:
    """``{"fields": [...], "disagreements": [...]}``; agreement a proportion, a disagreement's
    key a dict of the sheet's key columns (as typed: rec_no a number), its values as text
    (a code, an ISO date, a number's digits; a blank null)."""
    rows = result.disagreements.select("sheet", "key", "column", "a", "b").to_dicts()
    return {
        "fields": result.fields.to_dicts(),
        # Keys differ by sheet (one column or two), so each is decoded on its own.
        "disagreements": [{**row, "key": json.loads(row["key"])} for row in rows],
    }


def _printable(column: str | pl.Expr) -> pl.Expr:
    """Text as a terminal may show it: control and format characters as "?"."""
    expr = pl.col(column) if isinstance(column, str) else column
    return expr.str.replace_all(r"[\p{Cc}\p{Cf}]", "?")


def _kappa_text(kappa: pl.Expr) -> pl.Expr:
    """Two decimals, half up as everywhere in the project, as text: "0.87", "-0.04"."""
    hundredths = (round_half_up_expr(kappa, 2) * 100).round(0).cast(pl.Int64)
    whole = (hundredths.abs() // 100).cast(pl.String)
    cents = (hundredths.abs() % 100).cast(pl.String).str.pad_start(2, "0")
    sign = pl.when(hundredths < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.concat_str([sign, whole, pl.lit("."), cents])


def _table(rows: pl.DataFrame, header: list[str], right: set[str]) -> list[str]:
    """A plain text table: columns padded to their widest cell, numbers to the right."""
    rows = rows.select(pl.all().cast(pl.String).fill_null(""))
    widths = {
        c: max(len(h), rows[c].str.len_chars().max() or 0)
        for c, h in zip(rows.columns, header, strict=True)
    }

    def pad(expr: pl.Expr, c: str) -> pl.Expr:
        return expr.str.pad_start(widths[c]) if c in right else expr.str.pad_end(widths[c])

    head = "  ".join(
        h.rjust(widths[c]) if c in right else h.ljust(widths[c])
        for c, h in zip(rows.columns, header, strict=True)
    )
    body = rows.select(
        pl.concat_str([pad(pl.col(c), c) for c in rows.columns], separator="  ")
    ).to_series()
    return [head.rstrip(), *(line.rstrip() for line in body.to_list())]


def agreement_text(result: Agreement, path_a: Path, path_b: Path) -> list[str]:
    fields = result.fields.select(
        "sheet",
        "column",
        "n",
        pl.format("{}%", percent_expr(pl.col("agreement"))).fill_null(DASH).alias("agreement"),
        pl.when(pl.col("kappa").is_not_null())
        .then(
            pl.format(
                "{} [{}, {}]",
                _kappa_text(pl.col("kappa")),
                _kappa_text(pl.col("kappa_low")),
                _kappa_text(pl.col("kappa_high")),
            )
        )
        .otherwise(pl.lit(DASH))
        .alias("kappa"),
    )
    lines = [
        f"Double-coding agreement: A = {path_a}, B = {path_b}",
        "",
        *_table(
            fields, ["sheet", "column", "n", "agreement", "kappa [95% CI]"], {"n", "agreement"}
        ),
        "",
        "agreement: the share of paired items coded the same (a blank is a value of its own).",
        "kappa: Cohen's, for code columns; 95% interval from the large-sample standard error",
        "(Fleiss, Cohen & Everitt 1969). – : not computed (numbers, dates) or undefined (one",
        "value used throughout by both coders).",
        "",
    ]
    n = result.disagreements.height
    if n == 0:
        return [*lines, "No disagreements: the two codings are identical."]
    values = result.disagreements.select(
        "sheet",
        "key_text",
        "column",
        *[_printable(pl.col(side).fill_null(BLANK_TEXT)) for side in ("a", "b")],
    )
    return [
        *lines,
        f"Disagreements for adjudication ({n}):",
        *_table(values, ["sheet", "key", "column", "A", "B"], set()),
    ]


def run_agreement(
    path_a: Path, path_b: Path, fmt: str, out: TextIO, err: TextIO | None = None
) -> int:
    """`scr agreement PATH_A PATH_B [--format text|json]`: write the agreement of two
    submissions to ``out``; exit 0, 1 when a submission has errors or cannot be read (its
    report names sheet, row, column and rule), 2 when they do not code the same reviews.
    Why it could not compare goes to ``err`` (``out`` when None) as text, to ``out`` as
    JSON with ``--format json``."""
    try:
        result = agreement(path_a, path_b)
    except AgreementError as exc:
        if fmt == "json":
            out.write(json.dumps({"error": str(exc), "details": exc.details}, indent=2) + "\n")
        else:
            err = err or out
            err.write(f"scr agreement: {exc}\n")
            for failed in exc.details:
                for line in failed.get("lines", []):
                    err.write(f"  {failed['submission']}: {line}\n")
        return exc.code
    if fmt == "json":
        out.write(json.dumps(agreement_json(result), indent=2, default=str) + "\n")
    else:
        out.write("\n".join(agreement_text(result, path_a, path_b)) + "\n")
    return EXIT_OK

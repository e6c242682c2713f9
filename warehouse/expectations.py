"""Great Expectations suites derived from the coding frame, and a thin GX 1.x runner.

The suites in ``expectations/`` are generated from the coding frame (``python -m
warehouse.expectations`` rewrites them; a test fails if they drift). They are the declared
contract on what may be published: one suite per coding-frame sheet, run on the typed
staged rows, and two cross-sheet suites run on frames derived from the whole submission
and the warehouse (links, dates, counts, ownership).

GX says which expectations failed (BOOLEAN_ONLY results: SUMMARY and COMPLETE are far
slower on large failures); the failing rows are then found with a polars filter that mirrors each
expectation, so the report names sheet, row, column and value. great_expectations is
imported lazily: only validation pays for it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from warehouse.frame import CodingFrame, frame
from warehouse.issues import cell_issues, combine, empty_issues
from warehouse.rules import loaded_owners

SUITE_DIR = Path(__file__).resolve().parent.parent / "expectations"
CROSS_REVIEWS = "cross_sheet_reviews"
CROSS_ROWS = "cross_sheet_rows"
TEXT_MAX = 2000


def _expectation(
    kind: str, description: str, report_column: str | None = None, **kwargs: Any
) -> dict[str, Any]:
    """One expectation; ``report_column`` is the coder's column a failure is reported under
    when the checked column is a derived one."""
    meta = {"description": description} | (
        {"report_column": report_column} if report_column else {}
    )
    return {"type": kind, "kwargs": kwargs, "meta": meta}


def sheet_suite(cf: CodingFrame, sheet_name: str) -> dict[str, Any]:
    """The expectations a typed sheet must meet, straight from its coding-frame columns."""
    sheet = cf.sheets[sheet_name]
    items = [
        _expectation(
            "expect_table_columns_to_match_ordered_list",
            "the sheet has exactly the coding frame's columns",
            column_list=sheet.column_names,
        )
    ]
    for c in sheet.columns:
        if c.required:
            items.append(
                _expectation(
                    "expect_column_values_to_not_be_null",
                    "required value is blank or could not be read",
                    column=c.name,
                )
            )
        if c.type == "code" and c.codes:
            items.append(
                _expectation(
                    "expect_column_values_to_be_in_set",
                    f"value is not a code of '{c.codes}'",
                    column=c.name,
                    value_set=cf.codes(c.codes),
                )
            )
        if c.pattern:
            items.append(
                _expectation(
                    "expect_column_values_to_match_regex",
                    f"value does not match the required form {c.pattern}",
                    column=c.name,
                    regex=c.pattern,
                )
            )
        if c.type == "integer" and (c.min is not None or c.max is not None):
            items.append(
                _expectation(
                    "expect_column_values_to_be_between",
                    f"value is outside {c.min} to {c.max}",
                    column=c.name,
                    min_value=c.min,
                    max_value=c.max,
                )
            )
        if c.type == "date":
            items.append(
                _expectation(
                    "expect_column_values_to_be_between",
                    "date is in the future",
                    column=c.name,
                    max_value={"$PARAMETER": "today"},
                )
            )
        if c.name == "text":
            items.append(
                _expectation(
                    "expect_column_value_lengths_to_be_between",
                    f"text is longer than {TEXT_MAX} characters",
                    column=c.name,
                    max_value=TEXT_MAX,
                )
            )
    if len(sheet.key) == 1:
        items.append(
            _expectation(
                "expect_column_values_to_be_unique",
                f"{sheet.key[0]} appears more than once",
                column=sheet.key[0],
            )
        )
    else:
        items.append(
            _expectation(
                "expect_compound_columns_to_be_unique",
                f"{' + '.join(sheet.key)} appears more than once",
                column_list=list(sheet.key),
            )
        )
    return {"name": sheet_name, "expectations": items, "meta": {"coding_frame_version": cf.version}}


def cross_suites(cf: CodingFrame) -> dict[str, dict[str, Any]]:
    """The frame's cross-sheet rules as expectations on derived frames."""
    reviews = [
        _expectation(
            "expect_column_pair_values_a_to_be_greater_than_b",
            "date is before the incident_date",
            column_A=column,
            column_B="incident_date",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
        )
        for column in ("decision_date", "report_date")
    ] + [
        _expectation(
            "expect_column_pair_values_to_be_equal",
            "review_id is already loaded for another board",
            report_column="review_id",
            column_A="board_code",
            column_B="loaded_board_code",
            ignore_row_if="either_value_is_missing",
        ),
        _expectation(
            "expect_column_pair_values_to_be_equal",
            "recommendations_total differs from the number of recommendation rows",
            column_A="declared_total",
            column_B="recommendation_rows",
            ignore_row_if="either_value_is_missing",
        ),
    ]
    rows = [
        _expectation(
            "expect_column_values_to_be_in_set",
            "review_id is not a review of this submission's reviews sheet",
            column="review_id",
            value_set={"$PARAMETER": "review_ids"},
        ),
        _expectation(
            "expect_column_values_to_be_in_set",
            "rec_no does not name a recommendation of the same review",
            report_column="rec_no",
            column="recommendation_key",
            value_set={"$PARAMETER": "recommendation_keys"},
        ),
        _expectation(
            "expect_column_pair_values_to_be_equal",
            "child_id is already loaded under another review",
            report_column="child_id",
            column_A="review_id",
            column_B="loaded_review_id",
            ignore_row_if="either_value_is_missing",
        ),
    ] + [
        _expectation(
            "expect_column_pair_values_a_to_be_greater_than_b",
            "date is before the review's incident_date",
            column_A=column,
            column_B="incident_date",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
        )
        for column in ("due_date", "status_date")
    ]
    meta = {"coding_frame_version": cf.version}
    return {
        CROSS_REVIEWS: {"name": CROSS_REVIEWS, "expectations": reviews, "meta": meta},
        CROSS_ROWS: {"name": CROSS_ROWS, "expectations": rows, "meta": meta},
    }


def build_suites(cf: CodingFrame | None = None) -> dict[str, dict[str, Any]]:
    cf = cf or frame()
    return {name: sheet_suite(cf, name) for name in cf.sheets} | cross_suites(cf)


def write_suites(directory: Path = SUITE_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, suite in build_suites().items():
        path = directory / f"{name}.json"
        path.write_text(json.dumps(suite, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written


def load_suites(directory: Path = SUITE_DIR) -> dict[str, dict[str, Any]]:
    return {
        p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(directory.glob("*.json"))
    }


def derived_frames(
    sheets: dict[str, pl.DataFrame], con: duckdb.DuckDBPyConnection | None
) -> tuple[dict[str, pl.DataFrame], dict[str, Any]]:
    """The frames the cross-sheet suites run on, and the suite parameters."""
    reviews = sheets["reviews"]
    recs = sheets["recommendations"]
    loaded_boards, loaded_children = loaded_owners(con, sheets)
    rec_rows = recs.group_by("review_id").agg(pl.len().cast(pl.Int64).alias("recommendation_rows"))
    cross_reviews = (
        reviews.select(
            "_row",
            "review_id",
            "board_code",
            "incident_date",
            "decision_date",
            "report_date",
            "recommendations_total",
        )
        .join(loaded_boards, on="review_id", how="left")
        .join(rec_rows, on="review_id", how="left")
        .with_columns(
            # Rows given with no total is a mismatch too: -1 never equals a row count.
            declared_total=pl.when(pl.col("recommendation_rows").is_not_null()).then(
                pl.col("recommendations_total").fill_null(-1).cast(pl.Int64)
            )
        )
        .drop("recommendations_total")
    )
    incident = reviews.select("review_id", "incident_date")
    parts = []
    for name in ("children", "recommendations", "actions"):
        df = sheets[name]
        parts.append(
            df.select(
                pl.lit(name).alias("sheet"),
                "_row",
                "review_id",
                (pl.col("child_id") if name == "children" else pl.lit(None, pl.String)).alias(
                    "child_id"
                ),
                (
                    pl.concat_str(
                        [pl.col("review_id"), pl.col("rec_no").cast(pl.String)], separator="#"
                    )
                    if name == "actions"
                    else pl.lit(None, pl.String)
                ).alias("recommendation_key"),
                *[
                    (pl.col(c) if name == "actions" else pl.lit(None, pl.Date)).alias(c)
                    for c in ("due_date", "status_date")
                ],
            )
        )
    cross_rows = (
        pl.concat(parts)
        .join(loaded_children, on="child_id", how="left")
        .join(incident, on="review_id", how="left")
    )
    params = {
        # Midnight today as a timestamp: pandas holds dates as datetime64.
        "today": dt.datetime.combine(dt.date.today(), dt.time()),
        "review_ids": reviews["review_id"].drop_nulls().unique().sort().to_list(),
        "recommendation_keys": recs.select(
            pl.concat_str([pl.col("review_id"), pl.col("rec_no").cast(pl.String)], separator="#")
        )
        .to_series()
        .drop_nulls()
        .unique()
        .sort()
        .to_list(),
    }
    return {CROSS_REVIEWS: cross_reviews, CROSS_ROWS: cross_rows}, params


def run_gx(
    frames: dict[str, pl.DataFrame], suites: dict[str, dict[str, Any]], params: dict[str, Any]
) -> list[dict[str, Any]]:
    """Validate each frame against its suite with GX; return the failed expectations."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    source = context.data_sources.add_pandas("submission")
    failed = []
    for name, df in frames.items():
        suite = context.suites.add(
            gx.ExpectationSuite(name=name, expectations=suites[name]["expectations"])
        )
        batch_definition = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe(
            name
        )
        batch = batch_definition.get_batch(
            batch_parameters={"dataframe": df.drop("_row", "sheet", strict=False).to_pandas()}
        )
        result = batch.validate(suite, expectation_parameters=params, result_format="BOOLEAN_ONLY")
        for item in result.results:
            if not item.success:
                config = item.expectation_config
                failed.append(
                    {
                        "frame": name,
                        "type": config.type,
                        "kwargs": dict(config.kwargs),
                        "description": (config.meta or {}).get("description", config.type),
                        "report_column": (config.meta or {}).get("report_column"),
                    }
                )
    return failed


def _failing_rows(
    df: pl.DataFrame,
    kind: str,
    kwargs: dict[str, Any],
    params: dict[str, Any],
    report_column: str | None = None,
) -> tuple[pl.DataFrame, str | None, pl.Expr | None]:
    """The rows an expectation rejects, found with polars; also the column and value."""

    def value(v: Any) -> Any:
        return params[v["$PARAMETER"]] if isinstance(v, dict) and "$PARAMETER" in v else v

    column = kwargs.get("column") or kwargs.get("column_A")
    shown = report_column or column
    if kind == "expect_column_values_to_not_be_null":
        return df.filter(pl.col(column).is_null()), shown, None
    if kind == "expect_column_values_to_be_in_set":
        allowed = pl.Series(value(kwargs["value_set"]), dtype=df.schema[column])
        return (
            df.filter(pl.col(column).is_not_null() & ~pl.col(column).is_in(allowed.implode())),
            column,
            pl.col(column),
        )
    if kind == "expect_column_values_to_match_regex":
        return (df.filter(~pl.col(column).str.contains(kwargs["regex"])), shown, pl.col(column))
    if kind == "expect_column_values_to_be_between":
        lo, hi = value(kwargs.get("min_value")), value(kwargs.get("max_value"))
        bad = pl.lit(False)
        if lo is not None:
            bad = bad | (pl.col(column) < lo)
        if hi is not None:
            bad = bad | (pl.col(column) > hi)
        return df.filter(bad), shown, pl.col(column)
    if kind == "expect_column_value_lengths_to_be_between":
        return (
            df.filter(pl.col(column).str.len_chars() > kwargs["max_value"]),
            shown,
            pl.col(column).str.slice(0, 40),
        )
    if kind == "expect_column_values_to_be_unique":
        return (
            df.filter(pl.col(column).is_not_null() & pl.col(column).is_duplicated()),
            shown,
            pl.col(column),
        )
    if kind == "expect_compound_columns_to_be_unique":
        keys = kwargs["column_list"]
        return (
            df.filter(pl.struct(keys).is_duplicated()),
            keys[-1],
            pl.concat_str([pl.col(k).cast(pl.String) for k in keys], separator=" / "),
        )
    if kind in (
        "expect_column_pair_values_to_be_equal",
        "expect_column_pair_values_a_to_be_greater_than_b",
    ):
        a, b = pl.col(kwargs["column_A"]), pl.col(kwargs["column_B"])
        both = a.is_not_null() & b.is_not_null()
        wrong = (a != b) if kind.endswith("equal") else (a < b)
        return df.filter(both & wrong), shown, a.cast(pl.String)
    return df.clear(), None, None  # table-level expectation: reported without rows


def expectation_issues(
    sheets: dict[str, pl.DataFrame],
    con: duckdb.DuckDBPyConnection | None,
    suites: dict[str, dict[str, Any]] | None = None,
) -> pl.DataFrame:
    """Run every suite on a typed submission; one issue per failing row of each failure."""
    suites = suites or load_suites()
    cross, params = derived_frames(sheets, con)
    frames = {name: sheets[name] for name in frame().sheets} | cross
    parts = [empty_issues()]
    for failure in run_gx(frames, suites, params):
        df = frames[failure["frame"]]
        rows, column, value = _failing_rows(
            df, failure["type"], failure["kwargs"], params, failure["report_column"]
        )
        rule = f"expectation:{failure['type'].removeprefix('expect_')}"
        if rows.height == 0:
            parts.append(
                cell_issues(
                    df.head(1).with_columns(pl.lit(1).alias("_row")),
                    sheet=failure["frame"],
                    column_name=column,
                    rule=rule,
                    description=failure["description"],
                )
            )
            continue
        if "sheet" in rows.columns:  # cross-sheet rows carry the sheet they came from
            for sheet_name in rows["sheet"].unique().to_list():
                parts.append(
                    cell_issues(
                        rows.filter(pl.col("sheet") == sheet_name),
                        sheet=sheet_name,
                        column_name=column,
                        rule=rule,
                        description=failure["description"],
                        value=value,
                    )
                )
        else:
            sheet_name = "reviews" if failure["frame"] == CROSS_REVIEWS else failure["frame"]
            parts.append(
                cell_issues(
                    rows,
                    sheet=sheet_name,
                    column_name=column,
                    rule=rule,
                    description=failure["description"],
                    value=value,
                )
            )
    return combine(parts)


if __name__ == "__main__":
    for written in write_suites():
        print(f"wrote {written}")

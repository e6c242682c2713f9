"""Double-coding agreement (`scr agreement`, warehouse.agreement).

Kappa is checked against independent implementations: scikit-learn's cohen_kappa_score for
the coefficient and statsmodels' cohens_kappa for its standard error and interval. The
synthetic double-coded pair in data_samples/double-coded runs end to end, and its kappas are
recomputed from the CSV files read directly (no warehouse code) with scikit-learn.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import math
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import cohens_kappa

from pipelines.agreement_cli import add_agreement_parser
from warehouse.agreement import (
    ITEM,
    agreement_summary,
    compare,
    kappa_from_counts,
    run_agreement,
)
from warehouse.coerce import empty_sheet_frame
from warehouse.frame import frame
from warehouse.numbers import round_half_up

ROOT = Path(__file__).resolve().parents[1]
PAIR = ROOT / "data_samples" / "double-coded"
CODER_A, CODER_B = PAIR / "coder_a", PAIR / "coder_b"
SHEETS = ("reviews", "children", "recommendations", "actions")
KEYS = {
    "reviews": ["review_id"],
    "children": ["child_id"],
    "recommendations": ["review_id", "rec_no"],
    "actions": ["review_id", "action_no"],
}
FIELD_KEYS = {"sheet", "column", "n", "agreement", "kappa", "kappa_low", "kappa_high"}
LABELS = ["independent", "internal", "not_reported", None]


def run(a: Path, b: Path, fmt: str = "text") -> tuple[int, str]:
    out = io.StringIO()
    code = run_agreement(a, b, fmt, out)
    return code, out.getvalue()


def reviews_coded(values: list[str | None]) -> dict[str, pl.DataFrame]:
    """A typed submission whose reviews differ only in author_status (every other coded
    column blank), as check_submission returns it."""
    cf = frame()
    sheets = {name: empty_sheet_frame(sheet) for name, sheet in cf.sheets.items()}
    n = len(values)
    sheets["reviews"] = pl.concat(
        [
            sheets["reviews"],
            pl.DataFrame(
                {
                    "_row": list(range(2, n + 2)),
                    "review_id": [f"R{i}" for i in range(n)],
                    "author_status": values,
                }
            ),
        ],
        how="diagonal_relaxed",
    )
    return sheets


def sklearn_kappa(a: list[str | None], b: list[str | None]) -> float | None:
    # A blank is a category of its own, as the module documents.
    fill = ["(blank)" if v is None else v for v in a], ["(blank)" if v is None else v for v in b]
    if len(set(fill[0]) | set(fill[1])) == 1:
        return None  # p_e = 1: kappa undefined (scikit-learn returns nan and warns)
    return float(cohen_kappa_score(*fill))


pairs = st.integers(min_value=2, max_value=60).flatmap(
    lambda n: st.tuples(
        st.lists(st.sampled_from(LABELS), min_size=n, max_size=n),
        st.lists(st.sampled_from(LABELS), min_size=n, max_size=n),
    )
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pairs)
def test_kappa_and_agreement_match_scikit_learn(pair: tuple[list, list]) -> None:
    a, b = pair
    fields = compare(reviews_coded(a), reviews_coded(b)).fields
    row = fields.filter(pl.col("column") == "author_status").row(0, named=True)
    assert row["n"] == len(a)
    assert row["agreement"] == pytest.approx(np.mean([x == y for x, y in zip(a, b, strict=True)]))
    expected = sklearn_kappa(a, b)
    if expected is None or math.isnan(expected):
        assert row["kappa"] is None and row["kappa_low"] is None
    else:
        assert row["kappa"] == pytest.approx(expected, abs=1e-12)
    # Columns blank in both codings agree perfectly; kappa is undefined there.
    blank = fields.filter(pl.col("sheet") == "reviews", pl.col("column") == "c8_genogram")
    assert blank.row(0, named=True)["agreement"] == 1.0
    assert blank.row(0, named=True)["kappa"] is None


@settings(max_examples=40, deadline=None)
@given(pairs)
def test_standard_error_and_interval_match_statsmodels(pair: tuple[list, list]) -> None:
    a = ["-" if v is None else v for v in pair[0]]
    b = ["-" if v is None else v for v in pair[1]]
    cells = pl.DataFrame({"g": "x", "a": a, "b": b}).group_by("g", "a", "b").len("count")
    ours = kappa_from_counts(cells, ["g"]).row(0, named=True)
    categories = sorted(set(a) | set(b))
    table = np.zeros((len(categories), len(categories)))
    np.add.at(table, ([categories.index(x) for x in a], [categories.index(y) for y in b]), 1)
    if len(categories) == 1:
        assert ours["kappa"] is None and ours["se"] is None
        return
    with np.errstate(invalid="ignore"):
        reference = cohens_kappa(table)
    assert ours["kappa"] == pytest.approx(reference.kappa, abs=1e-12)
    # statsmodels leaves a perfect agreement's variance a rounding error below 0 (its SE
    # nan); ours is 0 there.
    variance = max(reference.var_kappa, 0.0)
    assert ours["se"] == pytest.approx(math.sqrt(variance), abs=1e-7)
    # The interval is kappa +/- 1.96 SE, cut to kappa's range [-1, 1].
    low, high = (reference.kappa + s * 1.959963984540054 * math.sqrt(variance) for s in (-1, 1))
    if not math.isnan(reference.std_kappa):
        assert (low, high) == pytest.approx((reference.kappa_low, reference.kappa_upp))
    assert ours["kappa_low"] == pytest.approx(max(low, -1.0), abs=1e-7)
    assert ours["kappa_high"] == pytest.approx(min(high, 1.0), abs=1e-7)


def test_textbook_example() -> None:
    """Fleiss, Levin & Paik (2003), Table 18.1-style 2x2: 100 items, the coders agree on
    40 "yes" and 40 "no"; p_o = 0.8, p_e = 0.5, kappa = 0.6."""
    cells = pl.DataFrame(
        {
            "g": ["x"] * 4,
            "a": ["y", "y", "n", "n"],
            "b": ["y", "n", "y", "n"],
            "count": [40, 10, 10, 40],
        }
    )
    row = kappa_from_counts(cells, ["g"]).row(0, named=True)
    assert row["kappa"] == pytest.approx(0.6)
    # FCE 1969 by hand: sum p_ii (1 - (p_i. + p_.i)(1 - k))^2 = 2 * 0.4 * 0.6^2 = 0.288;
    # (1 - k)^2 sum_{i!=j} p_ij (p_.i + p_j.)^2 = 0.16 * 2 * 0.1 = 0.032; (k - p_e(1 - k))^2
    # = 0.16; var = (0.288 + 0.032 - 0.16) / (100 * 0.25) = 0.0064, SE = 0.08.
    assert row["se"] == pytest.approx(0.08)
    assert row["kappa_low"] == pytest.approx(0.6 - 1.959964 * 0.08, abs=1e-6)


# --------------------------------------------------------------------------------------
# The synthetic double-coded pair, end to end


def read_csv_pair(sheet: str) -> pl.DataFrame:
    """One sheet of both codings, read directly and paired on its key (inner join)."""
    a, b = (pl.read_csv(d / f"{sheet}.csv", infer_schema=False) for d in (CODER_A, CODER_B))
    return a.join(b, on=KEYS[sheet], how="inner", suffix="_b")


def test_sample_pair_json_matches_an_independent_computation() -> None:
    code, text = run(CODER_A, CODER_B, "json")
    assert code == 0
    result = json.loads(text)
    assert set(result) == {"fields", "disagreements"}
    assert result["fields"] and all(set(f) == FIELD_KEYS for f in result["fields"])
    assert all(set(d) == {"sheet", "key", "column", "a", "b"} for d in result["disagreements"])
    by_field = {(f["sheet"], f["column"]): f for f in result["fields"]}
    cf = frame()
    checked = 0
    for sheet in SHEETS:
        paired = read_csv_pair(sheet)
        for column in cf.sheets[sheet].columns:
            field = by_field.get((sheet, column.name))
            if column.name not in paired.columns:  # a later frame version's, not coded here
                assert field is None, f"{sheet}.{column.name} is not in the pair"
                continue
            if column.type == "string" or column.name in KEYS[sheet]:
                assert field is None, f"{sheet}.{column.name} is not a coded column"
                continue
            a = paired[column.name].fill_null("(blank)").to_list()
            b = paired[f"{column.name}_b"].fill_null("(blank)").to_list()
            assert field["n"] == paired.height
            assert field["agreement"] == pytest.approx(
                np.mean([x == y for x, y in zip(a, b, strict=True)])
            )
            if column.type != "code":
                assert field["kappa"] is None
            elif len(set(a) | set(b)) > 1:
                assert field["kappa"] == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)
                assert field["kappa_low"] <= field["kappa"] <= field["kappa_high"]
                checked += 1
    assert checked > 30
    # Every differing cell is listed, and the action points only one coder listed.
    differing = sum(round(f["n"] * (1 - f["agreement"])) for f in result["fields"])
    items = [d for d in result["disagreements"] if d["column"] == ITEM]
    assert len(result["disagreements"]) == differing + len(items)
    assert {(d["key"]["review_id"], d["key"]["action_no"], d["a"], d["b"]) for d in items} == {
        ("R2001-03-0003", 4, "missing in A", "present"),
        ("R2001-03-0029", 38, "present", "missing in B"),
        ("R2001-03-0029", 39, "present", "missing in B"),
        ("R2001-03-0029", 40, "present", "missing in B"),
    }
    focus = next(d for d in result["disagreements"] if d["sheet"] == "recommendations")
    assert set(focus["key"]) == {"review_id", "rec_no"} and isinstance(focus["key"]["rec_no"], int)


def test_sample_pair_text_report() -> None:
    code, text = run(CODER_A, CODER_B)
    assert code == 0
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("sheet"))
    assert header.split() == ["sheet", "column", "n", "agreement", "kappa", "[95%", "CI]"]
    focus = next(line for line in lines if line.split()[:2] == ["recommendations", "focus"])
    summary = (
        agreement_summary(CODER_A, CODER_B).filter(pl.col("column") == "focus").row(0, named=True)
    )
    # Percent half up through warehouse.numbers; kappa to two decimals.
    percent = int(math.floor(100 * summary["agreement"] + 0.5))
    assert f"{summary['n']}  " in focus and f"{percent}%" in focus
    assert f"{round_half_up(summary['kappa'], 2):.2f} [" in focus
    assert summary["disagreements"] > 0
    assert any("Disagreements for adjudication" in line for line in lines)
    assert any("missing in B" in line and "action_no=38" in line for line in lines)
    assert any("(blank)" in line for line in lines)


def test_perfect_agreement_gives_kappa_one() -> None:
    code, text = run(CODER_A, CODER_A, "json")
    assert code == 0
    result = json.loads(text)
    assert result["disagreements"] == []
    assert all(f["agreement"] == 1.0 for f in result["fields"])
    kappas = [f for f in result["fields"] if f["kappa"] is not None]
    assert kappas and all(
        (f["kappa"], f["kappa_low"], f["kappa_high"]) == (1.0, 1.0, 1.0) for f in kappas
    )


# --------------------------------------------------------------------------------------
# Submissions that cannot be compared


def copy_pair(tmp_path: Path) -> tuple[Path, Path]:
    a, b = tmp_path / "a", tmp_path / "b"
    shutil.copytree(CODER_A, a)
    shutil.copytree(CODER_B, b)
    return a, b


def test_submission_with_an_error_exits_1_naming_sheet_row_and_column(tmp_path: Path) -> None:
    a, b = copy_pair(tmp_path)
    children = pl.read_csv(b / "children.csv", infer_schema=False)
    children.with_columns(
        pl.when(pl.int_range(pl.len()) == 2).then(pl.lit("boy")).otherwise("gender").alias("gender")
    ).write_csv(b / "children.csv")
    code, text = run(a, b)
    assert code == 1
    assert "B (" in text and "children, gender" in text and "row 4" in text
    code, text = run(a, b, "json")
    assert code == 1
    details = json.loads(text)["details"]
    assert [d["submission"] for d in details] == ["B"]
    assert {(i["sheet"], i["column_name"], i["row_number"]) for i in details[0]["issues"]} == {
        ("children", "gender", 4)
    }
    assert details[0]["issues"][0]["rule"]


def test_unreadable_submission_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "coder.xlsx"
    bad.write_bytes(b"not a workbook")
    code, text = run(bad, CODER_B)
    assert code == 1 and "A (" in text and "Traceback" not in text


def test_different_review_ids_exit_2_naming_them(tmp_path: Path) -> None:
    a, b = copy_pair(tmp_path)
    dropped = "R2001-03-0007"
    for sheet in SHEETS:
        df = pl.read_csv(b / f"{sheet}.csv", infer_schema=False)
        df.filter(pl.col("review_id") != dropped).write_csv(b / f"{sheet}.csv")
    code, text = run(a, b)
    assert code == 2
    assert f"only in A: {dropped}" in text and "only in B" not in text
    code, text = run(a, b, "json")
    assert code == 2 and json.loads(text)["details"] == [{"only_in_a": [dropped], "only_in_b": []}]


def test_parser_registers_the_command() -> None:
    parser = argparse.ArgumentParser(prog="scr")
    add_agreement_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["agreement", "x", "y", "--format", "json"])
    assert (args.path_a, args.path_b, args.format) == ("x", "y", "json")
    assert parser.parse_args(["agreement", "x", "y"]).format == "text"
    with pytest.raises(SystemExit):
        parser.parse_args(["agreement", "x", "y", "--format", "csv"])


def test_sample_pair_is_reproducible(tmp_path: Path) -> None:
    """make_double_coded.py rewrites the committed pair byte for byte (seeded)."""
    spec = importlib.util.spec_from_file_location(
        "make_double_coded", ROOT / "data_samples" / "make_double_coded.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with contextlib.redirect_stdout(io.StringIO()):
        module.main(tmp_path)
    for coder in ("coder_a", "coder_b"):
        for sheet in SHEETS:
            name = f"{coder}/{sheet}.csv"
            assert (tmp_path / name).read_bytes() == (PAIR / name).read_bytes(), name


def test_workbook_and_csv_folder_give_the_same_report(tmp_path: Path) -> None:
    """Coder B as an .xlsx workbook compares exactly as its CSV folder does (dates typed from
    Excel dates, numbers from numbers), and twice the same run gives the same bytes."""
    from data_samples.generate import write_xlsx_submission
    from warehouse.checks import check_submission

    sheets, _ = check_submission(None, CODER_B)
    workbook = tmp_path / "coder_b.xlsx"
    write_xlsx_submission(workbook, {name: df.drop("_row") for name, df in sheets.items()})
    assert run(CODER_A, workbook, "json") == run(CODER_A, CODER_B, "json")
    assert run(CODER_A, CODER_B) == run(CODER_A, CODER_B)


def test_command_line_reports_problems_on_stderr(tmp_path: Path) -> None:
    """As `scr agreement` runs it (cmd_agreement): the table on stdout, a refusal on stderr."""
    parser = argparse.ArgumentParser(prog="scr")
    add_agreement_parser(parser.add_subparsers(dest="command"))
    missing = tmp_path / "nowhere"
    args = parser.parse_args(["agreement", str(CODER_A), str(missing)])
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = args.func(args)
    assert code == 1 and out.getvalue() == ""
    assert "B (" in err.getvalue() and "does not exist" in err.getvalue()

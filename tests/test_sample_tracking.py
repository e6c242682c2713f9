"""Independent checks of the SYNTHETIC tracking sample (coding frame v2) in data_samples/.

The workbooks are read directly with polars (calamine), without the warehouse package. The
checks: the version 1 content of every sample file is exactly what it was before version 2
(digests taken from the files of commit b1a9cd4), the realised rates of the notifications,
reviews and action updates of 2005-07, 2007-09 and 2009-11 are within the bounds
data_samples/README.md documents, and the coding frame's version 2 rules hold.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data_samples"
SUBMISSIONS = SAMPLES / "submissions"
FRAME = yaml.safe_load((ROOT / "warehouse" / "coding_frame.yaml").read_text(encoding="utf-8"))
CODES = {name: {c["code"] for c in codes} for name, codes in FRAME["code_lists"].items()}
V1_SHEETS = ["reviews", "children", "recommendations", "actions"]
V2_SHEETS = ["notifications", "action_updates"]
TRACKED = ["2005-07", "2007-09", "2009-11"]
SAMPLE_NOW = date(2011, 12, 31)  # no update or proceedings conclusion after it
POLARS = {"date": pl.Date, "integer": pl.Int64}

# sha256 of each version 1 sheet (version 1 columns only) of each workbook, as `v1_digest`
# computes it, taken from the committed files before version 2 (commit b1a9cd4, "Sample
# data: one workbook per later period"): `git show b1a9cd4:data_samples/submissions/P.xlsx`
# written to a folder, then v1_digest(path, sheet) for every period and sheet.
V1_DIGESTS = {
    ("2003-05", "reviews"): "3733e42cd23f69282ec470f9be4d369337ef89e3c1706e86e65bf7986a215324",
    ("2003-05", "children"): "c321dc20211fece2c6763456108b59dd8d1f48f0927050bc82b2c8bf07183d79",
    ("2003-05", "recommendations"): (
        "d40d1a1a4c506aa88a5326e0c34ad6ae922175180697a6796acc139f23562fc8"
    ),
    ("2003-05", "actions"): "2290fd3aa0392beb5404f75f74a70b9a20fa04e3b0aefb070899b62a7b4fc6c4",
    ("2005-07", "reviews"): "65eae5180153e386de7cda67b1fda4aa62406250469aa9869ae019711c5cc0e9",
    ("2005-07", "children"): "ebe9671e722cbc586d5ee73a6dd190b4cc6a94aeecc612c57d9d57674fe813e9",
    ("2005-07", "recommendations"): (
        "031932357ead2514e824e966abab7c8b8c73b22eb03e2f8eb5227fa742eb204b"
    ),
    ("2005-07", "actions"): "1470bfb67ee6e6287be732c1570b091a1a56b7b6bbaca894cefb9cdce4a0e8d4",
    ("2007-09", "reviews"): "bc06f274f8fede935926e0311372b84378ffed3dbb303cdc55a20ca77d6accf3",
    ("2007-09", "children"): "3a26d947a1d9f48e2021630451efdeb2d32f2a5320fce7bf28b5a31713f8229e",
    ("2007-09", "recommendations"): (
        "5efa1bee611579209bd0bb1d056a6d96f16b4a9381f6193a7c56e6c96407d5c8"
    ),
    ("2007-09", "actions"): "b06e7869c90f75796fbc612ce5a0a8e0f973e998bd070b3e3a1f445ad293d955",
    ("2009-11", "reviews"): "a97ec7a68875946e95bc64308e5f61729f46a44736c2a4ef09ce79449127e255",
    ("2009-11", "children"): "056f703b9dc6a6c06a97558e1992069f6f5a6f3a69de8e967bb617ddba304bd3",
    ("2009-11", "recommendations"): (
        "dd03f1a6c11336efc60f5345fbc8ab76337d744eb4416d07c9c07b230d6c3659"
    ),
    ("2009-11", "actions"): "f625c9adc83726c2d5601fa8079f77c1c91e67838de9c2738af66fa7a9455af5",
}
# sha256 of the replication's CSV files (bytes) at the same commit.
REPLICATION_DIGESTS = {
    "actions.csv": "5bf1bc141a383387edc97bb655567fdc014a1b7865b9bd7ca3163524d9b0f596",
    "children.csv": "c9e900b2141832a5954b7ca517998d5c00879e1abf57554340de453588d52ca0",
    "recommendations.csv": "d6ec8d73dfb6042a24eeb3c1aa1fa310a6f1650649fe6ef99319b781697d75a5",
    "reviews.csv": "3ef6a351bc9eb80d39d5b0b4ac2324cd7980c5de68c8e85750f83a482915f433",
}


def frame_columns(sheet: str, version: int = 2) -> dict[str, str]:
    """Column name -> frame type, in frame order, of the columns of `version` or earlier."""
    return {
        c["name"]: c["type"]
        for c in FRAME["sheets"][sheet]["columns"]
        if c.get("since", 1) <= version
    }


def typed(raw: pl.DataFrame, sheet: str, version: int = 2) -> pl.DataFrame:
    """The frame's columns of a sheet, typed as the frame says (dates, integers, text)."""
    return raw.select(
        pl.col(name).cast(POLARS.get(kind, pl.String))
        for name, kind in frame_columns(sheet, version).items()
    )


def v1_digest(path: Path, sheet: str) -> str:
    """sha256 of a sheet's version 1 columns, typed and written as CSV with ISO dates."""
    raw = pl.read_excel(path, sheet_name=sheet, engine="calamine")
    text = typed(raw, sheet, version=1).write_csv(date_format="%Y-%m-%d")
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(scope="module")
def books() -> dict[str, dict[str, pl.DataFrame]]:
    """Every sheet of each tracked workbook, typed by the frame."""
    out = {}
    for period in TRACKED:
        book = pl.read_excel(SUBMISSIONS / f"{period}.xlsx", sheet_id=0, engine="calamine")
        assert list(book) == V1_SHEETS + V2_SHEETS, period
        for sheet, raw in book.items():
            assert raw.columns == list(frame_columns(sheet)), (period, sheet)
        out[period] = {sheet: typed(raw, sheet) for sheet, raw in book.items()}
    return out


def period_bounds(period: str) -> tuple[date, date]:
    year = int(period[:4])
    return date(year, 4, 1), date(year + 2, 3, 31)


# --------------------------------------------------------------------------------------
# Version 1 content unchanged


@pytest.mark.parametrize(("period", "sheet"), sorted(V1_DIGESTS))
def test_v1_columns_unchanged(period: str, sheet: str) -> None:
    assert v1_digest(SUBMISSIONS / f"{period}.xlsx", sheet) == V1_DIGESTS[period, sheet]


def test_replication_and_2003_05_stay_version_1_files() -> None:
    folder = SUBMISSIONS / "2001-03-replication"
    assert {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())
    } == REPLICATION_DIGESTS
    book = pl.read_excel(SUBMISSIONS / "2003-05.xlsx", sheet_id=0, engine="calamine")
    assert list(book) == V1_SHEETS
    for sheet, raw in book.items():
        assert raw.columns == list(frame_columns(sheet, version=1)), sheet


# --------------------------------------------------------------------------------------
# Realised rates within the documented bounds (data_samples/README.md)


def rates(data: dict[str, pl.DataFrame], period: str) -> dict[str, float]:
    notes, reviews = data["notifications"], data["reviews"]
    actions, updates = data["actions"], data["action_updates"]
    decided = notes.filter(pl.col("decision").is_in(["scr", "no_scr"]))
    month = pl.col("notification_date").dt.offset_by("1mo")
    scr = notes.filter(pl.col("decision") == "scr").join(
        reviews.select("review_id", "report_date"), on="review_id"
    )
    completed = scr.filter(pl.col("report_date").is_not_null())
    four = pl.col("decision_date").dt.offset_by("4mo")
    due = pl.coalesce("agreed_completion_date", four)
    held = pl.col("parallel_proceedings").is_in(["criminal", "coroner", "both"])
    dated = reviews.filter(pl.col("report_date").is_not_null())
    received = dated.filter(pl.col("action_plan_received_date").is_not_null())
    updated = updates.select("review_id", "action_no").unique()
    last = (
        updates.sort("update_date").group_by("review_id", "action_no").agg(pl.col("status").last())
    )
    end = period_bounds(period)[1]
    return {
        "scr_share": scr.height / notes.height,
        "pending": notes.height - decided.height,
        "pending_late_in_period": notes.filter(
            pl.col("decision_date").is_null()
            & (pl.col("notification_date") >= end - timedelta(days=44))
        ).height
        / max(1, notes.height - decided.height),
        "decided_within_month": decided.filter(pl.col("decision_date") <= month).height
        / decided.height,
        "decided_after_two_months": decided.filter(
            pl.col("decision_date") > pl.col("notification_date").dt.offset_by("2mo")
        ).height,
        "completed_on_time": completed.filter(pl.col("report_date") <= due).height
        / completed.height,
        "completed_within_four_months": completed.filter(pl.col("report_date") <= four).height,
        "agreed_date": scr["agreed_completion_date"].is_not_null().mean(),
        "scr_proceedings": scr.filter(held).height / scr.height,
        "scr_proceedings_concluded": scr.filter(held)["proceedings_concluded_date"]
        .is_not_null()
        .mean(),
        "other_proceedings": notes.filter(held & (pl.col("decision") != "scr")).height,
        "published": dated["published_date"].is_not_null().mean(),
        "plan_received": received.height
        / dated.filter(pl.col("action_points_total").ne_missing(0)).height,
        "plan_on_time": received.filter(
            pl.col("action_plan_received_date") <= pl.col("report_date").dt.offset_by("1mo")
        ).height
        / received.height,
        "actions_updated": updated.height / actions.height,
        "updates_per_action": updates.height / updated.height,
        "last_completed": (last["status"] == "completed").mean(),
        "last_dropped": (last["status"] == "dropped").mean(),
        "plans_implemented": actions.join(last, on=["review_id", "action_no"], how="left")
        .group_by("review_id")
        .agg(pl.col("status_right").is_in(["completed", "dropped"]).fill_null(False).all())
        .get_column("status_right")
        .mean(),
    }


# (low, high) of each rate, as documented in data_samples/README.md.
BOUNDS = {
    "scr_share": (0.34, 0.36),
    "pending": (3, 6),
    "pending_late_in_period": (1.0, 1.0),
    "decided_within_month": (0.75, 0.90),
    "decided_after_two_months": (10, 60),
    "completed_on_time": (0.03, 0.15),
    "completed_within_four_months": (2, 12),
    "agreed_date": (0.06, 0.10),
    "scr_proceedings": (0.08, 0.12),
    "scr_proceedings_concluded": (0.3, 0.9),
    "other_proceedings": (20, 60),
    "published": (0.78, 0.92),
    "plan_received": (0.80, 0.95),
    "plan_on_time": (0.50, 0.75),
    "actions_updated": (0.75, 0.995),
    "updates_per_action": (2.5, 5.0),
    "last_completed": (0.10, 0.90),
    "last_dropped": (0.01, 0.10),
    "plans_implemented": (0.02, 0.70),
}


@pytest.mark.parametrize("period", TRACKED)
def test_realised_rates_within_documented_bounds(books, period: str) -> None:
    got = rates(books[period], period)
    outside = {
        name: value
        for name, value in got.items()
        if not BOUNDS[name][0] <= value <= BOUNDS[name][1]
    }
    assert outside == {}, period


def test_implementation_moves_on_from_period_to_period(books) -> None:
    """Older periods have had longer to finish their actions by the end of 2011."""
    for rate in ("last_completed", "plans_implemented"):
        done = [rates(books[p], p)[rate] for p in TRACKED]
        assert done == sorted(done, reverse=True), rate


# --------------------------------------------------------------------------------------
# The rules of coding frame v2


@pytest.mark.parametrize("period", TRACKED)
def test_columns_codes_and_keys(books, period: str) -> None:
    for sheet in V2_SHEETS + ["reviews"]:
        df = books[period][sheet]
        for col in FRAME["sheets"][sheet]["columns"]:
            values = df[col["name"]].drop_nulls()
            if col["required"]:
                assert df[col["name"]].null_count() == 0, (sheet, col["name"])
            if col["type"] == "code":
                assert set(values) <= CODES[col["codes"]], (sheet, col["name"])
            if "pattern" in col:
                assert values.str.contains(col["pattern"]).all(), (sheet, col["name"])
            if "min" in col:
                assert (values >= col["min"]).all(), (sheet, col["name"])
            if "max" in col:
                assert (values <= col["max"]).all(), (sheet, col["name"])
            if "max_length" in col:
                assert (values.str.len_chars() <= col["max_length"]).all(), (sheet, col["name"])
        key = FRAME["sheets"][sheet]["key"]
        assert not df.select(key).is_duplicated().any(), (sheet, key)


@pytest.mark.parametrize("period", TRACKED)
def test_notifications_follow_the_rules(books, period: str) -> None:
    notes = books[period]["notifications"]
    start, end = period_bounds(period)
    assert notes["notification_id"].str.contains(rf"^N{period}-\d{{4}}$").all()
    assert notes["notification_date"].is_between(start, end).all()
    order = [
        ("incident_date", "notification_date"),
        ("notification_date", "decision_date"),
        ("decision_date", "agreed_completion_date"),
        ("incident_date", "proceedings_concluded_date"),
    ]
    for early, late in order:
        assert notes.filter(pl.col(early) > pl.col(late)).is_empty(), (early, late)
    for column in ("notification_date", "decision_date", "proceedings_concluded_date"):
        assert (notes[column].drop_nulls() <= SAMPLE_NOW).all(), column
    decided = pl.col("decision").is_in(["scr", "no_scr"])
    assert (
        notes.filter(decided)["decision_date"].null_count() == 0
        and notes.filter(~decided.fill_null(False))["decision_date"].null_count()
        == notes.filter(~decided.fill_null(False)).height
    )
    assert notes.filter(pl.col("decision").is_null()).height >= 1  # blank = pending
    assert notes.filter(pl.col("review_id").is_not_null())["decision"].eq("scr").all()
    concluded = notes.filter(pl.col("proceedings_concluded_date").is_not_null())
    assert concluded["parallel_proceedings"].is_in(["criminal", "coroner", "both"]).all()
    catalog = pl.read_csv(SAMPLES / "boards.csv")
    on_catalog = notes.join(catalog, on="board_code", how="left")
    assert (on_catalog["region"] == on_catalog["region_right"]).all()


@pytest.mark.parametrize("period", TRACKED)
def test_every_review_is_one_scr_notification(books, period: str) -> None:
    notes, reviews = books[period]["notifications"], books[period]["reviews"]
    scr = notes.filter(pl.col("decision") == "scr")
    assert reviews["notification_id"].null_count() == 0
    assert reviews["notification_id"].is_unique().all()
    assert scr.height == reviews.height and scr["review_id"].is_unique().all()
    pairs = reviews.join(scr, on="notification_id", how="inner")
    assert pairs.height == reviews.height
    assert (pairs["review_id"] == pairs["review_id_right"]).all()
    assert (pairs["board_code"] == pairs["board_code_right"]).all()
    assert (pairs["incident_date"] == pairs["incident_date_right"]).all()
    coded = pairs.filter(pl.col("decision_date").is_not_null())
    assert (coded["decision_date"] == coded["decision_date_right"]).all()
    assert pairs.filter(pl.col("decision_date_right") > pl.col("report_date")).is_empty()


@pytest.mark.parametrize("period", TRACKED)
def test_review_dates_in_order(books, period: str) -> None:
    reviews = books[period]["reviews"]
    assert reviews.filter(pl.col("published_date") < pl.col("report_date")).is_empty()
    assert reviews.filter(pl.col("action_plan_received_date") < pl.col("incident_date")).is_empty()
    undated = reviews.filter(pl.col("report_date").is_null())
    assert undated["published_date"].null_count() == undated.height
    no_plan = reviews.filter(pl.col("action_points_total") == 0)
    assert no_plan["action_plan_received_date"].null_count() == no_plan.height
    with_rows = reviews.join(books[period]["actions"].select("review_id").unique(), on="review_id")
    dated = with_rows.filter(pl.col("report_date").is_not_null())
    assert dated["action_plan_received_date"].null_count() == 0


RANK = {"not_started": 0, "in_progress": 1, "completed": 2, "dropped": 2}


@pytest.mark.parametrize("period", TRACKED)
def test_action_updates_follow_the_rules(books, period: str) -> None:
    data = books[period]
    updates, actions, reviews = data["action_updates"], data["actions"], data["reviews"]
    assert set(updates["status"]) <= set(RANK)
    named = updates.join(actions, on=["review_id", "action_no"], how="left")
    assert named["agency"].null_count() == 0, "an update names no action of the submission"
    dated = updates.join(reviews.select("review_id", "report_date"), on="review_id")
    assert dated.filter(pl.col("update_date") < pl.col("report_date")).is_empty()
    assert (updates["update_date"] <= SAMPLE_NOW).all()
    path = (
        updates.sort("update_date")
        .with_columns(pl.col("status").replace_strict(RANK).alias("rank"))
        .group_by("review_id", "action_no")
        .agg(
            pl.col("rank").diff().drop_nulls().min().alias("step"),
            ((pl.col("rank") == 2).sum() > 1).alias("after_the_end"),
            pl.col("status").last().alias("last"),
            pl.col("update_date").last().alias("last_date"),
        )
    )
    assert path.filter(pl.col("step") < 0).is_empty(), "a status moved backwards"
    assert not path["after_the_end"].any(), "an update after completed or dropped"
    # The action row's own status, when dated by SAMPLE_NOW, is one of its updates.
    rows = actions.join(path.select("review_id", "action_no"), on=["review_id", "action_no"])
    rows = rows.filter((pl.col("status_date") <= SAMPLE_NOW) & (pl.col("status") != "not_known"))
    matched = rows.join(
        updates,
        left_on=["review_id", "action_no", "status_date", "status"],
        right_on=["review_id", "action_no", "update_date", "status"],
    )
    assert matched.height == rows.height
    # A row status dated later than every update is not behind them (nothing moves back).
    later = path.join(actions, on=["review_id", "action_no"]).filter(
        pl.col("status_date") > pl.col("last_date")
    )
    assert (
        later["status"].replace_strict(RANK, default=3) >= later["last"].replace_strict(RANK)
    ).all()
    assert (path["last"].is_in(["completed", "dropped"])).any()

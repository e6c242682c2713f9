"""Make the SYNTHETIC double-coded pair in data_samples/double-coded/.

Everything this script writes is synthetic: it starts from the synthetic 2001-03 replication
(``submissions/2001-03-replication``, itself made by ``generate.py``), whose rows stand in
for what the overview reports "really" say, and has two imaginary coders, A and B, code a
sample of 12 of its reviews independently. Nothing here is a real review, child or board.

Run it as ``python data_samples/make_double_coded.py`` (optionally ``--out DIR``). It
rewrites its outputs byte for byte: every random choice comes from a numpy ``Generator``
seeded with ``[SEED, stream]`` (0 = the sample of reviews, 1 = coder A, 2 = coder B).

Method. Each coder copies every value of the sampled reviews and, independently, slips with a
per-column rate: low for facts stated plainly in a report (gender, incident type: 1%), higher
for judgements (Chapter 8 compliance, action-plan quality, recommendation focus: 10-15%).
Coder B is twice as error-prone as coder A. A slip is what double-coding finds in practice:

- a code: another code of the column's list, preferring the codes the sample already uses
  (``partly`` for ``yes``, not a code nobody would choose); now and then an optional code
  left blank;
- a number: a page count off by 1 to 5, an age off by a month, an action-point total off by
  1 to 3; an action's link to its recommendation left out;
- a date: shifted by 1 to 30 days either way, never before the incident.

Review ids, child ids, recommendation totals and incident dates are never changed, so both
submissions are valid and have the same review_ids. Coder B also misses the last three
action points of one review and adds one of another review that coder A did not list, so
``scr agreement`` has rows to report as "missing in A" and "missing in B".

Outputs (under ``--out``, default ``double-coded/`` beside this script): ``coder_a/`` and
``coder_b/``, each a CSV submission (reviews.csv, children.csv, recommendations.csv,
actions.csv) in coding frame v1.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import yaml

SEED = 20260210
HERE = Path(__file__).resolve().parent
SOURCE = HERE / "submissions" / "2001-03-replication"
FRAME = yaml.safe_load((HERE.parent / "warehouse" / "coding_frame.yaml").read_text("utf-8"))
CODES = {name: [str(c["code"]) for c in codes] for name, codes in FRAME["code_lists"].items()}
SHEETS = ("reviews", "children", "recommendations", "actions")
SAMPLE_SIZE = 12
# Coder B slips twice as often as coder A.
CODER_FACTOR = {"coder_a": 0.5, "coder_b": 1.0}
BLANK_RATE = 0.02  # an optional code left blank
DATE_SHIFT = 30  # days, either way

# Per-column slip rates (for coder B): facts read off the report rarely differ, judgements do.
RATES: dict[str, dict[str, float]] = {
    "reviews": {
        "region": 0.0,
        "decision_date": 0.08,
        "report_date": 0.06,
        "author_status": 0.05,
        "report_pages": 0.12,
        "parent_ethnicity": 0.06,
        "action_points_total": 0.12,
    }
    | {f"c8_{name}": 0.12 for name in ("circumstances", "terms_of_reference", "contributors")}
    | {
        c["name"]: 0.14
        for c in FRAME["sheets"]["reviews"]["columns"]
        if c["name"].startswith(("c8_", "ap_"))
        and c["name"] not in ("c8_circumstances", "c8_terms_of_reference", "c8_contributors")
    },
    "children": {
        "age_months": 0.05,
        "gender": 0.01,
        "ethnicity": 0.04,
        "disability": 0.08,
        "incident_type": 0.01,
        "cp_register": 0.04,
        "legal_status": 0.06,
        "neglect": 0.12,
        "domestic_violence": 0.10,
        "parental_substance_misuse": 0.10,
        "parental_mental_ill_health": 0.12,
    },
    "recommendations": {"focus": 0.16, "agency": 0.08},
    "actions": {
        "rec_no": 0.04,
        "agency": 0.06,
        "lead_officer_named": 0.08,
        "due_date": 0.05,
        "outcome_specified": 0.10,
        "costed": 0.06,
        "status": 0.08,
        "status_date": 0.08,
    },
}
# How far a number slips: offsets drawn from 1..max, either sign; clipped to the frame's range.
NUMBER_SLIPS = {"report_pages": 5, "age_months": 1, "action_points_total": 3}


def rng_for(stream: int) -> np.random.Generator:
    return np.random.default_rng([SEED, stream])


def columns(sheet: str) -> dict[str, dict]:
    """The sheet's version 1 columns: the pair is a version 1 double coding."""
    return {c["name"]: c for c in FRAME["sheets"][sheet]["columns"] if c.get("since", 1) == 1}


def read_source() -> dict[str, pl.DataFrame]:
    """The replication's CSVs as text, exactly as written (no retyping of the values)."""
    return {s: pl.read_csv(SOURCE / f"{s}.csv", infer_schema=False) for s in SHEETS}


def sample(source: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """The same 12 reviews (and everything under them) for both coders."""
    ids = source["reviews"].get_column("review_id").sort()
    picked = np.sort(rng_for(0).choice(ids.len(), SAMPLE_SIZE, replace=False))
    chosen = ids.gather(picked)
    return {s: df.filter(pl.col("review_id").is_in(chosen.implode())) for s, df in source.items()}


def slip_codes(values: pl.Series, codes: list[str], rate: float, rng: np.random.Generator):
    """Another code for a share ``rate`` of the coded cells, from the codes in use when the
    column uses two or more (the list otherwise); a few optional cells left blank."""
    in_use = sorted(set(values.drop_nulls().to_list()))
    choices = np.array(in_use if len(in_use) >= 2 else codes, dtype=object)
    n = values.len()
    slip = rng.random(n) < rate
    step = rng.integers(1, len(choices), size=n)  # never 0: a slip changes the code
    current = np.array(values.fill_null(choices[0]).to_list(), dtype=object)
    position = np.searchsorted(choices, current)
    position = np.where(position < len(choices), position, 0)
    slipped = choices[(position + step) % len(choices)]
    out = np.where(slip & values.is_not_null().to_numpy(), slipped, values.to_numpy())
    return pl.Series(values.name, out, dtype=pl.String)


def slip_numbers(values: pl.Series, most: int, rate: float, low: int, high: int, rng):
    n = values.len()
    slip = rng.random(n) < rate
    offset = rng.integers(1, most + 1, size=n) * rng.choice([-1, 1], size=n)
    numbers = values.cast(pl.Int64)
    shifted = (numbers + pl.Series(np.where(slip, offset, 0))).clip(low, high)
    return shifted.cast(pl.String).alias(values.name)


def slip_dates(values: pl.Series, floor: pl.Series, rate: float, rng) -> pl.Series:
    """Dates moved 1-30 days either way, never before ``floor`` (the incident)."""
    n = values.len()
    slip = rng.random(n) < rate
    offset = rng.integers(1, DATE_SHIFT + 1, size=n) * rng.choice([-1, 1], size=n)
    frame = pl.DataFrame(
        {
            "d": values.str.to_date(),
            "floor": floor.str.to_date(),
            "days": np.where(slip, offset, 0),
        }
    )
    moved = frame.select(
        pl.max_horizontal(pl.col("d") + pl.duration(days=pl.col("days")), pl.col("floor"))
    ).to_series()
    kept = moved.zip_with(values.is_not_null(), pl.Series([None] * n, dtype=pl.Date))
    return kept.dt.to_string("%Y-%m-%d").alias(values.name)


def code(sheet: str, df: pl.DataFrame, incidents: pl.DataFrame, factor: float, rng):
    """One coder's version of one sheet; ``incidents`` is review_id -> incident_date."""
    spec = columns(sheet)
    incident = df.select("review_id").join(
        incidents, on="review_id", how="left", maintain_order="left"
    )["incident_date"]
    out = df
    for name, rate in RATES[sheet].items():
        column, values, rate = spec[name], df.get_column(name), rate * factor
        if column["type"] == "code":
            new = slip_codes(values, CODES[column["codes"]], rate, rng)
            if not column.get("required"):
                blank = pl.Series(rng.random(df.height) < BLANK_RATE * factor)
                new = new.zip_with(~blank, pl.Series([None] * df.height, dtype=pl.String))
        elif column["type"] == "date":
            new = slip_dates(values, incident, rate, rng)
        elif name in NUMBER_SLIPS:
            low, high = column.get("min", 0), column.get("max", 10**6)
            new = slip_numbers(values, NUMBER_SLIPS[name], rate, low, high, rng)
        else:  # an action's rec_no: the link left out, never a link to a missing row
            unlinked = pl.Series(rng.random(df.height) < rate)
            new = values.zip_with(~unlinked, pl.Series([None] * df.height, dtype=pl.String))
        out = out.with_columns(new.alias(name))
    return out


def missed_and_added(actions: pl.DataFrame) -> pl.DataFrame:
    """Coder B's action plan rows: the last three points of the review with the most are
    missed, and one point is added to the review with the fewest (a copy of its last)."""
    counts = actions.group_by("review_id").len().sort("len", "review_id")
    most, fewest = counts.get_column("review_id")[-1], counts.get_column("review_id")[0]
    number = pl.col("action_no").cast(pl.Int64)
    last_three = number.rank("ordinal", descending=True).over("review_id") <= 3
    kept = actions.filter(~((pl.col("review_id") == most) & last_three))
    added = (
        actions.filter(pl.col("review_id") == fewest)
        .filter(number == number.max())
        .with_columns((number + 1).cast(pl.String).alias("action_no"))
    )
    return pl.concat([kept, added]).sort("review_id", number)


def write(sheets: dict[str, pl.DataFrame], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in sheets.items():
        df.select(list(columns(name))).write_csv(folder / f"{name}.csv", null_value="")


def main(out: Path) -> None:
    truth = sample(read_source())
    incidents = truth["reviews"].select("review_id", "incident_date")
    for stream, coder in enumerate(("coder_a", "coder_b"), start=1):
        rng = rng_for(stream)
        coded = {s: code(s, df, incidents, CODER_FACTOR[coder], rng) for s, df in truth.items()}
        if coder == "coder_b":
            coded["actions"] = missed_and_added(coded["actions"])
        target = out / coder
        if target.exists():
            shutil.rmtree(target)
        write(coded, target)
        print(f"wrote {target} ({', '.join(f'{s}: {df.height}' for s, df in coded.items())})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "double-coded")
    main(parser.parse_args().out)

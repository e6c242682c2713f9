"""Generate the SYNTHETIC sample submissions in data_samples/.

Everything this script writes is synthetic. There are no real reviews, no real children and
no real boards in it: review and child identifiers are sequence numbers, boards come from a
made-up catalog ("Synthetic Board 017", code SYN017), and recommendation wording is filled
in from generic templates. Nothing identifies a person or a place.

Run it from anywhere as ``python data_samples/generate.py`` (optionally ``--out DIR``). It
rewrites its outputs byte for byte: every random choice comes from a numpy ``Generator``
seeded with ``[SEED, stream]``, one stream per part (0 = board catalog, 1 = the 2001-03
replication, 11-14 = the later periods, 22-24 = the notifications and action updates of
2005-07 to 2009-11), so changing one part never shifts the draws of another, and workbooks
carry a fixed creation timestamp.

Outputs (under ``--out``, default this folder):

``boards.csv``
    The synthetic board catalog: 150 boards, each with one fixed region.
``submissions/2001-03-replication/``
    A CSV submission (reviews, children, recommendations, actions) of 40 reviews and 45
    children that reproduces every count of Tables 2-20 of the 2001-2003 study
    (``warehouse/appendix2_published.json``) when tabulated as in the tabulation rules.
``submissions/<period>.xlsx``
    Trend data for the periods 2003-05, 2005-07, 2007-09 and 2009-11: one workbook per
    period, sheets reviews, children, recommendations and actions (coding frame version 1
    columns). 2005-07, 2007-09 and 2009-11 also have the version 2 sheets notifications and
    action_updates and the version 2 columns of reviews (``--no-tracking``: version 1 only).

Method of the replication. The published tables only give marginal counts, so each column
is *dealt*: the exact multiset of codes a table asks for is shuffled onto the reviews or
children (``deal``), most constrained units first, with a few eligibility rules that keep a record
coherent (a suicide is a child of 12 or over, siblings share ethnicity, incident type and
register status, the review with no action plan answers "no" to the action-plan questions,
the same four reviews are "not clear" on every action-plan question, ...). Dates are drawn by
rejection sampling until each review falls into its planned (incident year, report year,
time-to-completion) cell; time to completion uses calendar months with the day clamped to
the end of the month. Recommendation totals are drawn inside their Table 17 bands and nudged
until they sum to 634, and the 634 Table 18 focus codes are shuffled onto them. Family
circumstances (neglect, domestic violence, parental substance misuse and mental ill health),
which the 2001-03 tables do not report, come from a correlated latent model so that they
co-occur as Chapter 3 of the study describes.

Method of the later periods. About 160-190 reviews a period, each at a catalog board drawn
with a fixed per-board weight, incidents uniform over the period (April to March two years
later) and reports 6-24 months after the incident (a few undated). The key shares are dealt
as exact quotas (``quota`` + ``deal``) and move from period to period as the later national
analyses describe: under-ones from 47% to 42% of children, 12-15% on a register or plan,
ethnicity "not stated" falling, independent authors rising, family circumstances common and
correlated. Recommendations (about 15 a review) draw their focus from a mix that moves from
the 2001-03 shares towards fewer procedural and more assessment, training and communication
recommendations; a growing share of reviews submit their action-plan rows, with statuses as
at four years after the period.

Method of the tracking content (coding frame version 2, ``build_tracking``). Drawn after a
period's version 1 rows are complete, from its own stream, so no version 1 value changes.
Every review is one notification decided ``scr`` (its decision date the review's when
coded); ``no_scr`` notifications make the reviews 35% of all (the 2015-16 national share), a
few notified at the period end are pending. Decision delays, agreed completion dates,
parallel proceedings, publication and action-plan dates and progress reports on the actions
(up to 2011-12-31, statuses only moving forward, including the action row's own status when
that is dated by then; 60% of the reviews that can finish their plan by then do) follow the
rates in data_samples/README.md.
"""

from __future__ import annotations

import argparse
import calendar
import json
import math
import shutil
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import xlsxwriter
import yaml

SEED = 20012003
HERE = Path(__file__).resolve().parent
REPO = HERE.parent
FRAME_PATH = REPO / "warehouse" / "coding_frame.yaml"
PUBLISHED_PATH = REPO / "warehouse" / "appendix2_published.json"
LATEST_DATE = date(2026, 11, 27)  # no generated date lies after this day
XLSX_CREATED = datetime(2026, 11, 27)  # fixed workbook timestamp: byte-identical output

FRAME = yaml.safe_load(FRAME_PATH.read_text(encoding="utf-8"))
CODES = {name: [c["code"] for c in codes] for name, codes in FRAME["code_lists"].items()}
SHEETS = ("reviews", "children", "recommendations", "actions")
POLARS_TYPES = {"string": pl.String, "code": pl.String, "integer": pl.Int64, "date": pl.Date}

Rng = np.random.Generator


def rng_for(stream: int) -> Rng:
    """The random stream of one part of the output (see the module docstring)."""
    return np.random.default_rng([SEED, stream])


# --------------------------------------------------------------------------------------
# Dates


def add_months(day: date, months: int) -> date:
    """`day` plus whole calendar months, the day clamped to the end of a shorter month."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def completion_bucket(incident: date, report: date | None) -> str:
    """The Table 13 time-to-completion code of a review."""
    if report is None:
        return "not_dated"
    for months, code in ((6, "le_6m"), (12, "6_12m"), (18, "12_18m")):
        if report <= add_months(incident, months):
            return code
    return "gt_18m"


def random_date(rng: Rng, first: date, last: date) -> date:
    """A uniformly drawn day from first to last inclusive."""
    return first + timedelta(days=int(rng.integers(0, (last - first).days + 1)))


# --------------------------------------------------------------------------------------
# Dealing codes with exact marginals


def pick(rng: Rng, weights: dict[str, float]) -> str:
    """One key of `weights`, drawn with probability proportional to its weight."""
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=float)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def deal(
    rng: Rng,
    counts: dict[str, int],
    units: Sequence[Hashable],
    ok: Callable[[Hashable, str], bool] | None = None,
    pinned: dict[Hashable, str] | None = None,
) -> dict[Hashable, str]:
    """Give every unit a code so that code c is used exactly counts[c] times.

    Pinned units keep their code. The others are taken most constrained first (fewest codes
    that `ok(unit, code)` allows), in random order otherwise, and each draws a code with
    probability proportional to how many of it are left; a dead end starts over.
    """
    allowed = {u: [c for c in counts if ok is None or ok(u, c)] for u in units}
    for _ in range(1000):
        result = dict(pinned or {})
        remaining = dict(counts)
        for code in result.values():
            remaining[code] -= 1
        free = [u for u in units if u not in result]
        if sum(remaining.values()) != len(free) or min(remaining.values()) < 0:
            raise ValueError(f"counts {counts} do not fit {len(units)} units")
        free = [free[int(i)] for i in rng.permutation(len(free))]
        for unit in sorted(free, key=lambda u: len(allowed[u])):
            options = {c: remaining[c] for c in allowed[unit] if remaining[c] > 0}
            if not options:
                break
            result[unit] = code = pick(rng, options)
            remaining[code] -= 1
        else:
            return result
    raise ValueError(f"cannot deal {counts} under the constraints")


def deal_families(
    rng: Rng,
    counts: dict[str, int],
    families: Sequence[Sequence[int]],
    ok: Callable[[Hashable, str], bool] | None = None,
) -> dict[Hashable, str]:
    """`deal` over children where the children of one family all get the same code."""
    pinned: dict[Hashable, str] = {}
    remaining = dict(counts)
    for family in families:
        if len(family) < 2:
            continue
        options = {
            code: remaining[code]
            for code in counts
            if remaining[code] >= len(family) and all(ok is None or ok(u, code) for u in family)
        }
        code = pick(rng, options)
        pinned.update(dict.fromkeys(family, code))
        remaining[code] -= len(family)
    return deal(rng, counts, [u for family in families for u in family], ok, pinned)


def family_circumstances(
    rng: Rng, n: int, prevalence: dict[str, float], not_stated: float, rho: float = 0.45
) -> dict[str, list[str]]:
    """Correlated yes/no/not_stated codes for the family of each of n reviews.

    Each circumstance is a latent normal score sharing a common factor (correlation rho);
    the round(p * n) families with the highest scores are coded "yes", and round(not_stated
    * n) of the others "not_stated".
    """
    common = rng.standard_normal(n)
    out: dict[str, list[str]] = {}
    for name, share in prevalence.items():
        score = math.sqrt(rho) * common + math.sqrt(1 - rho) * rng.standard_normal(n)
        codes = np.full(n, "no", dtype=object)
        codes[np.argsort(-score, kind="stable")[: round(share * n)]] = "yes"
        nos = np.flatnonzero(codes == "no")
        codes[rng.choice(nos, size=round(not_stated * n), replace=False)] = "not_stated"
        out[name] = [str(c) for c in codes]
    return out


def family_groups(sizes: Sequence[int]) -> list[list[int]]:
    """Child indices 0, 1, ... grouped into families of the given sizes, in order."""
    bounds = np.cumsum([0, *sizes]).tolist()
    return [list(range(a, b)) for a, b in zip(bounds, bounds[1:], strict=False)]


def child_rows(
    reviews: list[dict],
    families: list[list[int]],
    per_child: dict[str, Sequence | dict],
    per_family: dict[str, Sequence],
) -> list[dict]:
    """Children rows: columns indexed by child (per_child) or by review (per_family)."""
    rows = []
    for i, (review, family) in enumerate(zip(reviews, families, strict=True)):
        for j, u in enumerate(family, start=1):
            rows.append(
                {
                    "child_id": f"C{review['review_id'][1:]}-{j}",
                    "review_id": review["review_id"],
                    **{name: values[u] for name, values in per_child.items()},
                    **{name: values[i] for name, values in per_family.items()},
                }
            )
    return rows


# --------------------------------------------------------------------------------------
# The synthetic board catalog

# Boards per region: roughly the number of English safeguarding boards per government
# office region, plus one board of the 2001-03 SSI region `central`, which only the
# replication uses (the region code did not exist in later periods).
CATALOG_REGIONS = {
    "london": 32,
    "south_east": 19,
    "north_west": 22,
    "south_west": 15,
    "yorkshire_humber": 15,
    "west_midlands": 14,
    "north_east": 12,
    "east_of_england": 11,
    "east_midlands": 9,
    "central": 1,
}


@dataclass(frozen=True)
class Board:
    code: str
    name: str
    region: str
    weight: float  # relative number of reviews the board holds in the later periods


def board_catalog() -> list[Board]:
    """150 synthetic boards SYN001-SYN150 with regions in shuffled order (stream 0)."""
    rng = rng_for(0)
    regions = [region for region, k in CATALOG_REGIONS.items() for _ in range(k)]
    regions = [regions[int(i)] for i in rng.permutation(len(regions))]
    weights = rng.lognormal(0.0, 0.5, size=len(regions))
    return [
        Board(f"SYN{i:03d}", f"Synthetic Board {i:03d}", region, round(float(w), 3))
        for i, (region, w) in enumerate(zip(regions, weights, strict=True), start=1)
    ]


# --------------------------------------------------------------------------------------
# Recommendations and action plans (wording, agencies, action rows)

TOPICS = (
    "information sharing when a family moves between areas",
    "responding to missed health appointments",
    "the assessment of new partners joining a household",
    "recording the wishes and feelings of the child",
    "referrals following incidents of domestic violence",
    "work with families where neglect is long-standing",
    "multi-agency strategy discussions",
    "pre-birth assessment",
    "the closure and transfer of cases",
    "injuries to babies who are not yet mobile",
    "resolving professional disagreements",
    "children missing from education",
    "checks on adults with a history of violence",
    "the involvement of fathers and male carers",
    "the care of children whose parents misuse drugs or alcohol",
    "the impact of parental mental ill health on children",
    "discharge planning from hospital",
    "the use of interpreters",
    "compiling and using chronologies",
    "core group meetings",
    "child protection conferences",
    "the contribution of general practitioners to child protection",
    "out-of-hours services",
    "private fostering arrangements",
    "young people at risk of self-harm",
    "seeing children alone during home visits",
)

FOCUS_TEMPLATES = {
    "existing_procedures": (
        "{who} should review {its} procedures for {topic} and reissue them to all staff.",
        "{who} should reinforce {its} existing guidance on {topic}.",
        "{who} should revise {its} procedures on {topic} in the light of this review.",
    ),
    "new_procedures": (
        "{who} should develop a protocol for {topic}.",
        "{who} should introduce written guidance on {topic}.",
    ),
    "other": (
        "{who} should report on progress with {topic} within six months.",
        "{who} should consider the resource implications of {topic}.",
        "{who} should audit a sample of cases involving {topic}.",
    ),
    "communication": (
        "{who} should ensure that information about {topic} is shared promptly with the "
        "other agencies involved.",
        "{who} should agree how practitioners communicate with each other about {topic}.",
    ),
    "training": (
        "{who} should provide multi-agency training on {topic}.",
        "{who} should ensure that staff are trained in {topic}.",
    ),
    "assessment": (
        "{who} should ensure that assessments of children and families address {topic}.",
        "{who} should ensure that core assessments are completed where {topic} is a concern.",
    ),
    "management": (
        "{who} should ensure that managers monitor practice in {topic}.",
        "{who} should ensure that managers sign off decisions about {topic}.",
    ),
    "risk_assessment": ("{who} should ensure that risk assessments take account of {topic}.",),
    "supervision": ("{who} should ensure that supervision of practitioners covers {topic}.",),
    "staff_roles": ("{who} should clarify the role of each practitioner in {topic}.",),
    "decision_making": (
        "{who} should ensure that decisions about {topic} are recorded with their reasons.",
    ),
    "direct_work": (
        "{who} should ensure that practitioners speak with children directly about {topic}.",
    ),
    "new_staff": ("{who} should review staffing levels for {topic}.",),
    "staff_knowledge": (
        "{who} should ensure that practitioners have the knowledge and skills needed for {topic}.",
    ),
}

# The agency a recommendation of each focus is directed to (relative weights).
FOCUS_AGENCIES = {
    "existing_procedures": {
        "lscb": 35,
        "all_agencies": 20,
        "children_social_care": 20,
        "health": 12,
        "police": 8,
        "education": 5,
    },
    "new_procedures": {
        "lscb": 30,
        "all_agencies": 20,
        "children_social_care": 20,
        "health": 15,
        "police": 8,
        "education": 4,
        "housing": 3,
    },
    "other": {
        "children_social_care": 20,
        "health": 20,
        "police": 10,
        "education": 10,
        "lscb": 10,
        "probation": 5,
        "housing": 5,
        "other": 15,
        "not_stated": 5,
    },
    "communication": {
        "all_agencies": 35,
        "health": 20,
        "children_social_care": 20,
        "police": 10,
        "education": 10,
        "lscb": 5,
    },
    "training": {
        "lscb": 40,
        "all_agencies": 25,
        "health": 15,
        "children_social_care": 10,
        "education": 5,
        "police": 5,
    },
    "assessment": {"children_social_care": 60, "health": 20, "all_agencies": 10, "lscb": 10},
    "management": {
        "children_social_care": 50,
        "health": 20,
        "police": 10,
        "lscb": 10,
        "education": 10,
    },
    "risk_assessment": {
        "children_social_care": 40,
        "police": 20,
        "probation": 15,
        "health": 15,
        "all_agencies": 10,
    },
    "supervision": {
        "children_social_care": 55,
        "health": 30,
        "education": 5,
        "police": 5,
        "lscb": 5,
    },
    "staff_roles": {"health": 30, "children_social_care": 30, "education": 20, "all_agencies": 20},
    "decision_making": {"children_social_care": 60, "health": 15, "police": 15, "lscb": 10},
    "direct_work": {"children_social_care": 50, "health": 30, "education": 20},
    "new_staff": {"children_social_care": 50, "health": 30, "education": 10, "other": 10},
    "staff_knowledge": {"health": 30, "children_social_care": 30, "education": 20, "lscb": 20},
}

AGENCY_WORDS = {
    "children_social_care": ("Children's social care", "its"),
    "health": ("Health services", "their"),
    "police": ("The police", "their"),
    "education": ("Education services", "their"),
    "all_agencies": ("All agencies", "their"),
    "probation": ("The probation service", "its"),
    "housing": ("Housing services", "their"),
    "other": ("The agency concerned", "its"),
    "not_stated": ("The relevant agency", "its"),
}

# Agencies an action is assigned to when it is not tied to a single-agency recommendation.
ACTION_AGENCIES = {
    "children_social_care": 35,
    "health": 25,
    "police": 12,
    "education": 12,
    "lscb": 8,
    "probation": 3,
    "housing": 3,
    "other": 2,
}

# How an action row answers a yes/no question given the review-level answer.
YES_NO_GIVEN = {
    "yes": {"yes": 93, "no": 2, "not_stated": 5},
    "no": {"yes": 3, "no": 90, "not_stated": 7},
    "partly": {"yes": 50, "no": 40, "not_stated": 10},
    "not_applicable": {"yes": 5, "no": 80, "not_stated": 15},
    None: {"yes": 20, "no": 20, "not_stated": 60},
}

STATUS_WHEN_DUE = {
    "completed": 70,
    "in_progress": 10,
    "dropped": 6,
    "not_started": 4,
    "not_known": 10,
}
STATUS_NOT_YET_DUE = {"in_progress": 50, "not_started": 30, "completed": 10, "not_known": 10}


def recommendation_rows(
    rng: Rng, review_id: str, focuses: Iterable[str], board_word: str
) -> list[dict]:
    """Numbered recommendation rows with an agency and templated synthetic wording."""
    rows = []
    for rec_no, focus in enumerate(focuses, start=1):
        agency = pick(rng, FOCUS_AGENCIES[focus])
        who, its = (board_word, "its") if agency == "lscb" else AGENCY_WORDS[agency]
        templates = FOCUS_TEMPLATES[focus]
        text = templates[int(rng.integers(len(templates)))].format(
            who=who, its=its, topic=TOPICS[int(rng.integers(len(TOPICS)))]
        )
        rows.append(
            {
                "review_id": review_id,
                "rec_no": rec_no,
                "focus": focus,
                "agency": agency,
                "text": text,
            }
        )
    return rows


def yes_no(rng: Rng, answer: str | None) -> str:
    """An action-level yes/no/not_stated consistent with a review-level answer."""
    return pick(rng, YES_NO_GIVEN.get(answer, YES_NO_GIVEN[None]))


def action_rows(rng: Rng, review: dict, recs: list[dict], n: int, as_of: date) -> list[dict]:
    """n action-plan rows for a review, coherent with its action-plan answers.

    Actions are linked to recommendations in order when the plan says they are linked;
    due dates are given when the plan has completion dates; statuses are as at `as_of`.
    """
    start = review["report_date"] or add_months(review["incident_date"], 12)
    linked = review["ap_linked_to_recs"]
    dated = review["ap_completion_dates"]
    rows = []
    for action_no in range(1, n + 1):
        rec = None
        if recs and (linked == "yes" or (linked == "partly" and rng.random() < 0.5)):
            rec = recs[(action_no - 1) * len(recs) // n]
        if rec is not None and rec["agency"] not in ("lscb", "all_agencies", "not_stated"):
            agency = rec["agency"]
        else:
            agency = pick(rng, ACTION_AGENCIES)
        due = None
        if dated == "yes" or (dated == "partly" and rng.random() < 0.5):
            due = min(add_months(start, int(rng.integers(1, 19))), LATEST_DATE)
        status = pick(rng, STATUS_WHEN_DUE if (due or start) <= as_of else STATUS_NOT_YET_DUE)
        status_date = None
        if status != "not_known":
            status_date = random_date(rng, start + timedelta(days=1), as_of)
        rows.append(
            {
                "review_id": review["review_id"],
                "action_no": action_no,
                "rec_no": rec["rec_no"] if rec else None,
                "agency": agency,
                "lead_officer_named": yes_no(rng, review["ap_lead_officer"]),
                "due_date": due,
                "outcome_specified": yes_no(rng, review["c8_ap_outcomes"]),
                "costed": yes_no(rng, review["ap_costed"]),
                "status": status,
                "status_date": status_date,
            }
        )
    return rows


def band_value(rng: Rng, bands: dict[str, tuple[int, int]], band: str | None) -> int | None:
    """A whole number drawn uniformly inside a band (None for a blank band)."""
    if band is None:
        return None
    low, high = bands[band]
    return int(rng.integers(low, high + 1))


# --------------------------------------------------------------------------------------
# Part A: the 2001-03 replication

A_PERIOD = "2001-03"
# (incident year, report year or None when the report is undated, Table 13 bucket, reviews)
A_TIMING = (
    (2001, 2001, "le_6m", 1),
    (2002, 2002, "le_6m", 2),
    (2003, 2003, "le_6m", 2),
    (2001, 2002, "6_12m", 6),
    (2002, 2002, "6_12m", 3),
    (2002, 2003, "6_12m", 3),
    (2003, 2003, "6_12m", 1),
    (2001, 2002, "12_18m", 1),
    (2001, 2003, "12_18m", 5),
    (2002, 2003, "12_18m", 7),
    (2001, 2003, "gt_18m", 2),
    (2001, None, "not_dated", 3),
    (2002, None, "not_dated", 2),
    (2003, None, "not_dated", 2),
)
# Reviews of the study were decided on between April 2001 and March 2003.
A_DECISION_WINDOW = (date(2001, 4, 1), date(2003, 3, 31))
A_DECISION_BLANK = 4  # reviews whose decision date is not given
A_FAMILY_SIZES = (3, 3, 2)  # the reviews with more than one child (45 = 37 + 3 + 3 + 2)
A_SIBLING_GAP = 10  # months at least between the ages of siblings
A_STATUS_AS_OF = date(2006, 3, 31)  # action statuses as at the study's follow-up
A_CIRCUMSTANCES = {
    "neglect": 0.40,
    "domestic_violence": 0.45,
    "parental_substance_misuse": 0.40,
    "parental_mental_ill_health": 0.33,
}


def ranges(spec: str) -> dict[str, tuple[int, int]]:
    """Parse "code:low-high code:low-high ..." into {code: (low, high)}."""
    out = {}
    for item in spec.split():
        code, span = item.rsplit(":", 1)
        low, high = span.split("-")
        out[code] = (int(low), int(high))
    return out


# Sampling ranges inside the bands of the tabulation rules (narrower at the open ends).
AGE_MONTHS = ranges(
    "0_2m:0-2 3_5m:3-5 6_11m:6-11 1_2:12-35 3_4:36-59 5_10:60-131 11_14:132-179 "
    "15:180-191 16:192-203 17:204-215"
)
PAGES = ranges("0_30:8-30 31_50:31-50 51_75:51-75 76_100:76-100 over_100:101-160")
RECOMMENDATIONS = ranges("0_10:2-10 11_20:11-20 21_40:21-40 41_60:41-60 61_80:61-80 over_80:81-120")
ACTION_POINTS = ranges(
    "none:0-0 1_10:2-10 11_20:11-20 21_40:21-40 41_60:41-60 61_80:61-80 81_plus:81-110"
)

C8_COLUMNS = [
    c["name"] for c in FRAME["sheets"]["reviews"]["columns"] if c["name"].startswith("c8_")
]
AP_COLUMNS = [
    c["name"] for c in FRAME["sheets"]["reviews"]["columns"] if c["name"].startswith("ap_")
]


def published() -> dict[str, dict]:
    """Published counts by table id: {code: count}, or {item: {response: count}}."""
    tables = json.loads(PUBLISHED_PATH.read_text(encoding="utf-8"))["tables"]
    out: dict[str, dict] = {}
    for table in tables:
        rows = table["rows"] + table.get("summaries", [])
        if "columns" in table:
            out[table["id"]] = {row["code"]: row["counts"] for row in rows}
        else:
            out[table["id"]] = {row["code"]: row["count"] for row in table["rows"]}
    return out


def a_dates(rng: Rng, incident_year: int, report_year: int | None, bucket: str):
    """(incident, decision, report) dates for a review, by rejection sampling."""
    while True:
        incident = random_date(rng, date(incident_year, 1, 1), date(incident_year, 12, 31))
        decision = incident + timedelta(days=int(rng.integers(7, 92)))
        if not A_DECISION_WINDOW[0] <= decision <= A_DECISION_WINDOW[1]:
            continue
        if report_year is None:
            return incident, decision, None
        report = random_date(rng, date(report_year, 1, 1), date(report_year, 12, 31))
        if report >= decision and completion_bucket(incident, report) == bucket:
            return incident, decision, report


def a_ages(rng: Rng, pub: dict, families: list[list[int]]) -> list[int]:
    """Ages in months with the Table 2 band counts; siblings at least A_SIBLING_GAP apart."""
    bands = {
        **pub["t02b_age_under_1"],
        **{b: k for b, k in pub["t02_age"].items() if b in AGE_MONTHS},
    }
    pool = [band_value(rng, AGE_MONTHS, band) for band, k in bands.items() for _ in range(k)]
    while True:
        ages = [pool[int(i)] for i in rng.permutation(len(pool))]
        if all(
            abs(ages[a] - ages[b]) >= A_SIBLING_GAP
            for family in families
            for a in family
            for b in family
            if a < b
        ):
            return ages


def build_replication(boards: list[Board]) -> dict[str, pl.DataFrame]:
    """The 2001-03 replication submission (stream 1)."""
    rng = rng_for(1)
    pub = published()
    reviews = _a_reviews(rng, pub, boards)
    children = _a_children(rng, pub, reviews)
    recommendations, actions = _a_recommendations_and_actions(rng, pub, reviews)
    return frames(
        {
            "reviews": reviews,
            "children": children,
            "recommendations": recommendations,
            "actions": actions,
        }
    )


def _a_reviews(rng: Rng, pub: dict, boards: list[Board]) -> list[dict]:
    plan = [(iy, ry, b) for iy, ry, b, k in A_TIMING for _ in range(k)]
    dates = sorted(a_dates(rng, *cell) for cell in plan)
    n = len(dates)
    units = range(n)
    no_decision = set(rng.choice(n, size=A_DECISION_BLANK, replace=False).tolist())
    reviews = [
        {
            "review_id": f"R{A_PERIOD}-{i + 1:04d}",
            "period": A_PERIOD,
            "incident_date": inc,
            "decision_date": None if i in no_decision else dec,
            "report_date": rep,
        }
        for i, (inc, dec, rep) in enumerate(dates)
    ]

    regions = deal(rng, pub["t10_region"], units)
    by_region: dict[str, list[Board]] = {}
    for board in boards:
        by_region.setdefault(board.region, []).append(board)
    stated = [b for b in boards if b.region != "central"]
    authors = deal(rng, pub["t14_author_status"], units)
    pages = deal(rng, pub["t15_report_length"], units)
    for i, review in enumerate(reviews):
        choices = by_region.get(regions[i], stated)
        board = choices[int(rng.integers(len(choices)))]
        review.update(
            board_code=board.code,
            board_name=board.name,
            region=regions[i],
            author_status=authors[i],
            report_pages=band_value(rng, PAGES, pages[i]),
        )

    # Recommendations (Table 17) summing to the Table 18 total; action points (Table 19)
    # rank-correlated with them.
    rec_bands = deal(rng, pub["t17_recommendations_total"], units)
    totals = {
        i: None if b == "not_known" else band_value(rng, RECOMMENDATIONS, b)
        for i, b in rec_bands.items()
    }
    target = sum(pub["t18_recommendation_focus"].values())
    while (gap := target - sum(t for t in totals.values() if t is not None)) != 0:
        step = 1 if gap > 0 else -1
        movable = [
            i
            for i, t in totals.items()
            if t is not None
            and RECOMMENDATIONS[rec_bands[i]][0] <= t + step <= RECOMMENDATIONS[rec_bands[i]][1]
        ]
        totals[movable[int(rng.integers(len(movable)))]] += step
    ap_bands = dict(pub["t19_action_points_total"])
    unknown_ap = rng.choice(n, size=ap_bands.pop("not_known"), replace=False).tolist()
    known = [i for i in units if i not in unknown_ap]
    key = {i: (totals[i] if totals[i] is not None else 15) + rng.normal(0, 8) for i in known}
    band_list = [b for b, k in ap_bands.items() for _ in range(k)]
    action_band = dict(zip(sorted(known, key=key.get), band_list, strict=True))
    for i, review in enumerate(reviews):
        review["recommendations_total"] = totals[i]
        review["action_points_total"] = band_value(rng, ACTION_POINTS, action_band.get(i))

    # Chapter 8 compliance and action-plan answers, with a few coherence pins.
    no_plan = next(i for i, b in action_band.items() if b == "none")
    not_clear = set(unknown_ap[:4])
    no_recs = next(i for i, b in rec_bands.items() if b == "not_known")
    pins: dict[str, dict[int, str]] = {col: {} for col in C8_COLUMNS + AP_COLUMNS}
    for col in (
        "c8_ap_who_when",
        "c8_ap_outcomes",
        "c8_ap_review_outcomes",
        "ap_part_of_overview",
        "ap_linked_to_recs",
        "ap_lead_officer",
        "ap_completion_dates",
        "ap_costed",
    ):
        pins[col][no_plan] = "no"
    pins["ap_single_plan"][no_plan] = "missing"
    for col in AP_COLUMNS[1:]:
        pins[col].update(dict.fromkeys(not_clear, "not_clear"))
    pins["c8_recs_beyond_agency"][no_recs] = "not_stated"

    def ok(i: int, code: str) -> bool:  # an unclear action plan does not say who and when
        return not (i in not_clear and code == "yes")

    for col in C8_COLUMNS:
        answers = deal(
            rng,
            pub["t16_chapter8_compliance"][col],
            units,
            ok if col == "c8_ap_who_when" else None,
            pins[col],
        )
        for i, review in enumerate(reviews):
            review[col] = answers[i]
    for col in AP_COLUMNS:
        answers = deal(rng, pub["t20_action_plans"][col], units, None, pins[col])
        for i, review in enumerate(reviews):
            review[col] = None if answers[i] == "missing" else answers[i]
    return reviews


def _a_children(rng: Rng, pub: dict, reviews: list[dict]) -> list[dict]:
    n = len(reviews)
    sizes = [1] * n
    for i, size in zip(
        rng.choice(n, size=len(A_FAMILY_SIZES), replace=False).tolist(), A_FAMILY_SIZES, strict=True
    ):
        sizes[i] = size
    families = family_groups(sizes)
    kids = range(sum(sizes))
    single = {f[0] for f in families if len(f) == 1}

    ages = a_ages(rng, pub, families)
    incident = deal_families(
        rng,
        pub["t07_incident_type"],
        families,
        lambda u, c: c != "suicide" or (u in single and ages[u] >= 144),
    )
    register = deal_families(rng, pub["t08_cp_register"], families)
    on_register = [u for u in kids if register[u] == "on_register"]
    legal_pins = {on_register[int(rng.integers(len(on_register)))]: "interim_care_order"}
    legal_pins.update({u: "not_recorded" for u in kids if register[u] == "not_recorded"})
    legal = deal(
        rng,
        pub["t09_legal_status"],
        kids,
        lambda u, c: c != "interim_care_order" or register[u] != "on_register",
        legal_pins,
    )
    gender = deal(rng, pub["t03_gender"], kids)
    disability = deal(rng, pub["t06_disability"], kids, lambda u, c: c != "yes" or ages[u] >= 12)

    # Ethnicity is shared by siblings; a stated parent ethnicity matches the children's.
    parent_counts = dict(pub["t05_parent_ethnicity"])
    parent_counts.pop("not_stated")
    while True:
        ethnicity = deal_families(rng, pub["t04_child_ethnicity"], families)
        parent: dict[int, str] = {}
        for code, k in parent_counts.items():
            candidates = [i for i in range(n) if ethnicity[families[i][0]] == code]
            if len(candidates) < k:
                break
            parent.update(
                dict.fromkeys(
                    (candidates[int(j)] for j in rng.choice(len(candidates), k, replace=False)),
                    code,
                )
            )
        else:
            break
    circumstances = family_circumstances(rng, n, A_CIRCUMSTANCES, not_stated=0.08)

    for i, review in enumerate(reviews):
        review["parent_ethnicity"] = parent.get(i, "not_stated")
    return child_rows(
        reviews,
        families,
        {
            "age_months": ages,
            "gender": gender,
            "ethnicity": ethnicity,
            "disability": disability,
            "incident_type": incident,
            "cp_register": register,
            "legal_status": legal,
        },
        circumstances,
    )


def _a_recommendations_and_actions(rng: Rng, pub: dict, reviews: list[dict]):
    focus_pool = [f for f, k in pub["t18_recommendation_focus"].items() for _ in range(k)]
    focus_pool = [focus_pool[int(i)] for i in rng.permutation(len(focus_pool))]
    recommendations, actions = [], []
    for review in reviews:
        total = review["recommendations_total"] or 0
        focuses, focus_pool = focus_pool[:total], focus_pool[total:]
        recs = recommendation_rows(rng, review["review_id"], focuses, "The ACPC")
        recommendations += recs
        if review["action_points_total"]:
            actions += action_rows(rng, review, recs, review["action_points_total"], A_STATUS_AS_OF)
    assert not focus_pool
    return recommendations, actions


# --------------------------------------------------------------------------------------
# Part B: trend submissions for the later periods


@dataclass(frozen=True)
class Period:
    """One later analysis period and the shares its synthetic reviews are dealt to."""

    code: str  # e.g. "2003-05" = April 2003 to March 2005
    step: int  # 1 for 2003-05 ... 4 for 2009-11: how far the trends have moved
    under_one: float  # share of children under one
    on_register: float  # share of children on a child protection register or plan
    child_ethnicity_not_stated: float
    parent_ethnicity_not_stated: float
    independent: float  # share of reviews with an independent author
    author_not_reported: float
    disability_not_stated: float
    undated: float  # share of reviews whose report is not dated
    action_rows: float  # share of reviews with an action plan that submit its rows
    circumstances: tuple[float, float, float, float]  # neglect, DV, substance, mental health

    @property
    def start(self) -> date:
        return date(int(self.code[:4]), 4, 1)

    @property
    def end(self) -> date:
        return date(int(self.code[:4]) + 2, 3, 31)

    @property
    def status_as_of(self) -> date:
        """Action statuses are reported as at four years after the period ends."""
        return min(date(self.end.year + 4, 3, 31), LATEST_DATE)


# fmt: off
PERIODS = (
    # code  step under_one register eth_child eth_parent indep not_rep dis_ns undated ap_rows
    #       (neglect, domestic violence, substance misuse, mental ill health)
    Period("2003-05", 1, 0.47, 0.140, 0.30, 0.55, 0.40, 0.18, 0.16, 0.10, 0.40,
           (0.36, 0.42, 0.36, 0.34)),
    Period("2005-07", 2, 0.45, 0.135, 0.22, 0.45, 0.52, 0.12, 0.12, 0.08, 0.50,
           (0.35, 0.47, 0.37, 0.35)),
    Period("2007-09", 3, 0.43, 0.130, 0.15, 0.35, 0.66, 0.07, 0.09, 0.06, 0.60,
           (0.35, 0.51, 0.38, 0.35)),
    Period("2009-11", 4, 0.42, 0.125, 0.09, 0.25, 0.80, 0.03, 0.07, 0.04, 0.70,
           (0.34, 0.54, 0.38, 0.36)),
)
CIRCUMSTANCES = tuple(A_CIRCUMSTANCES)
REVIEWS_PER_PERIOD = (160, 190)
FAMILY_SIZES = {1: 0.915, 2: 0.065, 3: 0.02}  # about 1.1 children per review
REGION_NOT_STATED = 0.012
# Shares of the age bands above one year (scaled to what the under-ones leave).
OLDER_AGES = {"1_2": 24, "3_4": 10, "5_10": 20, "11_14": 20, "15": 12, "16": 10, "17": 4}
AGE_NOT_KNOWN = 0.01
# Ethnicity of a family when it is stated (relative weights).
FAMILY_ETHNICITY = {"white_british": 70, "white_other": 5, "mixed": 9,
                    "black_black_british": 8, "asian_asian_british": 6, "chinese_other": 2}
# The recommendation focus mix moves from the 2001-03 shares towards this one by 2009-11:
# fewer about procedures, more about assessment, training and communication.
FOCUS_2009_11 = {
    "existing_procedures": 7, "new_procedures": 8, "other": 12, "communication": 16,
    "training": 16, "assessment": 15, "management": 7, "risk_assessment": 5,
    "supervision": 4, "staff_roles": 3, "decision_making": 3, "direct_work": 2.5,
    "new_staff": 0.5, "staff_knowledge": 1,
}
# fmt: on


def quota(shares: dict[str, float], n: int, rest: str | None = None) -> dict[str, int]:
    """Whole counts summing to n in the given shares (largest remainders round up).

    With `rest`, that code takes whatever share the others leave.
    """
    shares = dict(shares)
    if rest is not None:
        shares[rest] = 1.0 - sum(v for k, v in shares.items() if k != rest)
    total = sum(shares.values())
    exact = {code: share * n / total for code, share in shares.items()}
    counts = {code: math.floor(x) for code, x in exact.items()}
    short = n - sum(counts.values())
    for code in sorted(exact, key=lambda c: counts[c] - exact[c])[:short]:
        counts[code] += 1
    return counts


def chosen(rng: Rng, n: int, share: float) -> set[int]:
    """round(share * n) indices out of n, drawn at random."""
    return set(rng.choice(n, size=round(share * n), replace=False).tolist())


def drifted(base: dict[str, float], step: int, lift: dict[str, float]) -> dict[str, float]:
    """Weights of `base` with each code scaled by (1 + lift * step)."""
    return {code: w * (1 + lift.get(code, 0.0) * step) for code, w in base.items()}


def build_period(spec: Period, boards: list[Board]) -> dict[str, list[dict]]:
    """Synthetic reviews of one later period (stream 10 + step), as lists of rows."""
    rng = rng_for(10 + spec.step)
    pub = published()
    n = int(rng.integers(REVIEWS_PER_PERIOD[0], REVIEWS_PER_PERIOD[1] + 1))
    units = range(n)
    usable = [b for b in boards if b.region != "central"]
    weights = np.array([b.weight for b in usable])
    picks = rng.choice(len(usable), size=n, p=weights / weights.sum())
    incidents = sorted(random_date(rng, spec.start, spec.end) for _ in units)
    undated = chosen(rng, n, spec.undated)
    no_decision = chosen(rng, n, 0.06)
    region_gap = chosen(rng, n, REGION_NOT_STATED)
    authors = deal(
        rng,
        quota(
            {"independent": spec.independent, "not_reported": spec.author_not_reported},
            n,
            "internal",
        ),
        units,
    )
    family_ethnicity = [pick(rng, FAMILY_ETHNICITY) for _ in units]
    ethnicity_rank = np.argsort(rng.random(n), kind="stable")
    child_eth_gap = set(ethnicity_rank[: round(spec.child_ethnicity_not_stated * n)].tolist())
    parent_eth_gap = set(ethnicity_rank[: round(spec.parent_ethnicity_not_stated * n)].tolist())
    c8_gap = chosen(rng, n, 0.05)

    reviews = []
    for i, incident in enumerate(incidents):
        board = usable[int(picks[i])]
        report = None
        if i not in undated:
            first = add_months(incident, 6) + timedelta(days=1)
            span = (add_months(incident, 24) - first).days
            report = first + timedelta(days=int(rng.beta(1.6, 2.6) * span))
        decision = incident + timedelta(days=int(rng.integers(3, 61)))
        pages = min(400, max(10, round(rng.lognormal(math.log(40 + 8 * spec.step), 0.45))))
        reviews.append(
            {
                "review_id": f"R{spec.code}-{i + 1:04d}",
                "period": spec.code,
                "board_code": board.code,
                "board_name": board.name,
                "region": "not_stated" if i in region_gap else board.region,
                "incident_date": incident,
                "decision_date": None if i in no_decision else decision,
                "report_date": report,
                "author_status": authors[i],
                "report_pages": None if rng.random() < 0.02 else pages,
                "parent_ethnicity": "not_stated" if i in parent_eth_gap else family_ethnicity[i],
            }
        )

    children = _period_children(rng, spec, reviews, family_ethnicity, child_eth_gap)
    compliance = {
        col: drifted(pub["t16_chapter8_compliance"][col], spec.step, {"yes": 0.25, "no": -0.15})
        for col in C8_COLUMNS
    }
    plans = {
        col: drifted(
            {k: v + 0.5 for k, v in pub["t20_action_plans"][col].items() if k != "missing"},
            spec.step,
            {"yes": 0.3, "no": -0.1},
        )
        for col in AP_COLUMNS
    }
    total_2001 = sum(pub["t18_recommendation_focus"].values())
    focus_weights = {
        code: (1 - spec.step / 4) * count / total_2001 + spec.step / 4 * FOCUS_2009_11[code] / 100
        for code, count in pub["t18_recommendation_focus"].items()
    }
    recommendations, actions = [], []
    with_rows = chosen(rng, n, spec.action_rows)
    for i, review in enumerate(reviews):
        total = None
        if rng.random() >= 0.03:
            total = min(90, max(3, round(rng.lognormal(math.log(14), 0.5))))
        points = None
        if rng.random() < 0.03:
            points = 0
        elif rng.random() >= 0.08:
            points = round((total or 14) * rng.uniform(0.8, 1.8))
        review.update(recommendations_total=total, action_points_total=points)
        for col in C8_COLUMNS:
            review[col] = None if i in c8_gap else pick(rng, compliance[col])
        for col in AP_COLUMNS:
            review[col] = {0: "no", None: "not_clear"}.get(points) or pick(rng, plans[col])
        if points == 0:
            review.update(dict.fromkeys(C8_COLUMNS[-3:], "no"))
        focuses = [pick(rng, focus_weights) for _ in range(total or 0)]
        board_word = "The ACPC" if spec.step == 1 else "The LSCB"
        recs = recommendation_rows(rng, review["review_id"], focuses, board_word)
        recommendations += recs
        if points and i in with_rows:
            actions += action_rows(rng, review, recs, points, spec.status_as_of)
    return {
        "reviews": reviews,
        "children": children,
        "recommendations": recommendations,
        "actions": actions,
    }


def _period_children(
    rng: Rng, spec: Period, reviews: list[dict], family_ethnicity: list[str], eth_gap: set[int]
) -> list[dict]:
    n = len(reviews)
    size_of = deal(rng, quota({str(k): v for k, v in FAMILY_SIZES.items()}, n), range(n))
    families = family_groups([int(size_of[i]) for i in range(n)])
    m = sum(len(f) for f in families)
    kids = range(m)
    scale = (1 - spec.under_one - AGE_NOT_KNOWN) / sum(OLDER_AGES.values())
    age_shares = {"under_1": spec.under_one, "missing": AGE_NOT_KNOWN}
    age_shares.update({band: w * scale for band, w in OLDER_AGES.items()})
    age_band = deal(rng, quota(age_shares, m), kids)
    ages = [
        None
        if age_band[u] == "missing"
        else band_value(rng, AGE_MONTHS | {"under_1": (0, 11)}, age_band[u])
        for u in kids
    ]
    _separate_siblings(rng, ages, families)

    def adolescent_alone(i: int) -> bool:
        return len(families[i]) == 1 and (ages[families[i][0]] or 0) >= 144

    incident = deal(
        rng,
        quota({"suicide": 0.03, "death": 0.58}, n, "serious_injury"),
        range(n),
        lambda i, c: c != "suicide" or adolescent_alone(i),
    )
    register = deal(
        rng,
        quota({"on_register": spec.on_register, "not_recorded": 0.03}, m, "not_on_register"),
        kids,
    )
    legal = deal(
        rng,
        quota(
            {
                "interim_care_order": 0.03,
                "care_order": 0.03,
                "s20_accommodation": 0.03,
                "adopted": 0.01,
                "not_recorded": 0.04,
            },
            m,
            "none",
        ),
        kids,
    )
    gender = deal(rng, quota({"male": 0.55, "not_known": 0.005}, m, "female"), kids)
    disability = deal(
        rng,
        quota({"yes": 0.08, "not_stated": spec.disability_not_stated}, m, "no"),
        kids,
        lambda u, c: c != "yes" or ages[u] is None or ages[u] >= 12,
    )
    circumstances = family_circumstances(
        rng,
        n,
        dict(zip(CIRCUMSTANCES, spec.circumstances, strict=True)),
        not_stated=0.07 - 0.01 * spec.step,
    )
    ethnicity = ["not_stated" if i in eth_gap else e for i, e in enumerate(family_ethnicity)]
    return child_rows(
        reviews,
        families,
        {
            "age_months": ages,
            "gender": gender,
            "disability": disability,
            "cp_register": register,
            "legal_status": legal,
        },
        {"ethnicity": ethnicity, "incident_type": incident, **circumstances},
    )


def _separate_siblings(rng: Rng, ages: list[int | None], families: list[list[int]]) -> None:
    """Swap ages with only children until siblings have known ages A_SIBLING_GAP apart."""
    singles = [f[0] for f in families if len(f) == 1]

    def clash(family: list[int]) -> int | None:
        """A child to move: one of unknown age, else the second of two too close in age."""
        for a in family:
            if ages[a] is None:
                return a
        for a in family:
            for b in family:
                if a < b and abs(ages[a] - ages[b]) < A_SIBLING_GAP:
                    return b
        return None

    for family in families:
        while (child := clash(family)) is not None:
            other = singles[int(rng.integers(len(singles)))]
            ages[child], ages[other] = ages[other], ages[child]


# --------------------------------------------------------------------------------------
# Part C: notifications and action updates (coding frame v2) for 2005-07 to 2009-11

TRACKED_PERIODS = ("2005-07", "2007-09", "2009-11")
TRACKING_STREAM = 20  # + Period.step: separate from the v1 stream of the period (10 + step)
SAMPLE_NOW = date(2011, 12, 31)  # the new content's "now": no update or conclusion after it
# Share of notifications that lead to a review: the 2015-16 national figure, 134 of 379
# ("notifications,2015-16,pct_scr,35" in shared/published/national_series.csv).
SCR_SHARE = 0.35
PENDING_PER_PERIOD = (3, 6)  # notifications still undecided, from the last 45 days of a period
# Days from notification to decision: (share, fewest, most).
DECISION_DELAY = ((0.78, 1, 30), (0.17, 31, 75), (0.05, 76, 150))
# A review whose decision date is not coded and whose report came within this many months of
# the incident is decided late and completed within four months of the decision.
QUICK_REVIEW_MONTHS = 12
AGREED_EXTENSION = 0.08  # share of scr notifications (report dated) with an agreed date
PROCEEDINGS_SCR = 0.10  # share of scr notifications with parallel proceedings
PROCEEDINGS_CODES = {"criminal": 0.55, "coroner": 0.25, "both": 0.20}
PROCEEDINGS_CONCLUDED = 0.6  # of those, share concluded (by SAMPLE_NOW)
PROCEEDINGS_OTHER = {"none": 70, "": 18, "criminal": 6, "coroner": 4, "not_known": 2}
PUBLISHED = 0.85  # share of dated reports with a published_date
PLAN_MISSING = 0.12  # share of dated reports with a plan whose action plan never arrived
PLAN_ON_TIME = 0.65  # of plans received, share by report_date + 1 month
UPDATE_GAP_DAYS = (45, 120)  # days between two progress reports on an action
# Share of the reviews that can have finished their plan by SAMPLE_NOW (reported 60 days
# before it, no action whose own later status is still open) that report every action
# completed or dropped by then.
IMPLEMENTED = 0.6
UPDATE_NOTES = {
    "not_started": ("Not yet started: lead officer confirmed.", "Awaiting agency resources."),
    "in_progress": (
        "Work under way; progress reported to the board.",
        "Training sessions scheduled.",
        "Draft procedure circulated for comment.",
    ),
    "completed": ("Completed; evidence seen by the board.", "Completed and audited."),
    "dropped": ("Dropped: superseded by a later action.", "Dropped by agreement of the board."),
}
V2_SHEETS = ("notifications", "action_updates")
RANK = {"not_started": 0, "in_progress": 1, "completed": 2, "dropped": 2}  # stage of a status


def days(n: int) -> timedelta:
    return timedelta(days=int(n))


def draw_days(rng: Rng, mix: Sequence[tuple[float, int, int]]) -> int:
    """A number of days from a mixture of uniform ranges (share, fewest, most)."""
    k = int(rng.choice(len(mix), p=np.array([m[0] for m in mix]) / sum(m[0] for m in mix)))
    return int(rng.integers(mix[k][1], mix[k][2] + 1))


def build_tracking(spec: Period, boards: list[Board], rows: dict[str, list[dict]]) -> None:
    """Add notifications and action updates to a period's rows (stream 20 + step).

    Every review is one scr notification; no_scr notifications make the reviews SCR_SHARE of
    all; a few notifications near the period end are pending. The reviews get their
    notification_id, published_date and action_plan_received_date. No v1 value changes.
    """
    rng = rng_for(TRACKING_STREAM + spec.step)
    reviews = rows["reviews"]
    first_child: dict[str, dict] = {}
    for child in rows["children"]:
        first_child.setdefault(child["review_id"], child)
    n = len(reviews)
    pending = int(rng.integers(PENDING_PER_PERIOD[0], PENDING_PER_PERIOD[1] + 1))
    others = round(n / SCR_SHARE) - n - pending
    region = {b.code: b.region for b in boards}
    notes = [
        _scr_notification(rng, spec, r, first_child[r["review_id"]], region[r["board_code"]])
        for r in reviews
    ]
    _scr_extensions_and_proceedings(rng, notes, reviews)
    usable = [b for b in boards if b.region != "central"]
    weights = np.array([b.weight for b in usable])
    picks = rng.choice(len(usable), size=others + pending, p=weights / weights.sum())
    for k in range(others + pending):
        board = usable[int(picks[k])]
        notes.append(_other_notification(rng, spec, board, pending=k >= others))
    # Blank rather than `pending` on one of them: the frame reads both as pending.
    notes[-1]["decision"] = None
    order = sorted(range(len(notes)), key=lambda j: (notes[j]["notification_date"], j))
    for number, j in enumerate(order, start=1):
        notes[j]["notification_id"] = f"N{spec.code}-{number:04d}"
    for review, note in zip(reviews, notes[:n], strict=True):
        review["notification_id"] = note["notification_id"]
        _review_dates(rng, review, note)
    with_rows = {a["review_id"] for a in rows["actions"]}
    dated = [r for r in reviews if r["report_date"] is not None and r["action_points_total"] != 0]
    missing = [r for r in dated if r["review_id"] not in with_rows]
    size = min(len(missing), round(PLAN_MISSING * len(dated)))
    for j in rng.choice(len(missing), size=size, replace=False).tolist():
        missing[j]["action_plan_received_date"] = None
    rows["notifications"] = [notes[j] for j in order]
    by_id = {r["review_id"]: r for r in reviews}
    implemented = _implemented_reviews(rng, rows["actions"], by_id)
    rows["action_updates"] = [
        update
        for action in rows["actions"]
        for update in _updates(rng, action, by_id, action["review_id"] in implemented)
    ]


def _scr_notification(rng: Rng, spec: Period, review: dict, child: dict, region: str) -> dict:
    """The notification that led to a review: its decision date is the review's when coded."""
    incident, report = review["incident_date"], review["report_date"]
    decision = review["decision_date"]
    delay = draw_days(rng, DECISION_DELAY)
    if decision is None:
        quick = report is not None and report <= add_months(incident, QUICK_REVIEW_MONTHS)
        if quick and (late := report - days(rng.integers(40, 116))) <= SAMPLE_NOW:
            decision = late
        else:
            decision = min(incident + days(rng.integers(0, 15)), spec.end) + days(delay)
    notified = min(max(incident, decision - days(delay)), spec.end)
    return {
        "board_code": review["board_code"],
        "region": region,
        "notification_date": notified,
        "incident_date": incident,
        "incident_type": child["incident_type"],
        "age_months": child["age_months"],
        "gender": child["gender"],
        "decision": "scr",
        "decision_date": decision,
        "review_id": review["review_id"],
        "parallel_proceedings": pick(rng, {"none": 0.88, "not_known": 0.04, "": 0.08}) or None,
    }


def _scr_extensions_and_proceedings(rng: Rng, notes: list[dict], reviews: list[dict]) -> None:
    """Parallel proceedings for the slowest reviews, and a few agreed completion dates."""
    slow = [
        i
        for i, r in enumerate(reviews)
        if r["report_date"] is None or (r["report_date"] - notes[i]["decision_date"]).days > 300
    ]
    for i in rng.choice(slow, size=round(PROCEEDINGS_SCR * len(reviews)), replace=False).tolist():
        note, report = notes[i], reviews[i]["report_date"]
        note["parallel_proceedings"] = pick(rng, PROCEEDINGS_CODES)
        last = min(report - days(14) if report else SAMPLE_NOW, SAMPLE_NOW)
        first = note["incident_date"] + days(90)
        if first <= last and rng.random() < PROCEEDINGS_CONCLUDED:
            note["proceedings_concluded_date"] = random_date(rng, first, last)
    dated = [i for i, r in enumerate(reviews) if r["report_date"] is not None]
    for i in rng.choice(dated, size=round(AGREED_EXTENSION * len(reviews)), replace=False):
        note, report = notes[int(i)], reviews[int(i)]["report_date"]
        due = add_months(note["decision_date"], 4)
        missed = report - days(rng.integers(30, 121))
        if rng.random() < 0.5 and missed > due + days(14):
            note["agreed_completion_date"] = missed
        else:
            note["agreed_completion_date"] = max(report + days(rng.integers(0, 46)), due)


def _other_notification(rng: Rng, spec: Period, board: Board, pending: bool) -> dict:
    """A notification that led to no review, or one still pending at the period end."""
    first = spec.end - days(44) if pending else spec.start
    notified = random_date(rng, first, spec.end)
    incident = notified - days(rng.integers(0, 22))
    kind = pick(rng, {"death": 45, "serious_injury": 53, "suicide": 2})
    if kind == "suicide":
        age = int(rng.integers(144, 216))
    elif rng.random() < 0.4:
        age = int(rng.integers(0, 12))
    else:
        age = int(rng.integers(12, 216))
    proceedings = pick(rng, PROCEEDINGS_OTHER) or None
    concluded = None
    if proceedings in ("criminal", "coroner") and rng.random() < 0.5:
        concluded = min(incident + days(rng.integers(60, 541)), SAMPLE_NOW)
    return {
        "board_code": board.code,
        "region": board.region,
        "notification_date": notified,
        "incident_date": incident,
        "incident_type": kind,
        "age_months": None if rng.random() < 0.03 else age,
        "gender": pick(rng, {"male": 0.55, "female": 0.44, "not_known": 0.01}),
        "decision": "pending" if pending else "no_scr",
        "decision_date": None if pending else notified + days(draw_days(rng, DECISION_DELAY)),
        "review_id": None,
        "parallel_proceedings": proceedings,
        "proceedings_concluded_date": concluded,
    }


def _review_dates(rng: Rng, review: dict, note: dict) -> None:
    """published_date and action_plan_received_date of a review with a dated report."""
    report = review["report_date"]
    review["published_date"] = review["action_plan_received_date"] = None
    if report is None:
        return
    if rng.random() < PUBLISHED:
        publish = report + days(rng.integers(7, 151))
        if note.get("proceedings_concluded_date"):
            publish = max(publish, note["proceedings_concluded_date"] + days(rng.integers(7, 60)))
        review["published_date"] = publish
    if review["action_points_total"] != 0:
        if rng.random() < PLAN_ON_TIME:
            received = report + days(rng.integers(-20, 31))
        else:
            received = report + days(rng.integers(32, 201))
        review["action_plan_received_date"] = received


def _update_start(review: dict) -> date:
    """The first day an action of the review can be reported on (as action_rows dates them)."""
    return review["report_date"] or add_months(review["incident_date"], 12)


def _implemented_reviews(rng: Rng, actions: list[dict], reviews: dict[str, dict]) -> set[str]:
    """The reviews whose every action is reported completed or dropped by SAMPLE_NOW."""
    blocked = {
        a["review_id"]
        for a in actions
        if a["status_date"] is not None
        and a["status_date"] > SAMPLE_NOW
        and a["status"] not in ("completed", "dropped")
    }
    candidates = sorted(
        {
            a["review_id"]
            for a in actions
            if a["review_id"] not in blocked
            and _update_start(reviews[a["review_id"]]) < SAMPLE_NOW - days(60)
        }
    )
    size = round(IMPLEMENTED * len(candidates))
    return {candidates[int(j)] for j in rng.choice(len(candidates), size=size, replace=False)}


def _updates(rng: Rng, action: dict, reviews: dict[str, dict], implemented: bool) -> list[dict]:
    """Progress reports on one action, from its review's report to SAMPLE_NOW at the latest.

    Statuses only move forward (not_started, in_progress, then completed or dropped). When the
    action row's own status is dated by SAMPLE_NOW, that status on that date is one of the
    reports; otherwise the reports stop before the row's status (which is as at a later
    date). For an implemented review, an action still open after that is completed (or
    dropped) by a last report before SAMPLE_NOW.
    """
    review = reviews[action["review_id"]]
    start = _update_start(review)
    final, final_date = action["status"], action["status_date"]
    if start >= SAMPLE_NOW - days(14):
        return []
    if final == "not_known" and not implemented and rng.random() < 0.5:
        return []
    ends = final_date is not None and final_date <= SAMPLE_NOW and final != "not_known"
    end = final_date if ends else SAMPLE_NOW
    before = {
        "completed": ("not_started", "in_progress"),
        "dropped": ("not_started", "in_progress"),
        "in_progress": ("not_started",),
        "not_started": ("not_started",),
        "not_known": ("not_started", "in_progress"),
    }[final]
    reports: list[tuple[date, str]] = []
    day = start + days(rng.integers(10, 61))
    while day < end and len(reports) < 4:
        if not reports and "not_started" in before and rng.random() < 0.35:
            status = "not_started"
        else:
            status = before[-1]
        reports.append((day, status))
        day += days(rng.integers(UPDATE_GAP_DAYS[0], UPDATE_GAP_DAYS[1] + 1))
    if ends:
        reports.append((final_date, final))
    if implemented and (not reports or RANK[reports[-1][1]] < RANK["completed"]):
        first = (reports[-1][0] if reports else start) + days(14)
        if first <= SAMPLE_NOW:
            last = pick(rng, {"completed": 0.92, "dropped": 0.08})
            if final in ("completed", "dropped"):  # as the row's own (later) status says
                last = final
            reports.append((random_date(rng, first, SAMPLE_NOW), last))
    out = []
    for day, status in reports:
        note = None
        if rng.random() < 0.5:
            options = UPDATE_NOTES[status]
            note = options[int(rng.integers(len(options)))]
        out.append(
            {
                "review_id": action["review_id"],
                "action_no": action["action_no"],
                "update_date": day,
                "status": status,
                "note": note,
            }
        )
    return out


# --------------------------------------------------------------------------------------
# Output


def sheet_types(sheet: str, tracked: bool) -> dict[str, str]:
    """Column name -> frame type of a sheet as written, in frame order.

    An untracked submission keeps exactly the version 1 columns (``since`` 1, the default);
    a tracked one has every column of the frame.
    """
    return {
        c["name"]: c["type"]
        for c in FRAME["sheets"][sheet]["columns"]
        if tracked or c.get("since", 1) == 1
    }


def frames(rows: dict[str, list[dict]]) -> dict[str, pl.DataFrame]:
    """DataFrames with every column of each sheet, in frame order and frame types."""
    tracked = "notifications" in rows
    out = {}
    for sheet in SHEETS + (V2_SHEETS if tracked else ()):
        schema = {name: POLARS_TYPES[kind] for name, kind in sheet_types(sheet, tracked).items()}
        out[sheet] = pl.DataFrame(
            [{name: row.get(name) for name in schema} for row in rows[sheet]],
            schema=schema,
            orient="row",
        )
    return out


def write_csv_submission(folder: Path, sheets: dict[str, pl.DataFrame]) -> None:
    """One CSV per sheet: UTF-8, comma separated, ISO dates, blanks as empty fields."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, df in sheets.items():
        df.write_csv(folder / f"{name}.csv", date_format="%Y-%m-%d")


def write_xlsx_submission(path: Path, sheets: dict[str, pl.DataFrame]) -> None:
    """One workbook, sheets in frame order, header in row 1, real dates and numbers."""
    book = xlsxwriter.Workbook(path)
    book.set_properties({"created": XLSX_CREATED, "author": "data_samples/generate.py"})
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    for name, df in sheets.items():
        sheet = book.add_worksheet(name)
        types = {c["name"]: c["type"] for c in FRAME["sheets"][name]["columns"]}
        sheet.write_row(0, 0, df.columns)
        sheet.freeze_panes(1, 0)
        for r, row in enumerate(df.iter_rows(), start=1):
            for c, (column, value) in enumerate(zip(df.columns, row, strict=True)):
                if value is None:
                    continue
                if types[column] == "date":
                    sheet.write_datetime(r, c, value, date_format)
                elif types[column] == "integer":
                    sheet.write_number(r, c, value)
                else:
                    sheet.write_string(r, c, value)
    book.close()


def write_catalog(path: Path, boards: list[Board]) -> None:
    pl.DataFrame(
        [{"board_code": b.code, "board_name": b.name, "region": b.region} for b in boards]
    ).write_csv(path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="output folder")
    parser.add_argument(
        "--tracking",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="add notifications, action updates and the version 2 review columns to "
        f"{', '.join(TRACKED_PERIODS)} (default; --no-tracking writes version 1 files only)",
    )
    args = parser.parse_args(argv)
    out = args.out
    (out / "submissions").mkdir(parents=True, exist_ok=True)
    boards = board_catalog()
    write_catalog(out / "boards.csv", boards)
    write_csv_submission(out / "submissions" / f"{A_PERIOD}-replication", build_replication(boards))
    for old in (out / "submissions").glob("*.xlsx"):
        old.unlink()
    # One workbook per period, as a research team codes a biennial analysis: one submission
    # each keeps `scr build` quick (every submission is its own write-audit-publish run).
    for spec in PERIODS:
        rows = build_period(spec, boards)
        if args.tracking and spec.code in TRACKED_PERIODS:
            build_tracking(spec, boards, rows)
        write_xlsx_submission(out / "submissions" / f"{spec.code}.xlsx", frames(rows))


if __name__ == "__main__":
    main()

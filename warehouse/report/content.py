"""What the report says, read for one principal through the read layer.

Every figure comes from :class:`warehouse.access.Access` made for the report's audience, so
disclosure control applies exactly as on the dashboard and in the exports: a hidden figure
arrives as ``c`` (study tables) or null (frames) and is shown as ``c`` with the disclosure
note. Nothing here recomputes a figure from the warehouse's rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from warehouse.access import Access, OutOfScope, Selection
from warehouse.access.catalog import region_label
from warehouse.disclosure import SYMBOL
from warehouse.numbers import percent, percent_of
from warehouse.report import figures as figs

Progress = Callable[[str], None]
STUDY_SOURCE = (
    "Rose, W. and Barnes, J. (2008) Improving safeguarding practice: Study of serious case "
    "reviews 2001-2003. DCSF-RR022"
)
# The National Archives copy of the study's publication page (as in ../shared/published).
STUDY_URL = (
    "https://webarchive.nationalarchives.gov.uk/20130402030343/https:/www.education.gov.uk/"
    "publications/standard/publicationDetail/Page1/DCSF-RR022"
)
SIMPLE_HEADER = (
    "Number",
    "%",
    "Published 2001-03: number",
    "Published 2001-03: %",
    "2002 report: %",
)


@dataclass
class ReportTable:
    """One study table, ready for the template: its rows as text (``c`` where hidden)."""

    id: str
    number: str
    title: str
    unit: str
    kind: str  # "simple" or "grid"
    header: list[str]
    rows: list[dict[str, Any]]
    base: str
    published_base: str
    notes: list[str] = field(default_factory=list)


def _nothing(_: str) -> None:
    return None


def _text(value: object) -> str:
    if value is None:
        return "–"
    return str(value)


def audience_name(access: Access) -> str:
    who = access.principal
    if who.sees_everything:
        return "Analyst (full figures)"
    if who.is_public:
        return "Public"
    if who.role == "regional":
        return f"Regional: {region_label(who.scope_code or '')}"
    return f"Board: {who.scope_code}"


def selection_text(access: Access, sel: Selection) -> str:
    return access.describe(sel)


def period_text(period: str | None) -> str:
    return f"review period {period}" if period else "all review periods"


def synthetic_notice(access: Access) -> dict[str, str] | None:
    """The cover's synthetic-data notice, as the dashboard's banner says it."""
    info = access.provenance()
    if info["reviews"] and info["synthetic"] == info["reviews"]:
        return {
            "heading": "SYNTHETIC DATA",
            "text": "Every review, child, board and recommendation in this report is invented "
            "by the project's sample generator (data_samples/): none of it describes a real "
            "serious case review. Do not quote these figures.",
        }
    if info["synthetic"] or info["synthetic"] is None:
        counts = (
            f"{info['synthetic']} of {info['reviews']} reviews come"
            if info["synthetic"] is not None and info["reviews"] is not None
            else "Some reviews come"
        )
        return {
            "heading": "INCLUDES SYNTHETIC DATA",
            "text": f"{counts} from the synthetic sample boards (codes SYN...), not real reviews.",
        }
    return None


# --- the study tables ------------------------------------------------------------------


def _table_notes(table_id: str, errata: list[str], notes_2002: dict[str, str]) -> list[str]:
    notes = [e.split(":", 1)[1].strip() for e in errata if e.startswith(f"{table_id}:")]
    notes = [f"Erratum in the published table: {n}" for n in notes]
    if table_id in notes_2002:
        notes.append(f"2002 report: {notes_2002[table_id]}.")
    return notes


def report_tables(result: dict[str, Any]) -> list[ReportTable]:
    """Tables 2-20 of the result beside the published 2001-03 figures and the 2002 report's
    (``warehouse.exports.tables_ees_frame``: every cell text, ``c`` copied from the result,
    ``x`` not published, ``z`` no percentage), with each table's notes."""
    from warehouse.access import comparison_2002_notes
    from warehouse.exports import tables_ees_frame
    from warehouse.replication import published
    from warehouse.study_tables import TABLES_BY_ID

    errata = list(published().get("errata", []))
    notes_2002 = comparison_2002_notes()
    out: list[ReportTable] = []
    for table in result["tables"]:
        cells = tables_ees_frame({**result, "tables": [table]})
        spec = TABLES_BY_ID.get(table["id"])
        number = spec.number if spec else table["id"]
        base = _text(table.get("n"))
        pub_base = next((b for b in cells["published_base"].to_list() if b != "x"), "x")
        grid = "columns" in table
        if grid:
            responses = list(dict.fromkeys(cells["response"].to_list()))
            rows = []
            for category in dict.fromkeys(cells["category"].to_list()):
                part = cells.filter(pl.col("category") == category)
                by = {r["response"]: r for r in part.iter_rows(named=True)}
                lines = [("This selection", "number"), ("Published 2001-03", "published_number")]
                if any(r["report_2002_number"] != "x" for r in by.values()):
                    lines.append(("2002 report", "report_2002_number"))
                for i, (name, column) in enumerate(lines):
                    rows.append(
                        {
                            "category": category if i == 0 else "",
                            "span": len(lines) if i == 0 else 0,
                            "series": name,
                            "cells": [by[r][column] if r in by else "x" for r in responses],
                        }
                    )
            # Total last, after every answer (Missing too).
            header = [r for r in responses if r != "Total"] + [r for r in responses if r == "Total"]
            for row in rows:
                row["cells"] = [row["cells"][responses.index(h)] for h in header]
        else:
            rows = [
                {
                    "category": r["category"],
                    # rows, total or summaries: the row's style
                    "group": str(r["category_group"] or "rows").split()[0].lower(),
                    "cells": [
                        r["number"],
                        r["percent"],
                        r["published_number"],
                        r["published_percent"],
                        r["report_2002_percent"],
                    ],
                }
                for r in cells.iter_rows(named=True)
            ]
            header = list(SIMPLE_HEADER)
        out.append(
            ReportTable(
                id=table["id"],
                number=number,
                title=table["title"],
                unit=table.get("unit", ""),
                kind="grid" if grid else "simple",
                header=header,
                rows=rows,
                base=base,
                published_base=pub_base,
                notes=_table_notes(table["id"], errata, notes_2002),
            )
        )
    return out


# --- methods: what was included, data quality, agreement --------------------------------


def _table_n(result: dict[str, Any], table_id: str) -> str:
    table = next((t for t in result["tables"] if t["id"] == table_id), None)
    return _text(None if table is None else table.get("n"))


def included(access: Access, sel: Selection, result: dict[str, Any]) -> list[tuple[str, str]]:
    """What the report counts: periods, boards, reviews, children, recommendations."""
    periods = access.periods()
    rows = [
        ("Selection", selection_text(access, sel)),
        ("Period of the tables", period_text(sel.period)),
        (
            "Periods in the trends",
            ", ".join(periods) if periods else "none",
        ),
        ("Reviews counted (Table 5 base)", _table_n(result, "t05_parent_ethnicity")),
        ("Children counted (Table 2 base)", _table_n(result, "t02_age")),
        ("Recommendations counted (Table 18 base)", _table_n(result, "t18_recommendation_focus")),
    ]
    if access.principal.is_public:
        regions = access.regions()
        if sel.region is not None:
            regions = regions.filter(pl.col("region") == sel.region)
        rows.append(
            ("Boards (any period, placed in their latest region)", str(regions["boards"].sum()))
        )
    else:
        if sel.board is not None:
            count = 1
        else:
            # Boards with a review in the selection (each placed in its latest stated region).
            counted = access.board_indicators(sel).filter(
                (pl.col("indicator") == "reviews") & (pl.col("numerator") > 0)
            )
            count = counted["board_code"].n_unique()
        scope = "" if access.principal.sees_everything else ", those in your scope"
        rows.append((f"Boards with reviews in the selection{scope}", str(count)))
    return rows


def data_quality(access: Access, sel: Selection) -> dict[str, Any]:
    """Completeness of the key fields for the selection (the Data quality page's figures,
    added up over the boards in scope), and the submissions not accepted."""
    if access.principal.is_public:
        return {
            "rows": [],
            "note": "Completeness board by board is shown to signed-in users only. In the "
            "tables below, the Missing and Not stated rows show where items were not recorded.",
            "rejected": None,
        }
    long = access.completeness(sel)
    if sel.period is not None:
        long = long.filter(pl.col("period") == sel.period)
    per_field = (
        long.group_by("field", "label", "field_order", "items")
        .agg(pl.col("recorded", "not_stated", "missing", "total").sum())
        .sort("field_order")
    )
    rows = [
        {
            "label": r["label"],
            "items": r["items"],
            "recorded": r["recorded"],
            "not_stated": r["not_stated"],
            "missing": r["missing"],
            "total": r["total"],
            "percent": _text(percent_of(int(r["recorded"]), int(r["total"]))),
        }
        for r in per_field.iter_rows(named=True)
    ]
    rejected = access.rejected_submissions()
    scope = "" if access.principal.sees_everything else " of the boards in your scope"
    return {
        "rows": rows,
        "note": f"Recorded: the item coded (not blank, not 'not stated'){scope}.",
        "rejected": rejected.height,
    }


def agreement_section(pair: tuple[Path, Path] | None) -> dict[str, Any] | None:
    """Double-coding agreement of two codings of the same reviews, when given
    (``warehouse.agreement.agreement_summary``, imported only then): per coded column the
    paired items, percent agreement, Cohen's kappa and its 95% interval."""
    if pair is None:
        return None
    from warehouse.agreement import agreement_summary

    summary = agreement_summary(*pair)
    fields = summary.to_dicts() if isinstance(summary, pl.DataFrame) else summary["fields"]
    rows = [
        {
            "sheet": f.get("sheet"),
            "column": f.get("column"),
            "n": _text(f.get("n")),
            "agreement": _text(percent(f.get("agreement"))),
            "kappa": _fixed(f.get("kappa")),
            "interval": (
                f"{_fixed(f.get('kappa_low'))} to {_fixed(f.get('kappa_high'))}"
                if f.get("kappa") is not None
                else "–"
            ),
            "disagreements": _text(f.get("disagreements")),
        }
        for f in fields
    ]
    return {
        "files": [p.name for p in pair],
        "fields": rows,
        "disagreements": sum(int(f.get("disagreements") or 0) for f in fields),
    }


def _fixed(value: object) -> str:
    """A kappa to two places, half up (warehouse.numbers)."""
    from warehouse.numbers import round_half_up

    if not isinstance(value, int | float):
        return "–"
    rounded = round_half_up(float(value), 2)
    return "–" if rounded is None else f"{rounded:.2f}"


# --- disclosure rules, errata, submissions ----------------------------------------------


def disclosure_rules(access: Access, result: dict[str, Any] | None) -> dict[str, Any]:
    who = access.principal
    if who.sees_everything:
        rules = [
            "Analyst report: full figures, no disclosure control. It is for those who hold the "
            "warehouse; do not publish it. For publication generate it with --audience public.",
        ]
    elif who.is_public:
        rules = [
            "Public report: national and regional figures only, never a single board's.",
            f"Counts from 1 to {access.threshold} are shown as {SYMBOL}, and so is any other "
            "figure from which such a count could be worked out (secondary suppression).",
            "The submissions ledger and data quality board by board are not shown.",
        ]
    elif who.role == "regional":
        rules = [
            f"Regional report for {region_label(who.scope_code or '')}: its boards in full.",
            f"England and other regions are under disclosure control: counts from 1 to "
            f"{access.threshold}, and figures revealing them, are shown as {SYMBOL}.",
        ]
    else:
        rules = [
            f"Board report for {who.scope_code}: the board's own figures in full.",
            f"Its region and England are under disclosure control: counts from 1 to "
            f"{access.threshold}, and figures revealing them (its own figures taken away "
            f"included), are shown as {SYMBOL}. Other boards are never named.",
        ]
    disclosure = (result or {}).get("disclosure") or {}
    return {
        "rules": rules,
        "note": access.disclosure_note(),
        "hidden_cells": disclosure.get("hidden_cells"),
    }


def errata() -> dict[str, Any]:
    """The study's printing errata, each under its table's number and title."""
    from warehouse.replication import published
    from warehouse.study_tables import TABLES_BY_ID

    items = []
    for erratum in published().get("errata", []):
        table_id, _, text = erratum.partition(":")
        spec = TABLES_BY_ID.get(table_id.strip())
        if spec is None or not text:
            items.append({"table": "", "text": erratum})
        else:
            items.append({"table": f"Table {spec.number} ({spec.title})", "text": text.strip()})
    return {"items": items}


def submissions(access: Access) -> dict[str, Any]:
    """The accepted submissions the figures rest on: ledger id, when, SHA-256 of the file,
    as the principal's own copy of the ledger holds them (the read layer's scope: a
    submission mixing other boards' reviews shows no hash or name to a scoped principal).
    The public sees no ledger; its report says how many submissions there are."""
    if access.principal.is_public:

        def count() -> int:
            return int(
                access.frame("SELECT count(*) AS n FROM submissions WHERE status = 'accepted'")[
                    "n"
                ][0]
            )

        # A count of files, not of reviews or children: it discloses nobody.
        n = access.controlled(count, lambda full, known: full)
        return {
            "rows": [],
            "count": n,
            "note": "The ledger (ids and SHA-256 hashes) is shown to signed-in users only.",
        }
    with access.connect() as con:
        if not access.has_table(con, "submissions"):
            return {"rows": [], "count": 0, "note": "This warehouse has no submissions ledger."}
        ledger = access.frame(
            "SELECT submission_id, received_at, sha256, original_name, n_reviews "
            "FROM submissions WHERE status = 'accepted' ORDER BY received_at, submission_id"
        )
    rows = [
        {
            "id": r["submission_id"],
            "received": r["received_at"].strftime("%Y-%m-%d %H:%M") if r["received_at"] else "",
            "sha256": r["sha256"] or "not shown (it holds other boards' reviews)",
            "name": r["original_name"] or "",
            "reviews": _text(r["n_reviews"]),
        }
        for r in ledger.iter_rows(named=True)
    ]
    return {"rows": rows, "count": len(rows), "note": ""}


# --- the board beside its region and England ------------------------------------------


def benchmark_section(access: Access, sel: Selection, pool: int) -> dict[str, Any] | None:
    """The board of ``sel`` against its region and England on every share indicator, over
    the pooled periods (``Access.benchmark``)."""
    if sel.board is None:
        return None
    bench = access.benchmark(sel, pool)
    region = access.board_region(sel.board)
    periods = access.pooled_periods(sel.period, pool)

    def share(k: object, n: object, value: object, hidden: bool) -> str:
        if hidden:
            return SYMBOL
        if value is None or n in (None, 0):
            return "–"
        return f"{percent(float(value))}%"

    rows = []
    for r in bench.iter_rows(named=True):
        k, n = r["board_k"], r["board_n"]
        board_text = f"{int(k)} of {int(n)} ({percent(r['board_value'])}%)" if n else "no case"
        interval = (
            f"{percent(r['ci_low'])}–{percent(r['ci_high'])}%"
            if r["ci_low"] is not None and r["ci_high"] is not None
            else "–"
        )
        rows.append(
            {
                "label": r["label"],
                "definition": f"Numerator: {r['numerator_text']}. Denominator: "
                f"{r['denominator_text']}.",
                "board": board_text,
                "interval": interval,
                "region": share(
                    r["region_k"], r["region_n"], r["region_value"], bool(r["region_suppressed"])
                )
                if region
                else "–",
                "england": share(
                    r["england_k"],
                    r["england_n"],
                    r["england_value"],
                    bool(r["england_suppressed"]),
                ),
                "comparison": r["comparison"],
                "unanswered": r["board_unanswered"],
            }
        )
    return {
        "board": access.describe(sel),
        "board_code": sel.board,
        "region": region_label(region) if region else "no stated region",
        "periods": ", ".join(periods),
        "pooled": len(periods),
        "rows": rows,
    }


# --- the whole report ---------------------------------------------------------------------


def now_utc() -> str:
    return datetime.now(UTC).strftime("%d %B %Y, %H:%M UTC")


def full_report(
    access: Access,
    sel: Selection,
    *,
    agreement: tuple[Path, Path] | None = None,
    pool: int = 3,
    progress: Progress = _nothing,
) -> dict[str, Any]:
    """Everything the biennial report shows for the selection, read for the principal."""
    name = selection_text(access, sel)
    progress("reading Tables 2-20")
    result = access.study_tables(sel)
    tables = report_tables(result)
    progress("drawing the figures")
    figures: list[figs.Figure] = []
    figures += figs.trend_figures(access.trends(sel), name)
    theme = figs.theme_figure(access.themes(sel), name)
    figures += [theme] if theme else []
    for make in (figs.focus_figure, figs.recommendations_total_figure, figs.action_plan_figure):
        made = make(result, name)
        if made is not None:
            figures.append(made)
    progress("reading the methods, data quality and ledger")
    context = {
        "kind": "full",
        "title": "Serious case reviews: biennial analysis",
        "selection": name,
        "period": period_text(sel.period),
        "audience": audience_name(access),
        "generated": now_utc(),
        "published": access.provenance()["published"].strftime("%d %B %Y, %H:%M UTC"),
        "synthetic": synthetic_notice(access),
        "frame_version": result.get("coding_frame_version"),
        "included": included(access, sel, result),
        "quality": data_quality(access, sel),
        "agreement": agreement_section(agreement),
        "figures": figures,
        "tables": tables,
        "benchmark": benchmark_section(access, sel, pool),
        "errata": errata(),
        "disclosure": disclosure_rules(access, result),
        "submissions": submissions(access),
        "study_source": STUDY_SOURCE,
        "study_url": STUDY_URL,
    }
    return context


def board_report(
    access: Access, board: str, period: str | None, *, pool: int = 3, progress: Progress = _nothing
) -> dict[str, Any]:
    """The board report: one board beside its region and England over pooled periods, on
    two to four pages (the benchmark table, trends, counts, rules and ledger)."""
    sel = access.select(period=period, board=board)
    name = selection_text(access, sel)
    progress("reading the benchmark")
    bench = benchmark_section(access, sel, pool)
    progress("drawing the figures")
    figures = figs.trend_figures(access.trends(Selection(board=board)), name, compact=True)
    # The board's own counts (in full for whoever may see the board) over the pooled periods.
    periods = list(access.pooled_periods(period, pool))
    own = access.indicators(Selection(board=board), ("period",), all_periods=True).filter(
        pl.col("indicator").is_in(["reviews", "children"]) & pl.col("period").is_in(periods)
    )
    counts = {
        r["indicator"]: r["numerator"]
        for r in own.group_by("indicator").agg(pl.col("numerator").sum()).iter_rows(named=True)
    }
    progress("reading the ledger")
    return {
        "kind": "board",
        "title": "Serious case reviews: board summary",
        "selection": name,
        "period": period_text(period),
        "audience": audience_name(access),
        "generated": now_utc(),
        "published": access.provenance()["published"].strftime("%d %B %Y, %H:%M UTC"),
        "synthetic": synthetic_notice(access),
        "counts": {k: _text(None if v is None else int(v)) for k, v in counts.items()},
        "figures": figures,
        "benchmark": bench,
        "disclosure": disclosure_rules(access, None),
        "submissions": submissions(access),
        "study_source": STUDY_SOURCE,
        "study_url": STUDY_URL,
    }


def check_board_audience(access: Access, board: str) -> None:
    """A board report names a board: never for the public (OutOfScope)."""
    access.refuse_public("board reports are shown only to signed-in users")
    access.check(Selection(board=board))


__all__ = ["OutOfScope", "board_report", "full_report"]

"""What there is to choose from: periods, boards, regions, and what a selection is called."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import polars as pl

from warehouse.access.connection import reads
from warehouse.access.cube import CubeReads
from warehouse.access.definitions import ALL_PERIODS
from warehouse.access.disclosure import is_hidden
from warehouse.access.selection import BOARDS_SQL, ENGLAND, Selection
from warehouse.frame import frame

SYNTHETIC_BOARD_PREFIXES = ("SYN",)

# Boards that have notified incidents but have no review loaded yet (coding frame v2): they
# can be chosen (on the Tracking page they have something to show), with no reviews.
NOTIFIED_ONLY_BOARDS_SQL = """
SELECT board_code, NULL::VARCHAR AS board_name,
    coalesce(arg_max(region, notification_date) FILTER (WHERE region <> 'not_stated'),
        'not_stated') AS region,
    0::BIGINT AS reviews, NULL::VARCHAR AS first_period, NULL::VARCHAR AS last_period
FROM notifications WHERE board_code NOT IN (SELECT board_code FROM reviews)
GROUP BY board_code
"""


def with_code_labels(df: pl.DataFrame, column: str, code_list: str) -> pl.DataFrame:
    """Add ``<column>_label`` and ``<column>_order`` from the coding frame's code list."""
    codes = frame().codes(code_list)
    labels = frame().labels(code_list)
    return df.with_columns(
        pl.col(column).replace_strict(labels, default=pl.col(column)).alias(f"{column}_label"),
        pl.col(column)
        .replace_strict({c: i for i, c in enumerate(codes)}, default=len(codes))
        .cast(pl.Int64)
        .alias(f"{column}_order"),
    )


def region_label(region: str) -> str:
    return frame().labels("region").get(region, region)


class CatalogReads(CubeReads):
    """Periods, boards and regions of the snapshot, and names for selections."""

    @reads
    def periods(self) -> list[str]:
        """Every period with a review. Which periods hold reviews is shown to everyone."""
        rows = self.controlled(
            lambda: self.frame("SELECT DISTINCT period FROM reviews ORDER BY period"),
            lambda full, known: full,
        )
        return [p for p in rows["period"].to_list() if p]

    def boards(self) -> pl.DataFrame:
        """The boards with reviews in scope (none for the public): board_code, board_name,
        region (most recent stated), region_label, reviews, first_period, last_period; sorted
        by name."""
        return self.memo("boards", lambda: self._board_catalog(BOARDS_SQL))

    def choosable_boards(self) -> pl.DataFrame:
        """What the board selector offers: :meth:`boards`, and boards in scope that have
        notified incidents but no review loaded yet (0 reviews; their code as name)."""
        return self.memo(
            "choosable_boards",
            lambda: self._board_catalog(
                f"{BOARDS_SQL} UNION ALL BY NAME {NOTIFIED_ONLY_BOARDS_SQL}"
            ),
        )

    def _board_catalog(self, sql: str) -> pl.DataFrame:
        labels = frame().labels("region")
        return (
            self.frame(sql)
            .with_columns(
                pl.col("board_name").fill_null(pl.col("board_code")),
                pl.col("region")
                .replace_strict(labels, default=pl.col("region"))
                .alias("region_label"),
            )
            .sort("board_name", "board_code")
        )

    @reads
    def regions(self) -> pl.DataFrame:
        """Regions with at least one review (coded), in coding-frame order: region, label,
        reviews (all periods; null when hidden), boards (whose most recent stated region it
        is), suppressed."""

        def counts() -> pl.DataFrame:
            return self.frame(
                f"WITH board_catalog AS ({BOARDS_SQL}) "
                "SELECT r.region, count(*) AS reviews, "
                "(SELECT count(*) FROM board_catalog b WHERE b.region = r.region) AS boards "
                "FROM reviews r WHERE r.region <> 'not_stated' GROUP BY r.region"
            )

        def mask(df: pl.DataFrame) -> pl.DataFrame:
            hidden = is_hidden(
                pl.lit("reviews"), pl.col("region"), pl.lit(ALL_PERIODS), self.hidden_cells()
            )
            return df.with_columns(
                pl.when(hidden).then(None).otherwise(pl.col("reviews")).alias("reviews"),
                hidden.alias("suppressed"),
            )

        order = frame().codes("region")
        labels = frame().labels("region")
        return (
            self.controlled(counts, lambda full, known: mask(full), shown_whole=mask)
            .with_columns(
                pl.col("region").replace_strict(labels, default=None).alias("label"),
                pl.col("region")
                .replace_strict({c: i for i, c in enumerate(order)}, default=len(order))
                .alias("_order"),
            )
            .sort("_order")
            .select("region", "label", "reviews", "boards", "suppressed")
        )

    @reads
    def provenance(self) -> dict[str, Any]:
        """How many reviews there are in England, how many come from the synthetic sample
        boards, and when the snapshot was published (a count is None when hidden)."""
        prefixes = " OR ".join(f"board_code LIKE '{p}%'" for p in SYNTHETIC_BOARD_PREFIXES)

        def counts() -> dict[str, int]:
            row = self.frame(
                "SELECT count(*) AS reviews, count(*) FILTER (WHERE "
                f"{prefixes} OR board_name ILIKE 'synthetic%') AS synthetic FROM reviews"
            ).row(0, named=True)
            return {"reviews": int(row["reviews"]), "synthetic": int(row["synthetic"])}

        def control(full: dict[str, int], known: dict[str, int]) -> dict[str, int | None]:
            if ("reviews", ENGLAND, ALL_PERIODS) in self.hidden_cells():
                return {"reviews": None, "synthetic": None}
            # The synthetic count, or the real reviews beside it, could be a small count.
            real = full["reviews"] - full["synthetic"]
            small = any(1 <= n <= self.threshold for n in (full["synthetic"], real))
            return {"reviews": full["reviews"], "synthetic": None if small else full["synthetic"]}

        published = datetime.fromtimestamp(self.snapshot.stat().st_mtime, UTC)
        return {**self.controlled(counts, control), "published": published}  # type: ignore[dict-item]

    @reads
    def describe(self, sel: Selection) -> str:
        """A human name for what is selected: a board, a region, or England."""
        if sel.board is not None:
            boards = self.boards().filter(pl.col("board_code") == sel.board)
            return boards["board_name"][0] if boards.height else sel.board
        if sel.region is not None:
            return region_label(sel.region)
        return self.comparator_label

    def board_region(self, board: str) -> str | None:
        """The catalog region of a board in scope (None when it never stated one)."""
        row = self.boards().filter(pl.col("board_code") == board)
        if row.height == 0 or row["region"][0] == "not_stated":
            return None
        return str(row["region"][0])


# --- Choices: what a period, region or board may be (the CLI's checks, the links') -------

# Up to this many choices are all named in a message; a longer list names the closest few.
LIST_ALL_UP_TO = 12
CLOSEST = 5


def period_choices(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The periods holding at least one review, oldest first."""
    rows = con.execute(
        "SELECT DISTINCT period FROM reviews WHERE period IS NOT NULL ORDER BY period"
    ).fetchall()
    return [str(p) for (p,) in rows]


def region_choices() -> pl.DataFrame:
    """Every region code of the coding frame, in its order: code, label."""
    labels = frame().labels("region")
    codes = frame().codes("region")
    return pl.DataFrame({"code": codes, "label": [labels.get(c, c) for c in codes]})


def board_choices(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every board with a review: code, name, region (its catalog region: the most recent
    stated), region_label, and regions (every region its reviews are coded to, which is
    what a region filter matches), sorted by code."""
    boards = con.sql(
        f"""
        WITH catalog AS ({BOARDS_SQL}),
        coded AS (
            SELECT board_code, list(DISTINCT region ORDER BY region) AS regions
            FROM reviews WHERE region IS NOT NULL GROUP BY board_code
        )
        SELECT c.board_code AS code, coalesce(c.board_name, c.board_code) AS name, c.region,
            coalesce(k.regions, []) AS regions
        FROM catalog c LEFT JOIN coded k USING (board_code)
        ORDER BY code
        """
    ).pl()
    labels = frame().labels("region")
    return boards.with_columns(
        pl.col("region").replace_strict(labels, default=pl.col("region")).alias("region_label")
    ).select("code", "name", "region", "region_label", "regions")


def closest_choices(value: str, choices: pl.DataFrame, n: int = CLOSEST) -> pl.DataFrame:
    """The ``n`` choices nearest ``value``, nearest first: edit distance (case ignored) to
    the code or, when there is one, the name or label; ties in the choices' own order."""
    names = [c for c in ("name", "label") if c in choices.columns]
    ranked = choices.with_row_index("_order")
    # DuckDB's levenshtein over the whole frame at once: no per-choice Python.
    distance = "levenshtein(lower(code), lower($value))"
    for column in names:
        distance = f"least({distance}, levenshtein(lower(coalesce({column}, code)), lower($value)))"
    with duckdb.connect() as scratch:
        scratch.register("choices", ranked)
        picked = scratch.sql(
            f"SELECT _order, row_number() OVER (ORDER BY {distance}, _order) AS _rank "
            f"FROM choices QUALIFY _rank <= {int(n)}",
            params={"value": value},
        ).pl()
    return ranked.join(picked, on="_order").sort("_rank").drop("_order", "_rank")


def nearest_first(value: str, choices: pl.DataFrame, n: int = CLOSEST) -> pl.DataFrame:
    """Every choice when there are few (in their own order), else the closest ``n``."""
    if choices.height <= LIST_ALL_UP_TO:
        return choices
    return closest_choices(value, choices, n)


@dataclass(frozen=True)
class WrongChoice:
    """A period, region or board that selects nothing, and what could be chosen instead."""

    key: str  # "period", "region" or "board"
    value: str
    problem: str  # completes "<key> <value> ...", e.g. "is not a region code"
    choices: pl.DataFrame  # code (and name or label): all of them when few, else the closest
    total: int  # how many valid choices there are in all


def _choice(key: str, value: str, problem: str, valid: pl.DataFrame) -> WrongChoice:
    return WrongChoice(key, value, problem, nearest_first(value, valid), valid.height)


def wrong_choices_without_data(region: str | None = None) -> list[WrongChoice]:
    """A region that is not a region code of the coding frame (no warehouse needed)."""
    regions = region_choices()
    if region is not None and region not in regions["code"]:
        return [_choice("region", region, "is not a region code", regions)]
    return []


def wrong_choices(
    con: duckdb.DuckDBPyConnection,
    period: str | None = None,
    region: str | None = None,
    board: str | None = None,
    boards: pl.DataFrame | None = None,
    boards_of: str = "in the warehouse",
) -> list[WrongChoice]:
    """What is wrong with a selection, each part named with the valid choices: a period not
    in the warehouse, a region not in the coding frame, a board not in the warehouse (or not
    among ``boards``, the boards an audience may be told of), a board with no review coded to
    the region, or a selection whose parts are each valid but together select no review.
    Empty when the selection selects at least one review. ``boards_of`` completes "is not
    a board ..." when ``boards`` is an audience's."""
    wrong: list[WrongChoice] = []
    periods = pl.DataFrame({"code": period_choices(con)}, schema={"code": pl.String})
    if period is not None and period not in periods["code"]:
        shape = re.fullmatch(r"[0-9]{4}-[0-9]{2}", period)
        problem = "is not a period in the warehouse" if shape else "is not a period like 2001-03"
        wrong.append(_choice("period", period, problem, periods))
    wrong += wrong_choices_without_data(region)
    known = board_choices(con) if boards is None else boards
    if board is not None and board not in known["code"]:
        wrong.append(_choice("board", board, f"is not a board {boards_of}", known))
    if wrong:
        return wrong
    if board is not None and region is not None:
        row = known.filter(pl.col("code") == board).row(0, named=True)
        if region not in row["regions"]:
            coded = ", ".join(region_label(r) for r in row["regions"]) or "no region"
            in_region = known.filter(pl.col("regions").list.contains(region))
            problem = f"has no review coded to {region_label(region)} (its reviews: {coded})"
            return [_choice("board", board, problem, in_region)]
    if region is not None and board is None and period is None:
        coded = con.execute(
            "SELECT DISTINCT region FROM reviews WHERE region IS NOT NULL"
        ).fetchall()
        if region not in {r for (r,) in coded}:
            regions = region_choices().filter(pl.col("code").is_in([r for (r,) in coded]))
            return [_choice("region", region, "holds no review in the warehouse", regions)]
    if period is not None and (board is not None or region is not None):
        # Each part exists; together they may still select nothing: say where they do.
        held = con.execute(
            "SELECT DISTINCT period FROM reviews WHERE ($region IS NULL OR region = $region) "
            "AND ($board IS NULL OR board_code = $board) ORDER BY period",
            {"region": region, "board": board},
        ).fetchall()
        if period not in {p for (p,) in held}:
            parts = [f"board {board}"] if board is not None else []
            parts += [f"region {region_label(region)}"] if region is not None else []
            what = " in ".join(parts)
            return [
                _choice(
                    "period",
                    period,
                    f"holds no review of {what}",
                    pl.DataFrame({"code": [p for (p,) in held]}, schema={"code": pl.String}),
                )
            ]
    return []

"""What a user chose (period, region, board), the reviews it selects, and the two errors a
read can end in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ENGLAND = "England"


class NoSnapshot(FileNotFoundError):
    """No published snapshot yet: run ``scr build`` (or ``scr ingest``)."""


class OutOfScope(PermissionError):
    """A board, region or feature outside the principal's scope. The message is shown to the
    user as it is: it names what was asked for and never a server path."""


@dataclass(frozen=True)
class Selection:
    """What the user chose: None means all periods / England / all boards.

    ``period`` None pools every period; ``region`` None means England (every region); a
    region counts the reviews *coded* to it, as the study's tables do; a board takes all of
    its reviews (its region is context only).
    """

    period: str | None = None
    region: str | None = None
    board: str | None = None

    def params(self, *, with_period: bool = True) -> dict[str, str | None]:
        """The SQL filter parameters; a board's reviews are taken whatever region they state."""
        return {
            "period": self.period if with_period else None,
            "region": self.region if self.board is None else None,
            "board": self.board,
        }

    def national(self) -> Selection:
        return Selection(period=self.period)


# Board catalog: a board's name and its region from its most recent review stating one
# (lists of boards place each board there, as a review may have its region `not_stated`).
BOARDS_SQL = """
SELECT board_code,
    arg_max(board_name, period || coalesce(incident_date::VARCHAR, ''))
        FILTER (WHERE board_name IS NOT NULL) AS board_name,
    coalesce(
        arg_max(region, period || coalesce(incident_date::VARCHAR, ''))
            FILTER (WHERE region <> 'not_stated'),
        'not_stated') AS region,
    count(*) AS reviews, min(period) AS first_period, max(period) AS last_period
FROM reviews GROUP BY board_code
"""

# The selected reviews. $region filters the review's coded region (as the study's tables do),
# or, with region_by = board, the board's catalog region (for lists of boards).
_SEL_REVIEWS = """
sel_reviews AS (
    SELECT r.*, b.region AS board_region, b.board_name AS catalog_board_name
    FROM reviews r JOIN board_catalog b USING (board_code)
    WHERE ($period IS NULL OR r.period = $period)
        AND ($region IS NULL OR {region_column} = $region)
        AND ($board IS NULL OR r.board_code = $board)
)"""


def selection_ctes(region_by: Literal["review", "board"] = "review") -> str:
    """``WITH board_catalog, sel_reviews``: the reviews of a selection ($period, $region,
    $board), each with its board's catalog region and name."""
    column = "r.region" if region_by == "review" else "b.region"
    return f"WITH board_catalog AS ({BOARDS_SQL}),\n{_SEL_REVIEWS.format(region_column=column)}"

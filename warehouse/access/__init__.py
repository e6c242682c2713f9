"""The dashboard's one data-access layer: a principal and selections in, polars frames out.

Every page of the dashboard gets its data from an :class:`Access` made for the signed-in
principal (``Access(warehouse, principal)``), through functions that take a
:class:`Selection` (period, region, board) and return polars frames (or, for the study
tables, the tables JSON dict that ``scr tables`` prints). No SQL lives in the views, and the
views never decide what may be shown: a board or region outside the principal's scope raises
:class:`OutOfScope`, and figures shown outside its full view come under disclosure control
(hidden figures null, a bool ``suppressed`` column; :meth:`Access.disclosure_note`).

The parts, each on one screen:

- ``selection``: what a user chose and the reviews it selects; ``connection``: the
  connections, the scope and the checks on a selection (the one place what a principal may
  read is decided); ``snapshot``: the databases they read (the snapshot, or each scoped
  principal's closed copy of it);
- ``definitions``: the indicators and themes, each defined once, and the SQL generated from
  them; ``cube`` and ``disclosure``: how England and regional figures, and anything else
  shown outside the scope, are protected;
- ``catalog``: periods, boards, regions and names for selections;
- ``indicators``, ``benchmark``, ``themes``, ``recommendations``, ``quality``: the figures of
  the dashboard's pages; ``published``: the real published national figures; ``tables``:
  Tables 2-20 and the files ``scr tables`` writes.
"""

from __future__ import annotations

from warehouse.access.benchmark import (
    POOL_CHOICES,
    BenchmarkReads,
    clopper_pearson,
    compare_with_england,
    funnel_limits,
)
from warehouse.access.catalog import SYNTHETIC_BOARD_PREFIXES
from warehouse.access.definitions import (
    ALL_PERIODS,
    DENOMINATORS,
    INDICATORS,
    INDICATORS_BY_KEY,
    SHARE_INDICATORS,
    SIDE_BY_SIDE,
    THEME_SHORT,
    THEMES,
    Denominator,
    Indicator,
)
from warehouse.access.published import REAL_FIGURES_LABEL, PublishedReads
from warehouse.access.quality import QUALITY_FIELDS, QualityReads
from warehouse.access.recommendations import RecommendationReads
from warehouse.access.selection import BOARDS_SQL, ENGLAND, NoSnapshot, OutOfScope, Selection
from warehouse.access.snapshot import CORE_TABLES
from warehouse.access.tables import (
    StudyTableReads,
    comparison_2002_notes,
    published_tables,
    tables_csv_bytes,
    tables_json,
    tables_xlsx_bytes,
)
from warehouse.access.themes import ThemeReads
from warehouse.access.tracking import TrackingReads
from warehouse.principal import ANALYST, PUBLIC, Principal


class Access(
    BenchmarkReads,
    ThemeReads,
    RecommendationReads,
    QualityReads,
    StudyTableReads,
    PublishedReads,
    TrackingReads,
):
    """Read-only access to the published snapshot for one principal: every data function of
    the dashboard, each reading through ``connect`` (see ``connection.py``)."""


__all__ = [
    "ALL_PERIODS",
    "ANALYST",
    "BOARDS_SQL",
    "CORE_TABLES",
    "DENOMINATORS",
    "ENGLAND",
    "INDICATORS",
    "INDICATORS_BY_KEY",
    "POOL_CHOICES",
    "PUBLIC",
    "QUALITY_FIELDS",
    "REAL_FIGURES_LABEL",
    "SHARE_INDICATORS",
    "SIDE_BY_SIDE",
    "SYNTHETIC_BOARD_PREFIXES",
    "THEMES",
    "THEME_SHORT",
    "Access",
    "Denominator",
    "Indicator",
    "NoSnapshot",
    "OutOfScope",
    "Principal",
    "Selection",
    "clopper_pearson",
    "compare_with_england",
    "comparison_2002_notes",
    "funnel_limits",
    "published_tables",
    "tables_csv_bytes",
    "tables_json",
    "tables_xlsx_bytes",
]

"""The dashboard's one data-access layer: selections in, polars frames out.

Every page of the dashboard gets its data from an :class:`Access` through functions that take
a :class:`Selection` (period, region, board) and return polars frames (or, for the study
tables, the tables JSON dict that ``scr tables`` prints). No SQL lives in the views.

The parts, each on one screen:

- ``connection``: the snapshot, its connections and the scope (the one place it is enforced);
- ``catalog``: periods, boards, regions and names for selections;
- ``indicators``: the indicators, each defined once, and the SQL generated from them;
- ``benchmark``: Wilson intervals, the comparison with England and the funnel plot;
- ``themes``, ``recommendations``, ``quality``: the pages of the same names;
- ``tables``: Tables 2-20 and the files ``scr tables`` writes.
"""

from __future__ import annotations

from warehouse.access.benchmark import (
    Z95,
    Z998,
    BenchmarkReads,
    compare_with_england,
    funnel_limits,
    wilson_interval,
)
from warehouse.access.catalog import SYNTHETIC_BOARD_PREFIXES
from warehouse.access.connection import (
    BOARDS_SQL,
    CORE_TABLES,
    ENGLAND,
    FULL_SCOPE,
    NoSnapshot,
    OutOfScope,
    Scope,
    Selection,
)
from warehouse.access.indicators import (
    DENOMINATORS,
    INDICATORS,
    INDICATORS_BY_KEY,
    SHARE_INDICATORS,
    SIDE_BY_SIDE,
    Denominator,
    Indicator,
)
from warehouse.access.quality import QUALITY_FIELDS, QualityReads
from warehouse.access.recommendations import RecommendationReads
from warehouse.access.tables import (
    StudyTableReads,
    comparison_2002_notes,
    published_tables,
    tables_csv_bytes,
    tables_json,
    tables_xlsx_bytes,
)
from warehouse.access.themes import THEME_SHORT, THEMES, ThemeReads


class Access(BenchmarkReads, ThemeReads, RecommendationReads, QualityReads, StudyTableReads):
    """Read-only access to the published snapshot for one scope: every data function of the
    dashboard, each reading through ``connect``."""


__all__ = [
    "BOARDS_SQL",
    "CORE_TABLES",
    "DENOMINATORS",
    "ENGLAND",
    "FULL_SCOPE",
    "INDICATORS",
    "INDICATORS_BY_KEY",
    "QUALITY_FIELDS",
    "SHARE_INDICATORS",
    "SIDE_BY_SIDE",
    "SYNTHETIC_BOARD_PREFIXES",
    "THEMES",
    "THEME_SHORT",
    "Z95",
    "Z998",
    "Access",
    "Denominator",
    "Indicator",
    "NoSnapshot",
    "OutOfScope",
    "Scope",
    "Selection",
    "compare_with_england",
    "comparison_2002_notes",
    "funnel_limits",
    "published_tables",
    "tables_csv_bytes",
    "tables_json",
    "tables_xlsx_bytes",
    "wilson_interval",
]
